//! The crate's one error type.
//!
//! Every variant says which HTTP status the API should answer with (see
//! [`DomainError::status`]), so the API layer maps errors without looking at
//! messages: bad input is 400, a role or unit that may not act is 403, and a
//! command the order's state (or its deadlines) does not allow is 409.

use crate::lifecycle::{CommandKind, OrderState};

/// Errors of the work-order domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value is malformed or missing; `field` is its JSON path
    /// (`details.caller.number`, `lead_unit`, …). API: 400.
    #[error("{field}: {message}")]
    Validation {
        /// JSON path of the offending field.
        field: String,
        /// What is wrong, for a human.
        message: String,
    },
    /// The command is not a transition out of the order's current state.
    /// API: 409.
    #[error("cannot {command} an order that is {state}")]
    InvalidTransition {
        /// The order's state.
        state: OrderState,
        /// What was attempted.
        command: CommandKind,
    },
    /// The state allows the command but the order's history does not: a
    /// second extension, a return requested after its window, an extension
    /// requested after the deadline, a decision on nothing pending. API: 409.
    #[error("cannot {command} now: {reason}")]
    NotAllowedNow {
        /// What was attempted.
        command: CommandKind,
        /// Why not, citing the measures.
        reason: String,
    },
    /// The actor's role or unit may not issue the command on this order
    /// (including staff recused from it, §29). API: 403.
    #[error("{actor} may not {command}: {reason}")]
    Forbidden {
        /// Who tried (user id).
        actor: String,
        /// What was attempted.
        command: CommandKind,
        /// Why not.
        reason: String,
    },
    /// A configuration value handed to the domain (calendar, topic tree,
    /// deadline policy) is unusable. The binary reports it at start-up.
    #[error("invalid setting {key}: {message}")]
    Setting {
        /// Key path of the setting (`calendar.weekend`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl DomainError {
    /// A [`DomainError::Validation`] at `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status code the API answers this error with: 400, 403, 409,
    /// or 500 for a bad setting (a server fault, not the client's).
    pub fn status(&self) -> u16 {
        match self {
            DomainError::Validation { .. } => 400,
            DomainError::Forbidden { .. } => 403,
            DomainError::InvalidTransition { .. } | DomainError::NotAllowedNow { .. } => 409,
            DomainError::Setting { .. } => 500,
        }
    }

    /// A stable machine-readable code for the API's error body
    /// (`validation`, `forbidden`, `invalid_transition`, `not_allowed_now`,
    /// `setting`).
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Validation { .. } => "validation",
            DomainError::Forbidden { .. } => "forbidden",
            DomainError::InvalidTransition { .. } => "invalid_transition",
            DomainError::NotAllowedNow { .. } => "not_allowed_now",
            DomainError::Setting { .. } => "setting",
        }
    }

    /// The offending field of a validation error, for the API's error body.
    pub fn field(&self) -> Option<&str> {
        match self {
            DomainError::Validation { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Result of this crate's operations.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
