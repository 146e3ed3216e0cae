//! Who acts on an order: users, their role and their unit.
//!
//! The measures name four kinds of people: hotline staff who take calls
//! (受理人员, *agent*), the hotline work agency that dispatches, approves and
//! supervises (市熱線工作機構, *supervisor*), the handling units' designated
//! staff (承辦單位專人, *unit*), and, for this system, administrators. Timers
//! and the call side act as *system*. Authentication is the API's job; the
//! domain only receives an [`Actor`] and checks what it may do.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifier of a handling unit (承辦單位), e.g. `"maonan-housing"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(pub String);

/// Identifier of a user (agent id, unit user login, admin login).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub String);

impl UnitId {
    /// A unit id from text.
    pub fn new(id: impl Into<String>) -> Self {
        UnitId(id.into())
    }
}

impl UserId {
    /// A user id from text.
    pub fn new(id: impl Into<String>) -> Self {
        UserId(id.into())
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Hotline agent (话务员): takes calls, completes drafts, dispatches.
    Agent,
    /// Hotline work agency staff: approves extensions and returns, runs
    /// callbacks, supervises.
    Supervisor,
    /// Designated staff of a handling unit: signs, handles, completes,
    /// replies for their unit.
    Unit,
    /// Administrator of the system.
    Admin,
    /// The server itself: the call side, the survey robot, timers.
    System,
}

impl Role {
    /// Lower-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Unit => "unit",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    /// Hotline staff: agents and supervisors.
    pub fn is_hotline(self) -> bool {
        matches!(self, Role::Agent | Role::Supervisor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated user issuing a command or viewing an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// User id.
    pub id: UserId,
    /// Role.
    pub role: Role,
    /// The unit of a [`Role::Unit`] user; `None` for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitId>,
}

impl Actor {
    /// A user without a unit (agent, supervisor, admin, system).
    pub fn new(id: impl Into<String>, role: Role) -> Self {
        Actor {
            id: UserId::new(id),
            role,
            unit: None,
        }
    }

    /// A user of handling unit `unit`.
    pub fn unit_user(id: impl Into<String>, unit: impl Into<String>) -> Self {
        Actor {
            id: UserId::new(id),
            role: Role::Unit,
            unit: Some(UnitId::new(unit)),
        }
    }

    /// The server itself (`id` names the component: `call-side`, `sweep`).
    pub fn system(id: impl Into<String>) -> Self {
        Actor::new(id, Role::System)
    }

    /// Whether this is a unit user of `unit`.
    pub fn is_user_of(&self, unit: &UnitId) -> bool {
        self.role == Role::Unit && self.unit.as_ref() == Some(unit)
    }
}
