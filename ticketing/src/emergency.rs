//! The record of an emergency transfer (§9 linkage with the emergency lines,
//! §14: emergencies are passed on at once).
//!
//! The call side transfers the caller to 110/119/120/122 and reports what
//! happened; the record attaches to the call's draft or opens an order of its
//! own (see [`crate::draft`]), so that every transfer can be audited.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::UserId;

/// The emergency line the call was transferred to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EmergencyLine {
    /// 110, police.
    #[serde(rename = "110")]
    Police,
    /// 119, fire.
    #[serde(rename = "119")]
    Fire,
    /// 120, ambulance.
    #[serde(rename = "120")]
    Ambulance,
    /// 122, traffic accidents.
    #[serde(rename = "122")]
    Traffic,
}

impl EmergencyLine {
    /// The number dialled.
    pub fn number(self) -> &'static str {
        match self {
            EmergencyLine::Police => "110",
            EmergencyLine::Fire => "119",
            EmergencyLine::Ambulance => "120",
            EmergencyLine::Traffic => "122",
        }
    }
}

/// How the transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkageOutcome {
    /// The emergency line answered and took the caller (or the three-way
    /// call was completed).
    Connected,
    /// The line was busy or did not answer; the agent passed the details on
    /// by other means or called back.
    NotAnswered,
    /// The transfer failed (gateway down, rejected).
    Failed,
    /// The caller hung up before the transfer completed.
    CallerHungUp,
}

/// One emergency transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyLinkage {
    /// The line.
    pub line: EmergencyLine,
    /// When the transfer started.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The agent who transferred.
    pub agent: UserId,
    /// SIP Call-ID of the citizen's call.
    pub call_id: String,
    /// How it ended.
    pub outcome: LinkageOutcome,
    /// Free remarks (what was passed on).
    #[serde(default)]
    pub note: Option<String>,
}
