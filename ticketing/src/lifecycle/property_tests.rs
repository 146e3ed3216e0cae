//! Random command sequences by random actors at random times: `apply` never
//! panics, refuses with 400/403/409 only, and the order always satisfies the
//! invariants of the lifecycle whatever got through.

use proptest::collection::vec;
use proptest::prelude::*;
use time::Duration;

use super::tests::samples;
use super::*;
use crate::actor::Actor;
use crate::order::{Category, Decision, DissatisfactionCause, WorkOrder};
use crate::testkit::*;

use OrderState as S;

/// The samples plus the variants they lack: a dissatisfied survey, a
/// callback with a policy cause, a close without reason.
fn pool() -> Vec<(Command, Actor)> {
    let mut p = samples();
    p.push((survey(5), system()));
    p.push((
        Command::RecordCallback {
            cause: DissatisfactionCause::Policy,
            notes: "政策不允许".into(),
        },
        supervisor(),
    ));
    p.push((Command::Close { reason: None }, agent()));
    p
}

fn cast() -> [Actor; 7] {
    [
        agent(),
        supervisor(),
        admin(),
        system(),
        lead_user(),
        co_user(),
        other_user(),
    ]
}

fn check(o: &WorkOrder, entries: &[HistoryEntry]) {
    let s = o.state;
    assert_eq!(o.version as usize, entries.len(), "{s}");
    for w in entries.windows(2) {
        assert_eq!(w[1].from, Some(w[0].to));
        assert_eq!(w[1].seq, w[0].seq + 1);
        assert!(w[1].at >= w[0].at);
    }
    assert_eq!(entries.last().map(|e| e.to), Some(s));
    if s == S::Received {
        assert!(o.assignment.is_none());
        assert_eq!(o.deadlines, Default::default());
    }
    if matches!(
        s,
        S::Dispatched
            | S::Signed
            | S::InProgress
            | S::ReturnRequested
            | S::Completed
            | S::Replied
            | S::CallbackPending
    ) {
        let a = o.assignment.as_ref().expect("assigned");
        assert!(o.deadlines.complete_by.is_some() && o.deadlines.sign_by.is_some());
        if matches!(s, S::Signed | S::InProgress | S::Completed | S::Replied) {
            assert!(
                a.signed_at.is_some() && o.deadlines.respond_by.is_some(),
                "{s}"
            );
        }
        if matches!(s, S::InProgress | S::Completed | S::Replied) {
            assert!(a.responded_at.is_some(), "{s}");
        }
    }
    if matches!(s, S::Completed | S::Replied | S::CallbackPending) {
        assert!(o.result.is_some() && o.deadlines.reply_by.is_some(), "{s}");
    }
    if matches!(s, S::Replied | S::CallbackPending) {
        assert!(o.reply.is_some(), "{s}");
    }
    if s == S::ReturnRequested {
        assert_eq!(
            o.return_request.as_ref().map(|r| r.decision),
            Some(Decision::Pending)
        );
    }
    assert!(o.round == 1 || o.round == 2);
    if o.round == 2 {
        assert!(o.callback.as_ref().is_some_and(|c| c.cause.requires_redo()));
    }
    assert_eq!(o.closed_at.is_some(), s.is_finished(), "{s}");
    let approvals = entries
        .iter()
        .filter(|e| e.command == CommandKind::ApproveExtension)
        .count();
    assert!(approvals <= 1, "extended {approvals} times");
    let requests = entries
        .iter()
        .filter(|e| e.command == CommandKind::RequestExtension)
        .count();
    // A request survives an approved return (the next unit may ask again).
    let returns = entries
        .iter()
        .filter(|e| e.command == CommandKind::ApproveReturn)
        .count();
    assert!(requests <= 1 + returns, "{requests} extension requests");
}

type Steps = Vec<(usize, usize, i64)>;

fn steps() -> impl Strategy<Value = (Steps, usize)> {
    (vec((0usize..26, 0usize..10, 0i64..3000), 1..80), 0usize..6)
}

/// Run one walk, checking everything; returns the states visited. A step
/// `(c, a, minutes)` waits `minutes`, then: for `a < 7`, member `a` of the
/// cast issues pool command `c` (mostly refused: the gates are under test);
/// for `a >= 7`, the `c`-th command the current state allows is issued by
/// the actor it is meant for (so walks get far into the process).
fn walk(steps: &[(usize, usize, i64)], category: usize) -> Result<Vec<OrderState>, TestCaseError> {
    let rules = rules();
    let pool = pool();
    let mut o = open(details(Category::ALL[category]));
    let mut entries = vec![HistoryEntry::opened(&o, &agent())];
    let mut visited = vec![o.state];
    let mut now = T0;
    for &(c, a, minutes) in steps {
        now += Duration::minutes(minutes);
        let before = o.clone();
        let (command, who) = match cast().get(a) {
            Some(who) => (&pool[c].0, who.clone()),
            None => {
                let fits: Vec<&(Command, Actor)> = pool
                    .iter()
                    .filter(|(cmd, _)| transitions::allowed(o.state, cmd))
                    .collect();
                match fits.get(c % fits.len().max(1)) {
                    Some((cmd, who)) => (cmd, who.clone()),
                    None => continue, // archived: nothing is allowed
                }
            }
        };
        match apply(&o, command, &who, now, &rules) {
            Ok(t) => {
                prop_assert_eq!(t.entry.command, command.kind());
                prop_assert_eq!(t.order.version, before.version + 1);
                entries.push(t.entry);
                o = t.order;
                visited.push(o.state);
            }
            Err(e) => {
                prop_assert!([400, 403, 409].contains(&e.status()), "{e}");
                prop_assert_eq!(&o, &before);
            }
        }
        check(&o, &entries);
    }
    Ok(visited)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_keeps_the_invariants((steps, category) in steps()) {
        walk(&steps, category)?;
    }
}

/// The walks above are worth something only if they reach every state.
#[test]
fn random_walks_reach_every_state() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        let (steps, category) = steps().new_tree(&mut runner).unwrap().current();
        seen.extend(walk(&steps, category).unwrap());
    }
    let missing: Vec<_> = OrderState::ALL
        .iter()
        .filter(|s| !seen.contains(s))
        .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}
