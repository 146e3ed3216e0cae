//! Work-order store benchmark (issue 5): lifecycle throughput and list/search
//! latency on SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p hotline-ticketing --bench store                # SQLite, defaults
//! HOTLINE_BENCH_POSTGRES_URL=postgres://u:p@127.0.0.1/db \
//!   cargo bench -p hotline-ticketing --bench store              # + PostgreSQL
//! ```
//!
//! Knobs (environment): `BENCH_FLOW_ORDERS` (2000) orders walked through
//! open → dispatch → sign → respond → complete, by `BENCH_WORKERS` (1,8)
//! concurrent workers; `BENCH_ORDERS` (1 000 000) orders bulk-loaded for the
//! latency part (state, unit, category, caller and dates spread like a year
//! of a city hotline), `BENCH_ARTICLES` (10 000) knowledge articles,
//! `BENCH_QUERIES` (200) timed runs per query. The PostgreSQL URL must let
//! its user create databases; the benchmark creates and drops its own.
//!
//! Throughput goes through the real store API (domain `apply`, one
//! transaction per step). The bulk load writes rows directly with SQL (a
//! million API calls would take hours); every row carries a full order
//! document, and the timed list queries parse those documents as the API does.

use std::time::{Duration, Instant};

use hotline_ticketing::actor::Actor;
use hotline_ticketing::calendar::WorkingCalendar;
use hotline_ticketing::deadline::DeadlinePolicy;
use hotline_ticketing::knowledge::KnowledgePolicy;
use hotline_ticketing::lifecycle::Command;
use hotline_ticketing::order::{
    Address, Caller, Category, Channel, ContactPreference, Links, OrderDetails, Outcome, Urgency,
};
use hotline_ticketing::store::{
    connect_pool, AuditEntry, Backend, Cursor, OrderFilter, PageStart, Store,
};
use hotline_ticketing::supervision::SupervisionPolicy;
use hotline_ticketing::topic::{TopicCode, TopicTree};
use hotline_ticketing::{TicketRules, UnitId};
use sqlx::Executor;
use time::OffsetDateTime;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rules() -> TicketRules {
    TicketRules {
        calendar: WorkingCalendar::weekdays_only(),
        policy: DeadlinePolicy::default(),
        topics: TopicTree::new([("urban", "城乡建设"), ("urban.housing", "住房")]).expect("topics"),
        order_prefix: "MM".into(),
        knowledge: KnowledgePolicy::default(),
        supervision: SupervisionPolicy::default(),
    }
}

fn details(i: u64) -> OrderDetails {
    OrderDetails {
        channel: Channel::Phone,
        caller: Caller {
            name: Some("李秀英".into()),
            number: Some(format!("138{:08}", i % 200_000)),
            contact_preference: ContactPreference::Phone,
            contact: None,
        },
        address: Some(Address {
            text: "茂南区油城五路12号".into(),
            district: Some("maonan".into()),
        }),
        category: Category::Help,
        topic: TopicCode::new("urban.housing"),
        description: "楼道灯坏了三个星期，晚上出入很不方便，请尽快维修。".into(),
        urgency: Urgency::Normal,
        confidential: false,
        complained_about: None,
        links: Links::default(),
        legal_deadline: None,
    }
}

fn who() -> AuditEntry {
    AuditEntry {
        actor: "bench".into(),
        actor_role: "agent".into(),
        client_ip: Some("127.0.0.1".into()),
        at_ms: 0,
    }
}

/// Walks `n` orders through five steps with `workers` tasks; orders/s.
async fn flow(store: &Store, n: u64, workers: u64) -> f64 {
    let rules = std::sync::Arc::new(rules());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = store.clone();
        let rules = rules.clone();
        tasks.push(tokio::spawn(async move {
            let agent = Actor::new("1001", hotline_ticketing::Role::Agent);
            let unit = Actor::unit_user("u-housing", "housing");
            let mut i = w;
            while i < n {
                let now = OffsetDateTime::now_utc();
                let o = store
                    .open_order(details(i), &agent, now, &rules, &who())
                    .await
                    .expect("open");
                let number = o.number.to_string();
                let steps = [
                    (
                        &agent,
                        Command::Dispatch {
                            lead: UnitId::new("housing"),
                            co_handlers: vec![],
                            note: None,
                        },
                    ),
                    (&unit, Command::Sign),
                    (
                        &unit,
                        Command::Respond {
                            contacted: true,
                            note: "called".into(),
                        },
                    ),
                    (
                        &unit,
                        Command::Complete {
                            outcome: Outcome::Resolved,
                            summary: "灯已修好".into(),
                            note_to_hotline: None,
                            public: true,
                        },
                    ),
                ];
                for (actor, cmd) in steps {
                    store
                        .apply_command(
                            &number,
                            None,
                            &cmd,
                            actor,
                            OffsetDateTime::now_utc(),
                            &rules,
                            &who(),
                        )
                        .await
                        .expect("step");
                }
                i += workers;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = n as f64 / started.elapsed().as_secs_f64();
    rate
}

/// A full order document for the bulk rows.
async fn template(store: &Store) -> String {
    let o = store
        .list_orders(&OrderFilter::default(), 1, &PageStart::default())
        .await
        .expect("template")
        .pop()
        .expect("one order from the flow");
    o.data
}

async fn bulk_load(store: &Store, backend: Backend, orders: u64, articles: u64) {
    let data = template(store).await.replace('\'', "''");
    let pool = store.pool();
    let started = Instant::now();
    // Spread: 60 units, 6 categories, 15 states, 200k callers, one year;
    // 5% running against a deadline, half of those overdue.
    let year_ms: i64 = 365 * 86_400_000;
    let now = hotline_ticketing::store::ms(OffsetDateTime::now_utc());
    let start = now - year_ms;
    let select = format!(
        "'B' || CAST(x AS TEXT), 1, \
         (CASE x % 15 WHEN 0 THEN 'received' WHEN 1 THEN 'dispatched' WHEN 2 THEN 'signed' \
           WHEN 3 THEN 'in_progress' WHEN 4 THEN 'completed' WHEN 5 THEN 'replied' \
           WHEN 6 THEN 'surveyed' WHEN 7 THEN 'answered_on_spot' WHEN 8 THEN 'refused' \
           ELSE 'closed' END), \
         'phone', \
         (CASE x % 6 WHEN 0 THEN 'consultation' WHEN 1 THEN 'help' WHEN 2 THEN 'complaint' \
           WHEN 3 THEN 'report' WHEN 4 THEN 'suggestion' ELSE 'praise' END), \
         'urban.housing', 'd' || CAST(x % 12 AS TEXT), 'u' || CAST(x % 60 AS TEXT), '', \
         '138' || CAST(10000000 + x % 200000 AS TEXT), 0, NULL, 'bench', \
         {start} + x * {step}, {start} + x * {step}, \
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         (CASE WHEN x % 20 = 1 THEN {start} + x * {step} + 86400000 ELSE NULL END), \
         0, 0, NULL, NULL, '', '{data}'",
        step = year_ms / i64::try_from(orders.max(1)).unwrap_or(1),
    );
    let cols = "id, version, state, channel, category, topic, district, lead_unit, co_units, \
        caller_number, confidential, call_id, created_by, created_at_ms, updated_at_ms, \
        sign_due_ms, signed_at_ms, respond_due_ms, responded_at_ms, complete_due_ms, \
        completed_at_ms, reply_due_ms, replied_at_ms, next_due_ms, extensions, returns, \
        satisfaction, reception_score, recused, data";
    let chunk = 100_000u64;
    let mut from = 1u64;
    while from <= orders {
        let to = (from + chunk - 1).min(orders);
        let sql = match backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(x) AS (SELECT {from} UNION ALL SELECT x + 1 FROM s WHERE x < {to}) \
                 INSERT INTO orders ({cols}) SELECT {select} FROM s"
            ),
            Backend::Postgres => format!(
                "INSERT INTO orders ({cols}) SELECT {select} FROM generate_series({from}::bigint, {to}::bigint) AS s(x)"
            ),
        };
        pool.execute(sql.as_str()).await.expect("bulk orders");
        from = to + 1;
    }
    pool.execute(
        "INSERT INTO order_units (order_id, unit_id, role, created_at_ms, next_due_ms, state) \
         SELECT id, lead_unit, 'lead', created_at_ms, next_due_ms, state FROM orders WHERE id LIKE 'B%'",
    )
    .await
    .expect("bulk units");
    println!(
        "  bulk-loaded {orders} orders in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Articles: Chinese text built from phrases, one in 50 about 社保卡.
    let started = Instant::now();
    let phrases = [
        "办理居住证需要提供租房合同",
        "医保异地就医备案",
        "公积金提取条件",
        "新生儿落户流程",
        "不动产登记预约",
        "失业保险金申领",
        "城乡居民养老保险缴费",
        "道路照明报修",
        "供水管道爆裂抢修",
        "燃气安全检查",
        "垃圾分类投放时间",
        "犬只登记办法",
    ];
    let rules = rules();
    let when = OffsetDateTime::now_utc();
    let mut tx = pool.begin().await.expect("tx");
    for i in 0..articles {
        let p = |k: u64| phrases[usize::try_from((i * 7 + k * 5) % 12).unwrap_or(0)];
        let extra = if i % 50 == 0 {
            "，并可办理社保卡补办"
        } else {
            ""
        };
        let body = format!("{}。{}。{}{extra}。第{i}号知识点。", p(0), p(1), p(2));
        let title = format!("{}（{i}）", p(3));
        let mut a = hotline_ticketing::knowledge::Article::register(
            i + 1,
            UnitId::new("u1"),
            &title,
            None,
            when.date(),
            when,
            &rules.calendar,
            &rules.knowledge,
        )
        .expect("article");
        a.publish(&title, &body, when).expect("publish");
        sqlx::query(
            "INSERT INTO kb_articles (id, version, unit_id, title, body, status, topic, effective_on, \
             upload_due_ms, published_at_ms, created_at_ms, updated_at_ms, data) \
             VALUES ($4, 1, 'u1', $1, $2, 'published', NULL, '2026-01-01', 0, 0, 0, $3, $5)",
        )
        .bind(title)
        .bind(body)
        .bind(i64::try_from(i).unwrap_or(0))
        .bind(i64::try_from(i + 1).unwrap_or(0))
        .bind(serde_json::to_string(&a).expect("json"))
        .execute(&mut *tx)
        .await
        .expect("article");
    }
    tx.commit().await.expect("commit");
    store
        .reindex_articles()
        .await
        .expect("index the articles' character pairs");
    pool.execute("ANALYZE").await.expect("analyze");
    println!(
        "  loaded {articles} articles in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn time_it<F, Fut>(name: &str, runs: u64, mut f: F)
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times = Vec::new();
    let mut rows = 0;
    f(0).await; // warm the cache
    for i in 0..runs {
        let t = Instant::now();
        rows = f(i).await;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "  {name:<44} p50 {:>8.2} ms  p99 {:>8.2} ms  ({rows} rows)",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}

async fn latency(store: &Store, runs: u64) {
    let now = hotline_ticketing::store::ms(OffsetDateTime::now_utc());
    let month = 30 * 86_400_000;
    let list = |f: OrderFilter, offset: u64| {
        let store = store.clone();
        async move {
            store
                .list_work_orders(&f, 50, &PageStart::Offset(offset))
                .await
                .expect("list")
                .orders
                .len()
        }
    };
    time_it("list newest 50", runs, |_| list(OrderFilter::default(), 0)).await;
    time_it("list page 200 (offset 10 000)", runs, |_| {
        list(OrderFilter::default(), 10_000)
    })
    .await;
    // The same page reached with the previous page's cursor.
    let before = store
        .list_orders(&OrderFilter::default(), 1, &PageStart::Offset(9_999))
        .await
        .expect("row 10 000");
    let cursor = Cursor::after(before.last().expect("1M orders"), &OrderFilter::default());
    time_it("list page 200 (cursor)", runs, |_| {
        let store = store.clone();
        let start = PageStart::After(cursor.clone());
        async move {
            store
                .list_work_orders(&OrderFilter::default(), 50, &start)
                .await
                .expect("list")
                .orders
                .len()
        }
    })
    .await;
    time_it("list state=dispatched", runs, |_| {
        list(
            OrderFilter {
                states: vec!["dispatched".into()],
                ..OrderFilter::default()
            },
            0,
        )
    })
    .await;
    time_it("list unit=u17", runs, |i| {
        list(
            OrderFilter {
                unit: Some(format!("u{}", 17 + i % 3)),
                ..OrderFilter::default()
            },
            0,
        )
    })
    .await;
    time_it("list category=complaint, one month", runs, |i| {
        let to = now - i64::try_from(i).unwrap_or(0) * 86_400_000;
        list(
            OrderFilter {
                category: Some("complaint".into()),
                created_from_ms: Some(to - month),
                created_to_ms: Some(to),
                ..OrderFilter::default()
            },
            0,
        )
    })
    .await;
    time_it("list overdue", runs, |_| {
        list(
            OrderFilter {
                overdue_at_ms: Some(now),
                ..OrderFilter::default()
            },
            0,
        )
    })
    .await;
    time_it("list caller=13810012345", runs, |i| {
        list(
            OrderFilter {
                caller_number: Some(format!("1381{:07}", 12_345 + i)),
                ..OrderFilter::default()
            },
            0,
        )
    })
    .await;
    time_it("list unit + state + overdue (unit user view)", runs, |i| {
        list(
            OrderFilter {
                unit: Some(format!("u{}", i % 60)),
                states: vec!["dispatched".into(), "signed".into(), "in_progress".into()],
                overdue_at_ms: Some(now),
                not_recused: Some("u-x".into()),
                ..OrderFilter::default()
            },
            0,
        )
    })
    .await;
    for q in ["社保卡", "社保卡补办", "医保 备案", "社保"] {
        let name = format!("kb search {q:?}");
        time_it(&name, runs, |_| {
            let store = store.clone();
            async move {
                store
                    .search_articles(q, true, 20)
                    .await
                    .expect("search")
                    .len()
            }
        })
        .await;
    }
}

async fn run(name: &str, store: Store, backend: Backend) {
    println!("== {name}");
    let flow_orders = env_num("BENCH_FLOW_ORDERS", 2000);
    let workers: Vec<u64> = std::env::var("BENCH_WORKERS")
        .ok()
        .map(|v| v.split(',').filter_map(|w| w.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 8]);
    for w in workers {
        let rate = flow(&store, flow_orders, w).await;
        println!(
            "  create+dispatch+sign+respond+complete: {rate:>8.1} orders/s ({flow_orders} orders, {w} workers, 5 transactions each)"
        );
    }
    let orders = env_num("BENCH_ORDERS", 1_000_000);
    let articles = env_num("BENCH_ARTICLES", 10_000);
    if orders > 0 {
        bulk_load(&store, backend, orders, articles).await;
        latency(&store, env_num("BENCH_QUERIES", 200)).await;
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&url).await.expect("sqlite");
    run("SQLite (WAL, synchronous=NORMAL)", store, Backend::Sqlite).await;

    if let Ok(admin_url) = std::env::var("HOTLINE_BENCH_POSTGRES_URL") {
        let admin = connect_pool(&admin_url).await.expect("postgres admin");
        admin
            .execute("DROP DATABASE IF EXISTS hotline_bench WITH (FORCE)")
            .await
            .expect("drop");
        admin
            .execute("CREATE DATABASE hotline_bench")
            .await
            .expect("create");
        let (base, _) = admin_url.rsplit_once('/').expect("url has a database");
        let store = Store::connect(&format!("{base}/hotline_bench"))
            .await
            .expect("postgres");
        run("PostgreSQL", store.clone(), Backend::Postgres).await;
        store.pool().close().await;
        admin
            .execute("DROP DATABASE IF EXISTS hotline_bench WITH (FORCE)")
            .await
            .expect("drop");
    } else {
        println!("(PostgreSQL skipped: set HOTLINE_BENCH_POSTGRES_URL)");
    }
}
