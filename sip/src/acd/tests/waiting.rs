//! Waiting callers: overflow, maximum wait, callbacks, announcements,
//! schedules, statistics and day rollover.

use std::time::Duration;

use time::macros::datetime;

use super::*;

const CMN: &[&str] = &["lang:cmn"];
const YUE: &[&str] = &["lang:yue"];

fn outputs_of<T>(out: &[AcdOutput], f: impl Fn(&AcdOutput) -> Option<T>) -> Vec<T> {
    out.iter().filter_map(f).collect()
}

fn callbacks(out: &[AcdOutput]) -> Vec<(u64, CallbackReason)> {
    outputs_of(out, |o| match o {
        AcdOutput::OfferCallback { call, reason, .. } => Some((call.0, *reason)),
        _ => None,
    })
}

fn overflows(out: &[AcdOutput]) -> Vec<(u64, String, String)> {
    outputs_of(out, |o| match o {
        AcdOutput::Overflowed { call, from, to } => Some((call.0, from.clone(), to.clone())),
        _ => None,
    })
}

fn announcements(out: &[AcdOutput]) -> Vec<(u64, u32, u64)> {
    outputs_of(out, |o| match o {
        AcdOutput::Announce {
            call,
            position,
            estimated_wait_s,
        } => Some((call.0, *position, *estimated_wait_s)),
        _ => None,
    })
}

/// A general queue with one agent `g` busy on call 100, and a Cantonese
/// queue overflowing to it after 30 s, whose agent `y` is on a break.
fn overflow_setup() -> H {
    let mut yue = queue("yue", Strategy::LongestIdle, YUE);
    yue.overflow = Some(Overflow {
        queue: "general".into(),
        after: Duration::from_secs(30),
    });
    let mut h = H::new(
        &[("g", CMN), ("y", YUE)],
        vec![queue("general", Strategy::LongestIdle, CMN), yue],
    );
    h.ready("g");
    h.enqueue(100, "general");
    h.answer(100, "g");
    let now = h.now;
    h.acd
        .set_state(
            now,
            "y",
            StateRequest::NotReady {
                reason: NotReadyReason::Break,
            },
        )
        .expect("known");
    h.acd.set_registered(now, "y", true).expect("known");
    h.take();
    h
}

#[test]
fn overflow_moves_the_call_and_it_keeps_its_place_by_arrival() {
    let mut h = overflow_setup();
    h.enqueue(1, "yue");
    h.advance(10);
    h.enqueue(2, "general");
    h.advance(19);
    assert!(overflows(&h.take()).is_empty());
    h.advance(1);
    assert_eq!(overflows(&h.take()), [(1, "yue".into(), "general".into())]);
    // Call 1 arrived first: it is ahead of call 2, which was there before it.
    assert_eq!(h.acd.position(call(1)), Some(("general", 1)));
    assert_eq!(h.acd.position(call(2)), Some(("general", 2)));
    h.end(100);
    assert_eq!(h.rings(), [ring(1, &["g"])]);
    assert_eq!(h.queue("yue").today.overflowed, 1);
    assert_eq!(h.queue("general").today.offered, 3);
}

#[test]
fn overflow_waits_for_a_ring_in_progress() {
    let mut h = overflow_setup();
    h.ready("y");
    h.enqueue(1, "yue");
    assert_eq!(h.rings(), [ring(1, &["y"])]);
    h.advance(20);
    // Timed out at 20 s, rang y again; at 30 s it is still ringing.
    h.advance(10);
    assert!(overflows(&h.take()).is_empty());
    h.advance(10);
    let out = h.take();
    assert_eq!(overflows(&out), [(1, "yue".into(), "general".into())]);
}

#[test]
fn maximum_wait_offers_a_callback_and_the_caller_leaves() {
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.max_wait = Some(Duration::from_secs(120));
    let mut h = H::new(&[("a", CMN)], vec![q]);
    h.ready("a");
    h.enqueue(100, "q");
    h.answer(100, "a");
    h.enqueue(1, "q");
    h.advance(119);
    assert!(callbacks(&h.take()).is_empty());
    h.advance(1);
    assert_eq!(callbacks(&h.take()), [(1, CallbackReason::MaxWait)]);
    assert_eq!(h.acd.position(call(1)), None);
    assert_eq!(h.queue("q").today.callbacks_offered, 1);
    assert_eq!(h.queue("q").waiting, 0);
    // The agent frees up: nobody left to ring.
    h.end(100);
    assert_eq!(h.rings(), []);
}

#[test]
fn no_agent_logged_in_offers_a_callback_at_once() {
    let mut h = H::new(&[("a", CMN)], vec![queue("q", Strategy::LongestIdle, CMN)]);
    // Registered but not logged in does not count.
    let now = h.now;
    h.acd.set_registered(now, "a", true).expect("known");
    h.enqueue(1, "q");
    assert_eq!(callbacks(&h.take()), [(1, CallbackReason::NoAgents)]);
    // Logged in on a break counts: the caller waits.
    let now = h.now;
    h.acd
        .set_state(
            now,
            "a",
            StateRequest::NotReady {
                reason: NotReadyReason::Break,
            },
        )
        .expect("known");
    h.enqueue(2, "q");
    assert!(callbacks(&h.take()).is_empty());
    // The last agent logs out: the waiting caller is offered a callback.
    let now = h.now;
    h.acd
        .set_state(now, "a", StateRequest::LoggedOut)
        .expect("known");
    assert_eq!(callbacks(&h.take()), [(2, CallbackReason::NoAgents)]);
}

#[test]
fn a_queue_with_nobody_sends_calls_to_its_overflow_queue_at_once() {
    let mut h = overflow_setup();
    let now = h.now;
    h.acd
        .set_state(now, "y", StateRequest::LoggedOut)
        .expect("known");
    h.take();
    h.enqueue(1, "yue");
    assert_eq!(overflows(&h.take()), [(1, "yue".into(), "general".into())]);
}

#[test]
fn announcements_give_position_and_estimated_wait() {
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.announce_interval = Some(Duration::from_secs(30));
    let mut h = H::new(&[("a", CMN)], vec![q]);
    h.ready("a");
    h.enqueue(100, "q");
    // Rung at once: no announcement.
    assert!(announcements(&h.take()).is_empty());
    h.answer(100, "a");
    h.enqueue(1, "q");
    h.advance(10);
    h.enqueue(2, "q");
    // First announcements on arrival; 180 s default handle time, 1 agent.
    assert_eq!(announcements(&h.take()), [(1, 1, 180), (2, 2, 360)]);
    h.advance(20);
    assert_eq!(announcements(&h.take()), [(1, 1, 180)]);
    let now = h.now;
    h.acd.abandon(now, call(1)).expect("waiting");
    h.advance(10);
    assert_eq!(announcements(&h.take()), [(2, 1, 180)]);
    // Call 100 was handled in 40 s (no wrap-up): the estimate follows it.
    h.end(100);
    h.take();
    h.answer(2, "a");
    h.advance(10);
    h.enqueue(3, "q");
    h.enqueue(4, "q");
    assert_eq!(announcements(&h.take()), [(3, 1, 40), (4, 2, 80)]);
}

fn night_setup() -> H {
    let mut night = queue("night", Strategy::LongestIdle, &["night"]);
    night.shifts = vec![Shift {
        days: vec![time::Weekday::Friday],
        start_min: 22 * 60,
        end_min: 6 * 60,
        agents: Vec::new(),
    }];
    night.overflow = Some(Overflow {
        queue: "general".into(),
        after: Duration::from_secs(10 * 3600),
    });
    let mut h = H::new(
        &[("n", &["night"]), ("g", CMN)],
        vec![queue("general", Strategy::LongestIdle, CMN), night],
    );
    let now = h.now;
    // 2026-11-27 is a Friday.
    h.acd.set_local_time(now, datetime!(2026-11-27 21:59:00));
    h.take();
    h
}

#[test]
fn a_shift_crossing_midnight_opens_and_closes_the_queue() {
    let mut h = night_setup();
    h.ready("g");
    h.ready("n");
    h.enqueue(100, "general");
    h.answer(100, "g");
    assert_eq!(h.agent("n").queues, Vec::<String>::new());
    assert!(!h.queue("night").open);
    // Closed: straight to the overflow queue.
    h.enqueue(1, "night");
    assert_eq!(
        overflows(&h.take()),
        [(1, "night".into(), "general".into())]
    );
    h.advance(60);
    assert!(h.queue("night").open);
    h.enqueue(2, "night");
    assert_eq!(h.rings(), [ring(2, &["n"])]);
    h.answer(2, "n");
    h.enqueue(3, "night");
    // Saturday 05:59 still open, 06:00 closed: the waiting call moves on.
    h.advance(7 * 3600 + 59 * 60);
    assert!(h.queue("night").open);
    assert!(overflows(&h.take()).is_empty());
    h.advance(60);
    assert!(!h.queue("night").open);
    assert_eq!(
        overflows(&h.take()),
        [(3, "night".into(), "general".into())]
    );
}

#[test]
fn a_closed_queue_without_overflow_offers_a_callback() {
    let mut q = queue("day", Strategy::LongestIdle, CMN);
    q.shifts = vec![Shift {
        days: vec![time::Weekday::Monday],
        start_min: 8 * 60,
        end_min: 18 * 60,
        agents: Vec::new(),
    }];
    let mut h = H::new(&[("a", CMN)], vec![q]);
    h.ready("a");
    let now = h.now;
    h.acd.set_local_time(now, datetime!(2026-11-23 18:30:00));
    h.enqueue(1, "day");
    assert_eq!(callbacks(&h.take()), [(1, CallbackReason::Closed)]);
}

#[test]
fn leaders_take_calls_only_during_their_shift() {
    let mut q = queue("general", Strategy::LongestIdle, CMN);
    q.shifts = vec![
        Shift {
            days: (0..7)
                .scan(time::Weekday::Monday, |d, _| {
                    let now = *d;
                    *d = d.next();
                    Some(now)
                })
                .collect(),
            start_min: 0,
            end_min: 1440,
            agents: vec![],
        },
        Shift {
            days: vec![time::Weekday::Friday],
            start_min: 20 * 60,
            end_min: 2 * 60,
            agents: vec!["leader".into()],
        },
    ];
    let mut h = H::new(&[("leader", CMN), ("a", CMN)], vec![q]);
    let now = h.now;
    h.acd.set_local_time(now, datetime!(2026-11-27 19:59:00));
    h.ready("leader");
    h.ready("a");
    h.advance(1);
    assert_eq!(h.agent("leader").queues, Vec::<String>::new());
    h.enqueue(1, "general");
    assert_eq!(h.rings(), [ring(1, &["a"])]);
    h.answer(1, "a");
    h.advance(60);
    assert_eq!(h.agent("leader").queues, ["general"]);
    h.enqueue(2, "general");
    assert_eq!(h.rings(), [ring(2, &["leader"])]);
    h.answer(2, "leader");
    h.end(2);
    // Saturday 02:00: off duty again.
    h.advance(6 * 3600);
    assert_eq!(h.agent("leader").queues, Vec::<String>::new());
    h.enqueue(3, "general");
    assert_eq!(h.rings(), []);
}

#[test]
fn statistics_count_service_level_abandons_and_handle_time() {
    let mut q = queue("q", Strategy::LongestIdle, CMN);
    q.wrap_up = Duration::from_secs(10);
    let mut h = H::new(&[("a", CMN)], vec![q]);
    h.ready("a");
    h.enqueue(1, "q");
    h.advance(5);
    h.answer(1, "a"); // waited 5 s: within 15 s
    h.enqueue(2, "q");
    h.enqueue(3, "q");
    h.advance(60);
    h.end(1); // talk 60 s, wrap-up 10 s
    h.advance(10);
    h.answer(2, "a"); // waited 70 s
    h.advance(30);
    let now = h.now;
    h.acd.abandon(now, call(3)).expect("waiting"); // waited 100 s
    let day = h.queue("q").today;
    assert_eq!(
        (
            day.offered,
            day.answered,
            day.answered_within_service_level,
            day.abandoned
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(day.service_level, Some(0.333));
    assert_eq!(day.average_wait_s, Some(37.5));
    assert_eq!(day.average_abandon_wait_s, Some(100.0));
    assert_eq!(day.average_handle_time_s, Some(70.0));
    let agent = h.agent("a");
    assert_eq!((agent.today.calls, agent.today.talk_time_s), (2, 60));
    assert_eq!(agent.today.time_in_state.on_call_s, 60 + 30);
    assert_eq!(agent.today.time_in_state.wrap_up_s, 10);
    assert_eq!(agent.today.time_in_state.ringing_s, 5);
    assert_eq!(agent.today.time_in_state.ready_s, 0);
    assert_eq!(h.queue("q").waiting, 0);
}

#[test]
fn day_rollover_publishes_and_resets_the_counters() {
    let mut h = H::new(&[("a", CMN)], vec![queue("q", Strategy::LongestIdle, CMN)]);
    let now = h.now;
    h.acd.set_local_time(now, datetime!(2026-11-24 23:58:00));
    h.ready("a");
    h.enqueue(1, "q");
    h.answer(1, "a");
    h.advance(60);
    h.end(1);
    h.take();
    // Midnight passes with the agent ready.
    h.advance(90);
    let reports: Vec<DayReport> = outputs_of(&h.take(), |o| match o {
        AcdOutput::DayClosed(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.date, "2026-11-24");
    assert_eq!(r.queues["q"].answered, 1);
    assert_eq!(r.agents["a"].calls, 1);
    // 60 s on the call, then ready until midnight (60 s).
    assert_eq!(r.agents["a"].time_in_state.ready_s, 60);
    assert_eq!(h.acd.previous_day(), Some(r));
    let today = h.agent("a").today;
    assert_eq!((today.calls, today.time_in_state.ready_s), (0, 30));
    assert_eq!(h.queue("q").today.answered, 0);
    // A new date given directly (clock adjusted) also closes the day.
    let now = h.now;
    h.acd.set_local_time(now, datetime!(2026-11-26 08:00:00));
    assert!(h
        .take()
        .iter()
        .any(|o| matches!(o, AcdOutput::DayClosed(r) if r.date == "2026-11-25")));
}

#[test]
fn snapshots_serialise_for_the_api() {
    let mut h = H::new(&[("a", CMN)], vec![queue("q", Strategy::RingAll, CMN)]);
    h.ready("a");
    let now = h.now;
    h.acd
        .set_state(
            now,
            "a",
            StateRequest::NotReady {
                reason: NotReadyReason::Break,
            },
        )
        .expect("known");
    h.enqueue(1, "q");
    let agents = serde_json::to_value(h.acd.agents_snapshot(h.now)).expect("serialises");
    assert_eq!(agents[0]["state"], "not_ready");
    assert_eq!(agents[0]["reason"], "break");
    assert_eq!(agents[0]["registered"], true);
    let queues = serde_json::to_value(h.acd.queues_snapshot(h.now)).expect("serialises");
    assert_eq!(queues[0]["strategy"], "ring_all");
    assert_eq!(queues[0]["waiting"], 1);
    assert_eq!(queues[0]["today"]["offered"], 1);
    let request: StateRequest =
        serde_json::from_str(r#"{"state": "not_ready", "reason": "meal"}"#).expect("parses");
    assert_eq!(
        request,
        StateRequest::NotReady {
            reason: NotReadyReason::Meal
        }
    );
    let out = serde_json::to_value(AcdOutput::Announce {
        call: call(255),
        position: 2,
        estimated_wait_s: 90,
    })
    .expect("serialises");
    assert_eq!(out["type"], "announce");
    assert_eq!(out["call"], "00000000000000ff");
}
