//! The whole process of the measures through the public API only, in
//! virtual time: a call leaves a draft, the agent completes it into a
//! complaint dispatched to a lead and a co-handling unit, the unit signs,
//! responds, asks for an extension, completes, replies; the citizen is
//! dissatisfied, the callback sends it back, the redo is completed and the
//! second survey is final; the order is closed and archived. A supervision
//! sweep runs every 15 minutes throughout and raises exactly the records the
//! delays call for, once each.
//!
//! Written against the crate's public API, as the store and the HTTP layer
//! use it, so a missing export fails here.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeSet;

use hotline_ticketing::deadline::DeadlinePolicy;
use hotline_ticketing::draft::{CallInfo, Draft};
use hotline_ticketing::emergency::{EmergencyLine, EmergencyLinkage, LinkageOutcome};
use hotline_ticketing::knowledge::KnowledgePolicy;
use hotline_ticketing::lifecycle::available;
use hotline_ticketing::order::{
    Caller, ComplainedAbout, ContactPreference, DissatisfactionCause, Links, Outcome, SurveyStage,
    Urgency,
};
use hotline_ticketing::redaction::{citizen_reply, history_for, public_view, view_for};
use hotline_ticketing::supervision::{
    sweep, OrderSummary, SupervisionKind, SupervisionPolicy, SupervisionRecord, SweepInput, Tier,
};
use hotline_ticketing::topic::{TopicCode, TopicTree};
use hotline_ticketing::*;
use time::macros::{date, datetime, offset};
use time::{Duration, OffsetDateTime, Weekday};

fn rules() -> TicketRules {
    // A calendar with the 2026 Qingming holiday (4-6 April) only.
    let calendar = WorkingCalendar::new(CalendarSpec {
        utc_offset: offset!(+8),
        weekend: vec![Weekday::Saturday, Weekday::Sunday],
        holidays: vec![
            date!(2026 - 04 - 04),
            date!(2026 - 04 - 05),
            date!(2026 - 04 - 06),
        ],
        workdays: vec![],
        working_hours: (8 * 60 + 30, 17 * 60 + 30),
    })
    .unwrap();
    TicketRules {
        calendar,
        policy: DeadlinePolicy::default(),
        topics: TopicTree::new([("market", "市场监管"), ("market.consumer", "消费维权")]).unwrap(),
        order_prefix: "MM".into(),
        knowledge: KnowledgePolicy::default(),
        supervision: SupervisionPolicy::default(),
    }
}

/// The world: one order, its history, the supervision records raised, and
/// a clock that sweeps every 15 minutes as it advances.
struct World {
    rules: TicketRules,
    now: OffsetDateTime,
    order: Option<WorkOrder>,
    history: Vec<HistoryEntry>,
    raised: Vec<SupervisionRecord>,
}

impl World {
    fn advance_to(&mut self, until: OffsetDateTime) {
        while self.now < until {
            self.now = (self.now + Duration::minutes(15)).min(until);
            let Some(o) = &self.order else { continue };
            let keys: BTreeSet<String> = self.raised.iter().map(|r| r.key.clone()).collect();
            let summaries = [OrderSummary::of(o)];
            let input = SweepInput {
                orders: &summaries,
                articles: &[],
                gaps: &[],
            };
            let new = sweep(
                input,
                self.now,
                &self.rules.calendar,
                &self.rules.supervision,
                |k| keys.contains(k),
            );
            self.raised.extend(new);
        }
    }

    fn act(&mut self, at: OffsetDateTime, command: Command, who: &Actor) -> Transition {
        self.advance_to(at);
        let o = self.order.as_ref().unwrap();
        assert!(
            available(o, who).contains(&command.kind()),
            "{} cannot {:?}",
            who.id,
            command.kind()
        );
        let t = apply(o, &command, who, self.now, &self.rules).unwrap();
        self.history.push(t.entry.clone());
        self.order = Some(t.order.clone());
        t
    }

    fn raised(&self) -> Vec<(SupervisionKind, Tier)> {
        self.raised.iter().map(|r| (r.kind, r.tier)).collect()
    }
}

#[test]
fn a_complaint_through_every_stage() {
    let agent = Actor::new("1001", Role::Agent);
    let supervisor = Actor::new("9001", Role::Supervisor);
    let survey_robot = Actor::system("survey");
    let unit = Actor::unit_user("u-amr-7", "amr-maonan");
    let co = Actor::unit_user("u-police-2", "police-maonan");
    let shop_unit = Actor::unit_user("u-mall-1", "mall-management");
    let rules = rules();
    // Wednesday 1 April 2026, 10:00 Maoming time.
    let t0 = datetime!(2026-04-01 10:00 +8);
    let mut w = World {
        rules,
        now: t0,
        order: None,
        history: vec![],
        raised: vec![],
    };

    // The call side opens the draft; the agent transfers a fainting
    // bystander to 120 during the call, then completes the draft.
    let call = CallInfo {
        call_id: "9f1c@sbc".into(),
        caller_number: Some("13800138000".into()),
        ivr_path: vec!["main".into(), "consumer".into()],
        recording_id: Some("rec-2026-04-01-0042".into()),
        agent: agent.id.clone(),
        answered_at: t0,
    };
    let mut draft = Draft::open(42, call, &Actor::system("call-side"), t0).unwrap();
    draft
        .attach_emergency(EmergencyLinkage {
            line: EmergencyLine::Ambulance,
            at: t0 + Duration::minutes(2),
            agent: agent.id.clone(),
            call_id: "9f1c@sbc".into(),
            outcome: LinkageOutcome::Connected,
            note: Some("商场内有老人晕倒".into()),
        })
        .unwrap();
    let details = OrderDetails {
        channel: order::Channel::Phone,
        caller: Caller {
            name: Some("王女士".into()),
            number: None, // taken from the call
            contact_preference: ContactPreference::Phone,
            contact: None,
        },
        address: Some(order::Address {
            text: "茂南区某商场三楼".into(),
            district: Some("maonan".into()),
        }),
        category: Category::Complaint,
        topic: TopicCode::new("market.consumer"),
        description: "商场商户拒绝退还预付卡余额".into(),
        urgency: Urgency::Normal,
        confidential: false,
        complained_about: Some(ComplainedAbout {
            unit: Some(UnitId::new("mall-management")),
            person: None,
            description: Some("三楼某美容店".into()),
        }),
        links: Links::default(),
        legal_deadline: None,
    };
    let dispatch = Command::Dispatch {
        lead: UnitId::new("amr-maonan"),
        co_handlers: vec![UnitId::new("police-maonan")],
        note: Some("请核查预付卡合同".into()),
    };
    let number = OrderNumber::new("MM", date!(2026 - 04 - 01), 17).unwrap();
    let done = draft
        .complete_with_order(
            number,
            details,
            Some(&dispatch),
            &agent,
            t0 + Duration::minutes(6),
            &w.rules,
        )
        .unwrap();
    assert!(!done.draft.is_open());
    let order = done.opened.order;
    assert_eq!(order.state, OrderState::Dispatched);
    assert_eq!(order.details.caller.number.as_deref(), Some("13800138000"));
    assert_eq!(order.details.links.recording_ids, ["rec-2026-04-01-0042"]);
    assert!(order.details.links.emergency.is_some());
    // Complaint: 10 working days from Wednesday 1 April, skipping Qingming:
    // 2, 3, 7, 8, 9, 10, 13, 14, 15, 16 April.
    assert_eq!(
        order.deadlines.complete_by,
        Some(datetime!(2026-04-17 00:00 +8))
    );
    w.history = done.opened.history;
    w.order = Some(order);

    // The unit signs after 30 hours (late: 24 h), responds in 10 minutes.
    w.act(t0 + Duration::hours(30), Command::Sign, &unit);
    w.act(
        t0 + Duration::hours(30) + Duration::minutes(10),
        Command::Respond {
            contacted: true,
            note: "已致电王女士,约定周五到店核查".into(),
        },
        &unit,
    );
    assert_eq!(w.raised(), [(SupervisionKind::OverdueSign, Tier::District)]);

    // The co-handler adds its opinion; it sees the caller (not complained
    // about), but not the recording.
    w.act(
        datetime!(2026-04-03 11:00 +8),
        Command::AddNote {
            text: "派出所:商户负责人已到所说明情况".into(),
        },
        &co,
    );
    let co_view = view_for(w.order.as_ref().unwrap(), &co).unwrap();
    assert_eq!(co_view.order.details.caller.name.as_deref(), Some("王女士"));
    assert!(co_view.order.details.links.recording_ids.is_empty());
    // The unit complained about is not involved: it sees nothing.
    assert!(view_for(w.order.as_ref().unwrap(), &shop_unit).is_none());

    // Extension before the deadline, approved: 10 more working days.
    w.act(
        datetime!(2026-04-15 09:00 +8),
        Command::RequestExtension {
            reason: "需等待商户破产清算结果".into(),
            measures: "已联系清算组登记王女士债权".into(),
            promised_by: datetime!(2026-04-28 17:00 +8),
        },
        &unit,
    );
    w.act(
        datetime!(2026-04-15 14:00 +8),
        Command::ApproveExtension { note: None },
        &supervisor,
    );
    assert_eq!(
        w.order.as_ref().unwrap().deadlines.complete_by,
        Some(datetime!(2026-05-01 00:00 +8))
    );

    // Completed on 28 April (on time), replied the next day.
    let complete = |summary: &str| Command::Complete {
        outcome: Outcome::Resolved,
        summary: summary.into(),
        note_to_hotline: None,
        public: false,
    };
    w.act(
        datetime!(2026-04-28 16:00 +8),
        complete("清算组已登记债权,预计6月退款"),
        &unit,
    );
    let t = w.act(
        datetime!(2026-04-29 10:00 +8),
        Command::Reply {
            citizen_informed: true,
            feedback: "已电话告知王女士".into(),
            note: None,
        },
        &unit,
    );
    assert_eq!(t.effects, [Effect::HandlingSurveyDue]);

    // Survey: 5. Callback: handling cause. Redo, complete, reply, survey 4:
    // final (§22).
    let survey = |score| Command::RecordSurvey {
        stage: SurveyStage::Handling,
        score,
        via: "ivr".into(),
    };
    let t = w.act(datetime!(2026-04-29 15:00 +8), survey(5), &survey_robot);
    assert_eq!(t.effects, [Effect::CallbackTask]);
    w.act(
        datetime!(2026-04-30 09:30 +8),
        Command::RecordCallback {
            cause: DissatisfactionCause::Handling,
            notes: "市民称未收到任何书面材料".into(),
        },
        &agent,
    );
    let o = w.order.as_ref().unwrap();
    assert_eq!((o.state, o.round), (OrderState::InProgress, 2));
    w.act(
        datetime!(2026-05-06 10:00 +8),
        complete("已寄送债权登记回执"),
        &unit,
    );
    w.act(
        datetime!(2026-05-06 15:00 +8),
        Command::Reply {
            citizen_informed: true,
            feedback: "已寄送回执并电话告知".into(),
            note: None,
        },
        &unit,
    );
    w.act(datetime!(2026-05-07 10:00 +8), survey(4), &survey_robot);
    w.act(
        datetime!(2026-05-07 11:00 +8),
        Command::Close { reason: None },
        &agent,
    );
    w.act(
        datetime!(2026-05-08 02:00 +8),
        Command::Archive,
        &Actor::system("archiver"),
    );

    let o = w.order.as_ref().unwrap();
    assert_eq!(o.state, OrderState::Archived);
    assert_eq!(
        o.final_handling_survey().map(|s| (s.score, s.round)),
        Some((4, 2))
    );
    assert_eq!(o.timeliness.signed, Some(false));
    assert_eq!(o.timeliness.completed, Some(true));
    assert!(available(o, &supervisor).is_empty());

    // History: opened, dispatched, then one entry per step above, numbered
    // without gaps, each from the state the previous one left.
    let kinds: Vec<&str> = w.history.iter().map(|h| h.command.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "open",
            "dispatch",
            "sign",
            "respond",
            "add_note",
            "request_extension",
            "approve_extension",
            "complete",
            "reply",
            "record_survey",
            "record_callback",
            "complete",
            "reply",
            "record_survey",
            "close",
            "archive"
        ]
    );
    for (i, h) in w.history.iter().enumerate() {
        assert_eq!(h.seq as usize, i + 1);
    }
    // Only the late signing was supervised, once.
    assert_eq!(w.raised(), [(SupervisionKind::OverdueSign, Tier::District)]);

    // The result was not public: the citizen has it, the public does not,
    // and the co-handler's history has no command details.
    assert_eq!(citizen_reply(o).unwrap().summary, "已寄送债权登记回执");
    assert_eq!(public_view(o).result, None);
    assert!(history_for(o, &co, &w.history)
        .iter()
        .all(|h| h.detail.is_none()));
}
