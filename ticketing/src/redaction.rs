//! redaction placeholder
