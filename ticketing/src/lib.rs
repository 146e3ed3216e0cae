//! Work orders (工单) of the hotline: the pure domain.
//!
//! This crate models the process of the city's measures §12–§30 without any
//! I/O: no clock, no database, no network. Every function takes the current
//! time and the settings ([`TicketRules`]) as arguments and returns values;
//! the store (`store/`, sqlx) persists them and the HTTP API exposes them.
//!
//! | module | measures | what |
//! |---|---|---|
//! | [`order`], [`number`], [`topic`] | §15 | the work order, its readable number, the topic tree |
//! | [`draft`], [`emergency`] | §14, §15, §16.1 | the draft every answered call opens; emergency transfers |
//! | [`lifecycle`] | §13, §16–§22 | states, commands, [`lifecycle::apply`], history |
//! | [`calendar`], [`deadline`] | §17 | working days, holidays, 调休, time limits |
//! | [`supervision`] | §26 | the sweep raising tiered supervision records |
//! | [`knowledge`] | §24–§25 | articles, upload and fix deadlines |
//! | [`redaction`] | §29–§30 | what each viewer may see of an order |
//!
//! # How the server drives it
//!
//! - The call side opens a [`draft::Draft`] for each answered call; the agent
//!   completes it into an order (or "no order needed").
//! - Each API call that changes an order loads it, calls
//!   [`lifecycle::apply`] with the authenticated [`Actor`] and `now`, and
//!   writes the returned order and history entry in one transaction guarded
//!   by the order's `version` (a lost race is a 409, like an illegal
//!   transition).
//! - A timer calls [`supervision::sweep`] and stores the new records.
//! - Every read goes through [`redaction::view_for`].
//!
//! Errors are one enum, [`DomainError`], whose [`DomainError::status`] is the
//! HTTP status to answer with.
//!
//! # What of §12–§30 is modelled here
//!
//! | measure | where |
//! |---|---|
//! | §12 channels and kinds of matter | [`order::Channel`], [`Category`] |
//! | §13 refusal, reasons (一)–(七), explanation | [`lifecycle::RefusalReason`], `refuse` |
//! | §14 emergencies passed on | [`emergency::EmergencyLinkage`], `hand_over_to_emergency`, [`draft::Draft::attach_emergency`] |
//! | §15 every matter recorded, whole process on the order | [`draft`], [`WorkOrder`], [`HistoryEntry`], `link_call` for later calls |
//! | §16.1 answered on the spot | `answer_on_spot` with knowledge article ids |
//! | §16.2–3 dispatch, lead and co-handling units | `dispatch`, [`order::Assignment`], [`lifecycle::authorize`] |
//! | §16.4 legal procedures | [`lifecycle::LegalChannel`], `redirect_to_legal_channel` |
//! | §17.1 sign 24 h, respond 30 min, 2/4/10 working days, stricter legal limit | [`deadline`], [`calendar`] |
//! | §17.2 reply within 1 working day, "no reply wanted" | `reply`, [`order::ContactPreference::NoReply`] |
//! | §17.4–5 one extension, same length, measures and date | `request_extension`, `approve_extension`, `refuse_extension` |
//! | §17.6 cannot be done, written explanation | [`order::Outcome::CannotBeDone`] |
//! | §17.7 return within 1 working day, reason and basis | `request_return`, `approve_return`, `refuse_return` |
//! | §17.8 material refused | `note_material_refused` |
//! | §18–§22 surveys, callback, redo, second survey final | `record_survey`, `record_callback`, [`order::SurveyRecord`] |
//! | §24–§25 knowledge upload and fix deadlines | [`knowledge`] |
//! | §26 (1)–(3) tiered supervision | [`supervision::sweep`] |
//! | §29 no disclosure to the accused, recusal | [`redaction`], `recuse`, report dispatch rule |
//! | §30 non-public results | [`redaction::public_view`], [`redaction::citizen_reply`] |
//!
//! Not modelled: §17.3 (30-minute answer script for province-wide service
//! outages: an operational procedure, not an order step), §26 (4) "other
//! matters" (a supervisor raises those by hand), §27 coordination meetings
//! (only notes on the order), §23 and §28 publication and evaluation
//! (reports, in the store and API).
//!
//! # Example
//!
//! ```
//! use hotline_ticketing::deadline::DeadlinePolicy;
//! use hotline_ticketing::draft::open_order;
//! use hotline_ticketing::knowledge::KnowledgePolicy;
//! use hotline_ticketing::order::{Caller, Channel, ContactPreference, Links, Urgency};
//! use hotline_ticketing::supervision::SupervisionPolicy;
//! use hotline_ticketing::topic::{TopicCode, TopicTree};
//! use hotline_ticketing::*;
//! use time::macros::{date, datetime};
//!
//! let rules = TicketRules {
//!     calendar: WorkingCalendar::weekdays_only(),
//!     policy: DeadlinePolicy::default(),
//!     topics: TopicTree::new([("urban", "城乡建设")])?,
//!     order_prefix: "MM".into(),
//!     knowledge: KnowledgePolicy::default(),
//!     supervision: SupervisionPolicy::default(),
//! };
//! let details = OrderDetails {
//!     channel: Channel::Phone,
//!     caller: Caller {
//!         name: None,
//!         number: Some("13800138000".into()),
//!         contact_preference: ContactPreference::Phone,
//!         contact: None,
//!     },
//!     address: None,
//!     category: Category::Help,
//!     topic: TopicCode::new("urban"),
//!     description: "路灯不亮".into(),
//!     urgency: Urgency::Normal,
//!     confidential: false,
//!     complained_about: None,
//!     links: Links::default(),
//!     legal_deadline: None,
//! };
//! // Friday 6 March 2026, 19:00 in Maoming; the store gave sequence 42.
//! let now = datetime!(2026-03-06 19:00 +8);
//! let number = OrderNumber::new("MM", date!(2026 - 03 - 06), 42)?;
//! let dispatch = Command::Dispatch {
//!     lead: UnitId::new("urban-admin"),
//!     co_handlers: vec![],
//!     note: None,
//! };
//! let agent = Actor::new("1001", Role::Agent);
//! let opened = open_order(number, details, Some(&dispatch), &agent, now, &rules)?;
//! assert_eq!(opened.order.number.to_string(), "MM20260306000042");
//! assert_eq!(opened.order.state, OrderState::Dispatched);
//! // Help: 4 working days, the Friday of arrival not counted.
//! assert_eq!(
//!     opened.order.deadlines.complete_by,
//!     Some(datetime!(2026-03-13 00:00 +8))
//! );
//!
//! // Only the lead unit signs; anything else is refused with a status.
//! let unit = Actor::unit_user("u-7", "urban-admin");
//! let signed = apply(&opened.order, &Command::Sign, &unit, now, &rules)?;
//! assert_eq!(signed.order.state, OrderState::Signed);
//! let again = apply(&signed.order, &Command::Sign, &unit, now, &rules).unwrap_err();
//! assert_eq!(again.status(), 409);
//! # Ok::<(), DomainError>(())
//! ```

// In tests a failed unwrap is a failed test; the non-test build is still
// checked for unwraps by `clippy --all-targets`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod actor;
pub mod calendar;
pub mod deadline;
pub mod draft;
pub mod emergency;
pub mod error;
pub mod knowledge;
pub mod lifecycle;
pub mod number;
pub mod order;
mod progress;
pub mod redaction;
pub mod rules;
pub mod store;
pub mod supervision;
pub mod survey_schedule;
pub mod topic;

#[cfg(test)]
mod testkit;

pub use actor::{Actor, Role, UnitId, UserId};
pub use calendar::{CalendarSpec, HourBasis, WorkingCalendar};
pub use error::{DomainError, Result};
pub use lifecycle::{apply, Command, CommandKind, Effect, HistoryEntry, OrderState, Transition};
pub use number::OrderNumber;
pub use order::{Category, OrderDetails, WorkOrder};
pub use rules::TicketRules;
