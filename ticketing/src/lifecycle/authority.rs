//! Who may issue which command on which order.
//!
//! | commands | who |
//! |---|---|
//! | answer_on_spot, refuse, redirect_to_legal_channel, dispatch | agent, supervisor |
//! | hand_over_to_emergency, link_call | agent, supervisor, system (the call side) |
//! | sign, respond, request_extension, request_return, note_material_refused, complete, reply | users of the **lead** unit only (主辦負責制, §16.3) |
//! | approve/refuse_extension, approve/refuse_return | supervisor (the hotline decides, §17.4, §17.7) |
//! | record_survey | system (survey robot), agent, supervisor |
//! | record_callback | agent, supervisor |
//! | close | agent, supervisor, system |
//! | archive | supervisor, admin, system |
//! | add_note | agent, supervisor, users of the lead or a co-handling unit |
//! | recuse | supervisor, admin, or anyone recusing themselves (§29) |
//!
//! Before the table: staff recused from the order and the person complained
//! about may do nothing at all (§29).

use crate::actor::{Actor, Role};
use crate::error::{DomainError, Result};
use crate::lifecycle::{Command, CommandKind};
use crate::order::WorkOrder;

/// Check that `actor` may issue `command` on `order` (role, unit, recusal);
/// [`DomainError::Forbidden`] otherwise. Does not look at the state.
pub fn authorize(order: &WorkOrder, command: &Command, actor: &Actor) -> Result<()> {
    let kind = command.kind();
    let deny = |reason: &str| {
        Err(DomainError::Forbidden {
            actor: actor.id.0.clone(),
            command: kind,
            reason: reason.to_owned(),
        })
    };
    if order.is_recused(&actor.id) {
        return deny("recused from this order (§29)");
    }
    let about_person = order
        .details
        .complained_about
        .as_ref()
        .and_then(|c| c.person.as_ref());
    if about_person == Some(&actor.id) {
        return deny("the person complained about (§29)");
    }
    let lead = order.assignment.as_ref().map(|a| &a.lead);
    let is_lead = lead.is_some_and(|l| actor.is_user_of(l));
    let involved = order
        .assignment
        .as_ref()
        .zip(actor.unit.as_ref())
        .is_some_and(|(a, u)| actor.role == Role::Unit && a.involves(u));
    let role = actor.role;
    let allowed = match kind {
        CommandKind::AnswerOnSpot
        | CommandKind::Refuse
        | CommandKind::RedirectToLegalChannel
        | CommandKind::Dispatch
        | CommandKind::RecordCallback => role.is_hotline(),
        CommandKind::HandOverToEmergency
        | CommandKind::LinkCall
        | CommandKind::RecordSurvey
        | CommandKind::Close => role.is_hotline() || role == Role::System,
        CommandKind::Sign
        | CommandKind::Respond
        | CommandKind::RequestExtension
        | CommandKind::RequestReturn
        | CommandKind::NoteMaterialRefused
        | CommandKind::Complete
        | CommandKind::Reply => {
            if role == Role::Unit && !is_lead {
                return deny("only the lead unit handles the order (§16.3)");
            }
            is_lead
        }
        CommandKind::ApproveExtension
        | CommandKind::RefuseExtension
        | CommandKind::ApproveReturn
        | CommandKind::RefuseReturn => role == Role::Supervisor,
        CommandKind::Archive => matches!(role, Role::Supervisor | Role::Admin | Role::System),
        CommandKind::AddNote => role.is_hotline() || involved,
        CommandKind::Recuse => {
            let own = matches!(command, Command::Recuse { user, .. } if *user == actor.id);
            own || matches!(role, Role::Supervisor | Role::Admin)
        }
        CommandKind::Open => false,
    };
    if allowed {
        Ok(())
    } else {
        deny(&format!("the {role} role may not {kind}"))
    }
}
