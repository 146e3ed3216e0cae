//! The audit log: every change made through the API, with who made it, from
//! which address and when. Rows are only ever inserted, in the same
//! transaction as the change they describe.

use sqlx::{Any, AnyPool, Row, Transaction};

use super::{to_i64, Result, Store};

/// Who changed something, and from where; passed to every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// User id.
    pub actor: String,
    /// The user's role (`agent`, `supervisor`, `unit`, `admin`, `system`).
    pub actor_role: String,
    /// The client's address, when known.
    pub client_ip: Option<String>,
    /// When, epoch milliseconds.
    pub at_ms: i64,
}

impl AuditEntry {
    /// The periodic jobs of the server itself.
    #[must_use]
    pub fn system(at_ms: i64) -> AuditEntry {
        AuditEntry {
            actor: "system".into(),
            actor_role: "system".into(),
            client_ip: None,
            at_ms,
        }
    }
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub actor_role: String,
    pub client_ip: Option<String>,
    /// What was done (`order.create`, `order.sign`, `user.create`, …).
    pub action: String,
    /// The kind of thing changed (`order`, `user`, `article`, …).
    pub entity: String,
    pub entity_id: String,
    /// JSON with the particulars.
    pub detail: String,
}

/// Appends one audit row inside `tx`.
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    who: &AuditEntry,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor, actor_role, client_ip, action, entity, entity_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(who.at_ms)
    .bind(&who.actor)
    .bind(&who.actor_role)
    .bind(who.client_ip.as_deref())
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The audit rows of one entity (or all when `entity_id` is `None`),
    /// newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit_log(
        &self,
        entity: Option<(&str, &str)>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<AuditRecord>> {
        list(&self.pool, entity, limit, offset).await
    }
}

async fn list(
    pool: &AnyPool,
    entity: Option<(&str, &str)>,
    limit: u32,
    offset: u64,
) -> Result<Vec<AuditRecord>> {
    let cols = "seq, at_ms, actor, actor_role, client_ip, action, entity, entity_id, detail";
    let rows = match entity {
        Some((kind, id)) => {
            sqlx::query(&format!(
                "SELECT {cols} FROM audit_log WHERE entity = $1 AND entity_id = $2 \
                 ORDER BY seq DESC LIMIT $3 OFFSET $4"
            ))
            .bind(kind)
            .bind(id)
            .bind(i64::from(limit))
            .bind(to_i64(offset))
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {cols} FROM audit_log ORDER BY seq DESC LIMIT $1 OFFSET $2"
            ))
            .bind(i64::from(limit))
            .bind(to_i64(offset))
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok(AuditRecord {
                seq: r.try_get("seq")?,
                at_ms: r.try_get("at_ms")?,
                actor: r.try_get("actor")?,
                actor_role: r.try_get("actor_role")?,
                client_ip: r.try_get("client_ip")?,
                action: r.try_get("action")?,
                entity: r.try_get("entity")?,
                entity_id: r.try_get("entity_id")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}
