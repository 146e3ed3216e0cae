//! Who receives what on `/api/events` (protocol v1): the per-role filter of
//! the live events and of the snapshot, as pure functions of the viewer and
//! the event, so the rules are unit-tested without a socket.
//!
//! - supervisors and administrators receive everything;
//! - an agent receives its own state changes, every queue change, the events
//!   of calls that rang it or that it answered (from `call_ringing` /
//!   `call_answered` naming it until that call's `call_ended`), its survey
//!   results and the orders it created or acted on;
//! - a unit user receives the order changes of orders its unit leads or
//!   co-handles (or just stopped handling: `former_units`) and the
//!   supervision records about its unit, nothing about calls, agents or
//!   queues.
//!
//! Unknown event types reach supervisors and administrators only: a new kind
//! of event is private until a rule here says otherwise.

use std::collections::HashSet;

use serde_json::Value;

use super::auth::{Principal, Role};

/// How a call of the snapshot is shown to a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallVisibility {
    /// Not listed.
    Hidden,
    /// Listed as `GET /api/calls` shows it.
    Shown,
    /// Listed with the screen pop (`info`): the call rings the agent or is
    /// on its line.
    WithScreenPop,
}

/// Whether `viewer` sees the seat `agent` in the snapshot.
pub fn sees_agent(viewer: &Principal, agent: &str) -> bool {
    match viewer.role {
        Role::Supervisor | Role::Admin => true,
        Role::Agent => viewer.user == agent,
        Role::Unit => false,
    }
}

/// Whether `viewer` sees the queues in the snapshot.
pub fn sees_queues(viewer: &Principal) -> bool {
    viewer.role != Role::Unit
}

/// How `viewer` sees a live call answered by `agent` and ringing `ringing`.
pub fn call_visibility(
    viewer: &Principal,
    agent: Option<&str>,
    ringing: &[String],
) -> CallVisibility {
    match viewer.role {
        Role::Supervisor | Role::Admin => CallVisibility::Shown,
        Role::Agent if agent == Some(viewer.user.as_str()) || ringing.contains(&viewer.user) => {
            CallVisibility::WithScreenPop
        }
        Role::Agent | Role::Unit => CallVisibility::Hidden,
    }
}

/// The live-event filter of one connection: the viewer, and (for an agent)
/// the calls it follows.
#[derive(Debug)]
pub struct EventFilter {
    viewer: Principal,
    /// Calls that rang the agent or that it answered, until they end.
    calls: HashSet<String>,
}

impl EventFilter {
    /// A filter for `viewer`, following no call yet.
    pub fn new(viewer: Principal) -> Self {
        Self {
            viewer,
            calls: HashSet::new(),
        }
    }

    /// Follows `call` (one of the agent's calls in the snapshot): its later
    /// events reach the agent.
    pub fn follow(&mut self, call: &str) {
        self.calls.insert(call.to_owned());
    }

    /// How many calls the filter follows (they are forgotten at `call_ended`).
    pub fn followed(&self) -> usize {
        self.calls.len()
    }

    /// Whether `event` goes to this connection. Updates the calls followed.
    pub fn admit(&mut self, event: &Value) -> bool {
        match self.viewer.role {
            Role::Supervisor | Role::Admin => true,
            Role::Agent => self.admit_for_agent(event),
            Role::Unit => self.admit_for_unit(event),
        }
    }

    fn admit_for_agent(&mut self, event: &Value) -> bool {
        let me = self.viewer.user.as_str();
        let names_me = |key: &str| str_field(event, key) == Some(me);
        let call = str_field(event, "call");
        match str_field(event, "type") {
            Some("agent_state_changed" | "survey_result") => names_me("agent"),
            Some("queue_changed") => true,
            Some("call_ringing" | "call_answered") => {
                if !names_me("agent") {
                    return false;
                }
                if let Some(c) = call {
                    self.calls.insert(c.to_owned());
                }
                true
            }
            Some("agent_left_call" | "call_transferred") => {
                call.is_some_and(|c| self.calls.contains(c)) || names_me("agent")
            }
            Some("call_ended") => {
                let followed = call.is_some_and(|c| self.calls.remove(c));
                followed || names_me("agent")
            }
            Some("order_changed") => names_me("by") || names_me("created_by"),
            _ => false,
        }
    }

    fn admit_for_unit(&self, event: &Value) -> bool {
        let Some(unit) = self.viewer.unit.as_deref() else {
            return false;
        };
        match str_field(event, "type") {
            Some("order_changed") => {
                let listed = |key: &str| {
                    event
                        .get(key)
                        .and_then(Value::as_array)
                        .is_some_and(|units| units.iter().any(|u| u.as_str() == Some(unit)))
                };
                str_field(event, "lead_unit") == Some(unit)
                    || listed("co_units")
                    || listed("former_units")
            }
            Some("supervision_raised") => str_field(event, "unit") == Some(unit),
            _ => false,
        }
    }
}

fn str_field<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn agent(id: &str) -> Principal {
        Principal {
            user: id.into(),
            role: Role::Agent,
            unit: None,
        }
    }

    fn unit_user(unit: &str) -> Principal {
        Principal {
            user: format!("u-{unit}"),
            role: Role::Unit,
            unit: Some(unit.into()),
        }
    }

    fn supervisor() -> Principal {
        Principal {
            user: "9001".into(),
            role: Role::Supervisor,
            unit: None,
        }
    }

    fn ev(v: Value) -> Value {
        let mut v = v;
        v["v"] = 1.into();
        v
    }

    /// One call's life on the bus: offered, rung at `agent`, answered, ended.
    fn call_life(call: &str, agent: &str) -> Vec<Value> {
        vec![
            ev(
                json!({"type": "call_offered", "call": call, "caller_number": "138", "did": "12345"}),
            ),
            ev(json!({"type": "call_ringing", "call": call, "agent": agent})),
            ev(json!({"type": "call_answered", "call": call, "agent": agent})),
            ev(json!({"type": "agent_left_call", "call": call, "agent": agent})),
            ev(
                json!({"type": "call_ended", "call": call, "hangup_by": "caller", "reason": "normal"}),
            ),
        ]
    }

    fn admitted(f: &mut EventFilter, events: &[Value]) -> Vec<String> {
        events
            .iter()
            .filter(|e| f.admit(e))
            .map(|e| format!("{}:{}", e["type"].as_str().unwrap_or("?"), e["call"]))
            .collect()
    }

    #[test]
    fn an_agent_follows_its_own_calls_from_ringing_to_the_end_and_no_one_elses() {
        let mut a = EventFilter::new(agent("1001"));
        let mut events = call_life("c1", "1001");
        events.extend(call_life("c2", "1002"));
        assert_eq!(
            admitted(&mut a, &events),
            [
                "call_ringing:\"c1\"",
                "call_answered:\"c1\"",
                "agent_left_call:\"c1\"",
                "call_ended:\"c1\"",
            ]
        );
        assert_eq!(a.followed(), 0, "an ended call is forgotten");
    }

    #[test]
    fn a_call_that_rang_the_agent_and_went_elsewhere_still_reports_its_end() {
        let mut a = EventFilter::new(agent("1001"));
        let events = [
            ev(json!({"type": "call_ringing", "call": "c1", "agent": "1001"})),
            ev(json!({"type": "call_ringing", "call": "c1", "agent": "1002"})),
            ev(json!({"type": "call_answered", "call": "c1", "agent": "1002"})),
            ev(json!({"type": "call_transferred", "call": "c1", "number": "110"})),
            ev(
                json!({"type": "call_ended", "call": "c1", "hangup_by": "caller", "reason": "normal", "agent": "1002"}),
            ),
        ];
        assert_eq!(
            admitted(&mut a, &events),
            [
                "call_ringing:\"c1\"",
                "call_transferred:\"c1\"",
                "call_ended:\"c1\""
            ],
            "another agent's answer is not this agent's event"
        );
    }

    #[test]
    fn a_call_from_the_snapshot_is_followed_and_an_ended_call_naming_the_agent_passes() {
        let mut a = EventFilter::new(agent("1001"));
        a.follow("c9");
        assert!(a.admit(&ev(
            json!({"type": "call_transferred", "call": "c9", "number": "119"})
        )));
        assert!(a.admit(&ev(json!({"type": "call_ended", "call": "c9"}))));
        assert!(!a.admit(&ev(
            json!({"type": "call_transferred", "call": "c9", "number": "119"})
        )));
        // Rang before this connection and not in its snapshot: the end names it.
        assert!(a.admit(&ev(
            json!({"type": "call_ended", "call": "c7", "agent": "1001"})
        )));
        assert!(!a.admit(&ev(
            json!({"type": "call_ended", "call": "c8", "agent": "1002"})
        )));
    }

    #[test]
    fn an_agent_sees_its_own_state_and_survey_every_queue_and_its_own_orders() {
        let mut a = EventFilter::new(agent("1001"));
        let pass = [
            json!({"type": "agent_state_changed", "agent": "1001", "state": {"state": "ready"}}),
            json!({"type": "queue_changed", "queue": "general", "waiting": 3}),
            json!({"type": "survey_result", "call": "c1", "agent": "1001", "rating": 5}),
            json!({"type": "order_changed", "number": "MM1", "by": "1001", "created_by": "1001"}),
            json!({"type": "order_changed", "number": "MM2", "by": "u-housing", "created_by": "1001"}),
        ];
        let block = [
            json!({"type": "agent_state_changed", "agent": "1002", "state": {"state": "ready"}}),
            json!({"type": "survey_result", "call": "c2", "agent": "1002", "rating": 1}),
            json!({"type": "order_changed", "number": "MM3", "by": "1002", "created_by": "1002"}),
            json!({"type": "supervision_raised", "id": "k", "unit": "housing"}),
            json!({"type": "call_offered", "call": "c1"}),
            json!({"type": "overflowed", "call": "c1", "from": "a", "to": "b"}),
            json!({"type": "something_new"}),
            json!({"no_type": true}),
        ];
        for e in pass {
            assert!(a.admit(&ev(e.clone())), "{e}");
        }
        for e in block {
            assert!(!a.admit(&ev(e.clone())), "{e}");
        }
    }

    #[test]
    fn a_unit_user_sees_its_units_orders_and_supervision_only() {
        let mut housing = EventFilter::new(unit_user("housing"));
        let pass = [
            json!({"type": "order_changed", "number": "MM1", "lead_unit": "housing", "co_units": []}),
            json!({"type": "order_changed", "number": "MM2", "lead_unit": "water", "co_units": ["parks", "housing"]}),
            json!({"type": "supervision_raised", "id": "k1", "unit": "housing", "tier": "city"}),
            json!({"type": "order_changed", "number": "MM5", "lead_unit": null, "co_units": [], "former_units": ["housing"]}),
        ];
        let block = [
            json!({"type": "order_changed", "number": "MM3", "lead_unit": "water", "co_units": ["parks"]}),
            json!({"type": "order_changed", "number": "MM4", "lead_unit": null, "co_units": [], "by": "u-housing"}),
            json!({"type": "supervision_raised", "id": "k2", "unit": "water"}),
            json!({"type": "supervision_raised", "id": "k3", "unit": null}),
            json!({"type": "queue_changed", "queue": "general", "waiting": 1}),
            json!({"type": "agent_state_changed", "agent": "1001"}),
            json!({"type": "call_ringing", "call": "c1", "agent": "u-housing"}),
        ];
        for e in pass {
            assert!(housing.admit(&ev(e.clone())), "{e}");
        }
        for e in block {
            assert!(!housing.admit(&ev(e.clone())), "{e}");
        }
        let mut unitless = EventFilter::new(Principal {
            unit: None,
            ..unit_user("x")
        });
        assert!(!unitless.admit(&ev(
            json!({"type": "order_changed", "lead_unit": null, "co_units": []})
        )));
    }

    #[test]
    fn supervisors_and_administrators_receive_everything() {
        for p in [
            supervisor(),
            Principal {
                user: "root".into(),
                role: Role::Admin,
                unit: None,
            },
        ] {
            let mut f = EventFilter::new(p);
            let mut events = call_life("c1", "1001");
            events.extend(call_life("c2", "1002"));
            events.push(ev(json!({"type": "something_new"})));
            events.push(ev(json!({"type": "supervision_raised", "unit": "water"})));
            assert!(events.iter().all(|e| f.admit(e)));
        }
    }

    #[test]
    fn the_snapshot_shows_each_role_its_part() {
        let ringing = vec!["1001".to_owned(), "1003".to_owned()];
        assert_eq!(
            call_visibility(&agent("1001"), None, &ringing),
            CallVisibility::WithScreenPop
        );
        assert_eq!(
            call_visibility(&agent("1002"), Some("1002"), &[]),
            CallVisibility::WithScreenPop
        );
        assert_eq!(
            call_visibility(&agent("1002"), Some("1001"), &ringing),
            CallVisibility::Hidden
        );
        assert_eq!(
            call_visibility(&supervisor(), Some("1001"), &[]),
            CallVisibility::Shown
        );
        assert_eq!(
            call_visibility(&unit_user("housing"), Some("1001"), &ringing),
            CallVisibility::Hidden
        );
        assert!(sees_agent(&agent("1001"), "1001"));
        assert!(!sees_agent(&agent("1001"), "1002"));
        assert!(sees_agent(&supervisor(), "1002"));
        assert!(!sees_agent(&unit_user("housing"), "1001"));
        assert!(sees_queues(&agent("1001")));
        assert!(!sees_queues(&unit_user("housing")));
    }
}
