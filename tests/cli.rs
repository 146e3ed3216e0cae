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
