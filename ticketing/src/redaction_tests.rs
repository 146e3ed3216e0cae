//! The confidentiality matrix: viewer × order kind × field. The expected
//! visibility is restated here independently of the implementation, and
//! every view is also searched as JSON for each secret, so a field that
//! leaks through an unexpected path (a link, a copy in another struct)
//! fails the test too.

use super::*;
use crate::actor::{Actor, UserId};
use crate::lifecycle::OrderState;
use crate::order::{Callback, Category, DissatisfactionCause};
use crate::testkit::*;

const CALL_ID: &str = "call-abc@hotline";
const RECORDING: &str = "rec-0001";
const LINKAGE_CALL: &str = "call-emergency-xyz";
const RELATED: &str = "MM20260201000009";
const RESULT: &str = "已联系物业更换电梯主板,恢复运行";
const NOTE: &str = "维修单号 W-17";
const FEEDBACK: &str = "已电话告知市民";
const CALLBACK: &str = "回访:市民说物业经理威胁她";
const MATERIAL: &str = "市民说怕被报复,不提供合同";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    ComplaintAboutLead,
    ComplaintAboutCo,
    ReportAboutOtherAndBoss,
    Confidential,
    PublicResult,
}

const KINDS: [Kind; 6] = [
    Kind::Plain,
    Kind::ComplaintAboutLead,
    Kind::ComplaintAboutCo,
    Kind::ReportAboutOtherAndBoss,
    Kind::Confidential,
    Kind::PublicResult,
];

fn boss() -> Actor {
    Actor::unit_user("u-boss", LEAD)
}
fn recused_agent() -> Actor {
    Actor::new("1002", crate::Role::Agent)
}

fn viewers() -> Vec<(&'static str, Actor)> {
    vec![
        ("agent", agent()),
        ("supervisor", supervisor()),
        ("admin", admin()),
        ("system", system()),
        ("lead", lead_user()),
        ("co", co_user()),
        ("other", other_user()),
        ("boss", boss()),
        ("recused", recused_agent()),
    ]
}

/// A replied order of `kind`, with every link, a result, a reply and a
/// callback filled, and agent 1002 recused.
fn order(kind: Kind) -> WorkOrder {
    let d = match kind {
        Kind::Plain | Kind::PublicResult => details(Category::Consultation),
        Kind::ComplaintAboutLead => complaint_about(Category::Complaint, LEAD, None),
        Kind::ComplaintAboutCo => complaint_about(Category::Complaint, CO, None),
        Kind::ReportAboutOtherAndBoss => complaint_about(Category::Report, OTHER, Some("u-boss")),
        Kind::Confidential => crate::order::OrderDetails {
            confidential: true,
            ..details(Category::Help)
        },
    };
    let mut o = order_in_with(OrderState::Completed, d);
    // The fixture completes with a non-public result; republish for
    // PublicResult (and for Confidential, which must stay non-public).
    if matches!(kind, Kind::PublicResult | Kind::Confidential) {
        o.result.as_mut().unwrap().public = kind == Kind::PublicResult;
    }
    let o = step(
        &o,
        crate::lifecycle::Command::Reply {
            citizen_informed: true,
            feedback: FEEDBACK.into(),
            note: None,
        },
        &lead_user(),
        T0 + time::Duration::hours(2),
    );
    let mut o = o;
    let links = &mut o.details.links;
    links.related_orders = vec![RELATED.parse().unwrap()];
    links.draft_id = Some(4242);
    links.emergency = Some(crate::emergency::EmergencyLinkage {
        line: crate::emergency::EmergencyLine::Police,
        at: T0,
        agent: UserId::new("1001"),
        call_id: LINKAGE_CALL.into(),
        outcome: crate::emergency::LinkageOutcome::Connected,
        note: None,
    });
    o.callback = Some(Callback {
        cause: DissatisfactionCause::Handling,
        notes: CALLBACK.into(),
        by: UserId::new("1001"),
        at: T0,
    });
    o.material_refusal = Some(crate::order::MaterialRefusal {
        requested: "购房合同".into(),
        note: MATERIAL.into(),
        at: T0,
    });
    o.recused.push(UserId::new("1002"));
    o
}

/// The rules of the module docs, restated: `None` = no access, otherwise the
/// set of withheld fields.
fn expected(viewer: &str, kind: Kind) -> Option<Vec<Field>> {
    use Field as F;
    let unit = match viewer {
        "recused" | "other" => return None,
        "boss" if kind == Kind::ReportAboutOtherAndBoss => return None,
        "agent" | "supervisor" | "admin" | "system" => return Some(vec![]),
        "lead" | "boss" => LEAD,
        "co" => CO,
        _ => unreachable!(),
    };
    let co = unit == CO;
    let mut hidden = vec![F::CallIds, F::Recordings, F::EmergencyLinkage, F::DraftId];
    let complained = matches!(
        (kind, unit),
        (Kind::ComplaintAboutLead, LEAD) | (Kind::ComplaintAboutCo, CO)
    );
    if complained || (co && kind == Kind::Confidential) {
        hidden.extend([
            F::CallerName,
            F::CallerNumber,
            F::CallerContact,
            F::AddressText,
            F::RelatedOrders,
            F::CallbackNotes,
            F::MaterialRefusalNote,
        ]);
    }
    if co {
        hidden.push(F::NoteToHotline);
        if kind != Kind::PublicResult {
            hidden.extend([F::ResultSummary, F::ReplyFeedback]);
        }
    }
    hidden.sort();
    Some(hidden)
}

/// Each field's secret text (searched in the view's JSON).
fn secret(field: Field) -> &'static str {
    match field {
        Field::CallerName => CALLER_NAME,
        Field::CallerNumber => CALLER_NUMBER,
        Field::CallerContact => CALLER_CONTACT,
        Field::AddressText => ADDRESS,
        Field::RelatedOrders => RELATED,
        Field::CallIds => CALL_ID,
        Field::Recordings => RECORDING,
        Field::EmergencyLinkage => LINKAGE_CALL,
        Field::DraftId => "\"draft_id\":4242",
        Field::ResultSummary => RESULT,
        Field::NoteToHotline => NOTE,
        Field::ReplyFeedback => FEEDBACK,
        Field::CallbackNotes => CALLBACK,
        Field::MaterialRefusalNote => MATERIAL,
    }
}

const FIELDS: [Field; 14] = [
    Field::CallerName,
    Field::CallerNumber,
    Field::CallerContact,
    Field::AddressText,
    Field::RelatedOrders,
    Field::CallIds,
    Field::Recordings,
    Field::EmergencyLinkage,
    Field::DraftId,
    Field::ResultSummary,
    Field::NoteToHotline,
    Field::ReplyFeedback,
    Field::CallbackNotes,
    Field::MaterialRefusalNote,
];

#[test]
fn matrix_viewer_kind_field() {
    let mut cells = 0;
    for kind in KINDS {
        let o = order(kind);
        // The unredacted order carries every secret (or the test proves
        // nothing).
        let full = serde_json::to_string(&o).unwrap();
        for f in FIELDS {
            assert!(full.contains(secret(f)), "fixture lacks {f:?}");
        }
        for (name, viewer) in viewers() {
            let want = expected(name, kind);
            let view = view_for(&o, &viewer);
            assert_eq!(
                view.as_ref().map(|v| v.redacted.clone()),
                want,
                "{name} viewing {kind:?}"
            );
            let Some(view) = view else {
                assert!(history_for(&o, &viewer, &[]).is_empty());
                continue;
            };
            let json = serde_json::to_string(&view).unwrap();
            for f in FIELDS {
                cells += 1;
                let hidden = view.redacted.contains(&f);
                assert_eq!(
                    !json.contains(secret(f)),
                    hidden,
                    "{name} viewing {kind:?}: {f:?} {}",
                    if hidden { "leaks" } else { "is missing" }
                );
            }
            // Redaction touches nothing else.
            assert_eq!(view.order.state, o.state);
            assert_eq!(view.order.details.description, o.details.description);
            assert_eq!(view.order.details.category, o.details.category);
        }
    }
    assert!(cells > 300, "{cells}");
}

#[test]
fn caller_identity_never_reaches_the_complained_unit_in_any_state() {
    // Every state an order can be in while the complained-about unit leads it.
    let d = complaint_about(Category::Complaint, LEAD, None);
    for state in [
        OrderState::Dispatched,
        OrderState::Signed,
        OrderState::InProgress,
        OrderState::Completed,
        OrderState::Replied,
        OrderState::Surveyed,
        OrderState::Closed,
    ] {
        let o = order_in_with(state, d.clone());
        let json = serde_json::to_string(&view_for(&o, &lead_user()).unwrap()).unwrap();
        for s in [
            CALLER_NAME,
            CALLER_NUMBER,
            CALLER_CONTACT,
            ADDRESS,
            CALL_ID,
            RECORDING,
        ] {
            assert!(!json.contains(s), "{state}: {s} leaks");
        }
        // The co-handler, not complained about, sees the caller to work.
        let co = serde_json::to_string(&view_for(&o, &co_user()).unwrap()).unwrap();
        assert!(co.contains(CALLER_NUMBER), "{state}");
    }
}

#[test]
fn history_is_redacted_like_the_order() {
    let o = order(Kind::ComplaintAboutLead);
    let entries = vec![
        HistoryEntry::opened(&o, &agent()),
        crate::lifecycle::HistoryEntry {
            reason: Some(format!("已联系{CALLER_NAME}")),
            detail: Some(crate::lifecycle::Command::Respond {
                contacted: true,
                note: format!("已联系{CALLER_NAME}"),
            }),
            ..HistoryEntry::opened(&o, &lead_user())
        },
    ];
    let seen = serde_json::to_string(&history_for(&o, &lead_user(), &entries)).unwrap();
    assert!(!seen.contains(CALLER_NAME), "{seen}");
    let co = history_for(&o, &co_user(), &entries);
    assert_eq!(co[1].reason, entries[1].reason);
    assert_eq!(co[1].detail, None);
    assert_eq!(history_for(&o, &supervisor(), &entries), entries);
    assert!(history_for(&o, &other_user(), &entries).is_empty());
    assert!(history_for(&o, &recused_agent(), &entries).is_empty());
}

#[test]
fn non_public_results_go_only_to_the_citizen() {
    for kind in [Kind::Plain, Kind::Confidential, Kind::PublicResult] {
        let o = order(kind);
        let public = public_view(&o);
        let json = serde_json::to_string(&public).unwrap();
        for s in [
            CALLER_NAME,
            CALLER_NUMBER,
            CALLER_CONTACT,
            ADDRESS,
            NOTE,
            FEEDBACK,
        ] {
            assert!(!json.contains(s), "{kind:?}: {s}");
        }
        assert_eq!(
            public.result.is_some(),
            kind == Kind::PublicResult,
            "{kind:?}"
        );
        // The citizen always hears the result.
        assert_eq!(
            citizen_reply(&o).map(|r| r.summary),
            Some(RESULT.to_owned())
        );
    }
    // A confidential order's result is never public, even if the unit ticks
    // the box (§30).
    let o = order_in_with(
        OrderState::InProgress,
        crate::order::OrderDetails {
            confidential: true,
            ..details(Category::Help)
        },
    );
    let o = step(
        &o,
        complete(true),
        &lead_user(),
        T0 + time::Duration::hours(1),
    );
    assert_eq!(o.result.as_ref().map(|r| r.public), Some(false));
    assert_eq!(public_view(&o).result, None);
    assert_eq!(citizen_reply(&order_in(OrderState::InProgress)), None);
}

#[test]
fn a_unit_that_handed_the_order_back_loses_access() {
    let o = order_in(OrderState::ReturnRequested);
    assert!(view_for(&o, &lead_user()).is_some());
    let o = step(
        &o,
        crate::lifecycle::Command::ApproveReturn { note: None },
        &supervisor(),
        T0 + time::Duration::hours(1),
    );
    assert!(view_for(&o, &lead_user()).is_none());
    assert!(view_for(&o, &co_user()).is_none());
    assert!(view_for(&o, &agent()).is_some());
}
