//! Inputs in random order (known and unknown ids, late answers, clock
//! jumps) never panic and never break the engine's invariants, checked
//! after every input.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::macros::datetime;

use super::*;

impl Acd {
    /// The engine's internal consistency, described in `dispatch.rs`.
    fn check(&self) -> Result<(), String> {
        for (id, call) in &self.calls {
            let q = &self.queues[call.queue];
            if !q.waiting.contains(&(call.seq, *id)) {
                return Err(format!("{id} not in its queue's line"));
            }
            if q.unassigned.contains(&(call.seq, *id)) != call.ringing.is_empty() {
                return Err(format!("{id}: unassigned iff not ringing is broken"));
            }
            for &a in &call.ringing {
                let agent = &self.agents[a as usize];
                if agent.state != AgentState::Ringing || agent.call != Some(*id) {
                    return Err(format!("{id} rings {} who is {:?}", agent.id, agent.state));
                }
            }
        }
        for (id, c) in &self.connected {
            let agent = &self.agents[c.agent as usize];
            if agent.state != AgentState::OnCall || agent.call != Some(*id) {
                return Err(format!(
                    "{id} connected to {} in {:?}",
                    agent.id, agent.state
                ));
            }
        }
        let mut listed = 0;
        for (ai, agent) in self.agents.iter().enumerate() {
            if agent.listed != agent.wants_calls() {
                return Err(format!(
                    "{} listed={} wants={}",
                    agent.id,
                    agent.listed,
                    agent.wants_calls()
                ));
            }
            if agent.callback.is_some() && agent.call.is_some() {
                return Err(format!("{} on a callback and a call", agent.id));
            }
            if agent.state == AgentState::Ringing
                && agent.callback.is_none()
                && !agent
                    .call
                    .and_then(|c| self.calls.get(&c))
                    .is_some_and(|c| c.ringing.contains(&(ai as u32)))
            {
                return Err(format!("{} ringing for nothing", agent.id));
            }
            for (q, key) in &agent.in_sets {
                if !self.queues[*q].avail.contains(key) {
                    return Err(format!(
                        "{} key missing in {}",
                        agent.id, self.queues[*q].s.name
                    ));
                }
            }
            listed += agent.in_sets.len();
        }
        let in_avail: usize = self.queues.iter().map(|q| q.avail.len()).sum();
        if listed != in_avail {
            return Err(format!("{listed} keys listed, {in_avail} in the sets"));
        }
        for q in &self.queues {
            let logged_in = q
                .members
                .iter()
                .filter(|&&a| q.serving[a as usize] && self.agents[a as usize].logged_in())
                .count() as u32;
            if logged_in != q.logged_in {
                return Err(format!(
                    "{}: logged_in {} != {logged_in}",
                    q.s.name, q.logged_in
                ));
            }
            if q.s.callbacks_first && q.callbacks_waiting > 0 && !q.avail.is_empty() {
                return Err(format!(
                    "{}: a callback waits while an agent is free",
                    q.s.name
                ));
            }
            if !q.unassigned.is_empty() && !q.avail.is_empty() {
                return Err(format!("{}: a call waits while an agent is free", q.s.name));
            }
            if !q.accepting() && !q.unassigned.is_empty() {
                return Err(format!(
                    "{}: calls wait in a queue that accepts none",
                    q.s.name
                ));
            }
        }
        Ok(())
    }
}

const AGENTS: [&str; 5] = ["a", "b", "c", "d", "e"];
const QUEUES: [&str; 3] = ["cmn", "yue", "night"];

fn engine(strategy: Strategy) -> H {
    let mut cmn = queue("cmn", strategy, &["lang:cmn"]);
    cmn.max_wait = Some(Duration::from_secs(300));
    cmn.announce_interval = Some(Duration::from_secs(30));
    cmn.wrap_up = Duration::from_secs(5);
    cmn.callbacks_first = true;
    let mut yue = queue("yue", Strategy::RingAll, &["lang:yue"]);
    yue.overflow = Some(Overflow {
        queue: "cmn".into(),
        after: Duration::from_secs(60),
    });
    let mut night = queue("night", Strategy::SkillsWeighted, &["lang:cmn"]);
    night.overflow = Some(Overflow {
        queue: "yue".into(),
        after: Duration::from_secs(90),
    });
    night.shifts = vec![Shift {
        days: vec![time::Weekday::Friday, time::Weekday::Saturday],
        start_min: 22 * 60,
        end_min: 6 * 60,
        agents: vec!["e".into()],
    }];
    H::with_max(
        &[
            ("a", &["lang:cmn"]),
            ("b", &["lang:cmn:2", "lang:yue"]),
            ("c", &["lang:yue", "biz:x"]),
            ("d", &["lang:cmn", "lang:yue:3"]),
            ("e", &["lang:cmn:3"]),
        ],
        vec![cmn, yue, night],
        2,
    )
}

/// Rings seen lately: answers and failures mostly target them (possibly
/// stale), the rest of the time any id.
type Recent = Vec<(CallId, &'static str)>;

fn step(h: &mut H, rng: &mut StdRng, next_call: &mut u64, recent: &mut Recent) {
    let now = h.now;
    let (mut call, mut agent) = (
        CallId(rng.gen_range(0..*next_call + 2)),
        AGENTS[rng.gen_range(0..AGENTS.len())],
    );
    if !recent.is_empty() && rng.gen_bool(0.8) {
        (call, agent) = recent[rng.gen_range(0..recent.len())];
    }
    // Errors are allowed (and expected for stale inputs); panics are not.
    let _ = match rng.gen_range(0..13) {
        0 => {
            let req = match rng.gen_range(0..4) {
                0 | 1 => StateRequest::Ready,
                2 => StateRequest::NotReady {
                    reason: NotReadyReason::Break,
                },
                _ => StateRequest::LoggedOut,
            };
            h.acd.set_state(now, agent, req)
        }
        1 => h.acd.set_registered(now, agent, rng.gen_bool(0.8)),
        2 | 3 => {
            *next_call += 1;
            let attrs = CallAttributes {
                language: rng.gen_bool(0.5).then(|| "yue".to_owned()),
                business_line: rng.gen_bool(0.3).then(|| "x".to_owned()),
            };
            let q = QUEUES[rng.gen_range(0..QUEUES.len())];
            h.acd.enqueue(now, CallId(*next_call), q, &attrs)
        }
        4 => h.acd.abandon(now, call),
        5 | 6 => h.acd.ring_answered(now, call, agent),
        7 => h.acd.ring_failed(now, call, agent, RingFailure::Busy),
        8 => h.acd.call_ended(now, call),
        9 => {
            h.advance_ms(rng.gen_range(0..40_000));
            Ok(())
        }
        11 => h.acd.set_callbacks_waiting(now, "cmn", rng.gen_range(0..3)),
        12 => {
            let agent = AGENTS[rng.gen_range(0..AGENTS.len())];
            match rng.gen_range(0..4) {
                0 => h.acd.callback_answered(now, agent),
                1 => h.acd.callback_ended(now, agent, CallbackEnd::Talked),
                2 => h.acd.callback_ended(now, agent, CallbackEnd::NotConnected),
                _ => h.acd.callback_ended(now, agent, CallbackEnd::AgentMissed),
            }
        }
        _ => {
            if rng.gen_bool(0.1) {
                // A clock adjustment, possibly across midnight or backwards.
                let local =
                    datetime!(2026-11-27 21:00) + time::Duration::minutes(rng.gen_range(0..600));
                h.acd.set_local_time(now, local);
            } else {
                h.advance(rng.gen_range(0..5));
            }
            Ok(())
        }
    };
    h.drain();
    for o in &h.out {
        if let AcdOutput::Ring { call, agents, .. } = o {
            for a in agents {
                if let Some(&known) = AGENTS.iter().find(|&&k| k == a) {
                    recent.push((*call, known));
                }
            }
        }
    }
    if recent.len() > 20 {
        recent.drain(..recent.len() - 20);
    }
}

fn kind(o: &AcdOutput) -> &'static str {
    match o {
        AcdOutput::Ring { .. } => "ring",
        AcdOutput::CancelRing { .. } => "cancel",
        AcdOutput::Announce { .. } => "announce",
        AcdOutput::Overflowed { .. } => "overflow",
        AcdOutput::OfferCallback { .. } => "callback",
        AcdOutput::AgentStateChanged { .. } => "agent",
        AcdOutput::QueueChanged { .. } => "queue",
        AcdOutput::DayClosed(_) => "day",
        AcdOutput::CallbackReserved { .. } => "reserved",
    }
}

#[test]
fn random_inputs_keep_the_invariants() {
    let mut seen = std::collections::BTreeMap::<&str, u32>::new();
    let mut answered = 0;
    for (seed, strategy) in (0..40u64).zip(Strategy::ALL.into_iter().cycle()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut h = engine(strategy);
        let now = h.now;
        h.acd.set_local_time(now, datetime!(2026-11-27 21:50));
        let (mut next_call, mut recent) = (0, Recent::new());
        for n in 0..1500 {
            step(&mut h, &mut rng, &mut next_call, &mut recent);
            if let Err(e) = h.acd.check() {
                panic!("seed {seed} ({strategy}), step {n}: {e}");
            }
            // Snapshots are always computable.
            let _ = h.acd.queues_snapshot(h.now);
            for o in h.out.drain(..) {
                if matches!(
                    o,
                    AcdOutput::AgentStateChanged {
                        cause: StateCause::Answered,
                        ..
                    }
                ) {
                    answered += 1;
                }
                *seen.entry(kind(&o)).or_default() += 1;
            }
        }
    }
    // The random walk reaches every kind of decision.
    for k in [
        "ring", "cancel", "announce", "overflow", "callback", "agent", "queue", "day", "reserved",
    ] {
        assert!(
            seen.get(k).is_some_and(|&n| n > 0),
            "no {k} output: {seen:?}"
        );
    }
    assert!(answered > 100, "{answered} answers");
}
