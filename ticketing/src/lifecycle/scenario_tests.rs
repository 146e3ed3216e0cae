//! Scenario tests of the rules of §17–§22: deadlines set along the way,
//! extension, return, completion, material refusal, survey, callback and
//! redo, no-reply orders, field validation, reports and legal limits.

use time::macros::datetime;
use time::Duration;

use super::*;
use crate::actor::UnitId;
use crate::order::{Category, Decision, DissatisfactionCause, Outcome};
use crate::testkit::*;

use OrderState as S;

#[test]
fn deadlines_set_along_the_way() {
    // Help order dispatched Friday 13 February 2026 at 16:00, before the
    // make-up Saturday and the Spring Festival.
    let o = open(details(Category::Help));
    let t0 = datetime!(2026-02-13 16:00 +8);
    let o = step(&o, dispatch(), &agent(), t0);
    let d = &o.deadlines;
    assert_eq!(d.sign_by, Some(datetime!(2026-02-14 16:00 +8)));
    assert_eq!(d.return_by, Some(datetime!(2026-02-15 00:00 +8)));
    assert_eq!(d.complete_by, Some(datetime!(2026-02-27 00:00 +8)));
    assert_eq!(d.complete_days, Some(4));
    let o = step(
        &o,
        Command::Sign,
        &lead_user(),
        datetime!(2026-02-14 09:00 +8),
    );
    assert_eq!(o.deadlines.respond_by, Some(datetime!(2026-02-14 09:30 +8)));
    let o = step(
        &o,
        Command::Respond {
            contacted: true,
            note: "已联系".into(),
        },
        &lead_user(),
        datetime!(2026-02-14 09:20 +8),
    );
    let o = step(
        &o,
        complete(true),
        &lead_user(),
        datetime!(2026-02-14 17:00 +8),
    );
    // Reply within 1 working day: the holiday follows, so 24 February.
    assert_eq!(o.deadlines.reply_by, Some(datetime!(2026-02-25 00:00 +8)));
}

#[test]
fn extension_once_before_the_deadline_same_length_again() {
    let rules = rules();
    let o = order_in(S::InProgress); // help, dispatched Monday 2 March
    assert_eq!(
        o.deadlines.complete_by,
        Some(datetime!(2026-03-07 00:00 +8))
    );
    let ask = |promised_by| Command::RequestExtension {
        reason: "需协调资金".into(),
        measures: "已报区财政".into(),
        promised_by,
    };
    // A promise beyond the extended deadline (end of 12 March) is refused.
    let e = apply(
        &o,
        &ask(datetime!(2026-03-13 09:00 +8)),
        &lead_user(),
        T0,
        &rules,
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("promised_by"));
    // After the deadline: too late.
    let late = apply(
        &o,
        &ask(datetime!(2026-03-12 09:00 +8)),
        &lead_user(),
        datetime!(2026-03-07 00:00 +8),
        &rules,
    )
    .unwrap_err();
    assert_eq!(late.code(), "not_allowed_now");
    let t = apply(
        &o,
        &ask(datetime!(2026-03-12 09:00 +8)),
        &lead_user(),
        T0,
        &rules,
    )
    .unwrap();
    assert_eq!(
        t.order.extension.as_ref().map(|e| e.decision),
        Some(Decision::Pending)
    );
    assert_eq!(
        t.order.deadlines.complete_by, o.deadlines.complete_by,
        "not moved before approval"
    );
    let approved = step(
        &t.order,
        Command::ApproveExtension { note: None },
        &supervisor(),
        T0 + Duration::hours(4),
    );
    assert_eq!(
        approved.deadlines.complete_by,
        Some(datetime!(2026-03-13 00:00 +8))
    );
    // Twice: never, approved or refused.
    let e = apply(
        &approved,
        &ask(datetime!(2026-03-12 09:00 +8)),
        &lead_user(),
        T0 + Duration::hours(5),
        &rules,
    )
    .unwrap_err();
    assert_eq!(e.code(), "not_allowed_now");
    let e = apply(
        &approved,
        &Command::ApproveExtension { note: None },
        &supervisor(),
        T0 + Duration::hours(5),
        &rules,
    )
    .unwrap_err();
    assert_eq!(e.code(), "not_allowed_now");
    let refused = step(
        &t.order,
        Command::RefuseExtension {
            note: "理由不足".into(),
        },
        &supervisor(),
        T0 + Duration::hours(4),
    );
    assert_eq!(refused.deadlines.complete_by, o.deadlines.complete_by);
    assert!(apply(
        &refused,
        &ask(datetime!(2026-03-12 09:00 +8)),
        &lead_user(),
        T0 + Duration::hours(5),
        &rules
    )
    .is_err());
    // No request: nothing to decide.
    let e = apply(
        &o,
        &Command::RefuseExtension { note: "x".into() },
        &supervisor(),
        T0,
        &rules,
    )
    .unwrap_err();
    assert_eq!(e.code(), "not_allowed_now");
}

#[test]
fn return_within_one_working_day_then_redispatch_or_go_on() {
    let rules = rules();
    let o = order_in(S::Signed); // dispatched Monday 2 March 09:10
    assert_eq!(o.deadlines.return_by, Some(datetime!(2026-03-04 00:00 +8)));
    let ask = Command::RequestReturn {
        reason: "非本单位职责".into(),
        basis: "三定方案".into(),
    };
    let late = apply(
        &o,
        &ask,
        &lead_user(),
        datetime!(2026-03-04 00:00:01 +8),
        &rules,
    )
    .unwrap_err();
    assert_eq!(late.code(), "not_allowed_now");
    let t = apply(
        &o,
        &ask,
        &lead_user(),
        datetime!(2026-03-03 23:59 +8),
        &rules,
    )
    .unwrap();
    assert_eq!(t.order.state, S::ReturnRequested);
    // Refused: back to where it was, the same deadlines, and no second try.
    let refused = step(
        &t.order,
        Command::RefuseReturn {
            note: "属你单位职责".into(),
        },
        &supervisor(),
        datetime!(2026-03-03 23:59 +8),
    );
    assert_eq!(refused.state, S::Signed);
    assert_eq!(refused.deadlines, o.deadlines);
    let again = apply(
        &refused,
        &ask,
        &lead_user(),
        datetime!(2026-03-03 23:59 +8),
        &rules,
    )
    .unwrap_err();
    assert_eq!(again.code(), "not_allowed_now");
    // Approved: back to the hotline, unassigned, and dispatched elsewhere.
    let approved = step(
        &t.order,
        Command::ApproveReturn { note: None },
        &supervisor(),
        datetime!(2026-03-04 10:00 +8),
    );
    assert_eq!(approved.state, S::Received);
    assert_eq!(approved.assignment, None);
    assert_eq!(approved.returned_by, vec![UnitId::new(LEAD)]);
    assert_eq!(approved.deadlines.complete_by, None);
    let re = Command::Dispatch {
        lead: UnitId::new(OTHER),
        co_handlers: vec![],
        note: None,
    };
    let t = apply(
        &approved,
        &re,
        &agent(),
        datetime!(2026-03-04 11:00 +8),
        &rules,
    )
    .unwrap();
    assert_eq!(
        t.effects,
        vec![Effect::NotifyUnits {
            units: vec![UnitId::new(OTHER)]
        }]
    );
    // The new lead's limits run from the new dispatch (help: 4 working days).
    assert_eq!(
        t.order.deadlines.complete_by,
        Some(datetime!(2026-03-11 00:00 +8))
    );
    // The old lead can no longer act.
    let signed = apply(
        &t.order,
        &Command::Sign,
        &lead_user(),
        datetime!(2026-03-04 12:00 +8),
        &rules,
    )
    .unwrap_err();
    assert_eq!(signed.status(), 403);
}

#[test]
fn only_the_lead_completes_and_cannot_be_done_needs_a_written_note() {
    let rules = rules();
    let o = order_in(S::InProgress);
    let e = apply(&o, &complete(true), &co_user(), T0, &rules).unwrap_err();
    assert!(matches!(e, DomainError::Forbidden { ref reason, .. } if reason.contains("lead")));
    let cannot = Command::Complete {
        outcome: Outcome::CannotBeDone,
        summary: "不符合政策,已向市民解释".into(),
        note_to_hotline: None,
        public: false,
    };
    let e = apply(&o, &cannot, &lead_user(), T0, &rules).unwrap_err();
    assert_eq!(e.field(), Some("note_to_hotline"));
    assert_eq!(e.status(), 400);
    let with_note = Command::Complete {
        outcome: Outcome::CannotBeDone,
        summary: "不符合政策,已向市民解释".into(),
        note_to_hotline: Some("依据《住房保障条例》第十条不予办理".into()),
        public: false,
    };
    let t = apply(&o, &with_note, &lead_user(), T0, &rules).unwrap();
    assert_eq!(
        t.order.result.map(|r| r.outcome),
        Some(Outcome::CannotBeDone)
    );
}

#[test]
fn a_later_call_is_linked_once() {
    let o = order_in(S::Completed);
    let link = Command::LinkCall {
        call_id: "callback-2@sbc".into(),
        recording_id: Some("rec-9".into()),
    };
    let o = step(&o, link.clone(), &system(), T0 + Duration::hours(1));
    let o = step(&o, link, &agent(), T0 + Duration::hours(2));
    assert_eq!(o.state, S::Completed);
    assert_eq!(
        o.details.links.call_ids,
        ["call-abc@hotline", "callback-2@sbc"]
    );
    assert_eq!(o.details.links.recording_ids, ["rec-0001", "rec-9"]);
    let empty = Command::LinkCall {
        call_id: " ".into(),
        recording_id: None,
    };
    let e = apply(&o, &empty, &agent(), T0, &rules()).unwrap_err();
    assert_eq!(e.field(), Some("call_id"));
}

#[test]
fn material_refusal_is_noted_and_handling_goes_on() {
    let o = order_in(S::InProgress);
    let o = step(
        &o,
        Command::NoteMaterialRefused {
            requested: "购房合同".into(),
            note: "市民拒绝提供".into(),
        },
        &lead_user(),
        T0 + Duration::hours(1),
    );
    assert_eq!(o.state, S::InProgress);
    assert_eq!(
        o.material_refusal.as_ref().map(|m| m.requested.as_str()),
        Some("购房合同")
    );
    let o = step(&o, complete(false), &lead_user(), T0 + Duration::hours(2));
    assert_eq!(o.state, S::Completed);
}

#[test]
fn dissatisfied_survey_callback_redo_and_final_second_survey() {
    let rules = rules();
    let o = order_in(S::Replied);
    let t = apply(&o, &survey(4), &system(), T0 + Duration::hours(2), &rules).unwrap();
    assert_eq!(t.order.state, S::CallbackPending);
    assert_eq!(t.effects, vec![Effect::CallbackTask]);
    // Policy or objective cause: no redo.
    for cause in [
        DissatisfactionCause::Policy,
        DissatisfactionCause::Objective,
    ] {
        let c = Command::RecordCallback {
            cause,
            notes: "不符合政策".into(),
        };
        let done = step(&t.order, c, &agent(), T0 + Duration::hours(3));
        assert_eq!((done.state, done.round), (S::Surveyed, 1));
    }
    // Handling cause: back to the lead, round 2, a fresh completion limit.
    let redo_at = datetime!(2026-03-05 10:00 +8);
    let c = Command::RecordCallback {
        cause: DissatisfactionCause::Handling,
        notes: "电梯又坏了".into(),
    };
    let r = apply(&t.order, &c, &agent(), redo_at, &rules).unwrap();
    assert_eq!((r.order.state, r.order.round), (S::InProgress, 2));
    assert_eq!(
        r.effects,
        vec![Effect::NotifyUnits {
            units: vec![UnitId::new(LEAD)]
        }]
    );
    assert_eq!(
        r.order.deadlines.complete_by,
        Some(datetime!(2026-03-12 00:00 +8))
    );
    let o = step(
        &r.order,
        complete(false),
        &lead_user(),
        redo_at + Duration::hours(1),
    );
    let o = step(
        &o,
        Command::Reply {
            citizen_informed: true,
            feedback: "已再次答复".into(),
            note: None,
        },
        &lead_user(),
        redo_at + Duration::hours(2),
    );
    // The second survey is final, even a 5.
    let o = step(&o, survey(5), &system(), redo_at + Duration::hours(3));
    assert_eq!(o.state, S::Surveyed);
    assert_eq!(
        o.final_handling_survey().map(|s| (s.score, s.round)),
        Some((5, 2))
    );
    let o = step(
        &o,
        Command::Close { reason: None },
        &agent(),
        redo_at + Duration::hours(4),
    );
    let o = step(
        &o,
        Command::Archive,
        &system(),
        redo_at + Duration::hours(5),
    );
    assert_eq!(o.state, S::Archived);
}

#[test]
fn no_reply_wanted_means_no_survey_and_a_reasoned_close() {
    let rules = rules();
    let mut d = details(Category::Suggestion);
    d.caller.contact_preference = crate::order::ContactPreference::NoReply;
    let o = order_in_with(S::Completed, d);
    let reply = Command::Reply {
        citizen_informed: false,
        feedback: "建议已采纳".into(),
        note: Some("市民要求不回复".into()),
    };
    let t = apply(&o, &reply, &lead_user(), T0 + Duration::hours(2), &rules).unwrap();
    assert!(t.effects.is_empty(), "no survey call: {:?}", t.effects);
    let e = apply(
        &t.order,
        &Command::Close { reason: None },
        &agent(),
        T0 + Duration::hours(3),
        &rules,
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("reason"));
    let closed = step(
        &t.order,
        Command::Close {
            reason: Some("市民要求不回复".into()),
        },
        &agent(),
        T0 + Duration::hours(3),
    );
    assert_eq!(closed.state, S::Closed);
    // With a reply wanted, the survey is due.
    let o = order_in(S::Completed);
    let t = apply(&o, &reply, &lead_user(), T0 + Duration::hours(2), &rules).unwrap();
    assert_eq!(t.effects, vec![Effect::HandlingSurveyDue]);
}

#[test]
fn field_validation_names_the_field() {
    let rules = rules();
    let o = order_in(S::Received);
    let cases: Vec<(Command, &str)> = vec![
        (
            Command::Refuse {
                reason: RefusalReason::Other,
                explanation: "  ".into(),
            },
            "explanation",
        ),
        (
            Command::AnswerOnSpot {
                answer: "".into(),
                knowledge_articles: vec![],
            },
            "answer",
        ),
        (
            Command::Dispatch {
                lead: UnitId::new(LEAD),
                co_handlers: vec![UnitId::new(LEAD)],
                note: None,
            },
            "co_handlers[0]",
        ),
        (
            Command::Dispatch {
                lead: UnitId::new(""),
                co_handlers: vec![],
                note: None,
            },
            "lead",
        ),
    ];
    for (c, field) in cases {
        let e = apply(&o, &c, &agent(), T0, &rules).unwrap_err();
        assert_eq!(e.field(), Some(field), "{c:?}");
    }
    let replied = order_in(S::Replied);
    for score in [0, 6] {
        let e = apply(&replied, &survey(score), &system(), T0, &rules).unwrap_err();
        assert_eq!(e.field(), Some("score"));
    }
}

#[test]
fn a_report_is_never_dispatched_to_the_unit_it_is_about() {
    let rules = rules();
    let o = open(complaint_about(Category::Report, LEAD, None));
    let e = apply(&o, &dispatch(), &agent(), T0, &rules).unwrap_err();
    assert_eq!(e.field(), Some("lead"));
    let o = open(complaint_about(Category::Report, CO, None));
    let e = apply(&o, &dispatch(), &agent(), T0, &rules).unwrap_err();
    assert_eq!(e.field(), Some("co_handlers[0]"));
    // A complaint may go to the unit it is about (a utility fixing its own
    // service); the caller's identity is then hidden from it (redaction).
    let o = open(complaint_about(Category::Complaint, LEAD, None));
    assert!(apply(&o, &dispatch(), &agent(), T0, &rules).is_ok());
}

#[test]
fn stricter_legal_deadline_applies_on_dispatch_and_redo() {
    let mut d = details(Category::Complaint);
    d.legal_deadline = Some(crate::deadline::LegalDeadline {
        limit: crate::deadline::LegalLimit::WorkingDays(7),
        basis: "《消费者权益保护法》".into(),
    });
    let o = order_in_with(S::Dispatched, d);
    // Dispatched Monday 2 March 09:10: 7 working days end with Wednesday 11th.
    assert_eq!(
        o.deadlines.complete_by,
        Some(datetime!(2026-03-12 00:00 +8))
    );
    assert_eq!(o.deadlines.complete_days, Some(7));
}
