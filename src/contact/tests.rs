//! The contact centre in virtual time on the built-in default configuration
//! (its menus and the committed prompt set): language choice, queue, agent,
//! survey, callback when nobody is logged in, ring timeout to the next agent,
//! the emergency option, and stale playback ids.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_config::Config;
use hotline_ivr::Menu;
use hotline_sip::acd::{Acd, AgentState, StateRequest};
use hotline_sip::call::{CallEvent, CallId, EndReason, HangupBy, RingFailure};

use super::*;

pub(super) struct H {
    pub(super) cc: ContactCentre,
    pub(super) now: Instant,
}

pub(super) fn centre(survey: bool) -> H {
    let config = Config::builtin_default();
    let menu =
        Arc::new(Menu::load(&config).expect("the default menu loads with the shipped prompts"));
    let now = Instant::now();
    let acd = Acd::new(acd_settings(&config), now).expect("ACD");
    H {
        cc: ContactCentre::new(menu, acd, survey, Some("general".into())),
        now,
    }
}

impl H {
    pub(super) fn drain(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.cc.poll_command()).collect()
    }

    /// Commands other than publications.
    pub(super) fn commands(&mut self) -> Vec<Command> {
        self.drain()
            .into_iter()
            .filter(|c| !matches!(c, Command::Publish(_)))
            .collect()
    }

    pub(super) fn advance(&mut self, d: Duration) -> Vec<Command> {
        let until = self.now + d;
        let mut all = Vec::new();
        while let Some(t) = self.cc.poll_timeout().filter(|t| *t <= until) {
            self.now = self.now.max(t);
            self.cc.handle_timeout(self.now);
            all.extend(self.commands());
        }
        self.now = until;
        all
    }

    pub(super) fn arrive(&mut self, call: CallId, did: &str) -> Vec<Command> {
        self.cc.on_call_event(
            self.now,
            &CallEvent::Arrived {
                call,
                caller_number: "13800138000".into(),
                did: did.into(),
                at: self.now,
            },
        );
        self.commands()
    }

    pub(super) fn key(&mut self, call: CallId, digit: char) -> Vec<Command> {
        self.cc.on_digit(self.now, call, digit);
        self.commands()
    }

    /// Finishes every non-looped playback in `cmds` (in order) and returns
    /// what followed.
    pub(super) fn play_out(&mut self, call: CallId, cmds: &[Command]) -> Vec<Command> {
        let mut out = Vec::new();
        for c in cmds {
            if let Command::Play {
                id, looped: false, ..
            } = c
            {
                self.cc.on_playback_done(self.now, call, *id);
                out.extend(self.commands());
            }
        }
        out
    }

    pub(super) fn ready(&mut self, agent: &str) {
        self.cc.set_registered(self.now, agent, true);
        self.cc
            .set_agent_state(self.now, agent, StateRequest::Ready)
            .expect("known agent");
        self.drain();
    }
}

pub(super) fn rings(cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Ring { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect()
}

fn has_hangup(cmds: &[Command]) -> bool {
    cmds.iter().any(|c| matches!(c, Command::HangUp { .. }))
}

const CALL: CallId = CallId(0xabc);

#[test]
fn cantonese_caller_reaches_a_cantonese_agent_and_rates_the_service() {
    let mut h = centre(true);
    h.ready("1001"); // Mandarin only
    h.ready("1003"); // Cantonese
    let cmds = h.arrive(CALL, "12345");
    assert!(
        matches!(cmds.as_slice(), [Command::Play { looped: false, prompts, .. }] if prompts.len() == 3),
        "welcome and the language menu: {cmds:?}"
    );
    // Key 2 during the menu: barge-in, Cantonese, the queue, the agent rung.
    let cmds = h.key(CALL, '2');
    assert!(
        matches!(cmds.first(), Some(Command::StopPlayback { .. })),
        "{cmds:?}"
    );
    let mut cmds = cmds;
    cmds.extend(h.play_out(CALL, &cmds.clone()));
    assert_eq!(rings(&cmds), ["1003"], "{cmds:?}");
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::Play { looped: true, .. })));
    let info = h.cc.call_info(h.now, CALL).expect("hosted");
    assert_eq!(info.language, "yue");
    assert_eq!(info.queue.as_deref(), Some("cantonese"));
    assert!(info.ivr_path.iter().any(|p| p.contains('2')), "{info:?}");

    h.cc.on_call_event(
        h.now,
        &CallEvent::Answered {
            call: CALL,
            agent: "1003".into(),
            at: h.now,
        },
    );
    h.drain();
    assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::OnCall));
    h.now += Duration::from_secs(90);
    h.cc.on_call_event(
        h.now,
        &CallEvent::AgentLeft {
            call: CALL,
            agent: "1003".into(),
            at: h.now,
        },
    );
    let cmds = h.commands();
    assert!(
        matches!(cmds.as_slice(), [Command::Play { looped: false, .. }]),
        "the survey question: {cmds:?}"
    );
    assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::WrapUp));
    let cmds = h.key(CALL, '4');
    let saved: Vec<&SurveyRecord> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::SaveSurvey(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(saved.len(), 1, "{cmds:?}");
    assert_eq!(saved[0].rating, Some(4));
    assert_eq!(saved[0].agent, "1003");
    assert_eq!(saved[0].queue.as_deref(), Some("cantonese"));
    let after = h.play_out(CALL, &cmds);
    assert!(has_hangup(&after), "thanks, then hang up: {after:?}");
    h.cc.on_call_event(
        h.now,
        &CallEvent::Ended {
            call: CALL,
            at: h.now,
            hangup_by: HangupBy::Agent,
            reason: EndReason::Normal,
        },
    );
    assert!(h.cc.call_info(h.now, CALL).is_none());
}

#[test]
fn nobody_logged_in_means_a_callback_offer_and_a_stored_request() {
    let mut h = centre(false);
    h.arrive(CALL, "12345");
    let cmds = h.key(CALL, '1');
    let mut cmds = cmds;
    cmds.extend(h.play_out(CALL, &cmds.clone()));
    assert!(rings(&cmds).is_empty());
    assert_eq!(
        h.cc.call_info(h.now, CALL).map(|i| i.phase),
        Some("callback")
    );
    // "Press 1 to be called back on this number."
    let cmds = h.key(CALL, '1');
    let mut all = cmds.clone();
    all.extend(h.play_out(CALL, &cmds));
    let saved: Vec<&CallbackRecord> = all
        .iter()
        .filter_map(|c| match c {
            Command::SaveCallback(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(saved.len(), 1, "{all:?}");
    assert_eq!(saved[0].number, "13800138000");
    assert_eq!(saved[0].reason, "no_agents");
    assert_eq!(saved[0].queue.as_deref(), Some("general"));
    let rest = h.play_out(CALL, &all);
    assert!(has_hangup(&all) || has_hangup(&rest), "{all:?} {rest:?}");
}

#[test]
fn an_agent_who_does_not_answer_is_passed_over_and_set_not_ready_after_three() {
    let mut h = centre(false);
    h.ready("1001");
    h.ready("1004");
    h.arrive(CALL, "12345");
    let cmds = h.key(CALL, '1');
    let mut cmds = cmds;
    cmds.extend(h.play_out(CALL, &cmds.clone()));
    let first = rings(&cmds);
    assert_eq!(first.len(), 1, "{cmds:?}");
    // The ACD's ring timeout (20 s): stop ringing, ring the other agent.
    let cmds = h.advance(Duration::from_secs(21));
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::StopRinging { agent, .. } if *agent == first[0])));
    let second = rings(&cmds);
    assert_eq!(second.len(), 1, "{cmds:?}");
    assert_ne!(second, first);
    // The phone itself reports busy: the first agent is tried again.
    h.cc.on_call_event(
        h.now,
        &CallEvent::RingFailed {
            call: CALL,
            agent: second[0].clone(),
            failure: RingFailure::Busy,
        },
    );
    let cmds = h.commands();
    assert_eq!(rings(&cmds), first, "{cmds:?}");
}

#[test]
fn the_emergency_option_transfers_and_a_failure_queues_the_caller() {
    let mut h = centre(false);
    h.ready("1001");
    h.arrive(CALL, "12345");
    let cmds = h.key(CALL, '0');
    let cmds = {
        let mut c = cmds.clone();
        c.extend(h.play_out(CALL, &cmds));
        c
    };
    assert!(!cmds.iter().any(|c| matches!(c, Command::Transfer { .. })));
    let cmds = h.key(CALL, '1');
    let mut all = cmds.clone();
    all.extend(h.play_out(CALL, &cmds));
    assert!(
        all.iter()
            .any(|c| matches!(c, Command::Transfer { number, .. } if number == "110")),
        "{all:?}"
    );
    h.cc.on_call_event(
        h.now,
        &CallEvent::TransferFailed {
            call: CALL,
            number: "110".into(),
            status: 503,
        },
    );
    let cmds = h.commands();
    assert_eq!(rings(&cmds), ["1001"], "an agent takes over: {cmds:?}");
}

#[test]
fn a_did_with_a_queue_skips_the_menu_and_stale_playbacks_are_ignored() {
    let mut h = centre(false);
    h.ready("1002"); // biz:social_security
    let cmds = h.arrive(CALL, "12333");
    let mut all = cmds.clone();
    all.extend(h.play_out(CALL, &cmds));
    assert_eq!(rings(&all), ["1002"], "{all:?}");
    // A "done" for an id of an earlier phase changes nothing.
    h.cc.on_playback_done(h.now, CALL, 7);
    assert!(h.commands().is_empty());
    // The caller hangs up while ringing: abandoned, the ring is cancelled.
    h.cc.on_call_event(
        h.now,
        &CallEvent::Ended {
            call: CALL,
            at: h.now,
            hangup_by: HangupBy::Caller,
            reason: EndReason::Normal,
        },
    );
    let cmds = h.commands();
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::StopRinging { agent, .. } if agent == "1002")),
        "{cmds:?}"
    );
    assert_eq!(h.cc.acd().agent_state("1002"), Some(AgentState::Ready));
}

#[test]
fn calls_to_other_numbers_are_not_hosted() {
    let mut h = centre(false);
    assert!(h.arrive(CallId(9), "1002").is_empty());
    assert!(h.cc.call_info(h.now, CallId(9)).is_none());
}
