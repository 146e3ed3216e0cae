//! IVR for the hotline: menu and survey state machines (sans-IO).
//!
//! Planned role (DESIGN.md Telephony 5 and 8): menus from `[ivr]` configuration that
//! turn inputs such as `Dtmf('3')` or `PromptFinished` into actions such as
//! `Play(prompt)`, `Collect { max, timeout }`, `Enqueue(queue)` or `Transfer(..)`,
//! prompt loading and DTMF collection, and the reception- and handling-stage
//! satisfaction surveys. Nothing is implemented yet: the crate exists so the
//! workspace has its final shape; the IVR issue fills it.
