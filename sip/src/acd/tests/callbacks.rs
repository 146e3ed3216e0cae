//! Callback requests of `callbacks_first` queues: reservation before
//! waiting calls, and the agent's state after each kind of end.

use super::*;

fn cb_queue(name: &str, first: bool) -> QueueSettings {
    QueueSettings {
        callbacks_first: first,
        wrap_up: Duration::from_secs(10),
        ..queue(name, Strategy::LongestIdle, &[])
    }
}

fn reserved(out: &[AcdOutput]) -> Vec<(String, String)> {
    out.iter()
        .filter_map(|o| match o {
            AcdOutput::CallbackReserved { agent, queue } => Some((agent.clone(), queue.clone())),
            _ => None,
        })
        .collect()
}

fn rings(out: &[AcdOutput]) -> usize {
    out.iter()
        .filter(|o| matches!(o, AcdOutput::Ring { .. }))
        .count()
}

#[test]
fn a_ready_agent_takes_the_callback_before_a_waiting_call() {
    let mut h = H::new(&[("a", &[])], vec![cb_queue("q", true)]);
    // Logged in but not ready: the call waits, the request too.
    let now = h.now;
    h.acd.set_registered(now, "a", true).expect("agent");
    h.acd
        .set_state(
            now,
            "a",
            StateRequest::NotReady {
                reason: NotReadyReason::Break,
            },
        )
        .expect("agent");
    h.enqueue(1, "q");
    h.acd.set_callbacks_waiting(now, "q", 1).expect("queue");
    h.take();
    h.acd
        .set_state(now, "a", StateRequest::Ready)
        .expect("agent");
    let out = h.take();
    assert_eq!(reserved(&out), vec![("a".into(), "q".into())]);
    assert_eq!(rings(&out), 0, "the waiting call must not ring the agent");
    assert_eq!(h.acd.agent_state("a"), Some(AgentState::Ringing));
    assert!(h.acd.on_callback("a"));

    // The callback connects and ends: wrap-up, then the waiting call.
    h.acd.callback_answered(h.now, "a").expect("reserved");
    assert_eq!(h.acd.agent_state("a"), Some(AgentState::OnCall));
    h.advance(60);
    h.acd
        .callback_ended(h.now, "a", CallbackEnd::Talked)
        .expect("reserved");
    assert_eq!(h.acd.agent_state("a"), Some(AgentState::WrapUp));
    assert!(!h.acd.on_callback("a"));
    h.take();
    h.advance(10);
    let out = h.take();
    assert!(out
        .iter()
        .any(|o| matches!(o, AcdOutput::Ring { call, agents, .. } if *call == CallId(1) && agents == &["a"])));
}

#[test]
fn a_new_request_reserves_an_idle_agent_at_once() {
    let mut h = H::new(&[("a", &[]), ("b", &[])], vec![cb_queue("q", true)]);
    h.ready("a");
    h.advance(5);
    h.ready("b");
    h.take();
    let now = h.now;
    h.acd.set_callbacks_waiting(now, "q", 1).expect("queue");
    // Longest idle first: a.
    assert_eq!(reserved(&h.take()), vec![("a".into(), "q".into())]);
    // b stays free for calls.
    h.enqueue(7, "q");
    assert!(h
        .take()
        .iter()
        .any(|o| matches!(o, AcdOutput::Ring { agents, .. } if agents == &["b"])));
}

#[test]
fn without_callbacks_first_requests_are_ignored() {
    let mut h = H::new(&[("a", &[])], vec![cb_queue("q", false)]);
    h.ready("a");
    let now = h.now;
    h.acd.set_callbacks_waiting(now, "q", 3).expect("queue");
    h.enqueue(1, "q");
    let out = h.take();
    assert!(reserved(&out).is_empty());
    assert_eq!(rings(&out), 1);
}

#[test]
fn a_callback_not_connected_frees_the_agent_and_a_missed_one_pauses_them() {
    let mut h = H::new(&[("a", &[])], vec![cb_queue("q", true)]);
    h.ready("a");
    let now = h.now;
    h.acd.set_callbacks_waiting(now, "q", 2).expect("queue");
    assert_eq!(reserved(&h.take()).len(), 1);
    h.acd.callback_answered(now, "a").expect("reserved");
    // Citizen busy: available again, and the second due request is next.
    h.acd
        .callback_ended(now, "a", CallbackEnd::NotConnected)
        .expect("reserved");
    assert_eq!(reserved(&h.take()), vec![("a".into(), "q".into())]);
    // The agent's phone does not answer this one: not ready, no more offers.
    h.acd
        .callback_ended(now, "a", CallbackEnd::AgentMissed)
        .expect("reserved");
    assert_eq!(
        h.acd.agent_state("a"),
        Some(AgentState::NotReady {
            reason: NotReadyReason::MissedCall
        })
    );
    h.acd.set_callbacks_waiting(now, "q", 1).expect("queue");
    assert!(reserved(&h.take()).is_empty());
    // Ending a callback nobody is on is an error that changes nothing.
    assert_eq!(
        h.acd.callback_ended(now, "a", CallbackEnd::Talked),
        Err(AcdError::NoCallback("a".into()))
    );
}

#[test]
fn a_state_asked_for_during_a_callback_applies_after_it() {
    let mut h = H::new(&[("a", &[])], vec![cb_queue("q", true)]);
    h.ready("a");
    let now = h.now;
    h.acd.set_callbacks_waiting(now, "q", 1).expect("queue");
    // Asked while the agent's phone rings for the callback: kept too.
    let pause = StateRequest::NotReady {
        reason: NotReadyReason::Meal,
    };
    h.acd.set_state(now, "a", pause).expect("agent");
    assert_eq!(h.acd.agent_state("a"), Some(AgentState::Ringing));
    h.acd.callback_answered(now, "a").expect("reserved");
    let pause = StateRequest::NotReady {
        reason: NotReadyReason::Meal,
    };
    h.acd.set_state(now, "a", pause).expect("agent");
    assert_eq!(h.acd.agent_state("a"), Some(AgentState::OnCall));
    h.acd
        .callback_ended(now, "a", CallbackEnd::Talked)
        .expect("reserved");
    h.advance(10);
    assert_eq!(
        h.acd.agent_state("a"),
        Some(AgentState::NotReady {
            reason: NotReadyReason::Meal
        })
    );
}
