//! The endpoint's outbound calls (issue 7): survey calls to a citizen and
//! callbacks (agent first, then the citizen), both through the configured
//! trunk and within its limits ([`crate::outbound`]). The call machines are
//! in `call/machine/originate.rs`.

use std::time::Instant;

use super::Endpoint;
use crate::call::{CallId, Callback, OriginTarget};
use crate::outbound::{is_dialable, Limiter, OriginateError, OutboundTrunk, NUMBER_PLACEHOLDER};

impl Endpoint {
    /// Sets (or removes) the trunk outbound calls go through; the limits
    /// start afresh.
    pub fn set_trunk(&mut self, trunk: Option<OutboundTrunk>) {
        if let Some(t) = &trunk {
            self.limiter = Limiter::new(t.max_concurrent, t.calls_per_second);
        }
        self.trunk = trunk;
    }

    /// Places a survey call to `number` through the trunk: refused without a
    /// trunk, for a number that is not plain digits, over the trunk's
    /// concurrency or rate limit, or without RTP ports. The call reports
    /// [`CallEvent::Originating`](crate::call::CallEvent::Originating), then
    /// `OriginAnswered` (the owner serves it like a hosted call from then on)
    /// or `Ended` with the reason (busy, no answer, rejected).
    pub fn originate(&mut self, now: Instant, number: &str) -> Result<CallId, OriginateError> {
        let citizen = self.citizen_target(number)?;
        self.place(now, citizen, None)
    }

    /// Places a callback: `agent`'s registered phone is rung first (it shows
    /// the citizen's number); when it answers, `number` is dialled through the
    /// trunk and bridged. Reported as `Originating`, then `Answered` (agent
    /// and citizen talk; recorded like any answered call), or `RingFailed`
    /// for the citizen leg followed by `Ended`, or `Ended` alone if the agent
    /// did not answer. Counts against the trunk's limits from the start.
    pub fn originate_callback(
        &mut self,
        now: Instant,
        agent: &str,
        number: &str,
    ) -> Result<CallId, OriginateError> {
        let citizen = self.citizen_target(number)?;
        let binding = self
            .registrar
            .contacts_of(now, agent)
            .into_iter()
            .next()
            .ok_or_else(|| OriginateError::AgentNotRegistered(agent.to_owned()))?;
        if self.calls.is_busy(agent) {
            return Err(OriginateError::AgentBusy(agent.to_owned()));
        }
        let to_agent = OriginTarget {
            uri: binding.contact,
            remote: binding.source,
            number: number.to_owned(),
            caller_id: citizen.caller_id.clone(),
            from_user: number.to_owned(),
            credentials: None,
            ring_timeout: citizen.ring_timeout,
        };
        let then = Callback {
            agent: agent.to_owned(),
            citizen,
        };
        self.place(now, to_agent, Some(then))
    }

    /// Outbound calls up now, and the most that were ever up at once.
    pub fn outbound_counts(&self) -> (usize, usize) {
        (self.limiter.active(), self.limiter.peak())
    }

    fn citizen_target(&self, number: &str) -> Result<OriginTarget, OriginateError> {
        let trunk = self.trunk.as_ref().ok_or(OriginateError::NotConfigured)?;
        if !is_dialable(number) {
            return Err(OriginateError::BadNumber(number.to_owned()));
        }
        Ok(OriginTarget {
            uri: trunk.uri_template.replace(NUMBER_PLACEHOLDER, number),
            remote: trunk.remote,
            number: number.to_owned(),
            caller_id: trunk.caller_id.clone(),
            from_user: trunk.caller_id.clone(),
            credentials: trunk.credentials.clone(),
            ring_timeout: trunk.ring_timeout,
        })
    }

    fn place(
        &mut self,
        now: Instant,
        target: OriginTarget,
        then: Option<Callback>,
    ) -> Result<CallId, OriginateError> {
        self.limiter.check(now)?;
        let r = self
            .calls
            .originate(now, &mut self.transactions, target, then);
        if let Ok(call) = r {
            self.limiter.take(now, call);
        }
        self.process(now);
        r
    }
}
