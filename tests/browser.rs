//! The web pages in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (chromedriver) against a whole server in this process on the
//! built-in default configuration (menus, queues, demo seats).
//!
//! One shift in miniature: an earlier order of the caller is on file; agent
//! 1001 logs in on `/agent` and goes ready; a citizen calls 12345, presses 1
//! and the agent's registered phone (a test UA) rings; the page shows the
//! screen pop with the caller's number and the earlier order before the agent
//! answers; the agent answers on the phone, fills in the new-order form and
//! saves it (checked through the API: the call's draft became a dispatched
//! order linked to the call); the supervisor's wallboard shows the agent on
//! the call and the queue's counts; after the hang-up the call's recording is
//! listed and plays in the page. Screenshots of both pages go to
//! `docs/screenshots/` (shown in the README).
//!
//! The live state comes over the WebSocket `/api/events` when the server has
//! it (the page must say "live"), otherwise from polling the REST API.
//!
//! Without `chromium` and `chromedriver` the test prints SKIPPED (fails in
//! CI). RTP ports 28500–28999 belong to this file. Waits have guards of tens
//! of seconds; nothing measures speed.

#[path = "common/call.rs"]
mod call_setup;
#[path = "common/centre.rs"]
mod centre;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use call_setup::{local, rtp_socket, CALLER, TRUNK_IP};
use centre::{Caller, WAIT};
use common::api::{details, seed_units};
use common::{require_tool, TestServer};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use ua::{sdp, SdpAudio, SipUa};

/// A chromedriver child process, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

async fn start_driver(chromedriver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver never listened on port {port}");
}

/// A headless Chromium window of 1366×768 (the workstation's size).
async fn browser(driver: &Driver, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1366,768", "--lang=zh-CN"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// Polls `script` (JavaScript returning a value) until it is truthy; the
/// value. Panics with `what` and the last value after the guard.
async fn wait_js(client: &Client, what: &str, script: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = client.execute(script, vec![]).await.expect("script runs");
        let truthy = match &last {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body: Value = client
        .execute("return document.body.innerText", vec![])
        .await
        .unwrap_or(Value::Null);
    panic!("{what}: never true (last {last}); the page said:\n{body}");
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("typing");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

async fn log_in(client: &Client, server: &TestServer, page: &str, user: &str) {
    client
        .goto(&server.http_url(page))
        .await
        .expect("page loads");
    wait_js(
        client,
        "the log-in form",
        "return !document.getElementById('login').hidden",
    )
    .await;
    type_into(client, "#login-user", user).await;
    type_into(client, "#login-password", &format!("demo-{user}-change-me")).await;
    click(client, "#login-submit").await;
    wait_js(
        client,
        "the page after log-in",
        "return !document.getElementById('app').hidden",
    )
    .await;
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    std::fs::write(dir.join(name), png).expect("screenshot written");
}

async fn http(server: &TestServer, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let req = match body {
        Some(b) => client.post(server.http_url(path)).json(&b),
        None => client.get(server.http_url(path)),
    };
    let resp = req.bearer_auth(token).send().await.expect("HTTP");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Whether the server has the live-events WebSocket (an upgrade-less GET of
/// it is refused, but not with "no such endpoint").
async fn has_events(server: &TestServer) -> bool {
    let resp = reqwest::get(server.http_url("/api/events"))
        .await
        .expect("HTTP");
    resp.status() != 404
}

#[tokio::test]
async fn an_agent_takes_a_call_with_a_screen_pop_and_the_supervisor_watches() {
    let Some(chromium) = require_tool("chromium", "chromium") else {
        return;
    };
    let Some(chromedriver) = require_tool("chromedriver", "chromium-driver") else {
        return;
    };
    let (server, _block) = centre::server_in(28_500, 29_000, |c| {
        // The test's citizen sends no audio while the browser works.
        c.sip.media_timeout_s = 600;
    })
    .await;
    let running = server.server.as_ref().expect("running");
    let units: Vec<(String, String)> = [
        ("housing", "市住房和城乡建设局"),
        ("water", "市水务集团"),
        ("maonan_gov", "茂南区人民政府"),
    ]
    .iter()
    .map(|(id, name)| (id.to_string(), name.to_string()))
    .collect();
    seed_units(&running.tickets, &units).await;

    // The caller's earlier order, dispatched to the housing bureau.
    let agent_token = server.login("1001", "demo-1001-change-me").await;
    let (status, earlier) = http(
        &server,
        &agent_token,
        "/api/tickets",
        Some(details("help", None)),
    )
    .await;
    assert_eq!(status, 201, "{earlier}");
    let earlier = earlier["order"]["number"]
        .as_str()
        .expect("number")
        .to_owned();
    let (status, body) = http(
        &server,
        &agent_token,
        &format!("/api/tickets/{earlier}/dispatch"),
        Some(json!({"lead": "housing"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A published knowledge article for the search beside the form.
    let sup_token = server.login("9001", "demo-9001-change-me").await;
    let (status, article) = http(
        &server,
        &sup_token,
        "/api/knowledge",
        Some(json!({
            "unit": "housing",
            "title": "社保卡遗失如何补办",
            "body": "携带身份证到任一社保服务网点或通过市政务服务APP申请补办，工本费全免，约七个工作日可领取新卡。",
            "effective_on": "2026-01-01",
        })),
    )
    .await;
    assert_eq!(status, 201, "{article}");
    let article_id = article["id"].as_u64().expect("article id");
    let live_events = has_events(&server).await;

    let driver = start_driver(&chromedriver).await;
    let agent_page = browser(&driver, &chromium).await;
    let sup_page = browser(&driver, &chromium).await;

    // The agent's phone registers; the agent logs in and goes ready.
    let mut phone = SipUa::bind("1001", TRUNK_IP, server.sip).await;
    phone.register("1001", "demo-1001-change-me").await;
    log_in(&agent_page, &server, "/agent", "1001").await;
    let mode = if live_events { "live" } else { "polling" };
    wait_js(
        &agent_page,
        "the agent page's live mode",
        &format!("return document.getElementById('mode').dataset.mode === '{mode}'"),
    )
    .await;
    wait_js(
        &agent_page,
        "the phone shown registered",
        "return document.getElementById('my-phone').textContent.includes('已注册')",
    )
    .await;
    click(&agent_page, "#btn-ready").await;
    wait_js(
        &agent_page,
        "the agent ready",
        "return document.getElementById('my-state').dataset.state === 'ready'",
    )
    .await;
    let (_, agents) = http(&server, &sup_token, "/api/agents", None).await;
    let me = agents
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == "1001"))
        .expect("1001 listed");
    assert_eq!(me["state"], "ready", "{me}");

    // A citizen calls 12345 and chooses Mandarin: the agent's phone rings.
    let mut citizen = Caller::dial(&server, "12345").await;
    citizen.key('1').await;
    let inv = phone
        .wait_for("INVITE", WAIT, |m| m.method() == Some("INVITE"))
        .await;
    let tag = phone.fresh("ag");
    let contact = format!("Contact: <{}>\r\n", phone.contact("1001"));
    phone
        .send(&inv.response(180, "Ringing", &tag, &contact, ""))
        .await;

    // The screen pop, before the agent answers: the caller, the menu path,
    // the earlier order.
    wait_js(
        &agent_page,
        "the screen pop ringing",
        "return document.querySelector('.callstate.cs-ringing') !== null",
    )
    .await;
    wait_js(
        &agent_page,
        "the earlier order in the screen pop",
        &format!(
            "return document.querySelector('#pop-orders li[data-order=\"{earlier}\"]') !== null"
        ),
    )
    .await;
    assert_eq!(text_of(&agent_page, "#pop-caller").await, CALLER);
    let pop = text_of(&agent_page, "#pop-body").await;
    assert!(pop.contains("12345"), "the DID: {pop}");
    assert!(pop.contains("普通话"), "the language: {pop}");
    assert!(
        pop.contains("市住房和城乡建设局"),
        "the earlier order's unit: {pop}"
    );
    assert!(pop.contains("已派单"), "the earlier order's state: {pop}");
    let form_number: Value = agent_page
        .execute("return document.getElementById('f-number').value", vec![])
        .await
        .expect("script");
    assert_eq!(form_number, CALLER, "the form is pre-filled");

    // The agent answers on the phone.
    let rtp = rtp_socket(TRUNK_IP).await;
    let offer = SdpAudio::parse(inv.body());
    let answer = sdp(local(&rtp), &[(8, "PCMA")], offer.pt_of("TELEPHONE-EVENT"));
    phone
        .send(&inv.response(200, "OK", &tag, &contact, &answer))
        .await;
    phone.request("ACK").await;
    wait_js(
        &agent_page,
        "the call talking",
        "return document.querySelector('.callstate.cs-talking') !== null",
    )
    .await;
    wait_js(
        &agent_page,
        "the call's draft found",
        "return document.getElementById('order-link').textContent.includes('草稿')",
    )
    .await;

    // The supervisor sees the agent on the call and the queue's counts.
    log_in(&sup_page, &server, "/supervisor", "9001").await;
    wait_js(
        &sup_page,
        "the supervisor page's live mode",
        &format!("return document.getElementById('mode').dataset.mode === '{mode}'"),
    )
    .await;
    wait_js(
        &sup_page,
        "1001 on call on the wallboard",
        "return document.querySelector('#seats tr[data-agent=\"1001\"][data-state=\"on_call\"]') !== null",
    )
    .await;
    let seat = text_of(&sup_page, "#seats tr[data-agent=\"1001\"]").await;
    assert!(seat.contains("8000"), "the caller's last 4 digits: {seat}");
    assert!(
        !seat.contains(CALLER),
        "the caller's number is masked: {seat}"
    );
    let offered = wait_js(
        &sup_page,
        "the general queue's calls today",
        "const c = document.querySelector('#queues tr[data-queue=\"general\"] td.offered'); \
         return c && Number(c.textContent) >= 1 ? c.textContent : null",
    )
    .await;
    assert_eq!(offered, "1");
    let calls = text_of(&sup_page, "#calls").await;
    assert!(calls.contains("8000") && !calls.contains(CALLER), "{calls}");
    screenshot(&sup_page, "supervisor.png").await;

    // The agent fills in and saves the new order while talking.
    type_into(&agent_page, "#f-name", "王先生").await;
    type_into(
        &agent_page,
        "#f-description",
        "小区门口路灯不亮已有一周，夜间行人不便。",
    )
    .await;
    type_into(&agent_page, "#f-address", "茂南区油城五路12号").await;
    type_into(&agent_page, "#f-district", "maonan").await;
    agent_page
        .execute(
            "document.getElementById('f-category').value = 'help';\
             document.getElementById('f-topic').value = 'urban.roads';\
             document.getElementById('f-lead').value = 'housing';\
             document.querySelector('input[name=co][value=maonan_gov]').checked = true;",
            vec![],
        )
        .await
        .expect("script");
    type_into(&agent_page, "#kb-q", "社保卡").await;
    click(&agent_page, "#kb-form button[type=submit]").await;
    wait_js(
        &agent_page,
        "the knowledge search's result",
        "return document.querySelector('#kb-results button') !== null",
    )
    .await;
    screenshot(&agent_page, "agent.png").await;
    click(&agent_page, "#btn-save").await;
    let saved = wait_js(
        &agent_page,
        "the order saved",
        "return document.getElementById('order-status').dataset.order || null",
    )
    .await;
    let number = saved.as_str().expect("order number").to_owned();
    let (status, order) = http(
        &server,
        &agent_token,
        &format!("/api/tickets/{number}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{order}");
    let order = &order["order"];
    assert_eq!(order["state"], "dispatched", "{order}");
    assert_eq!(order["details"]["caller"]["number"], CALLER);
    assert_eq!(order["details"]["topic"], "urban.roads");
    assert_eq!(order["details"]["category"], "help");
    assert_eq!(order["assignment"]["lead"], "housing");
    assert_eq!(order["assignment"]["co_handlers"], json!(["maonan_gov"]));
    let call_id = order["details"]["links"]["call_ids"][0]
        .as_str()
        .expect("the order is linked to the call")
        .to_owned();
    let (_, mine) = http(
        &server,
        &agent_token,
        &format!("/api/tickets?caller={CALLER}"),
        None,
    )
    .await;
    let numbers: Vec<&str> = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["order"]["number"].as_str())
        .collect();
    assert_eq!(numbers, [number.as_str(), earlier.as_str()], "newest first");
    let (_, drafts) = http(&server, &agent_token, "/api/drafts", None).await;
    assert_eq!(drafts, json!([]), "the call's draft was completed");

    // The citizen hangs up; the recording is listed on the wallboard and plays.
    citizen.hang_up().await;
    let bye = phone
        .wait_for("BYE", WAIT, |m| m.method() == Some("BYE"))
        .await;
    call_setup::ok_to(&mut phone, &bye).await;
    wait_js(
        &agent_page,
        "the pop showing the call ended",
        "return document.querySelector('.callstate.cs-ended') !== null",
    )
    .await;
    // Wrap-up done (F9) makes the agent ready at once; F4 not ready (break).
    wait_js(
        &agent_page,
        "the agent in wrap-up",
        "return document.getElementById('my-state').dataset.state === 'wrap_up'",
    )
    .await;
    // Keys go to a focused button; the page listens on the document.
    let body = agent_page
        .find(Locator::Css("#btn-logout"))
        .await
        .expect("a button");
    body.send_keys(&Key::F9.to_string()).await.expect("F9");
    wait_js(
        &agent_page,
        "the agent ready after wrap-up",
        "return document.getElementById('my-state').dataset.state === 'ready'",
    )
    .await;
    body.send_keys(&Key::F4.to_string()).await.expect("F4");
    wait_js(
        &agent_page,
        "the agent not ready",
        "return document.getElementById('my-state').dataset.state === 'not_ready'",
    )
    .await;
    let (_, agents) = http(&server, &sup_token, "/api/agents", None).await;
    let me = agents
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == "1001"))
        .expect("1001 listed");
    assert_eq!(
        (&me["state"], &me["reason"]),
        (&json!("not_ready"), &json!("break")),
        "{me}"
    );

    // The wallboard reloads the recordings when a call leaves the live list.
    wait_js(
        &sup_page,
        "the call's recording listed",
        &format!(
            "return document.querySelector('#recordings tr[data-call=\"{call_id}\"]') !== null"
        ),
    )
    .await;
    click(
        &sup_page,
        &format!("#recordings tr[data-call=\"{call_id}\"] button"),
    )
    .await;
    let src = wait_js(
        &sup_page,
        "the recording in the player",
        "const p = document.getElementById('player'); return p.src.includes('/stream?ticket=') && p.duration > 0 ? p.src : null",
    )
    .await;
    // Streamed from a play link for this recording (ranges), not the bearer API.
    assert!(
        src.as_str()
            .is_some_and(|s| s.contains("/api/recordings/") && s.contains("/stream?ticket=")),
        "{src}"
    );
    // Without a call: a blank order answered on the spot with the article in one click.
    click(&agent_page, "#btn-new").await;
    type_into(&agent_page, "#f-number", "13900001111").await;
    type_into(&agent_page, "#f-description", "社保卡丢了怎么补办").await;
    click(&agent_page, "#kb-results button").await;
    let answered = wait_js(
        &agent_page,
        "the order answered on the spot",
        &format!(
            "const n = document.getElementById('order-status').dataset.order; \
             return n && n !== '{number}' ? n : null"
        ),
    )
    .await;
    let answered = answered.as_str().expect("order number");
    let (_, order) = http(
        &server,
        &agent_token,
        &format!("/api/tickets/{answered}"),
        None,
    )
    .await;
    assert_eq!(order["order"]["state"], "answered_on_spot", "{order}");
    assert_eq!(order["order"]["knowledge_articles"], json!([article_id]));
    assert_eq!(order["order"]["details"]["caller"]["number"], "13900001111");

    // Calls per hour counts the call; the announcement goes on and off; F2
    // switches the large-font mode.
    wait_js(
        &sup_page,
        "the call in today's calls per hour",
        "const bars = [...document.querySelectorAll('#chart-hour-today rect.bar')]; \
         return bars.length === 24 && bars.filter((b) => b.textContent.endsWith(': 1')).length === 1",
    )
    .await;
    type_into(&sup_page, "#ann-prompt", "welcome").await;
    click(&sup_page, "#ann-on").await;
    wait_js(
        &sup_page,
        "the announcement on",
        "return document.getElementById('ann-state').dataset.prompt === 'welcome'",
    )
    .await;
    let (_, ann) = http(&server, &sup_token, "/api/announcement", None).await;
    assert_eq!(ann["prompt"], "welcome");
    click(&sup_page, "#ann-off").await;
    wait_js(
        &sup_page,
        "the announcement off",
        "return document.getElementById('ann-state').dataset.prompt === ''",
    )
    .await;
    let (_, ann) = http(&server, &sup_token, "/api/announcement", None).await;
    assert_eq!(ann["prompt"], Value::Null);
    sup_page
        .find(Locator::Css("#btn-logout"))
        .await
        .expect("a button")
        .send_keys(&Key::F2.to_string())
        .await
        .expect("F2");
    wait_js(
        &sup_page,
        "the large-font mode",
        "return document.body.classList.contains('large')",
    )
    .await;
    wait_js(
        &sup_page,
        "the seat back from the call",
        "const r = document.querySelector('#seats tr[data-agent=\"1001\"]'); return r && r.dataset.state !== 'on_call'",
    )
    .await;

    agent_page.close().await.expect("close");
    sup_page.close().await.expect("close");
    drop(driver);
    server.stop().await;
}
