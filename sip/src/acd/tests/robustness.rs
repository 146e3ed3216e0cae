//! Inputs in any order: unknown ids, late and repeated answers, stale
//! failures. Each returns an error or is ignored, and nothing changes.

use std::time::Duration;

use super::*;

const CMN: &[&str] = &["lang:cmn"];

fn one_agent() -> H {
    let mut h = H::new(
        &[("a", CMN), ("b", CMN)],
        vec![queue("q", Strategy::LongestIdle, CMN)],
    );
    h.ready("a");
    h
}

#[test]
fn unknown_ids_are_errors() {
    let mut h = one_agent();
    let now = h.now;
    let none = CallAttributes::default();
    assert_eq!(
        h.acd.set_state(now, "x", StateRequest::Ready),
        Err(AcdError::UnknownAgent("x".into()))
    );
    assert_eq!(
        h.acd.set_registered(now, "x", true),
        Err(AcdError::UnknownAgent("x".into()))
    );
    assert_eq!(
        h.acd.enqueue(now, call(1), "nope", &none),
        Err(AcdError::UnknownQueue("nope".into()))
    );
    assert_eq!(
        h.acd.abandon(now, call(9)),
        Err(AcdError::UnknownCall(call(9)))
    );
    assert_eq!(
        h.acd.call_ended(now, call(9)),
        Err(AcdError::UnknownCall(call(9)))
    );
    assert_eq!(
        h.acd.ring_answered(now, call(9), "a"),
        Err(AcdError::UnknownCall(call(9)))
    );
    assert_eq!(
        h.acd.ring_failed(now, call(9), "a", RingFailure::NoAnswer),
        Err(AcdError::UnknownCall(call(9)))
    );
    assert_eq!(
        h.acd.ring_answered(now, call(9), "x"),
        Err(AcdError::UnknownAgent("x".into()))
    );
    h.enqueue(1, "q");
    assert_eq!(
        h.acd.enqueue(now, call(1), "q", &none),
        Err(AcdError::DuplicateCall(call(1)))
    );
}

#[test]
fn a_late_answer_after_the_ring_timeout_is_refused() {
    let mut h = one_agent();
    h.ready("b");
    h.enqueue(1, "q");
    assert_eq!(h.rings(), [ring(1, &["a"])]);
    h.advance(20);
    assert_eq!(h.rings(), [ring(1, &["b"])]);
    let now = h.now;
    assert_eq!(
        h.acd.ring_answered(now, call(1), "a"),
        Err(AcdError::NotRinging {
            call: call(1),
            agent: "a".into()
        })
    );
    assert_eq!(
        h.acd.ring_failed(now, call(1), "a", RingFailure::NoAnswer),
        Err(AcdError::NotRinging {
            call: call(1),
            agent: "a".into()
        })
    );
    assert_eq!(
        h.agent("a").missed_in_row,
        1,
        "a stale failure is not a second miss"
    );
    h.answer(1, "b");
    // A repeated answer by the winner is accepted and changes nothing.
    let now = h.now;
    assert_eq!(h.acd.ring_answered(now, call(1), "b"), Ok(()));
    assert_eq!(
        h.acd.ring_answered(now, call(1), "a"),
        Err(AcdError::NotRinging {
            call: call(1),
            agent: "a".into()
        })
    );
    assert_eq!(h.queue("q").today.answered, 1);
}

#[test]
fn hang_ups_in_any_state_are_handled_once() {
    let mut h = one_agent();
    h.enqueue(1, "q");
    // Abandoned while ringing: the ring is cancelled, not a miss.
    let now = h.now;
    h.acd.abandon(now, call(1)).expect("waiting");
    assert!(h.take().contains(&AcdOutput::CancelRing {
        call: call(1),
        agent: "a".into()
    }));
    assert_eq!(h.state("a"), AgentState::Ready);
    assert_eq!(h.agent("a").missed_in_row, 0);
    assert_eq!(
        h.acd.abandon(now, call(1)),
        Err(AcdError::UnknownCall(call(1)))
    );
    // `abandon` after the answer ends the call like `call_ended`.
    h.enqueue(2, "q");
    h.answer(2, "a");
    h.advance(30);
    let now = h.now;
    h.acd.abandon(now, call(2)).expect("connected");
    assert_eq!(h.state("a"), AgentState::Ready);
    assert_eq!(
        h.acd.call_ended(now, call(2)),
        Err(AcdError::UnknownCall(call(2)))
    );
    assert_eq!(h.queue("q").today.abandoned, 1);
    assert_eq!(h.agent("a").today.talk_time_s, 30);
}

#[test]
fn stale_deadlines_do_nothing() {
    let mut h = one_agent();
    h.enqueue(1, "q");
    h.advance(5);
    h.answer(1, "a");
    h.take();
    // The ring deadline of the answered call passes harmlessly.
    h.advance(60);
    assert_eq!(h.state("a"), AgentState::OnCall);
    assert!(h.rings().is_empty());
    assert!(h.acd.poll_timeout().is_none_or(|t| t > h.now));
}

#[test]
fn bad_settings_are_errors() {
    let settings = |queues: Vec<QueueSettings>, skills: &[&str]| AcdSettings {
        agents: vec![AgentSettings {
            id: "a".into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
        }],
        queues,
        max_no_answer: 3,
    };
    let now = std::time::Instant::now();
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.overflow = Some(Overflow {
        queue: "missing".into(),
        after: Duration::from_secs(5),
    });
    assert!(matches!(
        Acd::new(settings(vec![q], CMN), now),
        Err(AcdError::Settings(_))
    ));
    assert!(matches!(
        Acd::new(settings(vec![], &["lang:cmn:0"]), now),
        Err(AcdError::Settings(_))
    ));
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.shifts = vec![Shift {
        days: vec![],
        start_min: 0,
        end_min: 60,
        agents: vec!["ghost".into()],
    }];
    assert!(matches!(
        Acd::new(settings(vec![q], CMN), now),
        Err(AcdError::Settings(_))
    ));
    let dup = vec![
        queue("q", Strategy::LongestIdle, CMN),
        queue("q", Strategy::RingAll, CMN),
    ];
    assert!(matches!(
        Acd::new(settings(dup, CMN), now),
        Err(AcdError::Settings(_))
    ));
}
