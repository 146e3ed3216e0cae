//! Outbound work the server does on its own: the handling-stage survey
//! campaign ([`campaign`]) and the calls agents place from the callback task
//! list (the HTTP side is `http::callback_tasks`).
//!
//! Both are written against [`crate::dialing::Dialer`]. The HTTP state is not
//! generic, so [`Outbound`] keeps the dialer behind [`DynDialer`], an
//! object-safe mirror of `Dialer` implemented for every `Dialer`. It also
//! holds the campaign's wake-up ([`Outbound::wake`]): a new job (an order
//! replied through the API) starts the campaign at once instead of at its
//! next timer.

pub mod campaign;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hotline_config::Config;
use hotline_ticketing::store::{Campaign, Store};
use hotline_ticketing::survey_schedule::CampaignPolicy;
use hotline_ticketing::{TicketRules, Transition};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::dialing::{CallbackCall, CallbackOutcome, Dialer, SurveyCall, SurveyCallOutcome};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Dialer`] as a trait object.
pub trait DynDialer: Send + Sync + 'static {
    /// [`Dialer::survey_call`].
    fn survey_call(&self, call: SurveyCall) -> BoxFuture<'_, SurveyCallOutcome>;
    /// [`Dialer::callback_call`].
    fn callback_call(&self, call: CallbackCall) -> BoxFuture<'_, CallbackOutcome>;
}

impl<D: Dialer> DynDialer for D {
    fn survey_call(&self, call: SurveyCall) -> BoxFuture<'_, SurveyCallOutcome> {
        Box::pin(Dialer::survey_call(self, call))
    }
    fn callback_call(&self, call: CallbackCall) -> BoxFuture<'_, CallbackOutcome> {
        Box::pin(Dialer::callback_call(self, call))
    }
}

/// A dialer for a server that cannot place outbound calls (no trunk
/// configured or no SIP support built in): every survey call is "not
/// placed" (retried later without counting), every callback fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDialer;

impl Dialer for NoDialer {
    async fn survey_call(&self, _call: SurveyCall) -> SurveyCallOutcome {
        SurveyCallOutcome::NotPlaced("outbound calling is not available".into())
    }
    async fn callback_call(&self, _call: CallbackCall) -> CallbackOutcome {
        CallbackOutcome::Failed("outbound calling is not available".into())
    }
}

/// The campaign's settings, from `[survey]`.
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// `[survey] enabled`: without it no job is created and the campaign
    /// does not run (callback tasks still work).
    pub surveys_enabled: bool,
    /// Calling hours, holidays, attempts, concurrency.
    pub policy: CampaignPolicy,
    /// Prompt language of survey calls (the first of `[ivr] languages`).
    pub language: String,
    /// How long an agent's claim on a callback task lasts.
    pub claim: time::Duration,
}

impl OutboundSettings {
    /// From the configuration.
    pub fn from_config(config: &Config) -> OutboundSettings {
        let s = &config.survey;
        OutboundSettings {
            surveys_enabled: s.enabled,
            policy: CampaignPolicy {
                calling_hours: (s.calling_hours.start_min, s.calling_hours.end_min),
                skip_holidays: s.skip_holidays,
                max_attempts: s.max_attempts,
                retry_interval: time::Duration::minutes(i64::from(s.retry_interval_min)),
                not_placed_delay: time::Duration::seconds(30),
                concurrent_calls: s.concurrent_calls,
            },
            language: config
                .ivr
                .languages
                .first()
                .cloned()
                .unwrap_or_else(|| "cmn".to_owned()),
            claim: time::Duration::minutes(i64::from(s.callback_claim_min)),
        }
    }
}

/// The outbound side as the HTTP handlers and the campaign share it.
#[derive(Clone)]
pub struct Outbound {
    dialer: Arc<dyn DynDialer>,
    wake: Arc<Notify>,
    /// The settings.
    pub settings: Arc<OutboundSettings>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    /// Over `dialer`.
    pub fn new<D: Dialer>(dialer: D, settings: OutboundSettings) -> Outbound {
        Outbound {
            dialer: Arc::new(dialer),
            wake: Arc::new(Notify::new()),
            settings: Arc::new(settings),
        }
    }

    /// The dialer.
    pub fn dialer(&self) -> &dyn DynDialer {
        &*self.dialer
    }

    /// Wakes the campaign (new jobs may be due).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// The campaign's view of the settings and rules.
    pub fn campaign<'a>(&'a self, rules: &'a TicketRules) -> Campaign<'a> {
        Campaign {
            policy: &self.settings.policy,
            rules,
            language: &self.settings.language,
        }
    }

    /// What a lifecycle step means for outbound work (a survey job, a
    /// callback task, closing tasks), done after the step is stored. A
    /// failure is logged, not returned: the step itself is committed, and
    /// start-up recovery gives any order still waiting its job or task.
    pub async fn after_step(
        &self,
        tickets: &Store,
        rules: &TicketRules,
        t: &Transition,
        now: OffsetDateTime,
    ) {
        let survey_due = t
            .effects
            .iter()
            .any(|e| matches!(e, hotline_ticketing::Effect::HandlingSurveyDue));
        if survey_due && !self.settings.surveys_enabled {
            // Surveys off: only the callback side applies.
            let mut t = t.clone();
            t.effects
                .retain(|e| !matches!(e, hotline_ticketing::Effect::HandlingSurveyDue));
            return self.after_step_inner(tickets, rules, &t, now).await;
        }
        self.after_step_inner(tickets, rules, t, now).await;
    }

    async fn after_step_inner(
        &self,
        tickets: &Store,
        rules: &TicketRules,
        t: &Transition,
        now: OffsetDateTime,
    ) {
        match tickets.schedule_effects(self.campaign(rules), t, now).await {
            Ok(()) => self.wake(),
            Err(e) => tracing::error!(
                order = %t.order.number,
                "scheduling the survey or callback after a step failed (recovered at next start): {e}"
            ),
        }
    }
}
