//! Work orders (工单) for the hotline: lifecycle, working-day deadlines,
//! supervision, knowledge base and the store behind them.
//!
//! Planned role (DESIGN.md items 10–16; the city's measures §12–§30): a pure
//! domain core that validates every transition and computes deadlines against a
//! working-day calendar, with a sqlx store for SQLite and PostgreSQL. Nothing is
//! implemented yet: the work-order issue fills this crate.

pub mod store;
