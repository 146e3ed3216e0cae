//! Draft placeholder
