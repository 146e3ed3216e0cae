//! The commands that move an order, one per step of §13–§22.
//!
//! A [`Command`] carries what the step needs (a reason, a unit, a score);
//! [`CommandKind`] is the same without data, for history entries, errors and
//! the API's route names. In JSON a command is an object tagged by
//! `"command"`: `{"command": "sign"}`,
//! `{"command": "refuse", "reason": "outside_remit", "explanation": "…"}`.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::{UnitId, UserId};
use crate::emergency::EmergencyLinkage;
use crate::order::{DissatisfactionCause, Outcome, SurveyStage};

/// The reasons for not accepting a matter, as enumerated by §13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// (一) 違反憲法和法律法規規定的.
    Unlawful,
    /// (二) 不屬於市人民政府、承辦單位職責或服務範圍的.
    OutsideRemit,
    /// (三) 已進入訴訟、仲裁、行政複議、信訪、信息公開等法定程式或已通過上述
    /// 法定程式處理的.
    InLegalProcedure,
    /// (四) 對已經受理或正在辦理的事項,在規定的辦理期限內仍然以同一事實或
    /// 理由提出的.
    DuplicateWhileInProgress,
    /// (五) 對已經按照職責職能處理並明確答覆,訴求人仍反覆投訴的.
    RepeatedAfterAnswer,
    /// (六) 違反社會公序良俗、胡編亂造、惡意攻擊騷擾或訴求表述不清、無實質
    /// 訴求內容的.
    AbusiveOrUnclear,
    /// (七) 其他不予受理的事項.
    Other,
}

/// The legal procedures a citizen is sent back to (§16.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalChannel {
    /// 行政複議.
    AdministrativeReconsideration,
    /// 仲裁.
    Arbitration,
    /// 訴訟.
    Litigation,
    /// 信訪.
    Petition,
    /// 政府信息公開申請.
    InformationDisclosure,
    /// Another statutory procedure (say which in the explanation).
    Other,
}

/// A step in an order's lifecycle. See [`crate::lifecycle::apply`] for who
/// may issue each one and in which state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Answered on the spot (§16.1), with the knowledge articles used.
    AnswerOnSpot {
        /// The answer given.
        answer: String,
        /// Ids of the knowledge articles used.
        #[serde(default)]
        knowledge_articles: Vec<u64>,
    },
    /// Not accepted (§13), with the explanation given to the citizen.
    Refuse {
        /// Which §13 reason.
        reason: RefusalReason,
        /// The explanation and guidance given (做好解釋和引導).
        explanation: String,
    },
    /// Told to go on with the legal procedure (§16.4).
    RedirectToLegalChannel {
        /// Which procedure.
        channel: LegalChannel,
        /// What the citizen was told.
        explanation: String,
    },
    /// Passed to an emergency line (§14).
    HandOverToEmergency {
        /// The transfer record.
        linkage: EmergencyLinkage,
    },
    /// Dispatched to a lead unit and co-handlers (§16.2–3).
    Dispatch {
        /// 主辦單位.
        lead: UnitId,
        /// 會辦單位.
        #[serde(default)]
        co_handlers: Vec<UnitId>,
        /// Instructions to the units.
        #[serde(default)]
        note: Option<String>,
    },
    /// The lead unit signs for the order (簽收).
    Sign,
    /// The lead unit responds and contacts the citizen (§17.1).
    Respond {
        /// Whether the citizen was reached (not when no reply is wanted, or
        /// when contact goes through the hotline, §29).
        contacted: bool,
        /// What was said or why there was no contact.
        note: String,
    },
    /// Ask for more time (§17.4), before the deadline, once.
    RequestExtension {
        /// The objective limits that prevent solving it in time.
        reason: String,
        /// The concrete measures (§17.5).
        measures: String,
        /// The new date promised to the citizen.
        #[serde(with = "time::serde::rfc3339")]
        promised_by: OffsetDateTime,
    },
    /// The hotline grants the extension: the deadline moves by the same
    /// length again.
    ApproveExtension {
        /// Remark.
        #[serde(default)]
        note: Option<String>,
    },
    /// The hotline refuses the extension: the deadline stays.
    RefuseExtension {
        /// Why.
        note: String,
    },
    /// The lead unit asks to hand the order back (§17.7), within one working
    /// day of receiving it.
    RequestReturn {
        /// Why it is not the unit's.
        reason: String,
        /// The rule or remit that says so.
        basis: String,
    },
    /// The hotline takes the order back, to dispatch it elsewhere.
    ApproveReturn {
        /// Remark.
        #[serde(default)]
        note: Option<String>,
    },
    /// The hotline refuses the return: the unit must go on.
    RefuseReturn {
        /// Why.
        note: String,
    },
    /// The citizen refused to provide material the unit needs (§17.8).
    NoteMaterialRefused {
        /// What was asked for.
        requested: String,
        /// What the citizen said.
        note: String,
    },
    /// A remark on the order (co-handling opinion, agent note). No state
    /// change.
    AddNote {
        /// The text.
        text: String,
    },
    /// The lead unit completes the handling (辦結), or reports that it cannot
    /// be done (§17.6).
    Complete {
        /// Resolved or cannot be done.
        outcome: Outcome,
        /// The result as told to the citizen.
        summary: String,
        /// For the hotline; required when the outcome is `cannot_be_done`
        /// (書面說明).
        #[serde(default)]
        note_to_hotline: Option<String>,
        /// Whether the result may be published (§30).
        public: bool,
    },
    /// The lead unit replied to the citizen and fed back to the hotline
    /// (§17.2).
    Reply {
        /// Whether the citizen was reached.
        citizen_informed: bool,
        /// The feedback to the hotline.
        feedback: String,
        /// Remarks.
        #[serde(default)]
        note: Option<String>,
    },
    /// A satisfaction survey result (§18–§22).
    RecordSurvey {
        /// Which stage it rates.
        stage: SurveyStage,
        /// 1 (very satisfied) to 5 (very dissatisfied).
        score: u8,
        /// How it was collected (`ivr`, `sms`, `manual`, `online`).
        via: String,
    },
    /// The manual callback after a 4 or 5 (§21).
    RecordCallback {
        /// Why the citizen was dissatisfied.
        cause: DissatisfactionCause,
        /// What the citizen said.
        notes: String,
    },
    /// Close the order.
    Close {
        /// Why, when closing before a survey (no reply wanted, unreachable).
        #[serde(default)]
        reason: Option<String>,
    },
    /// Archive a closed order.
    Archive,
    /// Link a later call about the order (the citizen calling back to ask
    /// or add something) and its recording. No state change.
    LinkCall {
        /// SIP Call-ID.
        call_id: String,
        /// The call's recording, if recorded.
        #[serde(default)]
        recording_id: Option<String>,
    },
    /// Recuse a member of staff (§29): they can no longer see or act on the
    /// order.
    Recuse {
        /// Who.
        user: UserId,
        /// Why (conflict of interest, the citizen's request).
        reason: String,
    },
}

/// The name of a command (and of the opening of an order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// The order was opened (history only).
    Open,
    /// [`Command::AnswerOnSpot`].
    AnswerOnSpot,
    /// [`Command::Refuse`].
    Refuse,
    /// [`Command::RedirectToLegalChannel`].
    RedirectToLegalChannel,
    /// [`Command::HandOverToEmergency`].
    HandOverToEmergency,
    /// [`Command::Dispatch`].
    Dispatch,
    /// [`Command::Sign`].
    Sign,
    /// [`Command::Respond`].
    Respond,
    /// [`Command::RequestExtension`].
    RequestExtension,
    /// [`Command::ApproveExtension`].
    ApproveExtension,
    /// [`Command::RefuseExtension`].
    RefuseExtension,
    /// [`Command::RequestReturn`].
    RequestReturn,
    /// [`Command::ApproveReturn`].
    ApproveReturn,
    /// [`Command::RefuseReturn`].
    RefuseReturn,
    /// [`Command::NoteMaterialRefused`].
    NoteMaterialRefused,
    /// [`Command::AddNote`].
    AddNote,
    /// [`Command::Complete`].
    Complete,
    /// [`Command::Reply`].
    Reply,
    /// [`Command::RecordSurvey`].
    RecordSurvey,
    /// [`Command::RecordCallback`].
    RecordCallback,
    /// [`Command::Close`].
    Close,
    /// [`Command::Archive`].
    Archive,
    /// [`Command::Recuse`].
    Recuse,
    /// [`Command::LinkCall`].
    LinkCall,
}

impl CommandKind {
    /// Snake-case name, as in JSON and in API routes.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Open => "open",
            CommandKind::AnswerOnSpot => "answer_on_spot",
            CommandKind::Refuse => "refuse",
            CommandKind::RedirectToLegalChannel => "redirect_to_legal_channel",
            CommandKind::HandOverToEmergency => "hand_over_to_emergency",
            CommandKind::Dispatch => "dispatch",
            CommandKind::Sign => "sign",
            CommandKind::Respond => "respond",
            CommandKind::RequestExtension => "request_extension",
            CommandKind::ApproveExtension => "approve_extension",
            CommandKind::RefuseExtension => "refuse_extension",
            CommandKind::RequestReturn => "request_return",
            CommandKind::ApproveReturn => "approve_return",
            CommandKind::RefuseReturn => "refuse_return",
            CommandKind::NoteMaterialRefused => "note_material_refused",
            CommandKind::AddNote => "add_note",
            CommandKind::Complete => "complete",
            CommandKind::Reply => "reply",
            CommandKind::RecordSurvey => "record_survey",
            CommandKind::RecordCallback => "record_callback",
            CommandKind::Close => "close",
            CommandKind::Archive => "archive",
            CommandKind::Recuse => "recuse",
            CommandKind::LinkCall => "link_call",
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Command {
    /// The command's name.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::AnswerOnSpot { .. } => CommandKind::AnswerOnSpot,
            Command::Refuse { .. } => CommandKind::Refuse,
            Command::RedirectToLegalChannel { .. } => CommandKind::RedirectToLegalChannel,
            Command::HandOverToEmergency { .. } => CommandKind::HandOverToEmergency,
            Command::Dispatch { .. } => CommandKind::Dispatch,
            Command::Sign => CommandKind::Sign,
            Command::Respond { .. } => CommandKind::Respond,
            Command::RequestExtension { .. } => CommandKind::RequestExtension,
            Command::ApproveExtension { .. } => CommandKind::ApproveExtension,
            Command::RefuseExtension { .. } => CommandKind::RefuseExtension,
            Command::RequestReturn { .. } => CommandKind::RequestReturn,
            Command::ApproveReturn { .. } => CommandKind::ApproveReturn,
            Command::RefuseReturn { .. } => CommandKind::RefuseReturn,
            Command::NoteMaterialRefused { .. } => CommandKind::NoteMaterialRefused,
            Command::AddNote { .. } => CommandKind::AddNote,
            Command::Complete { .. } => CommandKind::Complete,
            Command::Reply { .. } => CommandKind::Reply,
            Command::RecordSurvey { .. } => CommandKind::RecordSurvey,
            Command::RecordCallback { .. } => CommandKind::RecordCallback,
            Command::Close { .. } => CommandKind::Close,
            Command::Archive => CommandKind::Archive,
            Command::Recuse { .. } => CommandKind::Recuse,
            Command::LinkCall { .. } => CommandKind::LinkCall,
        }
    }

    /// The free-text reason the history shows for this step, if any.
    pub fn reason(&self) -> Option<String> {
        match self {
            Command::Refuse { explanation, .. }
            | Command::RedirectToLegalChannel { explanation, .. } => Some(explanation.clone()),
            Command::RequestExtension { reason, .. } | Command::RequestReturn { reason, .. } => {
                Some(reason.clone())
            }
            Command::RefuseExtension { note } | Command::RefuseReturn { note } => {
                Some(note.clone())
            }
            Command::ApproveExtension { note } | Command::ApproveReturn { note } => note.clone(),
            Command::Close { reason } => reason.clone(),
            Command::Recuse { reason, .. } => Some(reason.clone()),
            Command::RecordCallback { notes, .. } => Some(notes.clone()),
            Command::AddNote { text } => Some(text.clone()),
            Command::NoteMaterialRefused { note, .. } => Some(note.clone()),
            Command::Respond { note, .. } => Some(note.clone()),
            _ => None,
        }
    }
}

/// One command of each kind with empty fields, for [`super::available`]:
/// only the variant, the survey stage (handling when `state` expects it)
/// and the recused user (`me`) matter to the state and role checks.
pub(super) fn placeholders(state: super::OrderState, me: &UserId) -> Vec<Command> {
    let stage = if state == super::OrderState::Replied {
        SurveyStage::Handling
    } else {
        SurveyStage::Reception
    };
    let s = String::new;
    vec![
        Command::AnswerOnSpot {
            answer: s(),
            knowledge_articles: Vec::new(),
        },
        Command::Refuse {
            reason: RefusalReason::Other,
            explanation: s(),
        },
        Command::RedirectToLegalChannel {
            channel: LegalChannel::Other,
            explanation: s(),
        },
        Command::HandOverToEmergency {
            linkage: EmergencyLinkage {
                line: crate::emergency::EmergencyLine::Police,
                at: OffsetDateTime::UNIX_EPOCH,
                agent: me.clone(),
                call_id: s(),
                outcome: crate::emergency::LinkageOutcome::Connected,
                note: None,
            },
        },
        Command::Dispatch {
            lead: UnitId(s()),
            co_handlers: Vec::new(),
            note: None,
        },
        Command::Sign,
        Command::Respond {
            contacted: false,
            note: s(),
        },
        Command::RequestExtension {
            reason: s(),
            measures: s(),
            promised_by: OffsetDateTime::UNIX_EPOCH,
        },
        Command::ApproveExtension { note: None },
        Command::RefuseExtension { note: s() },
        Command::RequestReturn {
            reason: s(),
            basis: s(),
        },
        Command::ApproveReturn { note: None },
        Command::RefuseReturn { note: s() },
        Command::NoteMaterialRefused {
            requested: s(),
            note: s(),
        },
        Command::AddNote { text: s() },
        Command::Complete {
            outcome: Outcome::Resolved,
            summary: s(),
            note_to_hotline: None,
            public: false,
        },
        Command::Reply {
            citizen_informed: false,
            feedback: s(),
            note: None,
        },
        Command::RecordSurvey {
            stage,
            score: 1,
            via: s(),
        },
        Command::RecordCallback {
            cause: DissatisfactionCause::Unknown,
            notes: s(),
        },
        Command::Close { reason: None },
        Command::Archive,
        Command::Recuse {
            user: me.clone(),
            reason: s(),
        },
        Command::LinkCall {
            call_id: s(),
            recording_id: None,
        },
    ]
}
