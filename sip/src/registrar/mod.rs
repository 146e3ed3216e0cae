//! Registrar (RFC 3261 §10.3). Work in progress.
