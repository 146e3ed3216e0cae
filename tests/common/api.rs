//! Harness of the work-order API tests: a whole server on a SQLite file or on
//! a fresh PostgreSQL database, JSON requests over real HTTP, users bootstrapped
//! in the database.

use hotline_ticketing::store::{AuditEntry, NewUser, Unit, UserRole};
use serde_json::Value;
use sqlx::Executor;

use super::TestServer;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The databases to run on: SQLite always; PostgreSQL when
/// `HOTLINE_TEST_POSTGRES_URL` is set (required in CI, skipped with a
/// printed reason elsewhere).
pub fn databases() -> Vec<Db> {
    if std::env::var_os("HOTLINE_TEST_POSTGRES_URL").is_some() {
        vec![Db::Sqlite, Db::Postgres]
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "HOTLINE_TEST_POSTGRES_URL is required in CI (.ci/run starts PostgreSQL)"
        );
        eprintln!("SKIPPED (PostgreSQL half): HOTLINE_TEST_POSTGRES_URL is not set");
        vec![Db::Sqlite]
    }
}

/// A fresh PostgreSQL database named `name`; its URL.
pub async fn fresh_postgres(name: &str) -> String {
    let admin_url = std::env::var("HOTLINE_TEST_POSTGRES_URL").expect("postgres url");
    let admin = hotline_ticketing::store::connect_pool(&admin_url)
        .await
        .expect("postgres admin");
    let db = format!("hotline_api_{name}_{}", std::process::id());
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await
        .expect("drop");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create");
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("url has a database");
    format!("{base}/{db}")
}

/// Password of every database user the harness creates.
pub const DB_PASSWORD: &str = "unit-password-1";

/// A running server and an HTTP client.
pub struct Api {
    pub server: TestServer,
    pub client: reqwest::Client,
    pub db: Db,
}

/// A response: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Api {
    /// Starts a server on `db` (`name` names the PostgreSQL database) with
    /// units `housing`, `water`, `parks`, a unit user `u-<unit>` for each and
    /// an administrator `root`, all with [`DB_PASSWORD`].
    pub async fn start(db: Db, name: &str) -> Api {
        Self::start_with_dialer(db, name, |_| {}, hotline::outbound::NoDialer).await
    }

    /// [`Api::start`] after `tweak` edits the configuration, with `dialer`
    /// placing outbound calls.
    pub async fn start_with_dialer<D: hotline::dialing::Dialer>(
        db: Db,
        name: &str,
        tweak: impl FnOnce(&mut hotline_config::Config),
        dialer: D,
    ) -> Api {
        let pg = match db {
            Db::Postgres => Some(fresh_postgres(name).await),
            Db::Sqlite => None,
        };
        let server = TestServer::start_with_dialer(
            |c| {
                if let Some(url) = pg {
                    c.storage.set_database_url(url);
                }
                tweak(c);
            },
            dialer,
        )
        .await;
        let store = server.server.as_ref().expect("running").tickets.clone();
        let who = AuditEntry::system(0);
        let hash = hotline::http::auth::passwords::hash(DB_PASSWORD).expect("hash");
        let units: Vec<(String, String)> = ["housing", "water", "parks"]
            .iter()
            .map(|u| (u.to_string(), format!("{u} bureau")))
            .collect();
        seed_units(&store, &units).await;
        store
            .create_user(
                &NewUser {
                    id: "root".into(),
                    role: UserRole::Admin,
                    unit_id: None,
                    display_name: "admin".into(),
                    password_hash: hash,
                },
                &who,
            )
            .await
            .expect("admin");
        Api {
            server,
            client: reqwest::Client::new(),
            db,
        }
    }

    /// Logs in a configured seat or a database user; the bearer token.
    pub async fn token(&self, user: &str) -> String {
        let password = super::AGENTS
            .iter()
            .find(|(id, _, _)| *id == user)
            .map_or(DB_PASSWORD, |(_, p, _)| *p);
        self.server.login(user, password).await
    }

    async fn finish(resp: reqwest::Response) -> Resp {
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body }
    }

    pub async fn get(&self, token: &str, path: &str) -> Resp {
        let resp = self
            .client
            .get(self.server.http_url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        Self::finish(resp).await
    }

    /// GET with an `Accept` header; status, content type and raw body.
    pub async fn get_raw(&self, token: &str, path: &str, accept: &str) -> (u16, String, String) {
        let resp = self
            .client
            .get(self.server.http_url(path))
            .bearer_auth(token)
            .header("accept", accept)
            .send()
            .await
            .expect("GET");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, resp.text().await.expect("body"))
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> Resp {
        let resp = self
            .client
            .post(self.server.http_url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        Self::finish(resp).await
    }

    /// POST of raw bytes as JSON (for malformed bodies).
    pub async fn post_raw(&self, token: &str, path: &str, body: &str) -> Resp {
        let resp = self
            .client
            .post(self.server.http_url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST");
        Self::finish(resp).await
    }

    pub async fn put(&self, token: &str, path: &str, body: &Value) -> Resp {
        let resp = self
            .client
            .put(self.server.http_url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("PUT");
        Self::finish(resp).await
    }

    /// Opens an order as agent 1001; its number.
    pub async fn open(&self, agent: &str, details: &Value) -> String {
        let r = self.post(agent, "/api/tickets", details).await;
        assert_eq!(r.status, 201, "{r:?}");
        r.body["order"]["number"]
            .as_str()
            .expect("number")
            .to_owned()
    }

    /// `POST /api/tickets/{number}/{action}`.
    pub async fn step(&self, token: &str, number: &str, action: &str, body: Value) -> Resp {
        self.post(token, &format!("/api/tickets/{number}/{action}"), &body)
            .await
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Creates units `(id, name)` in district `maonan`, each with a unit user
/// `u-<id>` whose password is [`DB_PASSWORD`].
pub async fn seed_units(store: &hotline_ticketing::store::Store, units: &[(String, String)]) {
    let who = AuditEntry::system(0);
    let hash = hotline::http::auth::passwords::hash(DB_PASSWORD).expect("hash");
    for (unit, name) in units {
        store
            .upsert_unit(
                &Unit {
                    id: unit.clone(),
                    name: name.clone(),
                    district: Some("maonan".into()),
                },
                &who,
            )
            .await
            .expect("unit");
        store
            .create_user(
                &NewUser {
                    id: format!("u-{unit}"),
                    role: UserRole::Unit,
                    unit_id: Some(unit.clone()),
                    display_name: name.clone(),
                    password_hash: hash.clone(),
                },
                &who,
            )
            .await
            .expect("unit user");
    }
}

/// Order details of `category`; complaints and reports are about `about`.
pub fn details(category: &str, about: Option<&str>) -> Value {
    let mut d = serde_json::json!({
        "channel": "phone",
        "caller": {
            "name": "李秀英",
            "number": "13800138000",
            "contact_preference": "phone",
            "contact": "li.xiuying@example.cn"
        },
        "address": {"text": "茂南区油城五路12号", "district": "maonan"},
        "category": category,
        "topic": "urban.housing",
        "description": "楼道灯坏了三个星期",
        "urgency": "normal"
    });
    if let Some(unit) = about {
        d["complained_about"] = serde_json::json!({"unit": unit});
    }
    d
}
