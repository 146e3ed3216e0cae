//! The agent hands the caller to the satisfaction survey from the
//! workstation (measures §18–§20): the server releases the agent's phone
//! (BYE) and keeps the caller, exactly as when the agent hangs up first, so
//! the contact centre runs the reception-stage survey (when `[survey]` is
//! enabled; otherwise the caller hears goodbye).

use std::time::Instant;

use hotline_sip::call::CallId;

use super::{Core, TransferError};

impl Core {
    /// Releases the agent of `call` (API form: hex id) on behalf of `by`: the
    /// agent on the call, or a supervisor.
    pub(super) fn hand_to_survey(
        &mut self,
        call: &str,
        by: &str,
        supervisor: bool,
    ) -> Result<(), TransferError> {
        let id = u64::from_str_radix(call, 16)
            .map(CallId)
            .map_err(|_| TransferError::UnknownCall)?;
        let view = self
            .endpoint
            .calls()
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(TransferError::UnknownCall)?;
        if !supervisor && view.agent.as_deref() != Some(by) {
            return Err(TransferError::NotYourCall);
        }
        self.endpoint
            .release_agent(Instant::now(), id)
            .map_err(|e| TransferError::Refused(e.to_string()))?;
        tracing::info!(call = %id, %by, "caller handed to the survey");
        Ok(())
    }
}
