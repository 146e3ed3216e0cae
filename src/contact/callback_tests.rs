//! Automatic callbacks in virtual time (`callbacks.rs`): on the built-in
//! default configuration, whose `cantonese` queue has `callbacks_first`.

use std::time::Duration;

use hotline_sip::acd::{AgentState, NotReadyReason, StateRequest};
use hotline_sip::call::{CallEvent, CallId, EndReason, HangupBy, RingFailure};

use super::tests::{centre, rings, H};
use super::*;

const CALLER: CallId = CallId(0xabc);
const CB1: CallId = CallId(0xcb1);
const CB2: CallId = CallId(0xcb2);

fn request(id: &str, attempts: u32) -> OpenCallback {
    OpenCallback {
        id: id.into(),
        number: format!("1380000{}", id.len()),
        queue: "cantonese".into(),
        attempts,
        not_before: None,
    }
}

fn placed(cmds: &[Command]) -> Vec<(String, String)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::PlaceCallback { request, agent, .. } => Some((request.clone(), agent.clone())),
            _ => None,
        })
        .collect()
}

fn updates(cmds: &[Command]) -> Vec<CallbackUpdate> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::UpdateCallback(u) => Some(u.clone()),
            _ => None,
        })
        .collect()
}

impl H {
    fn event(&mut self, ev: CallEvent) -> Vec<Command> {
        self.cc.on_call_event(self.now, &ev);
        self.commands()
    }

    fn ended(&mut self, call: CallId, reason: EndReason) -> Vec<Command> {
        self.event(CallEvent::Ended {
            call,
            at: self.now,
            hangup_by: HangupBy::System,
            reason,
        })
    }

    /// A Cantonese caller waiting in the queue (1003 logged in, not ready).
    fn cantonese_caller_waiting(&mut self) {
        self.cc.set_registered(self.now, "1003", true);
        let pause = StateRequest::NotReady {
            reason: NotReadyReason::Break,
        };
        self.cc
            .set_agent_state(self.now, "1003", pause)
            .expect("agent");
        self.arrive(CALLER, "12345");
        let mut cmds = self.key(CALLER, '2');
        cmds.extend(self.play_out(CALLER, &cmds.clone()));
        assert!(rings(&cmds).is_empty(), "{cmds:?}");
        assert_eq!(
            self.cc.acd().position(CALLER).map(|(q, _)| q.to_owned()),
            Some("cantonese".to_owned())
        );
    }
}

fn with_callbacks() -> H {
    let mut h = centre(false);
    let now = h.now;
    h.cc.set_callback_queues(now, ["cantonese".to_owned()]);
    h
}

#[test]
fn a_ready_agent_dials_the_oldest_request_before_the_waiting_call() {
    let mut h = with_callbacks();
    h.cantonese_caller_waiting();
    let now = h.now;
    h.cc.add_callback(now, request("r1", 0));
    h.cc.add_callback(now, request("r22", 0));
    assert!(placed(&h.commands()).is_empty(), "nobody is ready yet");

    h.cc.set_agent_state(h.now, "1003", StateRequest::Ready)
        .expect("agent");
    let cmds = h.commands();
    assert_eq!(placed(&cmds), [("r1".into(), "1003".into())]);
    assert!(rings(&cmds).is_empty(), "the caller waits: {cmds:?}");
    // Reserved: the ACD will not offer it the waiting call meanwhile.
    assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::Ringing));
    assert!(h.cc.acd().on_callback("1003"));

    h.cc.callback_placed("1003", CB1);
    h.event(CallEvent::OriginAnswered {
        call: CB1,
        at: h.now,
    });
    assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::OnCall));
    let cmds = h.event(CallEvent::Answered {
        call: CB1,
        agent: "1003".into(),
        at: h.now,
    });
    let u = updates(&cmds);
    assert_eq!(u.len(), 1, "{cmds:?}");
    assert_eq!(
        (u[0].id.as_str(), u[0].status, u[0].attempts),
        ("r1", "done", 1)
    );
    h.now += Duration::from_secs(120);
    let cmds = h.ended(CB1, EndReason::Normal);
    assert!(placed(&cmds).is_empty());
    assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::WrapUp));

    // After the wrap-up, the second request still goes before the caller.
    let cmds = h.advance(Duration::from_secs(15));
    assert_eq!(placed(&cmds), [("r22".into(), "1003".into())], "{cmds:?}");
    assert!(rings(&cmds).is_empty());
    h.cc.callback_placed("1003", CB2);
    h.event(CallEvent::OriginAnswered {
        call: CB2,
        at: h.now,
    });
    // The citizen is busy: one attempt, open again with a retry time; the
    // agent is free at once and now takes the waiting call.
    h.event(CallEvent::RingFailed {
        call: CB2,
        agent: "1003".into(),
        failure: RingFailure::Busy,
    });
    let cmds = h.ended(CB2, EndReason::Busy);
    let u = updates(&cmds);
    assert_eq!(u.len(), 1, "{cmds:?}");
    assert_eq!((u[0].status, u[0].attempts), ("open", 1));
    assert_eq!(u[0].retry_after, Some(CALLBACK_RETRY_AFTER));
    assert_eq!(rings(&cmds), ["1003"], "{cmds:?}");
}

#[test]
fn a_busy_citizen_is_called_again_later_then_the_request_fails() {
    let mut h = with_callbacks();
    let now = h.now;
    h.cc.add_callback(now, request("r1", MAX_CALLBACK_ATTEMPTS - 2));
    h.ready("1003");
    let mut call = 0x100;
    for attempt in 1..=2 {
        let cmds = if attempt == 1 {
            // The agent was reserved as it became ready.
            let n = h.cc.open_callbacks("cantonese").len();
            assert_eq!(n, 0, "taken out of the list while dialled");
            Vec::new()
        } else {
            // Nothing before the retry time, then the next attempt.
            let early = h.advance(CALLBACK_RETRY_AFTER - Duration::from_secs(1));
            assert!(placed(&early).is_empty(), "{early:?}");
            h.advance(Duration::from_secs(1))
        };
        if attempt == 2 {
            assert_eq!(placed(&cmds), [("r1".into(), "1003".into())], "{cmds:?}");
        }
        call += 1;
        h.cc.callback_placed("1003", CallId(call));
        h.event(CallEvent::OriginAnswered {
            call: CallId(call),
            at: h.now,
        });
        h.event(CallEvent::RingFailed {
            call: CallId(call),
            agent: "1003".into(),
            failure: RingFailure::NoAnswer,
        });
        let cmds = h.ended(CallId(call), EndReason::NoAnswer);
        let u = updates(&cmds);
        assert_eq!(u.len(), 1, "{cmds:?}");
        if attempt == 1 {
            assert_eq!(
                (u[0].status, u[0].attempts),
                ("open", MAX_CALLBACK_ATTEMPTS - 1)
            );
            assert_eq!(h.cc.open_callbacks("cantonese").len(), 1);
        } else {
            assert_eq!(
                (u[0].status, u[0].attempts),
                ("failed", MAX_CALLBACK_ATTEMPTS)
            );
            assert!(h.cc.open_callbacks("cantonese").is_empty());
        }
        assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::Ready));
    }
    assert!(h.advance(CALLBACK_RETRY_AFTER * 2).is_empty());
}

#[test]
fn an_agent_who_does_not_answer_is_paused_and_the_request_keeps_its_place() {
    let mut h = with_callbacks();
    let now = h.now;
    h.cc.add_callback(now, request("r1", 0));
    h.cc.add_callback(now, request("r22", 0));
    h.ready("1003");
    h.cc.callback_placed("1003", CB1);
    let cmds = h.ended(CB1, EndReason::NoAnswer);
    assert!(updates(&cmds).is_empty(), "not an attempt: {cmds:?}");
    assert_eq!(
        h.cc.acd().agent_state("1003"),
        Some(AgentState::NotReady {
            reason: NotReadyReason::MissedCall
        })
    );
    let open: Vec<String> =
        h.cc.open_callbacks("cantonese")
            .into_iter()
            .map(|r| r.id)
            .collect();
    assert_eq!(open, ["r1", "r22"]);
    // The next Cantonese agent takes the oldest one.
    h.cc.set_registered(h.now, "1004", true);
    h.cc.set_agent_state(h.now, "1004", StateRequest::Ready)
        .expect("agent");
    assert_eq!(placed(&h.commands()), [("r1".into(), "1004".into())]);
}

#[test]
fn a_callback_not_placed_waits_and_an_undialable_one_fails() {
    let mut h = with_callbacks();
    let now = h.now;
    h.cc.add_callback(now, request("r1", 0));
    h.ready("1003");
    h.cc.callback_not_placed(h.now, "1003", NotPlaced::Later);
    let cmds = h.commands();
    assert!(placed(&cmds).is_empty() && updates(&cmds).is_empty());
    assert_eq!(h.cc.acd().agent_state("1003"), Some(AgentState::Ready));
    let cmds = h.advance(NOT_PLACED_RETRY_AFTER);
    assert_eq!(placed(&cmds), [("r1".into(), "1003".into())], "{cmds:?}");
    h.cc.callback_not_placed(h.now, "1003", NotPlaced::Never);
    let u = updates(&h.commands());
    assert_eq!((u[0].id.as_str(), u[0].status), ("r1", "failed"));
    assert!(h.cc.open_callbacks("cantonese").is_empty());
}

#[test]
fn without_an_outbound_trunk_nothing_is_dialled() {
    // The SIP core never calls set_callback_queues without a trunk.
    let mut h = centre(false);
    h.cantonese_caller_waiting();
    let now = h.now;
    h.cc.add_callback(now, request("r1", 0));
    assert!(h.cc.open_callbacks("cantonese").is_empty());
    h.cc.set_agent_state(h.now, "1003", StateRequest::Ready)
        .expect("agent");
    let cmds = h.commands();
    assert!(placed(&cmds).is_empty());
    assert_eq!(rings(&cmds), ["1003"], "the waiting caller is served");
    assert!(!h.cc.acd().on_callback("1003"));
}

#[test]
fn requests_of_queues_without_callbacks_first_wait_for_manual_handling() {
    let mut h = with_callbacks();
    let now = h.now;
    h.cc.add_callback(
        now,
        OpenCallback {
            queue: "general".into(),
            ..request("r1", 0)
        },
    );
    h.ready("1001");
    assert!(placed(&h.commands()).is_empty());
    assert!(h.cc.open_callbacks("general").is_empty());
}
