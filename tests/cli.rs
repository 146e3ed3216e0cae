//! The `hotline` binary as a user runs it: config commands and `serve` with a
//! graceful stop on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hotline");

#[test]
fn config_default_prints_the_built_in_file_and_it_checks_clean() {
    let out = Command::new(BIN)
        .args(["config", "default"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(text, hotline_config::DEFAULT_TOML);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("default.toml");
    std::fs::write(&path, &text).expect("write");
    let check = Command::new(BIN)
        .args(["config", "check"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn config_check_lists_every_error_with_its_key_path_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[sip]
rtp_ports = "30000-20000"

[hotline]
trusted_trunks = ["10.0.0.0/33"]

[[agents]]
id = "1001"
name = "A"
password = ""
role = "agent"

[[agents]]
id = "1001"
name = "B"
password = "long-enough-pass"
role = "agent"

[[queues]]
name = "general"
strategy = "longest_idle"
overflow_queue = "nowhere"
"#,
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for path in [
        "sip.rtp_ports",
        "hotline.trusted_trunks[0]",
        "agents[0].password",
        "agents[1].id",
        "queues[0].overflow_queue",
    ] {
        assert!(err.contains(path), "missing {path} in:\n{err}");
    }
}

#[test]
fn config_check_reports_unknown_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "[sip]\nlisten_addr = \"127.0.0.1:5060\"\n").expect("write");
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_addr"));
}

#[test]
fn serve_on_the_default_config_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--log-format")
        .arg("json")
        .env("HOTLINE_SIP_LISTEN", "127.0.0.1:0")
        .env("HOTLINE_HTTP_LISTEN", "127.0.0.1:0")
        .env("HOTLINE_DATA_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The JSON "hotline serving" line tells where HTTP ended up.
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut http = None;
    for line in lines.by_ref().take(50) {
        let line = line.expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
        if v["message"] == "hotline serving" {
            http = v["http"].as_str().map(str::to_owned);
            break;
        }
    }
    let http = http.expect("serving line with the HTTP address");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let status = rt.block_on(async {
        reqwest::get(format!("http://{http}/health"))
            .await
            .expect("health")
            .status()
    });
    assert_eq!(status, 200);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let mut waited = 0;
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(waited < 100, "server did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    };
    assert!(code.success(), "graceful stop exits 0: {code:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

/// Runs `hotline user …` with `stdin` and `HOTLINE_DATA_DIR=dir`.
fn user_cmd(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("user")
        .args(args)
        .env("HOTLINE_DATA_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

#[test]
fn user_add_bootstraps_an_admin_who_can_log_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = user_cmd(
        dir.path(),
        &["add", "--role", "admin", "root"],
        "a-long-admin-password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("root"));
    // Refused: the same name again, a short password, a unit user without a unit.
    let again = user_cmd(
        dir.path(),
        &["add", "--role", "admin", "root"],
        "a-long-admin-password\n",
    );
    assert!(!again.status.success());
    let short = user_cmd(dir.path(), &["add", "--role", "admin", "other"], "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10"));
    let no_unit = user_cmd(
        dir.path(),
        &["add", "--role", "unit", "u1"],
        "a-long-unit-password\n",
    );
    assert!(!no_unit.status.success());
    let unit = user_cmd(
        dir.path(),
        &["add", "--role", "unit", "--unit", "housing", "u1"],
        "a-long-unit-password\n",
    );
    assert!(
        unit.status.success(),
        "{}",
        String::from_utf8_lossy(&unit.stderr)
    );

    // `user hash` prints a PHC string the config accepts.
    let hash = user_cmd(dir.path(), &["hash"], "a-long-web-password\n");
    let phc = String::from_utf8(hash.stdout).expect("utf8");
    assert!(
        hotline_config::auth::check_password_hash(phc.trim()).is_ok(),
        "{phc}"
    );

    // The server on that data directory lets the admin and the unit user in.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let data = dir.path().to_path_buf();
        let server = common::TestServer::start_with(move |c| c.storage.data_dir = data).await;
        let token = server.login("root", "a-long-admin-password").await;
        let resp = reqwest::Client::new()
            .get(server.http_url("/api/users"))
            .bearer_auth(token)
            .send()
            .await
            .expect("users");
        assert_eq!(resp.status(), 200);
        let users: serde_json::Value = resp.json().await.expect("json");
        let ids: Vec<&str> = users
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|u| u["id"].as_str())
            .collect();
        assert_eq!(ids, ["root", "u1"]);
        assert_eq!(users[1]["unit"], "housing");
        server.login("u1", "a-long-unit-password").await;
        server.stop().await;
    });
}
