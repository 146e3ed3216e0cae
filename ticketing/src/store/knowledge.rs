//! Knowledge articles and gap reports (§24–§25) in the database, with
//! full-text search that works for Chinese.
//!
//! Chinese is written without spaces, so word tokenisers find nothing to
//! split on; both engines index character trigrams instead: SQLite's FTS5
//! `trigram` tokenizer, PostgreSQL's `pg_trgm` GIN index under `ILIKE`. A
//! query term of three characters or more (`社保卡`) uses the index and
//! finds every article containing it (`办理社保卡补办`); shorter terms (`社保`)
//! are matched with `LIKE`, without the index, which the trigram tokenizer
//! cannot serve. Several space-separated terms must all occur.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::audit::{self, AuditEntry};
use super::tickets::ms;
use super::{to_i64, Backend, Error, Result, Store};
use crate::actor::UnitId;
use crate::knowledge::{Article, ArticleStatus, GapReport};

fn status_str(s: ArticleStatus) -> &'static str {
    match s {
        ArticleStatus::Pending => "pending",
        ArticleStatus::Published => "published",
        ArticleStatus::Withdrawn => "withdrawn",
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &'static str, data: &str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| Error::Corrupt {
        what,
        detail: e.to_string(),
    })
}

fn json<T: serde::Serialize>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt {
        what,
        detail: e.to_string(),
    })
}

fn article_of(r: &AnyRow) -> Result<(Article, i64)> {
    let data: String = r.try_get("data")?;
    let version: i64 = r.try_get("version")?;
    Ok((parse("article", &data)?, version))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The newest `$limit` matching articles: the page is chosen on the narrow
/// columns, and only its rows' documents are read (a common term matches
/// thousands of articles).
/// `index` forces the inner scan's index (SQLite's `INDEXED BY`), or is empty.
fn newest(conds: &[String], status: &str, limit: usize, index: &str) -> String {
    format!(
        "SELECT a.data, a.version FROM kb_articles a WHERE a.id IN \
         (SELECT a.id FROM kb_articles a {index} WHERE {}{status} \
          ORDER BY a.updated_at_ms DESC LIMIT ${limit}) \
         ORDER BY a.updated_at_ms DESC",
        conds.join(" AND ")
    )
}

/// Matches of the rarest two-character term from which a SQLite search walks
/// the articles newest first instead of listing the matches: at 1,000
/// matches in 10,000 articles, the page of 20 is found after about 200.
const WALK_FROM_MATCHES: i64 = 1_000;

/// An FTS5 phrase for one term (quotes doubled).
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

impl Store {
    /// Registers an article: `build` gets the new id and returns the domain
    /// article (`Article::register`), stored in the same transaction.
    ///
    /// # Errors
    /// `build`'s error as [`Error::Domain`], database errors.
    pub async fn create_article(
        &self,
        who: &AuditEntry,
        build: impl FnOnce(u64) -> crate::Result<Article>,
    ) -> Result<Article> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO kb_articles (version, unit_id, title, body, status, topic, effective_on, \
             upload_due_ms, published_at_ms, created_at_ms, updated_at_ms, data) \
             VALUES (0, '', '', '', 'pending', NULL, '', 0, NULL, $1, $1, '{}') RETURNING id",
        )
        .bind(who.at_ms)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let article = build(u64::try_from(id).unwrap_or_default())?;
        write_article(&mut tx, &article, 1).await?;
        let detail = serde_json::json!({ "unit": article.unit, "title": article.title });
        audit::record(
            &mut tx,
            who,
            "article.create",
            "article",
            &id.to_string(),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(article)
    }

    /// One article and its version.
    ///
    /// # Errors
    /// Database errors.
    pub async fn article(&self, id: u64) -> Result<Option<(Article, i64)>> {
        let row = sqlx::query("SELECT data, version FROM kb_articles WHERE id = $1")
            .bind(to_i64(id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(article_of).transpose()
    }

    /// Changes an article with `change` (publish, withdraw), guarded by its
    /// version like an order.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Conflict`], `change`'s error as
    /// [`Error::Domain`], database errors.
    pub async fn update_article(
        &self,
        id: u64,
        who: &AuditEntry,
        action: &str,
        change: impl FnOnce(&mut Article) -> crate::Result<()>,
    ) -> Result<Article> {
        let (mut article, version) = self
            .article(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("article {id}")))?;
        change(&mut article)?;
        let mut tx = self.pool.begin().await?;
        let updated =
            sqlx::query("UPDATE kb_articles SET version = $1 WHERE id = $2 AND version = $3")
                .bind(version + 1)
                .bind(to_i64(id))
                .bind(version)
                .execute(&mut *tx)
                .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::Conflict(format!("article {id}")));
        }
        write_article(&mut tx, &article, version + 1).await?;
        let detail =
            serde_json::json!({ "status": status_str(article.status), "version": version + 1 });
        audit::record(&mut tx, who, action, "article", &id.to_string(), &detail).await?;
        tx.commit().await?;
        Ok(article)
    }

    /// Articles of one unit (or all), by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn articles(
        &self,
        unit: Option<&UnitId>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<Article>> {
        let rows = match unit {
            Some(u) => {
                sqlx::query("SELECT data, version FROM kb_articles WHERE unit_id = $1 ORDER BY id LIMIT $2 OFFSET $3")
                    .bind(&u.0)
                    .bind(i64::from(limit))
                    .bind(to_i64(offset))
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT data, version FROM kb_articles ORDER BY id LIMIT $1 OFFSET $2")
                    .bind(i64::from(limit))
                    .bind(to_i64(offset))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(|r| article_of(r).map(|(a, _)| a)).collect()
    }

    /// Articles pending past `now`'s upload deadline, and every pending one
    /// (the sweep needs them).
    ///
    /// # Errors
    /// Database errors.
    pub async fn pending_articles(&self) -> Result<Vec<Article>> {
        let rows = sqlx::query("SELECT data, version FROM kb_articles WHERE status = 'pending'")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| article_of(r).map(|(a, _)| a)).collect()
    }

    /// Full-text search over title and body; `published_only` hides pending
    /// and withdrawn articles (what agents see). Best matches first on
    /// SQLite (FTS5 rank), newest first on PostgreSQL. Terms of three or more
    /// characters use the trigram index on both engines, two-character terms
    /// the character-pair index (`kb_pairs` on SQLite, an expression index
    /// on PostgreSQL), one-character terms a scan.
    ///
    /// # Errors
    /// Database errors.
    pub async fn search_articles(
        &self,
        query: &str,
        published_only: bool,
        limit: u32,
    ) -> Result<Vec<Article>> {
        let terms: Vec<&str> = query.split_whitespace().collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let status = if published_only {
            " AND a.status = 'published'"
        } else {
            ""
        };
        let (long, short): (Vec<&str>, Vec<&str>) =
            terms.iter().partition(|t| t.chars().count() >= 3);
        let mut binds: Vec<String> = Vec::new();
        // LIKE conditions for the terms the trigram index cannot serve.
        let like = |binds: &mut Vec<String>, t: &str, sqlite: bool| {
            binds.push(format!("%{}%", like_escape(t)));
            let p = binds.len();
            if sqlite {
                format!("(a.title LIKE ${p} ESCAPE '\\' OR a.body LIKE ${p} ESCAPE '\\')")
            } else {
                format!("(a.title || ' ' || a.body) ILIKE ${p} ESCAPE '\\'")
            }
        };
        let sql = match self.backend {
            Backend::Sqlite if !long.is_empty() => {
                binds.push(
                    long.iter()
                        .map(|t| fts_phrase(t))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                );
                let extra: String = short
                    .iter()
                    .map(|t| format!(" AND {}", like(&mut binds, t, true)))
                    .collect();
                format!(
                    "SELECT a.data, a.version FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid \
                     WHERE kb_fts MATCH $1{extra}{status} ORDER BY kb_fts.rank LIMIT ${}",
                    binds.len() + 1
                )
            }
            Backend::Sqlite => {
                // A two-character term is one pair of `kb_pairs`, which is
                // exact: pairs never span white space and title and body
                // are joined with a space, so the pair is there exactly when
                // the term is in the title or the body (ASCII case folded,
                // as LIKE does). Other terms are matched with LIKE.
                let pairs: Vec<String> = terms
                    .iter()
                    .filter(|t| t.chars().count() == 2)
                    .map(|t| t.chars().map(|c| c.to_ascii_lowercase()).collect())
                    .collect();
                // Common pairs (医保 in a third of the articles) are cheaper
                // to check while walking the articles newest first, which
                // stops at the page; rare ones to list and sort.
                let walk = self.rarest_pair_count(&pairs).await? >= WALK_FROM_MATCHES;
                let member = if walk { "+a.id" } else { "a.id" };
                let mut pairs = pairs.into_iter();
                let conds: Vec<String> = terms
                    .iter()
                    .map(|t| {
                        if t.chars().count() == 2 {
                            binds.push(pairs.next().unwrap_or_default());
                            format!(
                                "{member} IN (SELECT article_id FROM kb_pairs WHERE pair = ${})",
                                binds.len()
                            )
                        } else {
                            like(&mut binds, t, true)
                        }
                    })
                    .collect();
                let index = if walk {
                    "INDEXED BY kb_articles_updated"
                } else {
                    ""
                };
                newest(&conds, status, binds.len() + 1, index)
            }
            Backend::Postgres => {
                // A two-character term is answered by the stored character
                // pairs and their GIN index (`kb_articles.pairs`, migration
                // 20261125000010), exactly as on SQLite; longer terms by
                // ILIKE on the trigram index.
                let conds: Vec<String> = terms
                    .iter()
                    .map(|t| {
                        if t.chars().count() == 2 {
                            binds.push((*t).to_owned());
                            format!("a.pairs @> kb_bigrams(${})", binds.len())
                        } else {
                            like(&mut binds, t, false)
                        }
                    })
                    .collect();
                newest(&conds, status, binds.len() + 1, "")
            }
        };
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(|r| article_of(r).map(|(a, _)| a)).collect()
    }

    /// How many articles contain the rarest of `pairs` (SQLite's pair
    /// index); 0 when there are none.
    async fn rarest_pair_count(&self, pairs: &[String]) -> Result<i64> {
        let mut rarest: Option<i64> = None;
        for p in pairs {
            let n: i64 = sqlx::query("SELECT count(*) AS n FROM kb_pairs WHERE pair = $1")
                .bind(p.as_str())
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
            rarest = Some(rarest.map_or(n, |r| r.min(n)));
        }
        Ok(rarest.unwrap_or(0))
    }

    /// Rebuilds the two-character search index of every article (SQLite;
    /// PostgreSQL keeps its own up to date). For articles written to the
    /// database by other means than this store, such as a bulk import.
    ///
    /// # Errors
    /// Database errors.
    pub async fn reindex_articles(&self) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM kb_pairs")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO kb_pairs (pair, article_id) \
             WITH RECURSIVE pos (id, t, i) AS ( \
                 SELECT id, lower(title || ' ' || body), 1 FROM kb_articles \
                 UNION ALL SELECT id, t, i + 1 FROM pos WHERE i < length(t) - 1) \
             SELECT substr(t, i, 2), id FROM pos \
             WHERE substr(t, i, 2) NOT GLOB '*[' || char(9, 10, 13, 32) || ']*'",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a gap report; `build` gets the new id.
    ///
    /// # Errors
    /// `build`'s error as [`Error::Domain`], database errors.
    pub async fn create_gap(
        &self,
        who: &AuditEntry,
        build: impl FnOnce(u64) -> crate::Result<GapReport>,
    ) -> Result<GapReport> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO kb_gaps (unit_id, article_id, kind, reported_by, reported_at_ms, fix_due_ms, data) \
             VALUES ('', NULL, '', '', $1, 0, '{}') RETURNING id",
        )
        .bind(who.at_ms)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let gap = build(u64::try_from(id).unwrap_or_default())?;
        write_gap(&mut tx, &gap).await?;
        let detail = serde_json::json!({ "unit": gap.unit, "article_id": gap.article_id });
        audit::record(&mut tx, who, "gap.create", "gap", &id.to_string(), &detail).await?;
        tx.commit().await?;
        Ok(gap)
    }

    /// Marks a gap fixed at `now`.
    ///
    /// # Errors
    /// [`Error::NotFound`], database errors.
    pub async fn fix_gap(
        &self,
        id: u64,
        now: OffsetDateTime,
        who: &AuditEntry,
    ) -> Result<GapReport> {
        let mut gap = self
            .gap(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("gap report {id}")))?;
        gap.mark_fixed(now);
        let mut tx = self.pool.begin().await?;
        write_gap(&mut tx, &gap).await?;
        audit::record(
            &mut tx,
            who,
            "gap.fix",
            "gap",
            &id.to_string(),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(gap)
    }

    /// One gap report.
    ///
    /// # Errors
    /// Database errors.
    pub async fn gap(&self, id: u64) -> Result<Option<GapReport>> {
        let row = sqlx::query("SELECT data FROM kb_gaps WHERE id = $1")
            .bind(to_i64(id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| parse("gap report", &r.try_get::<String, _>("data")?))
            .transpose()
    }

    /// Gap reports, unfixed first when `open_only`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn gaps(&self, open_only: bool) -> Result<Vec<GapReport>> {
        let sql = if open_only {
            "SELECT data FROM kb_gaps WHERE fixed_at_ms IS NULL ORDER BY fix_due_ms"
        } else {
            "SELECT data FROM kb_gaps ORDER BY id"
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| parse("gap report", &r.try_get::<String, _>("data")?))
            .collect()
    }
}

async fn write_article(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    a: &Article,
    version: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE kb_articles SET version = $1, unit_id = $2, title = $3, body = $4, status = $5, \
         topic = $6, effective_on = $7, upload_due_ms = $8, published_at_ms = $9, updated_at_ms = $10, \
         data = $11 WHERE id = $12",
    )
    .bind(version)
    .bind(&a.unit.0)
    .bind(&a.title)
    .bind(&a.body)
    .bind(status_str(a.status))
    .bind(a.topic.as_ref().map(|t| t.0.clone()))
    .bind(a.effective_on.to_string())
    .bind(ms(a.upload_due))
    .bind(a.published_at.map(ms))
    .bind(ms(a.updated_at))
    .bind(json("article", a)?)
    .bind(to_i64(a.id))
    .execute(&mut **tx)
    .await?;
    if tx.backend_name().eq_ignore_ascii_case("sqlite") {
        write_pairs(tx, a).await?;
    }
    Ok(())
}

/// The distinct character pairs of a text as the two-character search looks
/// them up: ASCII letters lower-cased (as SQLite's `lower`), pairs with
/// white space left out (search terms never contain any).
pub(super) fn char_pairs(text: &str) -> std::collections::BTreeSet<String> {
    let chars: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    chars
        .windows(2)
        .filter(|w| !w[0].is_whitespace() && !w[1].is_whitespace())
        .map(|w| w.iter().collect())
        .collect()
}

/// Replaces an article's rows in `kb_pairs` (SQLite's two-character index;
/// PostgreSQL computes its own with an expression index).
async fn write_pairs(tx: &mut sqlx::Transaction<'static, sqlx::Any>, a: &Article) -> Result<()> {
    let id = to_i64(a.id);
    sqlx::query("DELETE FROM kb_pairs WHERE article_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let pairs: Vec<String> = char_pairs(&format!("{} {}", a.title, a.body))
        .into_iter()
        .collect();
    // Several hundred rows per article: a few multi-row statements.
    for chunk in pairs.chunks(400) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "INSERT OR IGNORE INTO kb_pairs (pair, article_id) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for pair in chunk {
            q = q.bind(pair.as_str()).bind(id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn write_gap(tx: &mut sqlx::Transaction<'static, sqlx::Any>, g: &GapReport) -> Result<()> {
    let kind = serde_json::to_value(g.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    sqlx::query(
        "UPDATE kb_gaps SET unit_id = $1, article_id = $2, kind = $3, reported_by = $4, \
         reported_at_ms = $5, fix_due_ms = $6, fixed_at_ms = $7, data = $8 WHERE id = $9",
    )
    .bind(&g.unit.0)
    .bind(g.article_id.map(to_i64))
    .bind(kind)
    .bind(&g.reported_by.0)
    .bind(ms(g.reported_at))
    .bind(ms(g.fix_due))
    .bind(g.fixed_at.map(ms))
    .bind(json("gap report", g)?)
    .bind(to_i64(g.id))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
