//! ACD decision cost (issue 4): 500 agents and 2,000 waiting callers.
//!
//! `cargo bench -p hotline-sip --bench acd`
//!
//! - `agent_frees_up/2000_waiting`: every agent is on a call and 2,000
//!   callers wait in four queues (one per strategy but `ring_all`). One
//!   iteration is a full cycle around one decision: an agent's call ends
//!   (no wrap-up), the engine picks the oldest caller among that agent's
//!   queues and rings them, the agent answers, and a new caller joins the
//!   general queue (so 2,000 keep waiting). Outputs are drained and
//!   `handle_timeout` runs each time, as the driver would.
//! - `call_arrives/<strategy>`: 500 agents ready in one queue; one
//!   iteration enqueues a call (the strategy picks the agent(s) and rings)
//!   and the caller abandons (the ring is cancelled). `ring_all` rings all
//!   500 agents, so it measures 500 offers and 500 cancellations.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hotline_sip::acd::{
    Acd, AcdOutput, AcdSettings, AgentSettings, CallAttributes, CallId, QueueSettings,
    StateRequest, Strategy,
};

const AGENTS: usize = 500;
const WAITING: u64 = 2_000;

fn agents() -> Vec<AgentSettings> {
    (0..AGENTS)
        .map(|i| {
            let mut skills = vec![format!("lang:cmn:{}", i % 3 + 1)];
            if i % 5 < 2 {
                skills.push(format!("lang:yue:{}", i % 2 + 1));
            }
            if i % 10 < 3 {
                skills.push("biz:consumer".into());
            } else if i % 10 < 6 {
                skills.push(format!("biz:social_security:{}", i % 4 + 1));
            }
            AgentSettings {
                id: format!("{}", 1000 + i),
                skills,
            }
        })
        .collect()
}

fn queue(name: &str, strategy: Strategy, skills: &[&str]) -> QueueSettings {
    QueueSettings {
        strategy,
        skills: skills.iter().map(|s| s.to_string()).collect(),
        wrap_up: Duration::ZERO,
        announce_interval: None,
        ..QueueSettings::new(name)
    }
}

fn drain(acd: &mut Acd) -> Option<(CallId, String)> {
    let mut rung = None;
    while let Some(o) = acd.poll_output() {
        if let AcdOutput::Ring { call, agents, .. } = o {
            rung = agents.into_iter().next().map(|a| (call, a));
        }
    }
    rung
}

fn agent_frees_up(c: &mut Criterion) {
    let queues = vec![
        queue("general", Strategy::SkillsWeighted, &["lang:cmn"]),
        queue("cantonese", Strategy::LongestIdle, &["lang:yue"]),
        queue("consumer", Strategy::RoundRobin, &["biz:consumer"]),
        queue("social", Strategy::FewestCalls, &["biz:social_security"]),
    ];
    let names: Vec<String> = queues.iter().map(|q| q.name.clone()).collect();
    let settings = AcdSettings {
        agents: agents(),
        queues,
        max_no_answer: 3,
    };
    let mut now = Instant::now();
    let mut acd = Acd::new(settings, now).expect("valid settings");
    let yue = CallAttributes {
        language: Some("yue".into()),
        business_line: None,
    };
    let plain = CallAttributes::default();
    let mut next_call = 0u64;
    // Every agent ready, then one call each: all 500 on a call.
    let mut on_call: Vec<(String, CallId)> = Vec::with_capacity(AGENTS);
    for i in 0..AGENTS {
        let id = format!("{}", 1000 + i);
        acd.set_registered(now, &id, true).expect("agent");
        acd.set_state(now, &id, StateRequest::Ready).expect("agent");
    }
    drain(&mut acd);
    while on_call.len() < AGENTS {
        let call = CallId(next_call);
        next_call += 1;
        acd.enqueue(now, call, "general", &plain).expect("enqueue");
        let (call, agent) = drain(&mut acd).expect("an agent is free");
        acd.ring_answered(now, call, &agent).expect("ringing");
        on_call.push((agent, call));
    }
    drain(&mut acd);
    for n in 0..WAITING {
        let call = CallId(next_call);
        next_call += 1;
        let q = &names[(n % 4) as usize];
        let attrs = if n % 3 == 0 { &yue } else { &plain };
        acd.enqueue(now, call, q, attrs).expect("enqueue");
    }
    drain(&mut acd);
    assert_eq!(acd.waiting() as u64, WAITING);

    let mut slot = 0usize;
    c.bench_function("acd/agent_frees_up/2000_waiting", |b| {
        b.iter(|| {
            now += Duration::from_millis(10);
            acd.handle_timeout(now);
            let (_, call) = on_call[slot];
            acd.call_ended(now, call).expect("connected");
            let (call, agent) = drain(&mut acd).expect("the freed agent takes a caller");
            acd.ring_answered(now, call, &agent).expect("ringing");
            on_call[slot] = (agent, call);
            slot = (slot + 1) % AGENTS;
            // Every agent serves "general", so the freed agent always finds
            // a caller; the other queues drain oldest first.
            let new = CallId(next_call);
            next_call += 1;
            acd.enqueue(now, new, "general", &plain).expect("enqueue");
            drain(&mut acd);
        })
    });
    assert_eq!(acd.waiting() as u64, WAITING);
}

fn call_arrives(c: &mut Criterion) {
    for strategy in Strategy::ALL {
        let settings = AcdSettings {
            agents: agents(),
            queues: vec![queue("q", strategy, &["lang:cmn"])],
            max_no_answer: 3,
        };
        let mut now = Instant::now();
        let mut acd = Acd::new(settings, now).expect("valid settings");
        for i in 0..AGENTS {
            let id = format!("{}", 1000 + i);
            acd.set_registered(now, &id, true).expect("agent");
            acd.set_state(now, &id, StateRequest::Ready).expect("agent");
            now += Duration::from_millis(1);
        }
        drain(&mut acd);
        let attrs = CallAttributes {
            language: Some("cmn".into()),
            business_line: Some("social_security".into()),
        };
        let mut next_call = 0u64;
        c.bench_function(&format!("acd/call_arrives/{strategy}"), |b| {
            b.iter(|| {
                now += Duration::from_millis(10);
                acd.handle_timeout(now);
                let call = CallId(next_call);
                next_call += 1;
                acd.enqueue(now, call, "q", &attrs).expect("enqueue");
                drain(&mut acd).expect("an agent rings");
                acd.abandon(now, call).expect("waiting");
                drain(&mut acd);
            })
        });
    }
}

criterion_group!(benches, agent_frees_up, call_arrives);
criterion_main!(benches);
