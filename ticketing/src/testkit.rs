//! Shared fixtures of the unit tests: rules on the 2026 PRC calendar, the
//! cast of actors, and orders walked into any state through `apply`.

use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use crate::actor::{Actor, UnitId, UserId};
use crate::calendar::tests::prc_2026;
use crate::deadline::DeadlinePolicy;
use crate::knowledge::KnowledgePolicy;
use crate::lifecycle::{apply, Command, OrderState};
use crate::number::OrderNumber;
use crate::order::{
    Address, Caller, Category, Channel, ComplainedAbout, ContactPreference, Links, OrderDetails,
    Outcome, SurveyStage, Urgency, WorkOrder,
};
use crate::rules::TicketRules;
use crate::supervision::SupervisionPolicy;
use crate::topic::{TopicCode, TopicTree};

pub(crate) const LEAD: &str = "housing";
pub(crate) const CO: &str = "water";
pub(crate) const OTHER: &str = "parks";
pub(crate) const CALLER_NAME: &str = "李秀英";
pub(crate) const CALLER_NUMBER: &str = "13800138000";
pub(crate) const CALLER_CONTACT: &str = "li.xiuying@example.cn";
pub(crate) const ADDRESS: &str = "茂南区油城五路12号";

/// Monday 2 March 2026, 09:00 Maoming time: a plain working week.
pub(crate) const T0: OffsetDateTime = datetime!(2026-03-02 09:00 +8);

pub(crate) fn rules() -> TicketRules {
    TicketRules {
        calendar: prc_2026(),
        policy: DeadlinePolicy::default(),
        topics: TopicTree::new([
            ("urban", "城乡建设"),
            ("urban.housing", "住房"),
            ("social", "社会保障"),
        ])
        .unwrap(),
        order_prefix: "MM".into(),
        knowledge: KnowledgePolicy::default(),
        supervision: SupervisionPolicy::default(),
    }
}

pub(crate) fn agent() -> Actor {
    Actor::new("1001", crate::Role::Agent)
}
pub(crate) fn supervisor() -> Actor {
    Actor::new("9001", crate::Role::Supervisor)
}
pub(crate) fn admin() -> Actor {
    Actor::new("root", crate::Role::Admin)
}
pub(crate) fn system() -> Actor {
    Actor::system("sweep")
}
pub(crate) fn lead_user() -> Actor {
    Actor::unit_user("u-housing", LEAD)
}
pub(crate) fn co_user() -> Actor {
    Actor::unit_user("u-water", CO)
}
pub(crate) fn other_user() -> Actor {
    Actor::unit_user("u-parks", OTHER)
}

pub(crate) fn details(category: Category) -> OrderDetails {
    OrderDetails {
        channel: Channel::Phone,
        caller: Caller {
            name: Some(CALLER_NAME.into()),
            number: Some(CALLER_NUMBER.into()),
            contact_preference: ContactPreference::Phone,
            contact: Some(CALLER_CONTACT.into()),
        },
        address: Some(Address {
            text: ADDRESS.into(),
            district: Some("maonan".into()),
        }),
        category,
        topic: TopicCode::new("urban.housing"),
        description: "小区电梯停运三天无人维修".into(),
        urgency: Urgency::Normal,
        confidential: false,
        complained_about: None,
        links: Links {
            call_ids: vec!["call-abc@hotline".into()],
            recording_ids: vec!["rec-0001".into()],
            ..Links::default()
        },
        legal_deadline: None,
    }
}

/// A complaint about `unit` (and optionally a person).
pub(crate) fn complaint_about(
    category: Category,
    unit: &str,
    person: Option<&str>,
) -> OrderDetails {
    OrderDetails {
        complained_about: Some(ComplainedAbout {
            unit: Some(UnitId::new(unit)),
            person: person.map(UserId::new),
            description: None,
        }),
        ..details(category)
    }
}

pub(crate) fn number(seq: u32) -> OrderNumber {
    OrderNumber::new("MM", date!(2026 - 03 - 02), seq).unwrap()
}

pub(crate) fn open(details: OrderDetails) -> WorkOrder {
    WorkOrder::open(number(1), details, &agent(), T0, &rules().topics).unwrap()
}

/// Apply or panic (fixtures only).
pub(crate) fn step(o: &WorkOrder, c: Command, who: &Actor, at: OffsetDateTime) -> WorkOrder {
    match apply(o, &c, who, at, &rules()) {
        Ok(t) => t.order,
        Err(e) => panic!("fixture step {:?} from {}: {e}", c.kind(), o.state),
    }
}

pub(crate) fn dispatch() -> Command {
    Command::Dispatch {
        lead: UnitId::new(LEAD),
        co_handlers: vec![UnitId::new(CO)],
        note: None,
    }
}

pub(crate) fn complete(public: bool) -> Command {
    Command::Complete {
        outcome: Outcome::Resolved,
        summary: "已联系物业更换电梯主板,恢复运行".into(),
        note_to_hotline: Some("维修单号 W-17".into()),
        public,
    }
}

pub(crate) fn survey(score: u8) -> Command {
    Command::RecordSurvey {
        stage: SurveyStage::Handling,
        score,
        via: "ivr".into(),
    }
}

/// An order of `details` walked into `state` along the main path, one hour
/// per step from [`T0`]. `CallbackPending` comes from a survey of 5.
pub(crate) fn order_in_with(state: OrderState, details: OrderDetails) -> WorkOrder {
    use OrderState as S;
    let mut o = open(details);
    let mut t = T0;
    let mut go = |o: &WorkOrder, c: Command, who: &Actor| {
        t += Duration::minutes(10);
        step(o, c, who, t)
    };
    let path: &[S] = match state {
        S::Received => &[],
        S::AnsweredOnSpot | S::Refused | S::RedirectedToLegalChannel | S::HandedToEmergency => {
            let c = match state {
                S::AnsweredOnSpot => Command::AnswerOnSpot {
                    answer: "社保卡补办请到市民服务中心".into(),
                    knowledge_articles: vec![7],
                },
                S::Refused => Command::Refuse {
                    reason: crate::lifecycle::RefusalReason::OutsideRemit,
                    explanation: "属法院职责,请向法院咨询".into(),
                },
                S::RedirectedToLegalChannel => Command::RedirectToLegalChannel {
                    channel: crate::lifecycle::LegalChannel::Arbitration,
                    explanation: "已申请劳动仲裁,请按仲裁程序解决".into(),
                },
                _ => Command::HandOverToEmergency {
                    linkage: crate::emergency::EmergencyLinkage {
                        line: crate::emergency::EmergencyLine::Fire,
                        at: T0,
                        agent: UserId::new("1001"),
                        call_id: "call-abc@hotline".into(),
                        outcome: crate::emergency::LinkageOutcome::Connected,
                        note: None,
                    },
                },
            };
            return go(&o, c, &agent());
        }
        S::Dispatched => &[S::Dispatched],
        S::Signed => &[S::Dispatched, S::Signed],
        S::InProgress => &[S::Dispatched, S::Signed, S::InProgress],
        S::ReturnRequested => &[S::Dispatched, S::ReturnRequested],
        S::Completed => &[S::Dispatched, S::Signed, S::InProgress, S::Completed],
        S::Replied => &[
            S::Dispatched,
            S::Signed,
            S::InProgress,
            S::Completed,
            S::Replied,
        ],
        S::CallbackPending => &[
            S::Dispatched,
            S::Signed,
            S::InProgress,
            S::Completed,
            S::Replied,
            S::CallbackPending,
        ],
        S::Surveyed => &[
            S::Dispatched,
            S::Signed,
            S::InProgress,
            S::Completed,
            S::Replied,
            S::Surveyed,
        ],
        S::Closed => &[
            S::Dispatched,
            S::Signed,
            S::InProgress,
            S::Completed,
            S::Replied,
            S::Surveyed,
            S::Closed,
        ],
        S::Archived => &[
            S::Dispatched,
            S::Signed,
            S::InProgress,
            S::Completed,
            S::Replied,
            S::Surveyed,
            S::Closed,
            S::Archived,
        ],
    };
    for s in path {
        let (c, who) = match s {
            S::Dispatched => (dispatch(), agent()),
            S::Signed => (Command::Sign, lead_user()),
            S::InProgress => (
                Command::Respond {
                    contacted: true,
                    note: "已电话联系市民".into(),
                },
                lead_user(),
            ),
            S::ReturnRequested => (
                Command::RequestReturn {
                    reason: "电梯属市场监管职责".into(),
                    basis: "《特种设备安全法》".into(),
                },
                lead_user(),
            ),
            S::Completed => (complete(false), lead_user()),
            S::Replied => (
                Command::Reply {
                    citizen_informed: true,
                    feedback: "已电话告知市民".into(),
                    note: None,
                },
                lead_user(),
            ),
            S::CallbackPending => (survey(5), system()),
            S::Surveyed => (survey(2), system()),
            S::Closed => (Command::Close { reason: None }, agent()),
            S::Archived => (Command::Archive, system()),
            _ => unreachable!("not on the main path: {s}"),
        };
        o = go(&o, c, &who);
    }
    assert_eq!(o.state, state);
    o
}

pub(crate) fn order_in(state: OrderState) -> WorkOrder {
    order_in_with(state, details(Category::Help))
}
