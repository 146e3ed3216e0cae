//! Digest authentication (RFC 7616, RFC 8760, RFC 2617), server side. Work in progress.
