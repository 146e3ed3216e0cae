//! Tests of drafts: who opens and completes them, what goes onto the order.

use super::*;
use crate::emergency::{EmergencyLine, LinkageOutcome};
use crate::lifecycle::{OrderState, RefusalReason};
use crate::order::Category;
use crate::testkit::*;

fn call() -> CallInfo {
    CallInfo {
        call_id: "a84b4c76e66710@pc33".into(),
        caller_number: Some("13900001111".into()),
        ivr_path: vec!["main".into(), "social".into()],
        recording_id: Some("rec-77".into()),
        agent: agent().id,
        answered_at: T0,
    }
}

fn draft() -> Draft {
    Draft::open(5, call(), &Actor::system("call-side"), T0).unwrap()
}

fn linkage(call_id: &str) -> EmergencyLinkage {
    EmergencyLinkage {
        line: EmergencyLine::Ambulance,
        at: T0 + Duration::minutes(1),
        agent: agent().id,
        call_id: call_id.into(),
        outcome: LinkageOutcome::Connected,
        note: Some("老人晕倒".into()),
    }
}

#[test]
fn only_the_call_side_opens_drafts() {
    let e = Draft::open(1, call(), &agent(), T0).unwrap_err();
    assert_eq!(e.status(), 403);
    let mut c = call();
    c.call_id = String::new();
    let e = Draft::open(1, c, &Actor::system("call-side"), T0).unwrap_err();
    assert_eq!(e.field(), Some("call.call_id"));
}

#[test]
fn completed_into_a_dispatched_order_with_the_call_links() {
    let rules = rules();
    let mut d = details(Category::Help);
    d.caller.number = None;
    d.links = Default::default();
    let done = draft()
        .complete_with_order(
            number(3),
            d,
            Some(&dispatch()),
            &agent(),
            T0 + Duration::minutes(5),
            &rules,
        )
        .unwrap();
    let o = &done.opened.order;
    assert_eq!(o.state, OrderState::Dispatched);
    assert_eq!(o.details.links.call_ids, ["a84b4c76e66710@pc33"]);
    assert_eq!(o.details.links.recording_ids, ["rec-77"]);
    assert_eq!(o.details.links.draft_id, Some(5));
    assert_eq!(o.details.caller.number.as_deref(), Some("13900001111"));
    let kinds: Vec<CommandKind> = done.opened.history.iter().map(|h| h.command).collect();
    assert_eq!(kinds, [CommandKind::Open, CommandKind::Dispatch]);
    assert_eq!(done.opened.history[1].seq, 2);
    assert!(matches!(
        done.opened.effects[..],
        [Effect::NotifyUnits { .. }]
    ));
    assert_eq!(
        done.draft.status,
        DraftStatus::OrderOpened { number: number(3) }
    );
    // Completed once only.
    let again = done
        .draft
        .complete_with_order(
            number(4),
            details(Category::Help),
            None,
            &agent(),
            T0,
            &rules,
        )
        .unwrap_err();
    assert_eq!(again.code(), "not_allowed_now");
}

#[test]
fn answered_on_spot_or_refused_from_the_draft() {
    let rules = rules();
    let answer = Command::AnswerOnSpot {
        answer: "请携带身份证到社保窗口补办".into(),
        knowledge_articles: vec![12, 40],
    };
    let done = draft()
        .complete_with_order(
            number(6),
            details(Category::Consultation),
            Some(&answer),
            &agent(),
            T0,
            &rules,
        )
        .unwrap();
    assert_eq!(done.opened.order.state, OrderState::AnsweredOnSpot);
    assert_eq!(done.opened.order.knowledge_articles, [12, 40]);
    let refuse = Command::Refuse {
        reason: RefusalReason::InLegalProcedure,
        explanation: "该纠纷已进入诉讼程序,请按原途径解决".into(),
    };
    let done = draft()
        .complete_with_order(
            number(7),
            details(Category::Complaint),
            Some(&refuse),
            &agent(),
            T0,
            &rules,
        )
        .unwrap();
    assert_eq!(done.opened.order.state, OrderState::Refused);
    assert_eq!(
        done.opened.order.refusal_reason,
        Some(RefusalReason::InLegalProcedure)
    );
    // Non-intake commands are not accepted as the intake decision.
    let e = draft()
        .complete_with_order(
            number(8),
            details(Category::Help),
            Some(&Command::Sign),
            &agent(),
            T0,
            &rules,
        )
        .unwrap_err();
    assert_eq!(e.field(), Some("intake.command"));
}

#[test]
fn who_completes_a_draft() {
    let rules = rules();
    let other_agent = Actor::new("1002", Role::Agent);
    let e = draft()
        .no_order_needed(NoOrderReason::SilentCall, None, None, &other_agent, T0)
        .unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(draft()
        .no_order_needed(NoOrderReason::SilentCall, None, None, &supervisor(), T0)
        .is_ok());
    let e = draft()
        .complete_with_order(
            number(9),
            details(Category::Help),
            None,
            &lead_user(),
            T0,
            &rules,
        )
        .unwrap_err();
    assert_eq!(e.status(), 403);
}

#[test]
fn no_order_needed_needs_a_reason_where_it_matters() {
    let d = draft();
    let e = d
        .no_order_needed(NoOrderReason::Other, None, None, &agent(), T0)
        .unwrap_err();
    assert_eq!(e.field(), Some("note"));
    let e = d
        .no_order_needed(
            NoOrderReason::ExistingOrderEnquiry,
            None,
            None,
            &agent(),
            T0,
        )
        .unwrap_err();
    assert_eq!(e.field(), Some("related_order"));
    let closed = d
        .no_order_needed(
            NoOrderReason::ExistingOrderEnquiry,
            None,
            Some(number(1)),
            &agent(),
            T0,
        )
        .unwrap();
    assert!(!closed.is_open());
    assert_eq!(closed.completed_by, Some(agent().id));
}

#[test]
fn emergency_transfer_attaches_and_goes_onto_the_order() {
    let rules = rules();
    let mut d = draft();
    let e = d.attach_emergency(linkage("another-call")).unwrap_err();
    assert_eq!(e.field(), Some("linkage.call_id"));
    d.attach_emergency(linkage("a84b4c76e66710@pc33")).unwrap();
    // A transfer cannot be closed away as "no order needed".
    let e = d
        .no_order_needed(NoOrderReason::CallerHungUp, None, None, &agent(), T0)
        .unwrap_err();
    assert_eq!(e.code(), "not_allowed_now");
    let mut det = details(Category::Help);
    det.links = Default::default();
    let hand_over = Command::HandOverToEmergency {
        linkage: linkage("a84b4c76e66710@pc33"),
    };
    let done = d
        .complete_with_order(
            number(10),
            det,
            Some(&hand_over),
            &agent(),
            T0 + Duration::minutes(3),
            &rules,
        )
        .unwrap();
    let o = &done.opened.order;
    assert_eq!(o.state, OrderState::HandedToEmergency);
    assert_eq!(
        o.details.links.emergency.as_ref().map(|l| l.line),
        Some(EmergencyLine::Ambulance)
    );
    let json = serde_json::to_value(o).unwrap();
    assert_eq!(json["details"]["links"]["emergency"]["line"], "120");
}

#[test]
fn emergency_without_a_draft_opens_its_own_order() {
    let rules = rules();
    let c = Command::HandOverToEmergency {
        linkage: linkage("ivr-only-call"),
    };
    let opened = open_order(
        number(11),
        details(Category::Help),
        Some(&c),
        &Actor::system("ivr"),
        T0,
        &rules,
    )
    .unwrap();
    assert_eq!(opened.order.state, OrderState::HandedToEmergency);
    assert_eq!(opened.history.len(), 2);
    // Unit users and admins cannot open orders; a foreign prefix is refused.
    for who in [lead_user(), admin()] {
        let e =
            open_order(number(12), details(Category::Help), None, &who, T0, &rules).unwrap_err();
        assert_eq!(e.status(), 403);
    }
    let foreign = OrderNumber::new("GD", time::macros::date!(2026 - 03 - 02), 1).unwrap();
    assert_eq!(
        open_order(foreign, details(Category::Help), None, &agent(), T0, &rules)
            .unwrap_err()
            .field(),
        Some("number")
    );
}

#[test]
fn stale_drafts_are_the_open_ones_past_wrap_up() {
    let d = draft();
    let wrap = Duration::minutes(10);
    assert!(!d.is_stale(T0 + Duration::minutes(10), wrap));
    assert!(d.is_stale(T0 + Duration::minutes(11), wrap));
    let closed = d
        .no_order_needed(NoOrderReason::WrongNumber, None, None, &agent(), T0)
        .unwrap();
    assert!(!closed.is_stale(T0 + Duration::hours(5), wrap));
}

#[test]
fn serde_round_trip() {
    let mut d = draft();
    d.attach_emergency(linkage("a84b4c76e66710@pc33")).unwrap();
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["status"]["state"], "open");
    assert_eq!(serde_json::from_value::<Draft>(json).unwrap(), d);
    let closed = draft()
        .no_order_needed(
            NoOrderReason::TestCall,
            Some("测试".into()),
            None,
            &agent(),
            T0,
        )
        .unwrap();
    let json = serde_json::to_string(&closed).unwrap();
    assert_eq!(serde_json::from_str::<Draft>(&json).unwrap(), closed);
}
