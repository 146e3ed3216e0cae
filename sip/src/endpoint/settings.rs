//! Settings of the endpoint that are applied after construction.

use super::Endpoint;
use crate::digest::Algorithm;

impl Endpoint {
    /// Offers only these digest algorithms, in this order (`[sip]
    /// digest_algorithms`); an empty list keeps SHA-256 then MD5.
    pub fn with_digest_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.registrar
            .authenticator_mut()
            .set_algorithms(algorithms);
        self
    }
}
