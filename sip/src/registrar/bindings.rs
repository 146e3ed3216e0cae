//! The location table: per address-of-record, its contact bindings.
//!
//! A binding is keyed by the Contact URI exactly as the phone wrote it (RFC 3261
//! §10.3 step 7 compares URIs with §19.1.4 equivalence; phones re-register with the
//! identical string, and keeping it verbatim means what we route to later is what
//! the phone asked for). Updates of one REGISTER are all-or-nothing (§10.3 step 6):
//! [`BindingTable::apply`] checks every change before it makes any.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::net::Remote;

use super::deadlines::Deadlines;

#[derive(Debug, Clone)]
pub(super) struct Binding {
    pub(super) contact: String,
    pub(super) expires_at: Instant,
    pub(super) call_id: String,
    pub(super) cseq: u32,
    pub(super) source: Remote,
}

/// The changes one REGISTER asks for.
#[derive(Debug)]
pub(super) enum Plan {
    /// `Contact: *` with `Expires: 0`.
    RemoveAll,
    /// Per contact, in request order: its URI and granted seconds (0 removes).
    Update(Vec<(String, u32)>),
}

/// Why a plan was refused; nothing was changed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Same Call-ID and a CSeq not above the stored one (§10.3 step 7).
    OutOfOrder,
    /// More contacts than the per-user cap.
    TooManyContacts,
}

/// What a committed plan did, for events.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    Added(String),
    Removed(String),
}

/// Who sent the REGISTER being applied.
pub(super) struct Origin<'a> {
    pub(super) call_id: &'a str,
    pub(super) cseq: u32,
    pub(super) source: Remote,
}

/// Users are kept in id order (a `BTreeMap`), so the "first free agent in
/// user id order" walk of call routing needs no sort and no copy.
#[derive(Debug, Default)]
pub(super) struct BindingTable {
    by_user: BTreeMap<String, Vec<Binding>>,
    deadlines: Deadlines<(String, String)>,
}

impl BindingTable {
    /// The bindings of `user` still live at `now`, in registration order.
    pub(super) fn live<'a>(
        &'a self,
        now: Instant,
        user: &str,
    ) -> impl Iterator<Item = &'a Binding> + 'a {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter(move |b| b.expires_at > now)
    }

    /// Users with at least one binding (live or not yet purged), in id order.
    pub(super) fn users(&self) -> impl Iterator<Item = &str> + '_ {
        self.by_user.keys().map(String::as_str)
    }

    /// Per user in id order, the first of its bindings still live at `now`;
    /// users with none are skipped.
    pub(super) fn first_live_per_user(
        &self,
        now: Instant,
    ) -> impl Iterator<Item = (&str, &Binding)> + '_ {
        self.by_user.iter().filter_map(move |(user, list)| {
            list.iter()
                .find(|b| b.expires_at > now)
                .map(|b| (user.as_str(), b))
        })
    }

    /// Checks then commits `plan` for `user`.
    pub(super) fn apply(
        &mut self,
        now: Instant,
        user: &str,
        origin: &Origin<'_>,
        plan: &Plan,
        max_contacts: usize,
    ) -> Result<Vec<Change>, Refused> {
        let existing: &[Binding] = self.by_user.get(user).map_or(&[], Vec::as_slice);
        // §10.3 step 7: a binding from the same Call-ID with a CSeq not higher than
        // the one that set it means this request is older than (or a copy of) one
        // already applied; the request fails as a whole (step 6).
        let out_of_order = |b: &Binding| b.call_id == origin.call_id && origin.cseq <= b.cseq;
        match plan {
            Plan::RemoveAll => {
                if existing.iter().any(out_of_order) {
                    return Err(Refused::OutOfOrder);
                }
            }
            Plan::Update(updates) => {
                let mut after: Vec<&str> = existing.iter().map(|b| b.contact.as_str()).collect();
                for (contact, secs) in updates {
                    if let Some(b) = existing.iter().find(|b| b.contact == *contact) {
                        if out_of_order(b) {
                            return Err(Refused::OutOfOrder);
                        }
                    }
                    if *secs == 0 {
                        after.retain(|c| c != contact);
                    } else if !after.contains(&contact.as_str()) {
                        after.push(contact);
                    }
                }
                let grows = after.len() > existing.len();
                if grows && after.len() > max_contacts {
                    return Err(Refused::TooManyContacts);
                }
            }
        }

        let mut changes = Vec::new();
        match plan {
            Plan::RemoveAll => {
                let contacts: Vec<String> = existing.iter().map(|b| b.contact.clone()).collect();
                for contact in contacts {
                    if self.remove(user, &contact) {
                        changes.push(Change::Removed(contact));
                    }
                }
            }
            Plan::Update(updates) => {
                for (contact, secs) in updates {
                    if *secs == 0 {
                        if self.remove(user, contact) {
                            changes.push(Change::Removed(contact.clone()));
                        }
                    } else {
                        let expires_at = now + Duration::from_secs(u64::from(*secs));
                        if self.upsert(user, contact, expires_at, origin) {
                            changes.push(Change::Added(contact.clone()));
                        }
                    }
                }
            }
        }
        Ok(changes)
    }

    /// Inserts or refreshes; true when the binding is new.
    fn upsert(
        &mut self,
        user: &str,
        contact: &str,
        expires_at: Instant,
        origin: &Origin<'_>,
    ) -> bool {
        let list = self.by_user.entry(user.to_owned()).or_default();
        let key = (user.to_owned(), contact.to_owned());
        if let Some(b) = list.iter_mut().find(|b| b.contact == contact) {
            self.deadlines.reschedule(b.expires_at, expires_at, key);
            b.expires_at = expires_at;
            b.call_id = origin.call_id.to_owned();
            b.cseq = origin.cseq;
            // A phone behind NAT may come back from a new address: route there.
            b.source = origin.source;
            false
        } else {
            list.push(Binding {
                contact: contact.to_owned(),
                expires_at,
                call_id: origin.call_id.to_owned(),
                cseq: origin.cseq,
                source: origin.source,
            });
            self.deadlines.insert(expires_at, key);
            true
        }
    }

    /// Removes a binding; true if it existed.
    fn remove(&mut self, user: &str, contact: &str) -> bool {
        let Some(list) = self.by_user.get_mut(user) else {
            return false;
        };
        let Some(pos) = list.iter().position(|b| b.contact == contact) else {
            return false;
        };
        let b = list.remove(pos);
        if list.is_empty() {
            self.by_user.remove(user);
        }
        self.deadlines
            .remove(b.expires_at, &(user.to_owned(), b.contact));
        true
    }

    /// Removes the next binding that expired at or before `now`.
    pub(super) fn pop_expired(&mut self, now: Instant) -> Option<(String, String)> {
        let (_, (user, contact)) = self.deadlines.pop_due(now)?;
        // The deadline set and the lists are kept in step, so the binding exists.
        if let Some(list) = self.by_user.get_mut(&user) {
            list.retain(|b| b.contact != contact);
            if list.is_empty() {
                self.by_user.remove(&user);
            }
        }
        Some((user, contact))
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first()
    }
}
