//! The transition table: for each (state, command) that is allowed, the
//! checks of the measures and the changes to the order.
//!
//! `step` mutates a copy of the order; [`super::apply`] discards it on error,
//! so a refused command never leaves a half-changed order.

use time::OffsetDateTime;

use super::{Command, CommandKind, Effect, OrderState};
use crate::actor::Actor;
use crate::deadline::{completion_deadline, extended_deadline, Deadlines};
use crate::error::{DomainError, Result};
use crate::order::{
    text, Assignment, Decision, Extension, HandlingResult, MaterialRefusal, Outcome, Reply,
    ReturnRequest, SurveyRecord, SurveyStage, WorkOrder,
};
use crate::rules::TicketRules;

use OrderState as S;

/// Whether `state` has a transition for `command` at all: the table of
/// [`OrderState`]'s diagram. Commands that do not change the state (notes,
/// recusals, reception surveys, extension steps, material refusals) are
/// listed with the states they may be issued in.
pub(super) fn allowed(state: OrderState, command: &Command) -> bool {
    match command {
        Command::AnswerOnSpot { .. }
        | Command::Refuse { .. }
        | Command::RedirectToLegalChannel { .. }
        | Command::HandOverToEmergency { .. }
        | Command::Dispatch { .. } => state == S::Received,
        Command::Sign => state == S::Dispatched,
        Command::Respond { .. } => state == S::Signed,
        Command::RequestExtension { .. }
        | Command::ApproveExtension { .. }
        | Command::RefuseExtension { .. }
        | Command::NoteMaterialRefused { .. } => matches!(state, S::Signed | S::InProgress),
        Command::RequestReturn { .. } => {
            matches!(state, S::Dispatched | S::Signed | S::InProgress)
        }
        Command::ApproveReturn { .. } | Command::RefuseReturn { .. } => state == S::ReturnRequested,
        Command::Complete { .. } => state == S::InProgress,
        Command::Reply { .. } => state == S::Completed,
        Command::RecordSurvey { stage, .. } => match stage {
            SurveyStage::Reception => state != S::Archived,
            SurveyStage::Handling => state == S::Replied,
        },
        Command::RecordCallback { .. } => state == S::CallbackPending,
        Command::Close { .. } => matches!(
            state,
            S::AnsweredOnSpot
                | S::Refused
                | S::RedirectedToLegalChannel
                | S::HandedToEmergency
                | S::Replied
                | S::Surveyed
        ),
        Command::Archive => state == S::Closed,
        Command::AddNote { .. } | Command::Recuse { .. } | Command::LinkCall { .. } => {
            state != S::Archived
        }
    }
}

pub(super) fn step(
    o: &mut WorkOrder,
    command: &Command,
    actor: &Actor,
    now: OffsetDateTime,
    rules: &TicketRules,
) -> Result<Vec<Effect>> {
    let kind = command.kind();
    let state = o.state;
    let invalid = || {
        Err(DomainError::InvalidTransition {
            state,
            command: kind,
        })
    };
    let not_now = |reason: &str| {
        Err(DomainError::NotAllowedNow {
            command: kind,
            reason: reason.to_owned(),
        })
    };
    let cal = &rules.calendar;
    let policy = &rules.policy;
    let mut effects = Vec::new();

    match command {
        Command::AnswerOnSpot {
            answer,
            knowledge_articles,
        } => {
            if state != S::Received {
                return invalid();
            }
            text("answer", answer, true)?;
            o.intake_note = Some(answer.clone());
            o.knowledge_articles = knowledge_articles.clone();
            o.state = S::AnsweredOnSpot;
        }
        Command::Refuse {
            reason,
            explanation,
        } => {
            if state != S::Received {
                return invalid();
            }
            // §13: "對不予受理的事項,要做好解釋和引導工作".
            text("explanation", explanation, true)?;
            o.refusal_reason = Some(*reason);
            o.intake_note = Some(explanation.clone());
            o.state = S::Refused;
        }
        Command::RedirectToLegalChannel {
            channel,
            explanation,
        } => {
            if state != S::Received {
                return invalid();
            }
            text("explanation", explanation, true)?;
            o.legal_channel = Some(*channel);
            o.intake_note = Some(explanation.clone());
            o.state = S::RedirectedToLegalChannel;
        }
        Command::HandOverToEmergency { linkage } => {
            if state != S::Received {
                return invalid();
            }
            text("linkage.call_id", &linkage.call_id, true)?;
            let mut linkage = linkage.clone();
            linkage.at = crate::calendar::utc(linkage.at);
            o.details.links.emergency = Some(linkage);
            o.state = S::HandedToEmergency;
        }
        Command::Dispatch {
            lead,
            co_handlers,
            note,
        } => {
            if state != S::Received {
                return invalid();
            }
            check_units(o, lead, co_handlers)?;
            if let Some(n) = note {
                text("note", n, false)?;
            }
            let (complete_by, complete_days) = completion_deadline(
                policy,
                o.details.category,
                o.details.legal_deadline.as_ref(),
                now,
                cal,
            );
            o.deadlines = Deadlines {
                sign_by: Some(cal.add_minutes(now, policy.sign_within_minutes, policy.hour_basis)),
                respond_by: None,
                return_by: Some(cal.working_days_deadline(now, policy.return_within_days)),
                complete_by: Some(complete_by),
                complete_days,
                reply_by: None,
            };
            o.assignment = Some(Assignment {
                lead: lead.clone(),
                co_handlers: co_handlers.clone(),
                dispatched_at: now,
                dispatched_by: actor.id.clone(),
                signed_at: None,
                signed_by: None,
                responded_at: None,
            });
            o.return_request = None;
            o.extension = None;
            o.material_refusal = None;
            o.state = S::Dispatched;
            let mut units = vec![lead.clone()];
            units.extend(co_handlers.iter().cloned());
            effects.push(Effect::NotifyUnits { units });
        }
        Command::Sign => {
            if state != S::Dispatched {
                return invalid();
            }
            o.deadlines.respond_by =
                Some(cal.add_minutes(now, policy.respond_within_minutes, policy.hour_basis));
            o.timeliness.signed = on_time(now, o.deadlines.sign_by);
            let a = assignment(o, kind)?;
            a.signed_at = Some(now);
            a.signed_by = Some(actor.id.clone());
            o.state = S::Signed;
        }
        Command::Respond { note, .. } => {
            if state != S::Signed {
                return invalid();
            }
            text("note", note, true)?;
            o.timeliness.responded = on_time(now, o.deadlines.respond_by);
            assignment(o, kind)?.responded_at = Some(now);
            o.state = S::InProgress;
        }
        Command::RequestExtension {
            reason,
            measures,
            promised_by,
        } => {
            if !matches!(state, S::Signed | S::InProgress) {
                return invalid();
            }
            if o.extension.is_some() {
                return not_now("an order is extended at most once (§17.4)");
            }
            let Some(deadline) = o.deadlines.complete_by else {
                return not_now("no completion deadline is running");
            };
            if now >= deadline {
                return not_now("an extension must be requested before the deadline (§17.4)");
            }
            text("reason", reason, true)?;
            // §17.5: concrete measures and a definite date.
            text("measures", measures, true)?;
            let started = o.assignment.as_ref().map_or(now, |a| a.dispatched_at);
            let limit = extended_deadline(deadline, o.deadlines.complete_days, started, cal);
            if *promised_by <= now || *promised_by > limit {
                return Err(DomainError::validation(
                    "promised_by",
                    format!("must be after now and no later than the extended deadline {limit}"),
                ));
            }
            o.extension = Some(Extension {
                reason: reason.clone(),
                measures: measures.clone(),
                promised_by: crate::calendar::utc(*promised_by),
                requested_at: now,
                decision: Decision::Pending,
                decision_note: None,
            });
        }
        Command::ApproveExtension { .. } | Command::RefuseExtension { .. }
            if !matches!(state, S::Signed | S::InProgress) =>
        {
            return invalid();
        }
        Command::ApproveExtension { note } => {
            let started = o.assignment.as_ref().map_or(now, |a| a.dispatched_at);
            let (Some(ext), Some(deadline)) = (o.extension.as_mut(), o.deadlines.complete_by)
            else {
                return not_now("no extension was requested");
            };
            if ext.decision != Decision::Pending {
                return not_now("the extension was already decided");
            }
            ext.decision = Decision::Approved;
            ext.decision_note = note.clone();
            o.deadlines.complete_by = Some(extended_deadline(
                deadline,
                o.deadlines.complete_days,
                started,
                cal,
            ));
        }
        Command::RefuseExtension { note } => {
            let Some(ext) = o.extension.as_mut() else {
                return not_now("no extension was requested");
            };
            if ext.decision != Decision::Pending {
                return not_now("the extension was already decided");
            }
            text("note", note, true)?;
            ext.decision = Decision::Refused;
            ext.decision_note = Some(note.clone());
        }
        Command::RequestReturn { reason, basis } => {
            if !matches!(state, S::Dispatched | S::Signed | S::InProgress) {
                return invalid();
            }
            if o.return_request
                .as_ref()
                .is_some_and(|r| r.decision == Decision::Refused)
            {
                return not_now("the hotline refused the return; the unit must go on (§17.7)");
            }
            if o.deadlines.return_by.is_some_and(|by| now > by) {
                return not_now("a return is requested within 1 working day of receipt (§17.7)");
            }
            text("reason", reason, true)?;
            text("basis", basis, true)?;
            let unit = assignment(o, kind)?.lead.clone();
            o.return_request = Some(ReturnRequest {
                unit,
                reason: reason.clone(),
                basis: basis.clone(),
                requested_at: now,
                resume_state: state,
                decision: Decision::Pending,
            });
            o.state = S::ReturnRequested;
        }
        Command::ApproveReturn { .. } => {
            if state != S::ReturnRequested {
                return invalid();
            }
            let lead = assignment(o, kind)?.lead.clone();
            if let Some(r) = o.return_request.as_mut() {
                r.decision = Decision::Approved;
            }
            o.returned_by.push(lead);
            o.assignment = None;
            o.deadlines = Deadlines::default();
            o.timeliness = Default::default();
            o.extension = None;
            o.state = S::Received;
        }
        Command::RefuseReturn { note } => {
            if state != S::ReturnRequested {
                return invalid();
            }
            let Some(r) = o.return_request.as_mut() else {
                return not_now("no return was requested");
            };
            text("note", note, true)?;
            r.decision = Decision::Refused;
            o.state = r.resume_state;
        }
        Command::NoteMaterialRefused { requested, note } => {
            if !matches!(state, S::Signed | S::InProgress) {
                return invalid();
            }
            text("requested", requested, true)?;
            text("note", note, true)?;
            o.material_refusal = Some(MaterialRefusal {
                requested: requested.clone(),
                note: note.clone(),
                at: now,
            });
        }
        Command::AddNote { text: t } => {
            text("text", t, true)?;
        }
        Command::Complete {
            outcome,
            summary,
            note_to_hotline,
            public,
        } => {
            if state != S::InProgress {
                return invalid();
            }
            text("summary", summary, true)?;
            match (outcome, note_to_hotline) {
                (Outcome::CannotBeDone, None) => {
                    return Err(DomainError::validation(
                        "note_to_hotline",
                        "a written explanation to the hotline is required (§17.6)",
                    ))
                }
                (_, Some(n)) => text("note_to_hotline", n, *outcome == Outcome::CannotBeDone)?,
                _ => {}
            }
            o.result = Some(HandlingResult {
                outcome: *outcome,
                summary: summary.clone(),
                note_to_hotline: note_to_hotline.clone(),
                // §30: a confidential order's result is never public.
                public: *public && !o.details.confidential,
                completed_at: now,
                completed_by: actor.id.clone(),
            });
            o.reply = None;
            o.timeliness.completed = on_time(now, o.deadlines.complete_by);
            o.timeliness.replied = None;
            o.deadlines.reply_by = Some(cal.working_days_deadline(now, policy.reply_within_days));
            o.state = S::Completed;
        }
        Command::Reply {
            citizen_informed,
            feedback,
            note,
        } => {
            if state != S::Completed {
                return invalid();
            }
            text("feedback", feedback, true)?;
            if let Some(n) = note {
                text("note", n, false)?;
            }
            o.timeliness.replied = on_time(now, o.deadlines.reply_by);
            o.reply = Some(Reply {
                citizen_informed: *citizen_informed,
                feedback: feedback.clone(),
                note: note.clone(),
                replied_at: now,
            });
            o.state = S::Replied;
            if !o.no_reply_wanted() {
                effects.push(Effect::HandlingSurveyDue);
            }
        }
        Command::RecordSurvey { stage, score, via } => {
            if !(1..=5).contains(score) {
                return Err(DomainError::validation("score", "must be 1 to 5"));
            }
            text("via", via, true)?;
            let record = SurveyRecord {
                stage: *stage,
                score: *score,
                round: o.round,
                via: via.clone(),
                at: now,
            };
            match stage {
                SurveyStage::Reception => {}
                SurveyStage::Handling if state == S::Replied => {
                    // §21: a first-round 4 or 5 gets a manual callback;
                    // §22: after a redo the second survey is final.
                    if record.is_dissatisfied() && o.round == 1 {
                        o.state = S::CallbackPending;
                        effects.push(Effect::CallbackTask);
                    } else {
                        o.state = S::Surveyed;
                    }
                }
                SurveyStage::Handling => return invalid(),
            }
            o.surveys.push(record);
        }
        Command::RecordCallback { cause, notes } => {
            if state != S::CallbackPending {
                return invalid();
            }
            text("notes", notes, true)?;
            o.callback = Some(crate::order::Callback {
                cause: *cause,
                notes: notes.clone(),
                by: actor.id.clone(),
                at: now,
            });
            if cause.requires_redo() {
                let (complete_by, days) = completion_deadline(
                    policy,
                    o.details.category,
                    o.details.legal_deadline.as_ref(),
                    now,
                    cal,
                );
                o.round = 2;
                o.deadlines.complete_by = Some(complete_by);
                o.deadlines.complete_days = days;
                o.deadlines.reply_by = None;
                o.state = S::InProgress;
                let lead = assignment(o, kind)?.lead.clone();
                effects.push(Effect::NotifyUnits { units: vec![lead] });
            } else {
                o.state = S::Surveyed;
            }
        }
        Command::Close { reason } => {
            match state {
                S::AnsweredOnSpot
                | S::Refused
                | S::RedirectedToLegalChannel
                | S::HandedToEmergency
                | S::Surveyed => {}
                // Closing without a survey (no reply wanted, unreachable)
                // must say why.
                S::Replied => text("reason", reason.as_deref().unwrap_or(""), true)?,
                _ => return invalid(),
            }
            o.closed_at = Some(now);
            o.state = S::Closed;
        }
        Command::Archive => {
            if state != S::Closed {
                return invalid();
            }
            o.state = S::Archived;
        }
        Command::LinkCall {
            call_id,
            recording_id,
        } => {
            text("call_id", call_id, true)?;
            let links = &mut o.details.links;
            if !links.call_ids.contains(call_id) {
                links.call_ids.push(call_id.clone());
            }
            if let Some(r) = recording_id {
                text("recording_id", r, true)?;
                if !links.recording_ids.contains(r) {
                    links.recording_ids.push(r.clone());
                }
            }
        }
        Command::Recuse { user, reason } => {
            if o.recused.contains(user) {
                return not_now("already recused");
            }
            text("reason", reason, true)?;
            o.recused.push(user.clone());
        }
    }
    Ok(effects)
}

/// Done at `now` against `deadline`: on time when not after it.
fn on_time(now: OffsetDateTime, deadline: Option<OffsetDateTime>) -> Option<bool> {
    deadline.map(|d| now <= d)
}

/// The order's assignment; every state past dispatch has one.
fn assignment(o: &mut WorkOrder, command: CommandKind) -> Result<&mut Assignment> {
    let state = o.state;
    o.assignment
        .as_mut()
        .ok_or(DomainError::InvalidTransition { state, command })
}

/// Lead and co-handlers: distinct, non-empty, and (§29) never the unit a
/// report is about.
fn check_units(
    o: &WorkOrder,
    lead: &crate::actor::UnitId,
    co: &[crate::actor::UnitId],
) -> Result<()> {
    if lead.0.trim().is_empty() {
        return Err(DomainError::validation("lead", "must not be empty"));
    }
    for (i, u) in co.iter().enumerate() {
        if u == lead || co[..i].contains(u) {
            return Err(DomainError::validation(
                format!("co_handlers[{i}]"),
                format!("{u} is listed twice"),
            ));
        }
    }
    if o.details.category == crate::order::Category::Report {
        if let Some(about) = o
            .details
            .complained_about
            .as_ref()
            .and_then(|c| c.unit.as_ref())
        {
            if about == lead {
                return Err(DomainError::validation(
                    "lead",
                    "a report is never sent to the unit it is about (§29)",
                ));
            }
            if let Some(i) = co.iter().position(|u| u == about) {
                return Err(DomainError::validation(
                    format!("co_handlers[{i}]"),
                    "a report is never sent to the unit it is about (§29)",
                ));
            }
        }
    }
    Ok(())
}
