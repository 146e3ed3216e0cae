//! Which agent rings: strategies, qualification, ring timeouts, misses,
//! wrap-up and agent states.

use std::time::Duration;

use super::*;

const CMN: &[&str] = &["lang:cmn"];

fn three(strategy: Strategy) -> H {
    let mut h = H::new(
        &[("a", CMN), ("b", CMN), ("c", CMN)],
        vec![queue("q", strategy, CMN)],
    );
    for id in ["a", "b", "c"] {
        h.ready(id);
        h.advance(1);
    }
    h
}

/// Enqueue call `n`, return who rang, answer with the first and hang up.
fn serve(h: &mut H, n: u64) -> Vec<String> {
    h.enqueue(n, "q");
    let rings = h.rings();
    assert_eq!(rings.len(), 1, "{rings:?}");
    let agents = rings[0].1.clone();
    h.advance(5);
    h.answer(n, &agents[0]);
    h.advance(30);
    h.end(n);
    h.advance(1);
    agents
}

#[test]
fn longest_idle_rings_the_agent_idle_longest() {
    let mut h = three(Strategy::LongestIdle);
    assert_eq!(serve(&mut h, 1), ["a"]);
    // a is idle again since the end of call 1: b has waited longer.
    assert_eq!(serve(&mut h, 2), ["b"]);
    assert_eq!(serve(&mut h, 3), ["c"]);
    assert_eq!(serve(&mut h, 4), ["a"]);
}

#[test]
fn round_robin_takes_agents_in_turn() {
    let mut h = three(Strategy::RoundRobin);
    // Make a the most recently idle: round robin must still not restart at a.
    let order: Vec<String> = (1..=6).flat_map(|n| serve(&mut h, n)).collect();
    assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
}

#[test]
fn fewest_calls_prefers_the_least_busy_agent() {
    let mut h = three(Strategy::FewestCalls);
    // a and b take calls while c is on a break.
    let now = h.now;
    h.acd
        .set_state(
            now,
            "c",
            StateRequest::NotReady {
                reason: NotReadyReason::Break,
            },
        )
        .expect("known");
    assert_eq!(serve(&mut h, 1), ["a"]);
    assert_eq!(serve(&mut h, 2), ["b"]);
    assert_eq!(serve(&mut h, 3), ["a"]);
    h.ready("c");
    h.advance(1);
    // c has 0 calls (and is the most recently idle), b 1, a 2.
    assert_eq!(serve(&mut h, 4), ["c"]);
    assert_eq!(serve(&mut h, 5), ["b"]);
}

#[test]
fn ring_all_rings_everyone_and_the_first_answer_wins() {
    let mut h = three(Strategy::RingAll);
    h.enqueue(1, "q");
    assert_eq!(h.rings(), [ring(1, &["a", "b", "c"])]);
    h.advance(3);
    h.answer(1, "b");
    let out = h.take();
    let cancelled: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            AcdOutput::CancelRing { agent, .. } => Some(agent.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, ["a", "c"]);
    assert_eq!(h.state("b"), AgentState::OnCall);
    assert_eq!(h.state("a"), AgentState::Ready);
    // A late answer from a cancelled agent is refused, not a second winner.
    let now = h.now;
    assert_eq!(
        h.acd.ring_answered(now, call(1), "c"),
        Err(AcdError::NotRinging {
            call: call(1),
            agent: "c".into()
        })
    );
    // Being beaten to it is not a miss.
    assert_eq!(h.agent("a").missed_in_row, 0);
    // The next call rings the two still free.
    h.enqueue(2, "q");
    assert_eq!(h.rings(), [ring(2, &["a", "c"])]);
}

#[test]
fn ring_all_adds_an_agent_who_becomes_available_during_the_ring() {
    let mut h = three(Strategy::RingAll);
    let now = h.now;
    h.acd
        .set_state(
            now,
            "c",
            StateRequest::NotReady {
                reason: NotReadyReason::Break,
            },
        )
        .expect("known");
    h.enqueue(1, "q");
    assert_eq!(h.rings(), [ring(1, &["a", "b"])]);
    h.advance(10);
    h.ready("c");
    assert_eq!(h.rings(), [ring(1, &["c"])]);
    // The ring keeps its deadline: 20 s after it started, all three miss.
    h.advance(10);
    let cancelled = h
        .take()
        .iter()
        .filter(|o| matches!(o, AcdOutput::CancelRing { .. }))
        .count();
    assert_eq!(cancelled, 3);
    assert_eq!(h.agent("c").missed_in_row, 1);
}

#[test]
fn skills_weighted_prefers_higher_levels_and_the_callers_needs() {
    let mut h = H::new(
        &[
            ("plain", &["lang:cmn"]),
            ("expert", &["lang:cmn:3"]),
            ("consumer", &["lang:cmn", "biz:consumer:3"]),
            ("yue", &["lang:yue"]),
        ],
        vec![queue("q", Strategy::SkillsWeighted, CMN)],
    );
    for id in ["plain", "expert", "consumer", "yue"] {
        h.ready(id);
        h.advance(1);
    }
    // No preference: the highest level in the queue's skill.
    h.enqueue(1, "q");
    assert_eq!(h.rings(), [ring(1, &["expert"])]);
    // A consumer-rights caller: 1 + 3 beats expert's 3.
    let consumer = CallAttributes {
        language: Some("cmn".into()),
        business_line: Some("consumer".into()),
    };
    h.enqueue_with(2, "q", consumer);
    assert_eq!(h.rings(), [ring(2, &["consumer"])]);
    // The agent without the queue's skill is never rung, even when the only one free.
    h.enqueue(3, "q");
    assert_eq!(h.rings(), [ring(3, &["plain"])]);
    h.enqueue(4, "q");
    assert_eq!(h.rings(), []);
    assert_eq!(h.state("yue"), AgentState::Ready);
}

#[test]
fn only_logged_in_and_registered_agents_are_rung() {
    let mut h = H::new(
        &[("a", CMN), ("b", CMN)],
        vec![queue("q", Strategy::LongestIdle, CMN)],
    );
    let now = h.now;
    // a: registered but logged out; b: logged in (ready) but not registered.
    h.acd.set_registered(now, "a", true).expect("known");
    h.acd
        .set_state(now, "b", StateRequest::Ready)
        .expect("known");
    h.enqueue(1, "q");
    h.advance(60);
    assert_eq!(h.rings(), []);
    assert_eq!(h.acd.position(call(1)), Some(("q", 1)));
    // b's phone registers: the waiting call rings at once.
    let now = h.now;
    h.acd.set_registered(now, "b", true).expect("known");
    assert_eq!(h.rings(), [ring(1, &["b"])]);
}

#[test]
fn ring_timeout_moves_to_the_next_agent_and_counts_a_miss() {
    let mut h = three(Strategy::LongestIdle);
    h.enqueue(1, "q");
    assert_eq!(h.rings(), [ring(1, &["a"])]);
    h.advance(20);
    let out = h.take();
    assert!(
        out.contains(&AcdOutput::CancelRing {
            call: call(1),
            agent: "a".into()
        }),
        "{out:?}"
    );
    let rings: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            AcdOutput::Ring { call, agents, .. } => Some((call.0, agents.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(rings, [ring(1, &["b"])]);
    assert_eq!(h.agent("a").missed_in_row, 1);
    assert_eq!(h.state("a"), AgentState::Ready);
    // b is busy too: then c, then a again in a new round.
    let now = h.now;
    h.acd
        .ring_failed(now, call(1), "b", RingFailure::Busy)
        .expect("ringing");
    assert_eq!(h.rings(), [ring(1, &["c"])]);
    h.advance(20);
    assert_eq!(h.rings(), [ring(1, &["a"])]);
}

#[test]
fn a_call_back_from_a_failed_ring_keeps_its_place() {
    let mut h = H::new(&[("a", CMN)], vec![queue("q", Strategy::LongestIdle, CMN)]);
    h.ready("a");
    h.enqueue(1, "q");
    h.advance(2);
    h.enqueue(2, "q");
    assert_eq!(h.rings(), [ring(1, &["a"])]);
    let now = h.now;
    h.acd
        .ring_failed(now, call(1), "a", RingFailure::Rejected)
        .expect("ringing");
    // Call 1 is still first in line and is offered again before call 2.
    assert_eq!(h.acd.position(call(1)), Some(("q", 1)));
    assert_eq!(h.acd.position(call(2)), Some(("q", 2)));
    assert_eq!(h.rings(), [ring(1, &["a"])]);
}

#[test]
fn max_no_answer_sets_the_agent_not_ready() {
    let mut h = H::with_max(
        &[("a", CMN)],
        vec![queue("q", Strategy::LongestIdle, CMN)],
        2,
    );
    h.ready("a");
    h.enqueue(1, "q");
    h.advance(20);
    // The only agent: rung again in a new round.
    assert_eq!(h.state("a"), AgentState::Ringing);
    assert_eq!(h.agent("a").missed_in_row, 1);
    h.advance(20);
    let missed = AgentState::NotReady {
        reason: NotReadyReason::MissedCall,
    };
    assert_eq!(h.state("a"), missed);
    assert!(h.take().contains(&AcdOutput::AgentStateChanged {
        agent: "a".into(),
        state: missed,
        cause: StateCause::MaxNoAnswer,
    }));
    // Not rung any more; the call waits.
    h.advance(60);
    assert_eq!(h.rings(), []);
    assert_eq!(h.agent("a").today.missed, 2);
    // Back to ready: the count restarts and the call rings.
    h.ready("a");
    assert_eq!(h.agent("a").missed_in_row, 0);
    assert_eq!(h.rings(), [ring(1, &["a"])]);
}

#[test]
fn an_answer_resets_the_miss_count() {
    let mut h = H::with_max(
        &[("a", CMN)],
        vec![queue("q", Strategy::LongestIdle, CMN)],
        2,
    );
    h.ready("a");
    h.enqueue(1, "q");
    h.advance(20);
    assert_eq!(h.agent("a").missed_in_row, 1);
    h.answer(1, "a");
    assert_eq!(h.agent("a").missed_in_row, 0);
}

#[test]
fn wrap_up_holds_the_agent_then_frees_them() {
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.wrap_up = Duration::from_secs(30);
    let mut h = H::new(&[("a", CMN)], vec![q]);
    h.ready("a");
    h.enqueue(1, "q");
    h.answer(1, "a");
    h.enqueue(2, "q");
    h.advance(60);
    h.end(1);
    assert_eq!(h.state("a"), AgentState::WrapUp);
    assert_eq!(h.rings(), [ring(1, &["a"])]);
    h.advance(29);
    assert_eq!(h.rings(), [], "no call during wrap-up");
    h.advance(1);
    assert_eq!(h.rings(), [ring(2, &["a"])]);
    assert_eq!(h.agent("a").today.wrap_up_time_s, 30);
}

#[test]
fn requests_during_a_call_wait_for_its_end_and_ready_ends_wrap_up() {
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.wrap_up = Duration::from_secs(30);
    let mut h = H::new(&[("a", CMN)], vec![q]);
    h.ready("a");
    h.enqueue(1, "q");
    h.answer(1, "a");
    let now = h.now;
    h.acd
        .set_state(
            now,
            "a",
            StateRequest::NotReady {
                reason: NotReadyReason::Meal,
            },
        )
        .expect("known");
    assert_eq!(h.state("a"), AgentState::OnCall);
    h.end(1);
    assert_eq!(h.state("a"), AgentState::WrapUp);
    h.advance(30);
    assert_eq!(
        h.state("a"),
        AgentState::NotReady {
            reason: NotReadyReason::Meal
        }
    );
    // Ready during wrap-up ends it at once.
    h.ready("a");
    h.enqueue(2, "q");
    h.answer(2, "a");
    h.end(2);
    h.advance(5);
    h.ready("a");
    assert_eq!(h.state("a"), AgentState::Ready);
}

#[test]
fn going_not_ready_or_unregistering_while_ringing_cancels_without_a_miss() {
    let mut h = H::new(
        &[("a", CMN), ("b", CMN)],
        vec![queue("q", Strategy::LongestIdle, CMN)],
    );
    h.ready("a");
    h.advance(1);
    h.ready("b");
    h.enqueue(1, "q");
    assert_eq!(h.rings(), [ring(1, &["a"])]);
    let now = h.now;
    h.acd.set_registered(now, "a", false).expect("known");
    let out = h.take();
    assert!(out.contains(&AcdOutput::CancelRing {
        call: call(1),
        agent: "a".into()
    }));
    assert!(out
        .iter()
        .any(|o| matches!(o, AcdOutput::Ring { agents, .. } if agents == &["b"])));
    assert_eq!(h.agent("a").missed_in_row, 0);
    let now = h.now;
    h.acd
        .set_state(
            now,
            "b",
            StateRequest::NotReady {
                reason: NotReadyReason::Training,
            },
        )
        .expect("known");
    assert!(h.take().contains(&AcdOutput::CancelRing {
        call: call(1),
        agent: "b".into()
    }));
    assert_eq!(h.agent("b").missed_in_row, 0);
    assert_eq!(h.acd.position(call(1)), Some(("q", 1)));
}

#[test]
fn an_agent_in_several_queues_takes_the_oldest_caller() {
    let mut h = H::new(
        &[("a", &["lang:cmn", "lang:yue"])],
        vec![
            queue("cmn", Strategy::LongestIdle, &["lang:cmn"]),
            queue("yue", Strategy::LongestIdle, &["lang:yue"]),
        ],
    );
    h.ready("a");
    h.enqueue(1, "cmn");
    h.answer(1, "a");
    h.enqueue(2, "yue");
    h.advance(1);
    h.enqueue(3, "cmn");
    h.end(1);
    assert_eq!(h.rings(), [ring(1, &["a"]), ring(2, &["a"])]);
}
