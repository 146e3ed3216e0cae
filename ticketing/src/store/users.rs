//! Units (承办单位) and the users kept in the database: unit users (bound to
//! one unit) and administrators. Agents and supervisors are configured seats
//! (their passwords live in the config file); these accounts are created by an
//! administrator through the API, or the first one by `hotline user add`.
//! Only Argon2 PHC strings are stored, hashed by the caller.

use sqlx::Row;

use super::audit::{self, AuditEntry};
use super::{is_unique_violation, Error, Result, Store};

/// A role of a database user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Staff of a handling unit: sees and handles that unit's orders.
    Unit,
    /// Manages users, units and the knowledge base.
    Admin,
}

impl UserRole {
    /// The stored spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            UserRole::Unit => "unit",
            UserRole::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Result<UserRole> {
        match s {
            "unit" => Ok(UserRole::Unit),
            "admin" => Ok(UserRole::Admin),
            other => Err(Error::Corrupt {
                what: "users.role",
                detail: other.to_owned(),
            }),
        }
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub role: UserRole,
    /// The unit of a unit user.
    pub unit_id: Option<String>,
    pub display_name: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at_ms: i64,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub id: String,
    pub role: UserRole,
    pub unit_id: Option<String>,
    pub display_name: String,
    /// Argon2 PHC string (hash before calling).
    pub password_hash: String,
}

/// A handling unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub district: Option<String>,
}

const USER_COLUMNS: &str =
    "id, role, unit_id, display_name, password_hash, disabled, created_at_ms";

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<UserRecord> {
    let role: String = r.try_get("role")?;
    let disabled: i64 = r.try_get("disabled")?;
    Ok(UserRecord {
        id: r.try_get("id")?,
        role: UserRole::parse(&role)?,
        unit_id: r.try_get("unit_id")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        disabled: disabled != 0,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

impl Store {
    /// Creates a user. A unit user's unit must exist.
    ///
    /// # Errors
    /// [`Error::Duplicate`] for a taken id, [`Error::NotFound`] for an unknown
    /// unit, database errors.
    pub async fn create_user(&self, user: &NewUser, who: &AuditEntry) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(unit) = &user.unit_id {
            let found = sqlx::query("SELECT id FROM units WHERE id = $1")
                .bind(unit)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(Error::NotFound(format!("unit {unit}")));
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO users (id, role, unit_id, display_name, password_hash, disabled, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&user.id)
        .bind(user.role.as_str())
        .bind(user.unit_id.as_deref())
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(who.at_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Duplicate(format!("user {}", user.id)))
            }
            other => other?,
        };
        let detail = serde_json::json!({
            "role": user.role.as_str(), "unit_id": user.unit_id, "display_name": user.display_name,
        });
        audit::record(&mut tx, who, "user.create", "user", &user.id, &detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One user by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every user, by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Whether any administrator exists (the CLI bootstraps the first one).
    ///
    /// # Errors
    /// Database errors.
    pub async fn has_admin(&self) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'")
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n > 0)
    }

    /// Replaces a user's password hash, or disables/enables the account.
    ///
    /// # Errors
    /// [`Error::NotFound`], database errors.
    pub async fn update_user(
        &self,
        id: &str,
        password_hash: Option<&str>,
        disabled: Option<bool>,
        who: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = COALESCE($1, password_hash), \
             disabled = COALESCE($2, disabled) WHERE id = $3",
        )
        .bind(password_hash)
        .bind(disabled.map(i64::from))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("user {id}")));
        }
        let detail = serde_json::json!({
            "password_changed": password_hash.is_some(), "disabled": disabled,
        });
        audit::record(&mut tx, who, "user.update", "user", id, &detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates or renames a unit.
    ///
    /// # Errors
    /// Database errors.
    pub async fn upsert_unit(&self, unit: &Unit, who: &AuditEntry) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query("UPDATE units SET name = $1, district = $2 WHERE id = $3")
            .bind(&unit.name)
            .bind(unit.district.as_deref())
            .bind(&unit.id)
            .execute(&mut *tx)
            .await?;
        let action = if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO units (id, name, district, created_at_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(&unit.id)
            .bind(&unit.name)
            .bind(unit.district.as_deref())
            .bind(who.at_ms)
            .execute(&mut *tx)
            .await?;
            "unit.create"
        } else {
            "unit.update"
        };
        let detail = serde_json::json!({ "name": unit.name, "district": unit.district });
        audit::record(&mut tx, who, action, "unit", &unit.id, &detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every unit, by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn units(&self) -> Result<Vec<Unit>> {
        let rows = sqlx::query("SELECT id, name, district FROM units ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Unit {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    district: r.try_get("district")?,
                })
            })
            .collect()
    }

    /// One unit.
    ///
    /// # Errors
    /// Database errors.
    pub async fn unit(&self, id: &str) -> Result<Option<Unit>> {
        let row = sqlx::query("SELECT id, name, district FROM units WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Unit {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                district: r.try_get("district")?,
            })
        })
        .transpose()
    }
}
