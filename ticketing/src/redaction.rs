//! What each viewer may see of an order (§29–§30).
//!
//! Every read of an order in the API goes through [`view_for`] (and its
//! history through [`history_for`]); the browser never receives what it must
//! not show. The rules:
//!
//! 1. **No access at all** (`None`, the API answers 404): staff recused from
//!    the order; the person complained about, whatever their role; unit
//!    users whose unit is neither the lead nor a co-handler of the current
//!    assignment (a unit that handed the order back loses access).
//! 2. **Hotline staff, administrators and the system** see everything: they
//!    are bound by §29 not to pass it on.
//! 3. **Unit users** (lead or co-handler) never see call ids, recordings,
//!    the emergency linkage or the draft id: the unit works from the order,
//!    and a recording is the caller's voice.
//! 4. **The unit complained about** (§29): on a complaint or report, users of
//!    that unit never see the caller's name, number or contact, the address
//!    text, the caller's earlier orders, what the citizen said in the
//!    callback or when refusing material, nor any reason or note in the
//!    history. (Reports never reach that unit at all: see
//!    dispatch in [`crate::lifecycle`]; complaints may, when it is the unit
//!    that can fix the service, and the citizen is then contacted through
//!    the hotline.)
//! 5. **Confidential orders**: co-handling units do not see the caller's
//!    identity either; only the lead contacts the citizen.
//! 6. **Non-public results** (§30): co-handling units do not see the result,
//!    the note to the hotline or the reply feedback; the public never does.
//!    The citizen gets the result through [`citizen_reply`] only.
//!
//! Free text the caller dictated (the description) cannot be redacted by
//! machine; agents are told to keep names out of it for complaints and
//! reports.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::{Actor, Role};
use crate::lifecycle::{HistoryEntry, OrderState};
use crate::number::OrderNumber;
use crate::order::{Category, Outcome, WorkOrder};
use crate::topic::TopicCode;

/// A field withheld from a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `details.caller.name`.
    CallerName,
    /// `details.caller.number`.
    CallerNumber,
    /// `details.caller.contact`.
    CallerContact,
    /// `details.address.text` (the district stays).
    AddressText,
    /// `details.links.related_orders`.
    RelatedOrders,
    /// `details.links.call_ids`.
    CallIds,
    /// `details.links.recording_ids`.
    Recordings,
    /// `details.links.emergency`.
    EmergencyLinkage,
    /// `details.links.draft_id`.
    DraftId,
    /// `result.summary` (a non-public result).
    ResultSummary,
    /// `result.note_to_hotline`.
    NoteToHotline,
    /// `reply.feedback` and `reply.note`.
    ReplyFeedback,
    /// `callback.notes`.
    CallbackNotes,
    /// `material_refusal.note` (what the citizen said).
    MaterialRefusalNote,
}

/// An order as one viewer may see it: the same shape as [`WorkOrder`], with
/// withheld fields emptied (`null`, `""` or `[]`) and listed in `redacted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order, redacted.
    pub order: WorkOrder,
    /// What was withheld, so the UI can say so instead of showing blanks.
    pub redacted: Vec<Field>,
}

/// How a viewer relates to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    None,
    Hotline,
    Lead,
    CoHandler,
}

fn standing(order: &WorkOrder, viewer: &Actor) -> Standing {
    if order.is_recused(&viewer.id) {
        return Standing::None;
    }
    let about = order.details.complained_about.as_ref();
    if about.and_then(|c| c.person.as_ref()) == Some(&viewer.id) {
        return Standing::None;
    }
    match viewer.role {
        Role::Agent | Role::Supervisor | Role::Admin | Role::System => Standing::Hotline,
        Role::Unit => match (&order.assignment, &viewer.unit) {
            (Some(a), Some(u)) if a.lead == *u => Standing::Lead,
            (Some(a), Some(u)) if a.co_handlers.contains(u) => Standing::CoHandler,
            _ => Standing::None,
        },
    }
}

/// Whether `viewer` belongs to the unit a complaint or report is about.
fn is_complained_unit(order: &WorkOrder, viewer: &Actor) -> bool {
    order.details.category.protects_caller()
        && viewer.role == Role::Unit
        && order
            .details
            .complained_about
            .as_ref()
            .and_then(|c| c.unit.as_ref())
            .is_some_and(|u| viewer.unit.as_ref() == Some(u))
}

/// The fields `viewer` may not see, or `None` if they may not see the
/// order at all.
pub fn withheld(order: &WorkOrder, viewer: &Actor) -> Option<Vec<Field>> {
    let standing = standing(order, viewer);
    let mut out = Vec::new();
    match standing {
        Standing::None => return None,
        Standing::Hotline => return Some(out),
        Standing::Lead | Standing::CoHandler => {}
    }
    out.extend([
        Field::CallIds,
        Field::Recordings,
        Field::EmergencyLinkage,
        Field::DraftId,
    ]);
    let co = standing == Standing::CoHandler;
    let protected = is_complained_unit(order, viewer);
    if protected || (co && order.details.confidential) {
        out.extend([
            Field::CallerName,
            Field::CallerNumber,
            Field::CallerContact,
            Field::AddressText,
            Field::RelatedOrders,
            Field::CallbackNotes,
            Field::MaterialRefusalNote,
        ]);
    }
    if co {
        out.push(Field::NoteToHotline);
        if order.result.as_ref().is_some_and(|r| !r.public) {
            out.extend([Field::ResultSummary, Field::ReplyFeedback]);
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// The order as `viewer` may see it; `None` if they may not see it at all
/// (the API answers 404, not 403, so its existence does not leak either).
pub fn view_for(order: &WorkOrder, viewer: &Actor) -> Option<OrderView> {
    let redacted = withheld(order, viewer)?;
    let mut o = order.clone();
    for f in &redacted {
        let d = &mut o.details;
        match f {
            Field::CallerName => d.caller.name = None,
            Field::CallerNumber => d.caller.number = None,
            Field::CallerContact => d.caller.contact = None,
            Field::AddressText => {
                if let Some(a) = d.address.as_mut() {
                    a.text.clear();
                }
            }
            Field::RelatedOrders => d.links.related_orders.clear(),
            Field::CallIds => d.links.call_ids.clear(),
            Field::Recordings => d.links.recording_ids.clear(),
            Field::EmergencyLinkage => d.links.emergency = None,
            Field::DraftId => d.links.draft_id = None,
            Field::ResultSummary => {
                if let Some(r) = o.result.as_mut() {
                    r.summary.clear();
                }
            }
            Field::NoteToHotline => {
                if let Some(r) = o.result.as_mut() {
                    r.note_to_hotline = None;
                }
            }
            Field::ReplyFeedback => {
                if let Some(r) = o.reply.as_mut() {
                    r.feedback.clear();
                    r.note = None;
                }
            }
            Field::CallbackNotes => {
                if let Some(c) = o.callback.as_mut() {
                    c.notes.clear();
                }
            }
            Field::MaterialRefusalNote => {
                if let Some(m) = o.material_refusal.as_mut() {
                    m.note.clear();
                }
            }
        }
    }
    Some(OrderView { order: o, redacted })
}

/// The history as `viewer` may see it: nothing without access; hotline staff
/// see all; unit users see who did what when, without the full commands
/// (`detail`), and the unit complained about without any reason or note.
pub fn history_for(
    order: &WorkOrder,
    viewer: &Actor,
    entries: &[HistoryEntry],
) -> Vec<HistoryEntry> {
    match standing(order, viewer) {
        Standing::None => Vec::new(),
        Standing::Hotline => entries.to_vec(),
        Standing::Lead | Standing::CoHandler => {
            let protected = is_complained_unit(order, viewer);
            entries
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    e.detail = None;
                    if protected {
                        e.reason = None;
                    }
                    e
                })
                .collect()
        }
    }
}

/// What the public may see of an order (published statistics, a public
/// portal): no personal data, and the result only when public (§30).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicOrder {
    /// Number.
    pub number: OrderNumber,
    /// Category.
    pub category: Category,
    /// Topic.
    pub topic: TopicCode,
    /// District.
    #[serde(default)]
    pub district: Option<String>,
    /// State.
    pub state: OrderState,
    /// When opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The result, only if public.
    #[serde(default)]
    pub result: Option<String>,
}

/// The public view of an order.
pub fn public_view(order: &WorkOrder) -> PublicOrder {
    PublicOrder {
        number: order.number.clone(),
        category: order.details.category,
        topic: order.details.topic.clone(),
        district: order
            .details
            .address
            .as_ref()
            .and_then(|a| a.district.clone()),
        state: order.state,
        created_at: order.created_at,
        result: order
            .result
            .as_ref()
            .filter(|r| r.public && !order.details.confidential)
            .map(|r| r.summary.clone()),
    }
}

/// What is told to the citizen (§17.2, §30): the result even when it is not
/// public. `None` until the order is completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenReply {
    /// The order number the citizen can quote.
    pub number: OrderNumber,
    /// Resolved or cannot be done.
    pub outcome: Outcome,
    /// The result.
    pub summary: String,
}

/// The citizen-facing reply of an order.
pub fn citizen_reply(order: &WorkOrder) -> Option<CitizenReply> {
    order.result.as_ref().map(|r| CitizenReply {
        number: order.number.clone(),
        outcome: r.outcome,
        summary: r.summary.clone(),
    })
}

#[cfg(test)]
#[path = "redaction_tests.rs"]
mod tests;
