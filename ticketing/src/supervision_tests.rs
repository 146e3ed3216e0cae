//! The sweep in virtual time: orders and knowledge items left alone, a clock
//! advanced in steps, and the records raised checked one by one.

use std::collections::BTreeSet;

use time::macros::{date, datetime};
use time::Duration;

use super::*;
use crate::actor::UserId;
use crate::knowledge::{Article, GapKind, GapReport, KnowledgePolicy};
use crate::lifecycle::{Command, OrderState};
use crate::order::Category;
use crate::testkit::*;

/// Run the sweep every `step` from `from` to `to`, remembering keys like the
/// store would; returns every record raised, in order.
fn run(
    orders: &[OrderSummary],
    articles: &[Article],
    gaps: &[GapReport],
    from: OffsetDateTime,
    to: OffsetDateTime,
    step: Duration,
) -> Vec<SupervisionRecord> {
    let rules = rules();
    let mut raised: BTreeSet<String> = BTreeSet::new();
    let mut all = Vec::new();
    let mut now = from;
    while now <= to {
        let input = SweepInput {
            orders,
            articles,
            gaps,
        };
        let new = sweep(input, now, &rules.calendar, &rules.supervision, |k| {
            raised.contains(k)
        });
        // Running again at the same instant raises nothing.
        let again = sweep(input, now, &rules.calendar, &rules.supervision, |k| {
            raised.contains(k) || new.iter().any(|r| r.key == k)
        });
        assert!(again.is_empty(), "not idempotent at {now}: {again:?}");
        for r in new {
            assert!(raised.insert(r.key.clone()), "raised twice: {}", r.key);
            all.push(r);
        }
        now += step;
    }
    all
}

fn kinds(records: &[SupervisionRecord]) -> Vec<(SupervisionKind, Tier, OffsetDateTime)> {
    records
        .iter()
        .map(|r| (r.kind, r.tier, r.raised_at))
        .collect()
}

#[test]
fn unsigned_order_is_raised_at_district_then_city() {
    // Dispatched Monday 2 March 09:10; nobody signs.
    let o = order_in(OrderState::Dispatched);
    let sign_by = o.deadlines.sign_by.unwrap();
    assert_eq!(sign_by, datetime!(2026-03-03 09:10 +8));
    let records = run(
        &[OrderSummary::of(&o)],
        &[],
        &[],
        T0,
        datetime!(2026-03-12 12:00 +8),
        Duration::minutes(30),
    );
    // Sign: district at the first sweep after 09:10 on the 3rd, city 24 h
    // later. Completion (help, end of Friday 6th): district at midnight,
    // city once three whole working days (9th, 10th, 11th) have passed.
    assert_eq!(
        kinds(&records),
        [
            (
                SupervisionKind::OverdueSign,
                Tier::District,
                datetime!(2026-03-03 09:30 +8)
            ),
            (
                SupervisionKind::OverdueSign,
                Tier::City,
                datetime!(2026-03-04 09:30 +8)
            ),
            (
                SupervisionKind::OverdueCompletion,
                Tier::District,
                datetime!(2026-03-07 00:00 +8)
            ),
            (
                SupervisionKind::OverdueCompletion,
                Tier::City,
                datetime!(2026-03-12 00:00 +8)
            ),
        ]
    );
    let city = &records[3];
    assert_eq!(city.late_working_days, 3);
    assert_eq!(city.unit, Some(crate::actor::UnitId::new(LEAD)));
    assert_eq!(city.district.as_deref(), Some("maonan"));
    assert_eq!(city.order, Some(o.number.clone()));
    assert_eq!(records[0].late_minutes, 20);
}

#[test]
fn response_and_reply_deadlines() {
    let rules = rules();
    // Signed at 09:20, no response: due 09:50.
    let signed = order_in(OrderState::Signed);
    assert_eq!(
        signed.deadlines.respond_by,
        Some(datetime!(2026-03-02 09:50 +8))
    );
    let at = datetime!(2026-03-02 10:00 +8);
    let r = sweep(
        SweepInput {
            orders: &[OrderSummary::of(&signed)],
            articles: &[],
            gaps: &[],
        },
        at,
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert_eq!(
        kinds(&r),
        [(SupervisionKind::OverdueResponse, Tier::District, at)]
    );
    // Completed at 09:40 on Monday, not replied: due end of Tuesday.
    let completed = order_in(OrderState::Completed);
    assert_eq!(
        completed.deadlines.reply_by,
        Some(datetime!(2026-03-04 00:00 +8))
    );
    let summaries = [OrderSummary::of(&completed)];
    let input = SweepInput {
        orders: &summaries,
        articles: &[],
        gaps: &[],
    };
    let before = sweep(
        input,
        datetime!(2026-03-03 23:59 +8),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert!(before.is_empty(), "{before:?}");
    let after = sweep(
        input,
        datetime!(2026-03-04 00:00 +8),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].kind, SupervisionKind::OverdueReply);
    // Replying stops it.
    let replied = order_in(OrderState::Replied);
    let late = sweep(
        SweepInput {
            orders: &[OrderSummary::of(&replied)],
            articles: &[],
            gaps: &[],
        },
        datetime!(2026-04-01 00:00 +8),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert!(late.is_empty(), "{late:?}");
}

#[test]
fn extension_gives_a_new_deadline_and_a_new_key() {
    let o = order_in(OrderState::InProgress);
    let ask = Command::RequestExtension {
        reason: "需协调资金".into(),
        measures: "已报区财政".into(),
        promised_by: datetime!(2026-03-12 09:00 +8),
    };
    let o = step(&o, ask, &lead_user(), T0 + Duration::hours(1));
    let o = step(
        &o,
        Command::ApproveExtension { note: None },
        &supervisor(),
        T0 + Duration::hours(2),
    );
    let records = run(
        &[OrderSummary::of(&o)],
        &[],
        &[],
        T0,
        datetime!(2026-03-13 06:00 +8),
        Duration::hours(1),
    );
    // Nothing before the extended deadline (end of the 12th).
    assert_eq!(
        kinds(&records),
        [(
            SupervisionKind::OverdueCompletion,
            Tier::District,
            datetime!(2026-03-13 00:00 +8)
        )]
    );
    assert!(records[0]
        .key
        .contains(&datetime!(2026-03-13 00:00 +8).unix_timestamp().to_string()));
}

#[test]
fn orders_waiting_for_the_hotline_are_not_the_units_fault() {
    let rules = rules();
    for state in [
        OrderState::ReturnRequested,
        OrderState::Received,
        OrderState::Closed,
    ] {
        let o = order_in(state);
        let r = sweep(
            SweepInput {
                orders: &[OrderSummary::of(&o)],
                articles: &[],
                gaps: &[],
            },
            datetime!(2026-06-01 00:00 +8),
            &rules.calendar,
            &rules.supervision,
            |_| false,
        );
        assert!(r.is_empty(), "{state}: {r:?}");
    }
}

fn call_from(
    caller: &str,
    seq: u32,
    at: OffsetDateTime,
    topic: &str,
    category: Category,
) -> OrderSummary {
    let mut d = details(category);
    d.caller.number = Some(caller.into());
    d.topic = crate::topic::TopicCode::new(topic);
    let mut o = open(d);
    o.number = number(seq);
    o.created_at = at;
    OrderSummary::of(&o)
}

#[test]
fn the_same_matter_three_times_in_thirty_days() {
    let rules = rules();
    let day = |n: i64| T0 + Duration::days(n);
    let mut orders = vec![
        call_from(
            "13800138000",
            1,
            day(0),
            "urban.housing",
            Category::Complaint,
        ),
        call_from(
            "+86 138-0013-8000",
            2,
            day(10),
            "urban.housing",
            Category::Complaint,
        ),
        // Another topic, another category, another caller: not the same matter.
        call_from("13800138000", 3, day(11), "social", Category::Complaint),
        call_from("13800138000", 4, day(12), "urban.housing", Category::Help),
        call_from(
            "13900000000",
            5,
            day(13),
            "urban.housing",
            Category::Complaint,
        ),
    ];
    let input = |o: &[OrderSummary]| {
        sweep(
            SweepInput {
                orders: o,
                articles: &[],
                gaps: &[],
            },
            day(40),
            &rules.calendar,
            &rules.supervision,
            |_| false,
        )
    };
    assert!(input(&orders).is_empty());
    orders.push(call_from(
        "13800138000",
        6,
        day(29),
        "urban.housing",
        Category::Complaint,
    ));
    let r = input(&orders);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind, r[0].tier),
        (SupervisionKind::RepeatedMatter, Tier::District)
    );
    assert_eq!(r[0].order, Some(number(6)));
    assert_eq!(r[0].related_orders, [number(1), number(2), number(6)]);
    // A fourth call in the same episode raises nothing new.
    let raised: BTreeSet<String> = r.iter().map(|r| r.key.clone()).collect();
    orders.push(call_from(
        "13800138000",
        7,
        day(30),
        "urban.housing",
        Category::Complaint,
    ));
    let r2 = sweep(
        SweepInput {
            orders: &orders,
            articles: &[],
            gaps: &[],
        },
        day(40),
        &rules.calendar,
        &rules.supervision,
        |k| raised.contains(k),
    );
    assert!(r2.is_empty(), "{r2:?}");
    // Six in the window: the city.
    for (seq, d) in [(8, 31), (9, 32), (10, 33)] {
        orders.push(call_from(
            "13800138000",
            seq,
            day(d),
            "urban.housing",
            Category::Complaint,
        ));
    }
    let r3 = sweep(
        SweepInput {
            orders: &orders,
            articles: &[],
            gaps: &[],
        },
        day(40),
        &rules.calendar,
        &rules.supervision,
        |k| raised.contains(k),
    );
    assert_eq!(
        r3.iter().map(|r| r.tier).collect::<Vec<_>>(),
        [Tier::City],
        "{r3:?}"
    );
    assert_eq!(r3[0].order, Some(number(10)));
    assert_eq!(r3[0].related_orders.len(), 6);
    // Long after, the episode is history: nothing is raised for it.
    let late = sweep(
        SweepInput {
            orders: &orders,
            articles: &[],
            gaps: &[],
        },
        day(100),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert!(late.is_empty(), "{late:?}");
}

#[test]
fn calls_spread_over_more_than_thirty_days_are_not_a_repeat() {
    let rules = rules();
    let orders: Vec<OrderSummary> = (0..5)
        .map(|i| {
            call_from(
                "13800138000",
                i + 1,
                T0 + Duration::days(16 * i64::from(i)),
                "urban.housing",
                Category::Help,
            )
        })
        .collect();
    let r = sweep(
        SweepInput {
            orders: &orders,
            articles: &[],
            gaps: &[],
        },
        T0 + Duration::days(70),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert!(r.is_empty(), "{r:?}");
}

#[test]
fn stale_knowledge_is_supervised() {
    let rules = rules();
    let p = KnowledgePolicy::default();
    // Policy effective Monday 2 March: upload by the end of Wednesday 11th.
    let article = Article::register(
        3,
        crate::actor::UnitId::new("hrss"),
        "医保异地备案",
        None,
        date!(2026 - 03 - 02),
        T0,
        &rules.calendar,
        &p,
    )
    .unwrap();
    assert_eq!(article.upload_due, datetime!(2026-03-12 00:00 +8));
    let mut published = article.clone();
    published.id = 4;
    published.publish("医保异地备案", "线上办理。", T0).unwrap();
    // Gap reported Monday 2 March 10:00: fix by the end of Monday 9th.
    let gap = GapReport::report(
        8,
        crate::actor::UnitId::new("hrss"),
        None,
        GapKind::Missing,
        "缺少异地就医报销比例",
        UserId::new("1001"),
        datetime!(2026-03-02 10:00 +8),
        &rules.calendar,
        &p,
    )
    .unwrap();
    let records = run(
        &[],
        &[article, published],
        &[gap],
        T0,
        datetime!(2026-03-20 00:00 +8),
        Duration::hours(6),
    );
    let got: Vec<(SupervisionKind, Tier, Option<u64>, OffsetDateTime)> = records
        .iter()
        .map(|r| (r.kind, r.tier, r.knowledge_id, r.raised_at))
        .collect();
    // Six-hourly sweeps from 09:00 run at 03:00, 09:00, 15:00, 21:00.
    assert_eq!(
        got,
        [
            (
                SupervisionKind::KnowledgeFix,
                Tier::District,
                Some(8),
                datetime!(2026-03-10 03:00 +8)
            ),
            (
                SupervisionKind::KnowledgeUpload,
                Tier::District,
                Some(3),
                datetime!(2026-03-12 03:00 +8)
            ),
            // Three whole working days late: 10th, 11th, 12th.
            (
                SupervisionKind::KnowledgeFix,
                Tier::City,
                Some(8),
                datetime!(2026-03-13 03:00 +8)
            ),
            // 12th, 13th, 16th.
            (
                SupervisionKind::KnowledgeUpload,
                Tier::City,
                Some(3),
                datetime!(2026-03-17 03:00 +8)
            ),
        ]
    );
    assert_eq!(records[1].unit, Some(crate::actor::UnitId::new("hrss")));
}

#[test]
fn policy_validation() {
    let mut p = SupervisionPolicy::default();
    assert!(p.validate().is_ok());
    p.repeat_threshold = 1;
    let e = p.validate().unwrap_err();
    assert!(e.to_string().contains("tickets.repeat_threshold"), "{e}");
}

#[test]
fn records_serialise_with_snake_case_kinds() {
    let o = order_in(OrderState::Dispatched);
    let rules = rules();
    let r = sweep(
        SweepInput {
            orders: &[OrderSummary::of(&o)],
            articles: &[],
            gaps: &[],
        },
        datetime!(2026-03-05 00:00 +8),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    let v = serde_json::to_value(&r[0]).unwrap();
    assert_eq!(v["kind"], "overdue_sign");
    assert_eq!(v["tier"], "city");
    let back: SupervisionRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back, r[0]);
}

#[test]
fn an_order_listed_twice_raises_once() {
    let rules = rules();
    let s = OrderSummary::of(&order_in(OrderState::Dispatched));
    let twice = [s.clone(), s];
    let r = sweep(
        SweepInput {
            orders: &twice,
            articles: &[],
            gaps: &[],
        },
        datetime!(2026-03-03 12:00 +8),
        &rules.calendar,
        &rules.supervision,
        |_| false,
    );
    assert_eq!(
        kinds(&r),
        [(
            SupervisionKind::OverdueSign,
            Tier::District,
            datetime!(2026-03-03 12:00 +8)
        )]
    );
}
