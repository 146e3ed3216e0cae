//! Store tests on a SQLite file and on PostgreSQL: numbering, the
//! all-or-nothing transition, optimistic concurrency, users, audit.

use super::testdb;
use super::*;

fn who(at: i64) -> AuditEntry {
    AuditEntry {
        actor: "1001".into(),
        actor_role: "agent".into(),
        client_ip: Some("192.0.2.7".into()),
        at_ms: at,
    }
}

fn row(id: &str, version: i64, state: &str) -> OrderRow {
    OrderRow {
        id: id.into(),
        version,
        state: state.into(),
        channel: "phone".into(),
        category: "help".into(),
        topic: Some("roads".into()),
        district: Some("maonan".into()),
        lead_unit: None,
        co_units: vec![],
        caller_number: Some("13800138000".into()),
        confidential: false,
        call_id: None,
        created_by: "1001".into(),
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
        sign_due_ms: None,
        signed_at_ms: None,
        respond_due_ms: None,
        responded_at_ms: None,
        complete_due_ms: None,
        completed_at_ms: None,
        reply_due_ms: None,
        replied_at_ms: None,
        next_due_ms: None,
        extensions: 0,
        returns: 0,
        satisfaction: None,
        reception_score: None,
        recused: vec![],
        data: format!("{{\"v\":{version}}}"),
        emergency: None,
    }
}

fn hist(id: &str, seq: i64, from: Option<&str>, to: &str) -> HistoryRow {
    HistoryRow {
        order_id: id.into(),
        seq,
        at_ms: 1_000 + seq,
        actor: "1001".into(),
        actor_role: "agent".into(),
        unit: None,
        action: if from.is_none() { "open" } else { "dispatch" }.into(),
        from_state: from.map(str::to_owned),
        to_state: to.into(),
        data: "{}".into(),
    }
}

async fn create(store: &Store) -> OrderRow {
    store
        .insert_order("20261125", &who(1_000), |seq| {
            let id = format!("MM20261125{seq:06}");
            Ok::<_, std::convert::Infallible>(NewOrder {
                order: row(&id, 1, "received"),
                history: vec![hist(&id, 1, None, "received")],
                draft: None,
            })
        })
        .await
        .expect("insert")
        .expect("build")
}

async fn scenario(store: Store) {
    // Numbers: one per day, consecutive.
    let a = create(&store).await;
    let b = create(&store).await;
    assert_eq!(a.id, "MM20261125000001");
    assert_eq!(b.id, "MM20261125000002");

    // A transition written whole.
    let mut next = row(&a.id, 2, "dispatched");
    next.lead_unit = Some("water".into());
    next.co_units = vec!["roads".into()];
    next.next_due_ms = Some(5_000);
    store
        .update_order(
            1,
            &next,
            &hist(&a.id, 2, Some("received"), "dispatched"),
            &who(2_000),
        )
        .await
        .expect("update");
    assert_eq!(store.order(&a.id).await.expect("get"), Some(next.clone()));

    // The same step again from the stale version: conflict, nothing written.
    let mut stale = row(&a.id, 2, "refused");
    stale.data = "{\"stale\":true}".into();
    let err = store
        .update_order(
            1,
            &stale,
            &hist(&a.id, 2, Some("received"), "refused"),
            &who(2_001),
        )
        .await
        .expect_err("stale version");
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert_eq!(store.order(&a.id).await.expect("get"), Some(next.clone()));

    // A failure between the order update and the history row: rolled back.
    store.inject_failure(Some(FailPoint::AfterOrderUpdate));
    let third = row(&a.id, 3, "signed");
    let err = store
        .update_order(
            2,
            &third,
            &hist(&a.id, 3, Some("dispatched"), "signed"),
            &who(3_000),
        )
        .await
        .expect_err("injected");
    assert!(matches!(err, Error::Injected(_)), "{err}");
    assert_eq!(store.order(&a.id).await.expect("get"), Some(next.clone()));
    let history = store.order_history(&a.id).await.expect("history");
    assert_eq!(history.iter().map(|h| h.seq).collect::<Vec<_>>(), [1, 2]);

    // Filters: unit (lead or co), state, overdue, caller.
    let by_unit = |u: &str| OrderFilter {
        unit: Some(u.into()),
        ..OrderFilter::default()
    };
    for unit in ["water", "roads"] {
        let l = store
            .list_orders(&by_unit(unit), 10, &PageStart::default())
            .await
            .expect("list");
        assert_eq!(
            l.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            [a.id.as_str()]
        );
    }
    let overdue = OrderFilter {
        overdue_at_ms: Some(6_000),
        ..OrderFilter::default()
    };
    assert_eq!(
        store
            .list_orders(&overdue, 10, &PageStart::default())
            .await
            .expect("list")
            .len(),
        1
    );
    // A unit's overdue list (its links' deadlines).
    let unit_overdue = |at: i64| OrderFilter {
        unit: Some("roads".into()),
        overdue_at_ms: Some(at),
        ..OrderFilter::default()
    };
    assert_eq!(
        store
            .list_orders(&unit_overdue(6_000), 10, &PageStart::default())
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(store
        .list_orders(&unit_overdue(4_000), 10, &PageStart::default())
        .await
        .expect("list")
        .is_empty());
    let early = OrderFilter {
        overdue_at_ms: Some(4_000),
        ..OrderFilter::default()
    };
    assert!(store
        .list_orders(&early, 10, &PageStart::default())
        .await
        .expect("list")
        .is_empty());
    let received = OrderFilter {
        states: vec!["received".into()],
        ..OrderFilter::default()
    };
    let l = store
        .list_orders(&received, 10, &PageStart::default())
        .await
        .expect("list");
    assert_eq!(
        l.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        [b.id.as_str()]
    );

    // Every write left an audit row with who and where.
    let audit = store
        .audit_log(Some(("order", &a.id)), 10, 0)
        .await
        .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["order.dispatch", "order.create"]);
    assert_eq!(audit[0].client_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(audit[0].at_ms, 2_000);

    // Users and units.
    store
        .upsert_unit(
            &Unit {
                id: "water".into(),
                name: "Water company".into(),
                district: None,
            },
            &who(1),
        )
        .await
        .expect("unit");
    let u = NewUser {
        id: "w1".into(),
        role: UserRole::Unit,
        unit_id: Some("water".into()),
        display_name: "Water desk".into(),
        password_hash: "$argon2id$x".into(),
    };
    store.create_user(&u, &who(1)).await.expect("user");
    assert!(matches!(
        store.create_user(&u, &who(1)).await,
        Err(Error::Duplicate(_))
    ));
    let bad_unit = NewUser {
        id: "x1".into(),
        unit_id: Some("nope".into()),
        ..u.clone()
    };
    assert!(matches!(
        store.create_user(&bad_unit, &who(1)).await,
        Err(Error::NotFound(_))
    ));
    assert!(!store.has_admin().await.expect("admin"));
    let got = store.user("w1").await.expect("get").expect("exists");
    assert_eq!(got.unit_id.as_deref(), Some("water"));
    assert_eq!(got.role, UserRole::Unit);
}

#[tokio::test]
async fn store_on_sqlite() {
    let (store, _dir) = testdb::sqlite().await;
    scenario(store).await;
}

#[tokio::test]
async fn store_on_postgres() {
    if let Some(store) = testdb::postgres("store_basics").await {
        scenario(store).await;
    }
}

/// Two transitions of one order racing from the same version: exactly one
/// is written.
async fn race(store: Store) {
    let a = create(&store).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let id = a.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = row(&id, 2, "dispatched");
            r.data = format!("{{\"winner\":{i}}}");
            store
                .update_order(
                    1,
                    &r,
                    &hist(&id, 2, Some("received"), "dispatched"),
                    &who(2_000),
                )
                .await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(()) => ok += 1,
            Err(Error::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 7));
    assert_eq!(store.order_history(&a.id).await.expect("h").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_on_sqlite() {
    let (store, _dir) = testdb::sqlite().await;
    race(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_on_postgres() {
    if let Some(store) = testdb::postgres("store_race").await {
        race(store).await;
    }
}

fn kb_rules() -> crate::rules::TicketRules {
    crate::rules::TicketRules {
        calendar: crate::calendar::WorkingCalendar::weekdays_only(),
        policy: crate::deadline::DeadlinePolicy::default(),
        topics: crate::topic::TopicTree::new([("social", "社会保障")]).expect("topics"),
        order_prefix: "MM".into(),
        knowledge: crate::knowledge::KnowledgePolicy::default(),
        supervision: crate::supervision::SupervisionPolicy::default(),
    }
}

async fn knowledge(store: Store) {
    use crate::knowledge::Article;
    let rules = kb_rules();
    let now = time::macros::datetime!(2026-03-02 09:00 +8);
    let texts = [
        (
            "社保卡补办",
            "持身份证到社保服务大厅办理社保卡补办，当场出卡。",
        ),
        ("医保报销", "门诊费用报销需提供发票和病历。"),
        (
            "Water outage",
            "Call the water company hotline 96968 for burst pipes.",
        ),
        ("公积金提取", "提取住房公积金需要购房合同。"),
    ];
    let mut ids = Vec::new();
    for (title, body) in texts {
        let a = store
            .create_article(&who(1), |id| {
                let mut a = Article::register(
                    id,
                    crate::UnitId::new("hrss"),
                    title,
                    None,
                    now.date(),
                    now,
                    &rules.calendar,
                    &rules.knowledge,
                )?;
                a.publish(title, body, now)?;
                Ok(a)
            })
            .await
            .expect("article");
        ids.push(a.id);
    }
    // A pending article is found only when asked for all.
    let pending = store
        .create_article(&who(1), |id| {
            Article::register(
                id,
                crate::UnitId::new("hrss"),
                "社保卡挂失",
                None,
                now.date(),
                now,
                &rules.calendar,
                &rules.knowledge,
            )
        })
        .await
        .expect("pending");

    let titles = |v: Vec<Article>| v.into_iter().map(|a| a.title).collect::<Vec<_>>();
    // The example: 社保卡 finds the article containing 办理社保卡补办.
    assert_eq!(
        titles(
            store
                .search_articles("社保卡", true, 10)
                .await
                .expect("search")
        ),
        ["社保卡补办"]
    );
    let all = titles(
        store
            .search_articles("社保卡", false, 10)
            .await
            .expect("search"),
    );
    assert_eq!(all.len(), 2, "{all:?}");
    // Inside the body, several terms, short terms, Latin text, nothing.
    assert_eq!(
        titles(
            store
                .search_articles("购房合同", true, 10)
                .await
                .expect("s")
        ),
        ["公积金提取"]
    );
    assert_eq!(
        titles(
            store
                .search_articles("身份证 服务大厅", true, 10)
                .await
                .expect("s")
        ),
        ["社保卡补办"]
    );
    assert_eq!(
        titles(store.search_articles("医保", true, 10).await.expect("s")),
        ["医保报销"]
    );
    // Two-character terms only (the character-pair index), also after the
    // index is rebuilt from the stored articles; a pair spread over two
    // words of the text ("保 报" is not "保报") does not match.
    for _ in 0..2 {
        assert_eq!(
            titles(
                store
                    .search_articles("医保 报销", true, 10)
                    .await
                    .expect("s")
            ),
            ["医保报销"]
        );
        assert_eq!(
            titles(store.search_articles("社保", true, 10).await.expect("s")),
            ["社保卡补办"]
        );
        assert!(store
            .search_articles("销门", true, 10)
            .await
            .expect("s")
            .is_empty());
        store.reindex_articles().await.expect("reindex");
    }
    assert_eq!(
        titles(
            store
                .search_articles("burst pipes", true, 10)
                .await
                .expect("s")
        ),
        ["Water outage"]
    );
    assert!(store
        .search_articles("出租车", true, 10)
        .await
        .expect("s")
        .is_empty());
    assert!(store
        .search_articles("  ", true, 10)
        .await
        .expect("s")
        .is_empty());
    // Quotes and LIKE wildcards are text, not syntax.
    assert!(store
        .search_articles("\"社保卡", true, 10)
        .await
        .expect("s")
        .is_empty());
    assert!(store
        .search_articles("%", true, 10)
        .await
        .expect("s")
        .is_empty());

    // Changing the text re-indexes it.
    store
        .update_article(ids[1], &who(2), "article.publish", |a| {
            a.publish("医保报销", "异地就医备案后直接结算。", now)
        })
        .await
        .expect("update");
    assert_eq!(
        titles(
            store
                .search_articles("异地就医", true, 10)
                .await
                .expect("s")
        ),
        ["医保报销"]
    );
    assert!(store
        .search_articles("病历", true, 10)
        .await
        .expect("s")
        .is_empty());

    // The sweep raises the pending article once its upload deadline passed,
    // and only once.
    let later = now + time::Duration::days(30);
    let raised = store.run_sweep(later, &rules).await.expect("sweep");
    assert!(
        raised.iter().any(|r| r.knowledge_id == Some(pending.id)),
        "{raised:?}"
    );
    assert!(store
        .run_sweep(later, &rules)
        .await
        .expect("sweep")
        .is_empty());
    let listed = store
        .supervision_records(&SupervisionFilter::default(), 10, 0)
        .await
        .expect("list");
    assert_eq!(listed.len(), raised.len());
}

#[tokio::test]
async fn knowledge_search_on_sqlite() {
    let (store, _dir) = testdb::sqlite().await;
    knowledge(store).await;
}

#[tokio::test]
async fn knowledge_search_on_postgres() {
    if let Some(store) = testdb::postgres("kb").await {
        knowledge(store).await;
    }
}

/// Keyset paging walks every list (newest first; most overdue first for
/// late lists; with and without a unit) in the same order as one big page,
/// ties on the sort key included, and never repeats or skips an order.
async fn paging(store: Store) {
    // (created_at_ms, next_due_ms, lead unit): ties on both keys.
    let spec: [(i64, Option<i64>, &str); 9] = [
        (1_000, Some(5_000), "water"),
        (1_000, Some(5_000), "water"),
        (1_000, Some(4_000), "roads"),
        (2_000, None, "water"),
        (2_000, Some(9_000), "water"),
        (3_000, Some(4_000), "water"),
        (4_000, Some(20_000), "water"),
        (4_000, Some(1_000), "roads"),
        (5_000, Some(5_000), "water"),
    ];
    for (created, due, unit) in spec {
        store
            .insert_order("20261125", &who(created), |seq| {
                let id = format!("MM20261125{seq:06}");
                let mut order = row(&id, 1, "dispatched");
                order.created_at_ms = created;
                order.next_due_ms = due;
                order.lead_unit = Some(unit.into());
                Ok::<_, std::convert::Infallible>(NewOrder {
                    order,
                    history: vec![hist(&id, 1, None, "dispatched")],
                    draft: None,
                })
            })
            .await
            .expect("insert")
            .expect("build");
    }
    let lists = [
        (OrderFilter::default(), 9),
        (
            OrderFilter {
                unit: Some("water".into()),
                ..OrderFilter::default()
            },
            7,
        ),
        (
            OrderFilter {
                overdue_at_ms: Some(10_000),
                ..OrderFilter::default()
            },
            7,
        ),
        (
            OrderFilter {
                unit: Some("water".into()),
                overdue_at_ms: Some(10_000),
                ..OrderFilter::default()
            },
            5,
        ),
    ];
    for (filter, expected_len) in lists {
        let rows = store
            .list_orders(&filter, 100, &PageStart::default())
            .await
            .expect("list");
        let ids: Vec<&str> = rows.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids.len(), expected_len, "{filter:?}");
        // The order the list promises.
        for w in rows.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if filter.overdue_at_ms.is_some() {
                assert!(
                    (a.next_due_ms, &a.id) < (b.next_due_ms, &b.id),
                    "most overdue first: {ids:?}"
                );
            } else {
                assert!(
                    (a.created_at_ms, &a.id) > (b.created_at_ms, &b.id),
                    "newest first: {ids:?}"
                );
            }
        }
        // Page by two with the cursor, through its text form.
        let mut walked: Vec<String> = Vec::new();
        let mut start = PageStart::default();
        loop {
            let page = store.list_orders(&filter, 2, &start).await.expect("page");
            assert!(page.len() <= 2);
            walked.extend(page.iter().map(|o| o.id.clone()));
            let Some(last) = page.last() else { break };
            let cursor = Cursor::after(last, &filter);
            start = PageStart::After(Cursor::decode(&cursor.encode()).expect("cursor"));
        }
        assert_eq!(walked, ids, "{filter:?}");
        // Offset paging agrees.
        let third = store
            .list_orders(&filter, 2, &PageStart::Offset(4))
            .await
            .expect("offset page");
        let got: Vec<&str> = third.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(got, ids[4..ids.len().min(6)], "{filter:?}");
    }
}

#[tokio::test]
async fn keyset_paging_on_sqlite() {
    let (store, _dir) = testdb::sqlite().await;
    paging(store).await;
}

#[tokio::test]
async fn keyset_paging_on_postgres() {
    if let Some(store) = testdb::postgres("store_paging").await {
        paging(store).await;
    }
}

/// Two-character terms common enough that SQLite walks the articles newest
/// first (more than `WALK_FROM_MATCHES` matches) find the same articles, in
/// the same order, as the listing path does for rarer ones.
async fn common_pairs(store: Store) {
    use crate::knowledge::Article;
    let rules = kb_rules();
    let start = time::macros::datetime!(2026-03-02 09:00 +8);
    let n = 1_100_i64;
    for i in 0..n {
        // Every article mentions 医保; one in ten also 备案; one withdrawn.
        let title = format!("医保问答{i}");
        let body = if i % 10 == 0 {
            format!("异地就医备案，第{i}条")
        } else {
            format!("门诊报销，第{i}条")
        };
        let when = start + time::Duration::minutes(i);
        store
            .create_article(&who(1), |id| {
                let mut a = Article::register(
                    id,
                    crate::UnitId::new("hrss"),
                    &title,
                    None,
                    when.date(),
                    when,
                    &rules.calendar,
                    &rules.knowledge,
                )?;
                if i != n - 1 {
                    a.publish(&title, &body, when)?;
                }
                Ok(a)
            })
            .await
            .expect("article");
    }
    let titles = |v: Vec<crate::knowledge::Article>| -> Vec<String> {
        v.into_iter().map(|a| a.title).collect()
    };
    // Newest published first; the unpublished newest one left out.
    let got = titles(store.search_articles("医保", true, 5).await.expect("s"));
    let want: Vec<String> = (n - 6..n - 1)
        .rev()
        .map(|i| format!("医保问答{i}"))
        .collect();
    assert_eq!(got, want);
    // With everything, the unpublished one comes first.
    let got = titles(store.search_articles("医保", false, 2).await.expect("s"));
    assert_eq!(
        got,
        [format!("医保问答{}", n - 1), format!("医保问答{}", n - 2)]
    );
    // A common pair and a rarer one: only articles with both.
    let got = titles(
        store
            .search_articles("医保 备案", true, 3)
            .await
            .expect("s"),
    );
    let want: Vec<String> = [1090, 1080, 1070]
        .iter()
        .map(|i| format!("医保问答{i}"))
        .collect();
    assert_eq!(got, want);
    // A common pair and a one-character term (LIKE).
    let got = titles(store.search_articles("医保 诊", true, 2).await.expect("s"));
    assert_eq!(got, ["医保问答1098", "医保问答1097"]);
    // A pair nobody has.
    assert!(store
        .search_articles("医保 出租", true, 5)
        .await
        .expect("s")
        .is_empty());
}

#[tokio::test]
async fn common_pairs_on_sqlite() {
    let (store, _dir) = testdb::sqlite().await;
    common_pairs(store).await;
}

#[tokio::test]
async fn common_pairs_on_postgres() {
    if let Some(store) = testdb::postgres("store_common_pairs").await {
        common_pairs(store).await;
    }
}
