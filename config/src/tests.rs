//! Tests of the whole crate: the example file, parsing, validation, the
//! environment layer and round trips.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::*;

fn parse(text: &str) -> Config {
    match Config::from_toml(text) {
        Ok(config) => config,
        Err(e) => panic!("should parse: {e}\n---\n{text}"),
    }
}

fn parse_err(text: &str) -> String {
    match Config::from_toml(text) {
        Ok(config) => panic!("should not parse, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

fn errors(text: &str) -> Vec<ValidationError> {
    match parse(text).validate() {
        Ok(()) => panic!("should be invalid:\n{text}"),
        Err(errors) => errors,
    }
}

fn assert_valid(text: &str) {
    if let Err(errors) = parse(text).validate() {
        panic!("should be valid, got {}", DisplayErrors(&errors));
    }
}

/// Asserts that an error at exactly `path` mentions `needle`.
#[track_caller]
fn assert_has(errors: &[ValidationError], path: &str, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.path == path && e.message.contains(needle)),
        "expected an error at {path} mentioning {needle:?}, got:\n{}",
        DisplayErrors(errors)
    );
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}

// ---------------------------------------------------------------------------
// The built-in default / example file

#[test]
fn example_parses_validates_and_has_no_warnings() {
    let config = Config::builtin_default();
    if let Err(errors) = config.validate() {
        panic!("built-in default is invalid: {}", DisplayErrors(&errors));
    }
    let warnings = config.warnings();
    assert!(
        warnings.is_empty(),
        "unexpected warnings: {}",
        DisplayErrors(&warnings)
    );
}

#[test]
fn example_is_the_demo_the_contract_describes() {
    let c = Config::builtin_default();
    // Bound to loopback, data under ./data with SQLite.
    assert!(c.sip.listen.ip().is_loopback());
    assert!(c.http.listen.ip().is_loopback());
    assert_eq!(c.sip.listen.port(), 5060);
    assert_eq!(c.http.listen.port(), 8080);
    assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
    assert_eq!(c.storage.database_url(), "sqlite://./data/hotline.db");
    assert!(c.storage.is_sqlite());
    assert_eq!(
        c.storage.recordings_dir(),
        PathBuf::from("./data/recordings")
    );
    // 12345 plus merged departmental lines.
    assert_eq!(c.hotline.numbers[0], Did::new("12345"));
    assert!(c.hotline.numbers.len() >= 3);
    assert!(c.hotline.is_trusted("127.0.0.1".parse().expect("ip")));
    assert!(!c.hotline.is_trusted("192.0.2.1".parse().expect("ip")));
    // Demo seats 1001..1004 and supervisor 9001.
    for id in ["1001", "1002", "1003", "1004"] {
        assert_eq!(c.agent(id).map(|a| a.role), Some(Role::Agent), "{id}");
    }
    assert_eq!(c.agent("9001").map(|a| a.role), Some(Role::Supervisor));
    assert!(c.agents.iter().any(|a| a.has_skill("lang:yue")));
    assert!(c.agents.iter().any(|a| a.has_skill("lang:cmn")));
    assert_eq!(
        c.queue("general").map(|q| q.strategy),
        Some(Strategy::SkillsWeighted)
    );
    assert_eq!(
        c.queue("cantonese").map(|q| q.strategy),
        Some(Strategy::LongestIdle)
    );
    assert_eq!(
        c.emergency.uri_for("119").as_deref(),
        Some("sip:119@127.0.0.1:5070")
    );
    // The demo shows the whole call path: menu, queue, agent, survey.
    assert!(c.survey.enabled);
    assert_eq!(c.hotline.routing, crate::Routing::Ivr);
    assert!(DEFAULT_TOML.contains("DEMO PASSWORDS"));
}

/// Every key of the external contract (DESIGN.md) appears, uncommented, in
/// the example file.
#[test]
fn example_contains_every_contract_key() {
    let doc: toml::Table = toml::from_str(DEFAULT_TOML).expect("example is TOML");
    let table = |name: &str| -> &toml::Table {
        doc.get(name)
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("[{name}] missing"))
    };
    let tables = [
        (
            "sip",
            &[
                "listen",
                "domain",
                "public_addr",
                "rtp_ports",
                "min_expires",
                "max_expires",
                "default_expires",
                "nonce_ttl_s",
                "auth_max_failures",
                "auth_failure_window_s",
                "auth_lockout_s",
                "tcp_max_connections",
                "tcp_idle_timeout_s",
                "max_message_bytes",
                "media_timeout_s",
                "digest_algorithms",
            ][..],
        ),
        ("http", &["listen", "token_ttl_s"][..]),
        ("storage", &["data_dir", "database_url"][..]),
        ("hotline", &["numbers", "trusted_trunks"][..]),
        ("emergency", &["gateway", "numbers"][..]),
        (
            "ivr",
            &[
                "prompts_dir",
                "languages",
                "start",
                "retry_prompt",
                "goodbye_prompt",
                "nodes",
            ][..],
        ),
        (
            "survey",
            &[
                "enabled",
                "calling_hours",
                "prompt",
                "retry_prompt",
                "thanks_prompt",
                "timeout_s",
                "retries",
            ][..],
        ),
    ];
    for (name, keys) in tables {
        let t = table(name);
        for key in keys {
            assert!(t.contains_key(*key), "[{name}] {key} missing");
        }
    }
    let array = |name: &str| -> Vec<&toml::Table> {
        doc.get(name)
            .and_then(toml::Value::as_array)
            .unwrap_or_else(|| panic!("[[{name}]] missing"))
            .iter()
            .filter_map(toml::Value::as_table)
            .collect()
    };
    for agent in array("agents") {
        for key in ["id", "name", "password", "skills", "role"] {
            assert!(agent.contains_key(key), "an agent lacks {key}");
        }
    }
    let queues = array("queues");
    for queue in &queues {
        for key in ["name", "strategy", "skills", "ring_timeout_s", "wrap_up_s"] {
            assert!(queue.contains_key(key), "a queue lacks {key}");
        }
    }
    for key in ["max_wait_s", "overflow_queue", "overflow_after_s"] {
        assert!(
            queues.iter().any(|q| q.contains_key(key)),
            "no queue shows {key}"
        );
    }
    // Both DID forms are shown.
    let numbers = table("hotline")["numbers"].as_array().expect("array");
    assert!(numbers.iter().any(toml::Value::is_str));
    assert!(numbers.iter().any(toml::Value::is_table));
    // Every IVR node key is shown at least once.
    let nodes: Vec<&toml::Table> = table("ivr")["nodes"]
        .as_table()
        .expect("table")
        .values()
        .filter_map(toml::Value::as_table)
        .collect();
    for key in [
        "prompt",
        "language",
        "business_line",
        "next",
        "queue",
        "emergency",
        "callback",
        "hangup",
        "digits",
        "max_digits",
        "first_digit_timeout_s",
        "inter_digit_timeout_s",
        "retries",
        "retry_prompt",
        "default",
        "timeout_next",
    ] {
        assert!(
            nodes.iter().any(|n| n.contains_key(key)),
            "no node shows {key}"
        );
    }
}

/// Catches a key added to a struct but forgotten in the example: every key
/// the defaults serialise to must appear in the example too.
#[test]
fn example_covers_every_struct_key() {
    fn walk(path: &str, defaults: &toml::Table, example: &toml::Table) {
        for (key, value) in defaults {
            let here = format!("{path}{key}");
            let Some(theirs) = example.get(key) else {
                panic!("{here} is missing from hotline.example.toml");
            };
            if let (Some(d), Some(e)) = (value.as_table(), theirs.as_table()) {
                walk(&format!("{here}."), d, e);
            }
        }
    }
    let mut defaults = Config::default();
    defaults.emergency.gateway = Some("sip:{number}@x".into());
    let defaults: toml::Table =
        toml::from_str(&defaults.to_toml().expect("serialises")).expect("re-parses");
    let example: toml::Table = toml::from_str(DEFAULT_TOML).expect("example is TOML");
    walk("", &defaults, &example);
}

#[test]
fn example_round_trips_through_to_toml() {
    let config = Config::builtin_default();
    let text = config.to_toml().expect("serialises");
    assert_eq!(parse(&text), config, "{text}");
}

// ---------------------------------------------------------------------------
// Defaults

#[test]
fn empty_file_is_all_defaults_and_valid() {
    let c = parse("");
    assert_eq!(c, Config::default());
    assert_valid("");
    assert_eq!(
        c.sip.listen,
        "127.0.0.1:5060".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(c.sip.domain, "hotline.local");
    assert_eq!(
        c.sip.public_addr,
        "127.0.0.1".parse::<IpAddr>().expect("ip")
    );
    assert_eq!(
        c.sip.rtp_ports,
        PortRange {
            low: 20000,
            high: 20999
        }
    );
    assert_eq!(
        (c.sip.min_expires, c.sip.max_expires, c.sip.default_expires),
        (60, 3600, 3600)
    );
    assert_eq!(c.sip.nonce_ttl_s, 300);
    assert_eq!(
        (
            c.sip.auth_max_failures,
            c.sip.auth_failure_window_s,
            c.sip.auth_lockout_s
        ),
        (10, 60, 300)
    );
    assert_eq!(
        (c.sip.tcp_max_connections, c.sip.tcp_idle_timeout_s),
        (1024, 300)
    );
    assert_eq!(
        (c.sip.max_message_bytes, c.sip.media_timeout_s),
        (65536, 60)
    );
    assert_eq!(
        c.http.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(c.http.token_ttl_s, 28800);
    assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
    assert_eq!(c.storage.database_url(), "sqlite://./data/hotline.db");
    assert!(c.hotline.numbers.is_empty() && c.hotline.trusted_trunks.is_empty());
    assert!(c.agents.is_empty() && c.queues.is_empty());
    assert_eq!(c.emergency.gateway, None);
    assert_eq!(c.emergency.numbers, ["110", "119", "120", "122"]);
    assert_eq!(c.ivr.prompts_dir, PathBuf::from("prompts"));
    assert_eq!(c.ivr.start, "main");
    assert!(!c.survey.enabled);
    assert_eq!(c.survey.calling_hours.to_string(), "09:00-20:00");
    // An empty file has nothing to warn about either.
    assert!(c.warnings().is_empty());
}

#[test]
fn partial_sections_keep_the_other_defaults() {
    let c = parse(
        r#"
        [sip]
        listen = "0.0.0.0:5080"
        [[agents]]
        id = "1001"
        password = "secret"
        [[queues]]
        name = "general"
        "#,
    );
    assert_eq!(c.sip.listen.port(), 5080);
    assert_eq!(c.sip.domain, "hotline.local");
    assert_eq!(c.agents[0].role, Role::Agent);
    assert_eq!(c.agents[0].display_name(), "1001");
    assert!(c.agents[0].skills.is_empty());
    let q = &c.queues[0];
    assert_eq!(q.strategy, Strategy::LongestIdle);
    assert_eq!((q.ring_timeout_s, q.wrap_up_s), (20, 15));
    assert_eq!(
        (
            q.max_wait_s,
            q.overflow_queue.as_deref(),
            q.overflow_after_s
        ),
        (None, None, None)
    );
    // A short agent password is accepted: only supervisors need 8 characters.
    assert!(c.validate().is_ok());
}

// ---------------------------------------------------------------------------
// Parse errors

#[test]
fn unknown_keys_are_rejected_with_line_and_name() {
    let msg = parse_err("[sip]\nlisten = \"127.0.0.1:5060\"\nlisen = \"x\"\n");
    assert!(msg.contains("unknown field `lisen`"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("`listen`"), "lists the expected keys: {msg}");

    let msg = parse_err("[sipp]\n");
    assert!(msg.contains("unknown field `sipp`"), "{msg}");

    let msg = parse_err("[[agents]]\nid = \"1001\"\npasword = \"x\"\n");
    assert!(msg.contains("unknown field `pasword`"), "{msg}");

    let msg = parse_err("[ivr.nodes.main]\nprompt = \"a.wav\"\nqueeu = \"general\"\n");
    assert!(msg.contains("unknown field `queeu`"), "{msg}");

    // The long DID form keeps serde's precise message.
    let msg = parse_err("[hotline]\nnumbers = [{ number = \"12345\", queu = \"general\" }]\n");
    assert!(msg.contains("unknown field `queu`"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn type_and_syntax_errors_name_the_line() {
    for (text, needle) in [
        ("[sip]\nlisten = \"localhost\"\n", "invalid socket address"),
        (
            "[sip]\npublic_addr = \"0.0.0.0:5060\"\n",
            "invalid IP address",
        ),
        ("[sip]\nrtp_ports = \"20000\"\n", "port range"),
        (
            "[sip]\nrtp_ports = \"20000-70000\"\n",
            "\"70000\" is not a port number",
        ),
        ("[sip]\nmin_expires = -1\n", "invalid value"),
        ("[hotline]\nnumbers = [12345]\n", "a number like"),
        (
            "[[queues]]\nname = \"q\"\nstrategy = \"random\"\n",
            "skills_weighted",
        ),
        ("[[agents]]\nid = \"1\"\nrole = \"admin\"\n", "supervisor"),
        ("[survey]\ncalling_hours = \"9-20\"\n", "time window"),
        ("[survey]\ncalling_hours = \"09:00-24:30\"\n", "time window"),
        ("[http\nlisten = 1\n", "line 1"),
    ] {
        let msg = parse_err(text);
        assert!(msg.contains(needle), "{text:?}: {msg}");
        assert!(msg.contains("line "), "{text:?} without line: {msg}");
    }
}

// ---------------------------------------------------------------------------
// Validation rules, one at a time

#[test]
fn each_rule_reports_its_key_path() {
    let base_queue = "[[queues]]\nname = \"general\"\n";
    let cases: &[(&str, &str, &str)] = &[
        // [sip]
        ("[sip]\ndomain = \"\"\n", "sip.domain", "host name"),
        ("[sip]\ndomain = \"bad domain\"\n", "sip.domain", "host name"),
        ("[sip]\npublic_addr = \"0.0.0.0\"\n", "sip.public_addr", "Contact"),
        ("[sip]\npublic_addr = \"224.0.0.1\"\n", "sip.public_addr", "Contact"),
        ("[sip]\nrtp_ports = \"21000-20000\"\n", "sip.rtp_ports", "below the last"),
        ("[sip]\nrtp_ports = \"20001-20999\"\n", "sip.rtp_ports", "even"),
        ("[sip]\nrtp_ports = \"500-999\"\n", "sip.rtp_ports", "1024-65535"),
        ("[sip]\nlisten = \"127.0.0.1:20010\"\n", "sip.rtp_ports", "SIP port 20010"),
        ("[sip]\nmin_expires = 7200\n", "sip.min_expires", "greater than sip.max_expires"),
        ("[sip]\ndefault_expires = 30\n", "sip.default_expires", "outside"),
        ("[sip]\nmin_expires = 0\n", "sip.min_expires", "greater than 0"),
        ("[sip]\nnonce_ttl_s = 0\n", "sip.nonce_ttl_s", "greater than 0"),
        ("[sip]\nauth_max_failures = 0\n", "sip.auth_max_failures", "greater than 0"),
        ("[sip]\ntcp_max_connections = 0\n", "sip.tcp_max_connections", "greater than 0"),
        ("[sip]\nmedia_timeout_s = 0\n", "sip.media_timeout_s", "greater than 0"),
        ("[sip]\nmax_message_bytes = 100\n", "sip.max_message_bytes", "outside"),
        ("[sip]\ndigest_algorithms = []\n", "sip.digest_algorithms", "at least one"),
        ("[sip]\ndigest_algorithms = [\"MD5\", \"MD5\"]\n", "sip.digest_algorithms[1]", "twice"),
        // [http]
        ("[http]\ntoken_ttl_s = 0\n", "http.token_ttl_s", "greater than 0"),
        ("[http]\nlisten = \"127.0.0.1:5060\"\n", "http.listen", "sip.listen"),
        // [storage]
        ("[storage]\ndata_dir = \"\"\n", "storage.data_dir", "empty"),
        ("[storage]\ndatabase_url = \"mysql://db/hotline\"\n", "storage.database_url", "unknown scheme"),
        ("[storage]\ndatabase_url = \"./hotline.db\"\n", "storage.database_url", "unknown scheme"),
        ("[storage]\ndatabase_url = \"postgres://\"\n", "storage.database_url", "names no database"),
        // [hotline]
        ("[hotline]\nnumbers = [{ number = \"12a45\", queue = \"general\" }]\n", "hotline.numbers[0].number", "digits"),
        ("[hotline]\nnumbers = [{ number = \"\", queue = \"general\" }]\n", "hotline.numbers[0].number", "digits"),
        ("[hotline]\nnumbers = [{ number = \"12345\", queue = \"general\" }, { number = \"12345\", queue = \"general\" }]\n", "hotline.numbers[1].number", "already hotline.numbers[0]"),
        ("[hotline]\nnumbers = [{ number = \"110\", queue = \"general\" }]\n", "hotline.numbers[0].number", "emergency"),
        ("[hotline]\nnumbers = [{ number = \"12345\", queue = \"nope\" }]\n", "hotline.numbers[0].queue", "unknown queue \"nope\""),
        ("[hotline]\nnumbers = [{ number = \"12345\", menu = \"nope\" }]\n", "hotline.numbers[0].menu", "unknown IVR node \"nope\""),
        ("[hotline]\nnumbers = [{ number = \"12345\", menu = \"main\", queue = \"general\" }]\n[ivr.nodes.main]\n", "hotline.numbers[0]", "not both"),
        ("[hotline]\ntrusted_trunks = [\"127.0.0.1\", \"0.0.0.0/0\"]\n", "hotline.trusted_trunks[1]", "trusts every address"),
        ("[hotline]\ntrusted_trunks = [\"::/0\"]\n", "hotline.trusted_trunks[0]", "trusts every address"),
        ("[hotline]\ntrusted_trunks = [\"10.1.2.3/8\"]\n", "hotline.trusted_trunks[0]", "write 10.0.0.0/8 for the network or 10.1.2.3/32"),
        ("[hotline]\ntrusted_trunks = [\"10.0.0.300/8\"]\n", "hotline.trusted_trunks[0]", "\"10.0.0.300\" is not an IP address"),
        ("[hotline]\ntrusted_trunks = [\"127.0.0.1\", \"10.0.0.0/33\"]\n", "hotline.trusted_trunks[1]", "from 0 to 32"),
        ("[hotline]\ntrusted_trunks = [\"2001:db8::/129\"]\n", "hotline.trusted_trunks[0]", "from 0 to 128"),
        ("[hotline]\ntrusted_trunks = [\"sbc.carrier.example\"]\n", "hotline.trusted_trunks[0]", "neither a CIDR"),
        // Positions stay those of the file when an earlier entry is bad.
        ("[hotline]\ntrusted_trunks = [\"bogus\", \"10.1.2.3/8\"]\n", "hotline.trusted_trunks[1]", "host bits"),
        // [[agents]]
        ("[[agents]]\nid = \"\"\npassword = \"x\"\n", "agents[0].id", "must not be empty"),
        ("[[agents]]\nid = \"10 01\"\npassword = \"x\"\n", "agents[0].id", "SIP user name"),
        ("[[agents]]\nid = \"a@b\"\npassword = \"x\"\n", "agents[0].id", "SIP user name"),
        ("[[agents]]\nid = \"1001\"\npassword = \"x\"\n[[agents]]\nid = \"1002\"\npassword = \"x\"\n[[agents]]\nid = \"1001\"\npassword = \"y\"\n", "agents[2].id", "already the id of agents[0]"),
        ("[[agents]]\nid = \"12345\"\npassword = \"x\"\n[hotline]\nnumbers = [{ number = \"12345\", queue = \"general\" }]\n", "agents[0].id", "hotline number"),
        ("[[agents]]\nid = \"120\"\npassword = \"x\"\n", "agents[0].id", "emergency number"),
        ("[[agents]]\nid = \"1001\"\n", "agents[0].password", "must not be empty"),
        ("[[agents]]\nid = \"9001\"\npassword = \"short\"\nrole = \"supervisor\"\n", "agents[0].password", "at least 8"),
        ("[[agents]]\nid = \"1001\"\npassword = \"x\"\nskills = [\"lang:yue\", \"\"]\n", "agents[0].skills[1]", "empty"),
        ("[[agents]]\nid = \"1001\"\npassword = \"x\"\nskills = [\"lang yue\"]\n", "agents[0].skills[0]", "whitespace"),
        // [[queues]]
        ("[[queues]]\nname = \"\"\n", "queues[0].name", "empty"),
        ("[[queues]]\nname = \"general queue\"\n", "queues[0].name", "only letters"),
        ("[[queues]]\nname = \"a\"\n[[queues]]\nname = \"a\"\n", "queues[1].name", "already the name of queues[0]"),
        ("[[queues]]\nname = \"a\"\nring_timeout_s = 0\n", "queues[0].ring_timeout_s", "greater than 0"),
        ("[[queues]]\nname = \"a\"\nmax_wait_s = 0\n", "queues[0].max_wait_s", "greater than 0"),
        ("[[queues]]\nname = \"a\"\noverflow_queue = \"b\"\noverflow_after_s = 30\n", "queues[0].overflow_queue", "unknown queue \"b\""),
        ("[[queues]]\nname = \"a\"\noverflow_queue = \"a\"\noverflow_after_s = 30\n", "queues[0].overflow_queue", "itself"),
        ("[[queues]]\nname = \"a\"\noverflow_queue = \"b\"\n[[queues]]\nname = \"b\"\n", "queues[0].overflow_queue", "needs overflow_after_s"),
        ("[[queues]]\nname = \"a\"\noverflow_after_s = 30\n", "queues[0].overflow_after_s", "without overflow_queue"),
        ("[[queues]]\nname = \"a\"\noverflow_queue = \"b\"\noverflow_after_s = 0\n[[queues]]\nname = \"b\"\n", "queues[0].overflow_after_s", "greater than 0"),
        ("[[queues]]\nname = \"a\"\nmax_wait_s = 60\noverflow_queue = \"b\"\noverflow_after_s = 60\n[[queues]]\nname = \"b\"\n", "queues[0].overflow_after_s", "never overflow"),
        ("[[queues]]\nname = \"a\"\nskills = [\"\"]\n", "queues[0].skills[0]", "empty"),
        // [emergency]
        ("[emergency]\ngateway = \"sip:110@192.0.2.1\"\n", "emergency.gateway", "{number}"),
        ("[emergency]\ngateway = \"http://{number}\"\n", "emergency.gateway", "SIP URI"),
        ("[emergency]\ngateway = \"sip:{number}@{host}\"\n", "emergency.gateway", "only placeholder"),
        ("[emergency]\ngateway = \"\"\n", "emergency.gateway", "empty"),
        ("[emergency]\nnumbers = [\"110\", \"1l9\"]\n", "emergency.numbers[1]", "digits"),
        ("[emergency]\nnumbers = [\"110\", \"110\"]\n", "emergency.numbers[1]", "twice"),
        // [ivr]
        ("[ivr]\nstart = \"nope\"\n[ivr.nodes.main]\nhangup = true\n", "ivr.start", "unknown IVR node \"nope\""),
        ("[ivr.nodes.main]\nnext = \"nope\"\n", "ivr.nodes.main.next", "unknown IVR node \"nope\""),
        ("[ivr.nodes.main]\nqueue = \"nope\"\n", "ivr.nodes.main.queue", "unknown queue \"nope\""),
        ("[ivr.nodes.main]\nnext = \"main\"\nqueue = \"general\"\n", "ivr.nodes.main", "only one of next, queue"),
        ("[ivr.nodes.main]\nprompt = \"hello\"\n", "ivr.nodes.main", "no exit"),
        ("[ivr.nodes.main]\nprompt = \"../../etc/passwd\"\nhangup = true\n", "ivr.nodes.main.prompt[0]", "not a prompt name"),
        ("[ivr.nodes.main]\nprompt = [\"welcome\", \"/etc/passwd\"]\nhangup = true\n", "ivr.nodes.main.prompt[1]", "not a prompt name"),
        ("[ivr.nodes.main]\nprompt = \"\"\nhangup = true\n", "ivr.nodes.main.prompt[0]", "not a prompt name"),
        ("[ivr.nodes.main]\nprompt = \"fr/welcome\"\nhangup = true\n", "ivr.nodes.main.prompt[0]", "not one of ivr.languages"),
        ("[ivr.nodes.main]\nhangup = true\n[ivr.nodes.\"bad name\"]\nhangup = true\n", "ivr.nodes.\"bad name\"", "only letters"),
        ("[ivr.nodes.main]\nlanguage = \"fr\"\nhangup = true\n", "ivr.nodes.main.language", "not one of ivr.languages"),
        ("[ivr.nodes.main]\nbusiness_line = \"a b\"\nhangup = true\n", "ivr.nodes.main.business_line", "only letters"),
        ("[ivr.nodes.main]\nemergency = \"911\"\n", "ivr.nodes.main.emergency", "not one of emergency.numbers"),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"nope\" }\n", "ivr.nodes.main.digits.1", "unknown IVR node \"nope\""),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"main\" }\ndefault = \"nope\"\n", "ivr.nodes.main.default", "unknown IVR node"),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"main\" }\ntimeout_next = \"nope\"\n", "ivr.nodes.main.timeout_next", "unknown IVR node"),
        ("[ivr.nodes.main]\ndigits = { \"12\" = \"main\" }\n", "ivr.nodes.main.digits.12", "max_digits (1)"),
        ("[ivr.nodes.main]\ndigits = { \"#\" = \"main\" }\n", "ivr.nodes.main.digits.\"#\"", "0-9 and *"),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"main\" }\nfirst_digit_timeout_s = 0\n", "ivr.nodes.main.first_digit_timeout_s", "outside 1..=60"),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"main\" }\ninter_digit_timeout_s = 99\n", "ivr.nodes.main.inter_digit_timeout_s", "outside 1..=30"),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"main\" }\nmax_digits = 0\n", "ivr.nodes.main.max_digits", "outside 1..=32"),
        ("[ivr.nodes.main]\ndigits = { \"1\" = \"main\" }\nretries = 9\n", "ivr.nodes.main.retries", "more than 5"),
        ("[ivr.nodes.main]\nhangup = true\nretries = 1\n", "ivr.nodes.main.retries", "without digits"),
        ("[ivr.nodes.main]\nhangup = true\n[ivr.nodes.orphan]\nhangup = true\n", "ivr.nodes.orphan", "unreachable"),
        ("[ivr.nodes.main]\nnext = \"b\"\n[ivr.nodes.b]\nnext = \"c\"\n[ivr.nodes.c]\nnext = \"b\"\n", "ivr.nodes.b.next", "loops without waiting for a digit: b -> c -> b"),
        ("[ivr.nodes.main]\nnext = \"main\"\n", "ivr.nodes.main.next", "main -> main"),
        ("[ivr]\nlanguages = []\n", "ivr.languages", "at least one"),
        ("[ivr]\nlanguages = [\"cmn\", \"cmn\"]\n", "ivr.languages[1]", "twice"),
        ("[ivr]\nretry_prompt = \"a b\"\n", "ivr.retry_prompt", "not a prompt name"),
        // [survey]
        ("[survey]\ncalling_hours = \"20:00-09:00\"\n", "survey.calling_hours", "start before it ends"),
        ("[survey]\ntimeout_s = 0\n", "survey.timeout_s", "outside"),
        ("[survey]\nretries = 6\n", "survey.retries", "more than 5"),
        ("[survey]\nprompt = \"x/y/z\"\n", "survey.prompt", "not a prompt name"),
    ];
    for (snippet, path, needle) in cases {
        // A queue named "general" exists unless the snippet defines queues.
        let text = if snippet.contains("[[queues]]") {
            (*snippet).to_owned()
        } else {
            format!("{base_queue}{snippet}")
        };
        assert_has(&errors(&text), path, needle);
    }
}

#[test]
fn valid_corner_cases_pass() {
    for text in [
        // Port 0 (ephemeral) is for tests and is not checked against RTP/HTTP.
        "[sip]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
        "[sip]\nlisten = \"[::1]:5060\"\npublic_addr = \"::1\"\nrtp_ports = \"1024-1025\"\n",
        "[storage]\ndatabase_url = \"postgres://hotline:pw@db.internal/hotline\"\n",
        "[storage]\ndatabase_url = \"postgresql://db/hotline\"\n",
        "[storage]\ndatabase_url = \"sqlite::memory:\"\n",
        "[storage]\ndatabase_url = \"sqlite:///var/lib/hotline/hotline.db\"\n",
        "[hotline]\ntrusted_trunks = [\"192.0.2.0/28\", \"2001:db8::/32\", \"2001:db8::1\"]\n",
        "[[queues]]\nname = \"q\"\n[hotline]\nnumbers = [{ number = \"+8666812345\", queue = \"q\" }]\n",
        "[[agents]]\nid = \"alice.w-2_x\"\npassword = \"p\"\n",
        "[[agents]]\nid = \"9001\"\npassword = \"longenough\"\nrole = \"supervisor\"\n",
        "[emergency]\ngateway = \"sips:{number}@gw.example.gov.cn;transport=tls\"\n",
        "[survey]\nenabled = true\ncalling_hours = \"00:00-24:00\"\n",
        "[ivr.nodes.main]\nprompt = \"yue/welcome\"\nhangup = true\n",
        // A loop through a node that waits for keys is a menu, not a spin.
        "[ivr.nodes.main]\nnext = \"menu\"\n[ivr.nodes.menu]\ndigits = { \"1\" = \"main\", \"*9\" = \"menu\" }\nmax_digits = 2\n",
        // A node only a DID starts at is reachable.
        "[[queues]]\nname = \"q\"\n[hotline]\nnumbers = [{ number = \"12315\", menu = \"side\" }]\n[ivr.nodes.main]\nhangup = true\n[ivr.nodes.side]\nqueue = \"q\"\n",
        // A queue with overflow but no max wait.
        "[[queues]]\nname = \"a\"\noverflow_queue = \"b\"\noverflow_after_s = 30\n[[queues]]\nname = \"b\"\n",
    ] {
        assert_valid(text);
    }
}

#[test]
fn overflow_loops_are_reported_once() {
    let errors = errors(
        r#"
        [[queues]]
        name = "a"
        overflow_queue = "b"
        overflow_after_s = 30
        [[queues]]
        name = "b"
        overflow_queue = "c"
        overflow_after_s = 30
        [[queues]]
        name = "c"
        overflow_queue = "a"
        overflow_after_s = 30
        [[queues]]
        name = "d"
        overflow_queue = "a"
        overflow_after_s = 30
        "#,
    );
    assert_eq!(errors.len(), 1, "{}", DisplayErrors(&errors));
    assert_has(&errors, "queues[0].overflow_queue", "a -> b -> c -> a");
}

#[test]
fn every_error_is_reported_at_once() {
    let text = r#"
        [sip]
        rtp_ports = "20001-20000"
        min_expires = 7200

        [storage]
        database_url = "mysql://localhost/hotline"

        [hotline]
        numbers = ["12345", { number = "12345", queue = "missing" }]
        trusted_trunks = ["10.0.0.0/8", "0.0.0.0/0"]

        [emergency]
        gateway = "sip:110@127.0.0.1"

        [[agents]]
        id = "1001"
        password = ""

        [[agents]]
        id = "1001"
        password = "pw"

        [[agents]]
        id = "bad id"
        password = "pw"
        role = "supervisor"

        [[queues]]
        name = "general"
        overflow_queue = "nowhere"
        overflow_after_s = 30

        [[queues]]
        name = "general"
    "#;
    let errors = errors(text);
    for (path, needle) in [
        ("sip.rtp_ports", "below the last"),
        ("sip.rtp_ports", "even"),
        ("sip.min_expires", "greater than"),
        ("storage.database_url", "unknown scheme"),
        ("hotline.numbers[1].number", "already"),
        ("hotline.numbers[1].queue", "unknown queue"),
        ("hotline.trusted_trunks[1]", "every address"),
        ("emergency.gateway", "{number}"),
        ("agents[0].password", "empty"),
        ("agents[1].id", "already"),
        ("agents[2].id", "SIP user name"),
        ("agents[2].password", "at least 8"),
        ("queues[0].overflow_queue", "unknown queue"),
        ("queues[1].name", "already"),
    ] {
        assert_has(&errors, path, needle);
    }
    assert_eq!(errors.len(), 14, "{}", DisplayErrors(&errors));

    // The same through resolve(): one Error::Invalid listing all of them.
    let path = temp_file("many-errors.toml", text);
    let err = Config::resolve(Some(&path), env(&[])).expect_err("invalid");
    let _ = std::fs::remove_file(&path);
    let Error::Invalid(list) = &err else {
        panic!("expected Error::Invalid, got {err}");
    };
    assert_eq!(list.len(), 14);
    let shown = err.to_string();
    assert!(
        shown.starts_with("invalid configuration (14 errors):"),
        "{shown}"
    );
    assert!(
        shown.contains("\n  agents[2].id: \"bad id\" is not"),
        "{shown}"
    );
}

/// The file `tests/cli.rs` feeds to `hotline config check`: every listed
/// path must come out of one run, including the unparsable CIDR.
#[test]
fn config_check_contract_file_reports_all_paths() {
    let errors = errors(
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
    );
    for path in [
        "sip.rtp_ports",
        "hotline.trusted_trunks[0]",
        "agents[0].password",
        "agents[1].id",
        "queues[0].overflow_queue",
    ] {
        assert!(
            errors.iter().any(|e| e.path == path),
            "missing {path} in {}",
            DisplayErrors(&errors)
        );
    }
}

#[test]
fn bad_trunks_are_never_trusted() {
    let c = parse("[hotline]\ntrusted_trunks = [\"192.0.2.1/40\", \"192.0.2.7\"]\n");
    assert_eq!(
        c.hotline.trusted_trunks,
        [parse_cidr("192.0.2.7/32").expect("cidr")]
    );
    assert!(!c.hotline.is_trusted("192.0.2.1".parse().expect("ip")));
    assert!(c.validate().is_err());
}

#[test]
fn validation_error_displays_path_then_message() {
    let e = ValidationError::new("agents[2].id", "must not be empty");
    assert_eq!(e.to_string(), "agents[2].id: must not be empty");
    assert_eq!(
        Error::Invalid(vec![e]).to_string(),
        "invalid configuration (1 error):\n  agents[2].id: must not be empty"
    );
}

// ---------------------------------------------------------------------------
// Environment

#[test]
fn env_overrides_apply() {
    let mut c = Config::builtin_default();
    c.apply_env(env(&[
        ("HOTLINE_SIP_LISTEN", "0.0.0.0:5080"),
        ("HOTLINE_HTTP_LISTEN", " [::]:8081 "),
        ("HOTLINE_DATA_DIR", "/var/lib/hotline"),
    ]))
    .expect("valid overrides");
    assert_eq!(
        c.sip.listen,
        "0.0.0.0:5080".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(
        c.http.listen,
        "[::]:8081".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(c.storage.data_dir, PathBuf::from("/var/lib/hotline"));
    // Not given explicitly, so the database follows the data directory.
    assert_eq!(
        c.storage.database_url(),
        "sqlite:///var/lib/hotline/hotline.db"
    );
    assert_eq!(
        c.storage.recordings_dir(),
        PathBuf::from("/var/lib/hotline/recordings")
    );

    c.apply_env(env(&[("HOTLINE_DATABASE_URL", "postgres://h@db/hotline")]))
        .expect("valid override");
    assert_eq!(c.storage.database_url(), "postgres://h@db/hotline");
    assert!(!c.storage.is_sqlite());
}

#[test]
fn no_env_changes_nothing() {
    let mut c = Config::builtin_default();
    c.apply_env(env(&[])).expect("nothing to apply");
    assert_eq!(c, Config::builtin_default());
}

#[test]
fn data_dir_moves_the_database_only_when_not_set_explicitly() {
    // Absent from the file: follows.
    let mut c = parse("");
    c.apply_env(env(&[("HOTLINE_DATA_DIR", "/srv/h/")]))
        .expect("ok");
    assert_eq!(c.storage.database_url(), "sqlite:///srv/h/hotline.db");

    // Explicit in the file: stays.
    let mut c = parse("[storage]\ndatabase_url = \"sqlite:///db/h.db\"\n");
    c.apply_env(env(&[("HOTLINE_DATA_DIR", "/srv/h")]))
        .expect("ok");
    assert_eq!(c.storage.database_url(), "sqlite:///db/h.db");
    assert_eq!(c.storage.data_dir, PathBuf::from("/srv/h"));

    // Explicit in the environment: stays, whatever the order of the variables.
    let mut c = parse("");
    c.apply_env(env(&[
        ("HOTLINE_DATABASE_URL", "sqlite://./other.db"),
        ("HOTLINE_DATA_DIR", "/srv/h"),
    ]))
    .expect("ok");
    assert_eq!(c.storage.database_url(), "sqlite://./other.db");

    // Relative data dir in the file, as in the example.
    let c = parse("[storage]\ndata_dir = \"run\"\n");
    assert_eq!(c.storage.database_url(), "sqlite://run/hotline.db");
}

#[test]
fn bad_env_values_are_reported_by_variable_and_not_applied() {
    let mut c = Config::builtin_default();
    let errors = c
        .apply_env(env(&[
            ("HOTLINE_SIP_LISTEN", "localhost:5060"),
            ("HOTLINE_HTTP_LISTEN", "8080"),
            ("HOTLINE_DATA_DIR", "  "),
            ("HOTLINE_DATABASE_URL", "mysql://x/y"),
        ]))
        .expect_err("all four are bad");
    assert_eq!(errors.len(), 4, "{}", DisplayErrors(&errors));
    assert_has(
        &errors,
        "HOTLINE_SIP_LISTEN",
        "\"localhost:5060\" is not an address",
    );
    assert_has(&errors, "HOTLINE_HTTP_LISTEN", "\"8080\" is not an address");
    assert_has(&errors, "HOTLINE_DATA_DIR", "empty");
    assert_has(&errors, "HOTLINE_DATABASE_URL", "unknown scheme");
    assert_eq!(c, Config::builtin_default(), "nothing was applied");

    // A good variable beside a bad one is still applied.
    let mut c = Config::builtin_default();
    let errors = c
        .apply_env(env(&[
            ("HOTLINE_SIP_LISTEN", "127.0.0.1:5070"),
            ("HOTLINE_HTTP_LISTEN", "nope"),
        ]))
        .expect_err("one is bad");
    assert_eq!(errors.len(), 1);
    assert_eq!(c.sip.listen.port(), 5070);
}

#[test]
fn resolve_layers_default_env_and_validation() {
    let c = Config::resolve(None, env(&[("HOTLINE_DATA_DIR", "/tmp/hl")])).expect("valid");
    assert_eq!(c.storage.database_url(), "sqlite:///tmp/hl/hotline.db");
    assert_eq!(c.agents.len(), 5);

    // An env error and a validation error caused by another override come
    // back together.
    let err = Config::resolve(
        None,
        env(&[
            ("HOTLINE_DATABASE_URL", "oracle://x"),
            ("HOTLINE_HTTP_LISTEN", "127.0.0.1:5060"),
        ]),
    )
    .expect_err("invalid");
    let Error::Invalid(errors) = err else {
        panic!("expected Error::Invalid");
    };
    assert_has(&errors, "HOTLINE_DATABASE_URL", "unknown scheme");
    assert_has(&errors, "http.listen", "sip.listen");
    assert_eq!(errors.len(), 2);
}

// ---------------------------------------------------------------------------
// Files

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("hotline-config-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn load_reports_the_file() {
    let missing = std::env::temp_dir().join("hotline-config-does-not-exist.toml");
    let err = Config::load(&missing).expect_err("missing");
    assert!(matches!(&err, Error::Io { path, .. } if *path == missing));
    assert!(err
        .to_string()
        .contains("hotline-config-does-not-exist.toml"));
    assert!(std::error::Error::source(&err).is_some());

    let path = temp_file("bad.toml", "[sip]\nlisten = \"nope\"\n");
    let err = Config::load(&path).expect_err("bad");
    let _ = std::fs::remove_file(&path);
    let msg = err.to_string();
    assert!(matches!(err, Error::Toml { path: Some(_), .. }));
    assert!(msg.starts_with(&format!("{}: ", path.display())), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");

    let path = temp_file("good.toml", DEFAULT_TOML);
    let loaded = Config::load(&path).expect("loads");
    let _ = std::fs::remove_file(&path);
    assert_eq!(loaded, Config::builtin_default());
}

// ---------------------------------------------------------------------------
// Forms and round trips

#[test]
fn did_short_and_long_forms_round_trip() {
    let c = parse(
        r#"
        [hotline]
        numbers = [
            "12345",
            { number = "2881234", queue = "water" },
            { number = "12315", menu = "consumer" },
            { number = "12366" },
        ]
        "#,
    );
    assert_eq!(
        c.hotline.numbers,
        [
            Did::new("12345"),
            Did {
                number: "2881234".into(),
                menu: None,
                queue: Some("water".into())
            },
            Did {
                number: "12315".into(),
                menu: Some("consumer".into()),
                queue: None
            },
            Did::new("12366"),
        ]
    );
    assert_eq!(
        c.hotline.did("2881234").and_then(|d| d.queue.as_deref()),
        Some("water")
    );
    assert_eq!(c.hotline.did("999"), None);

    let text = c.to_toml().expect("serialises");
    assert_eq!(parse(&text), c);
    // Plain numbers are written back in the short form.
    let doc: toml::Table = toml::from_str(&text).expect("toml");
    let numbers = doc["hotline"]["numbers"].as_array().expect("array");
    assert_eq!(numbers[0].as_str(), Some("12345"));
    assert_eq!(numbers[3].as_str(), Some("12366"));
    assert_eq!(numbers[1]["queue"].as_str(), Some("water"));
    assert!(numbers[1].get("menu").is_none());
}

#[test]
fn trusted_trunks_accept_bare_addresses() {
    let c = parse(
        r#"
        [hotline]
        trusted_trunks = ["192.0.2.7", "198.51.100.0/28", "2001:db8::1", " 203.0.113.0/24 "]
        "#,
    );
    let shown: Vec<String> = c
        .hotline
        .trusted_trunks
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "192.0.2.7/32",
            "198.51.100.0/28",
            "2001:db8::1/128",
            "203.0.113.0/24"
        ]
    );
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    assert!(c.hotline.is_trusted(ip("192.0.2.7")));
    assert!(!c.hotline.is_trusted(ip("192.0.2.8")));
    assert!(c.hotline.is_trusted(ip("198.51.100.15")));
    assert!(!c.hotline.is_trusted(ip("198.51.100.16")));
    assert!(c.hotline.is_trusted(ip("2001:db8::1")));
    // IPv4-mapped IPv6, as seen on a dual-stack socket.
    assert!(c.hotline.is_trusted(ip("::ffff:192.0.2.7")));
    assert_eq!(parse(&c.to_toml().expect("serialises")), c);
}

#[test]
fn port_range_and_time_window_forms() {
    let p: PortRange = "20000-20999".parse().expect("range");
    assert_eq!((p.low, p.high, p.len()), (20000, 20999, 1000));
    assert!(p.contains(20000) && p.contains(20999) && !p.contains(21000));
    assert_eq!(p.to_string(), "20000-20999");
    assert_eq!(
        " 30000 - 30001 ".trim().parse::<PortRange>(),
        Ok(PortRange {
            low: 30000,
            high: 30001
        })
    );
    assert!(PortRange { low: 2, high: 1 }.is_empty());
    for bad in ["", "20000", "a-b", "-1-5", "1-2-3", "20000-65536"] {
        assert!(bad.parse::<PortRange>().is_err(), "{bad:?}");
    }

    let w: TimeWindow = "09:00-20:00".parse().expect("window");
    assert_eq!((w.start_min, w.end_min), (540, 1200));
    assert!(w.contains(540) && w.contains(1199) && !w.contains(1200) && !w.contains(539));
    assert_eq!(w.to_string(), "09:00-20:00");
    assert_eq!(
        "8:30-24:00".parse::<TimeWindow>().map(|w| w.to_string()),
        Ok("08:30-24:00".into())
    );
    for bad in [
        "",
        "09:00",
        "9-20",
        "09:60-10:00",
        "25:00-26:00",
        "09:0-10:00",
        "24:01-24:02",
    ] {
        assert!(bad.parse::<TimeWindow>().is_err(), "{bad:?}");
    }
}

#[test]
fn emergency_uri_only_for_listed_numbers() {
    let c = parse("[emergency]\ngateway = \"sip:{number}@gw:5060\"\nnumbers = [\"110\"]\n");
    assert_eq!(
        c.emergency.uri_for("110").as_deref(),
        Some("sip:110@gw:5060")
    );
    assert_eq!(
        c.emergency.uri_for("12345"),
        None,
        "no toll fraud through the gateway"
    );
    assert_eq!(
        parse("").emergency.uri_for("110"),
        None,
        "no gateway configured"
    );
}

// ---------------------------------------------------------------------------
// Warnings

#[test]
fn warnings_flag_risky_but_legal_settings() {
    // Demo passwords on a public address.
    let mut c = Config::builtin_default();
    c.sip.listen = "0.0.0.0:5060".parse().expect("addr");
    let w = c.warnings();
    assert_has(&w, "agents[0].password", "demo password");
    assert_has(&w, "agents[4].password", "demo password");
    assert_eq!(w.len(), 5);
    assert!(c.validate().is_ok(), "a warning is not an error");

    let w = parse(
        r#"
        [hotline]
        numbers = [{ number = "12345", queue = "q" }]
        [storage]
        database_url = "sqlite::memory:"
        [[queues]]
        name = "q"
        skills = ["lang:yue"]
        [[agents]]
        id = "1"
        password = "x"
        skills = ["lang:cmn"]
        "#,
    )
    .warnings();
    assert_has(&w, "emergency.gateway", "not set");
    assert_has(&w, "queues[0].skills", "no agent");
    assert_has(&w, "storage.database_url", "lost");
    assert_eq!(w.len(), 3);

    // A number with neither a queue nor any menu: valid, but refused calls.
    let c = parse("[hotline]\nnumbers = [\"12345\", { number = \"12315\", queue = \"q\" }]\n[[queues]]\nname = \"q\"\n");
    assert!(c.validate().is_ok());
    let w = c.warnings();
    assert_has(&w, "hotline.numbers[0]", "refused");
    assert!(!w.iter().any(|e| e.path == "hotline.numbers[1]"));
}

/// The default menu is the short one GB/T 33358 asks for: the greeting is the
/// language menu (1 Mandarin, 2 Cantonese, 0 emergency, Mandarin on timeout),
/// and each language goes straight to its queue.
#[test]
fn an_unknown_start_is_one_error_not_one_per_node() {
    let errors = errors(
        "[ivr]\nstart = \"nope\"\n[ivr.nodes.a]\nnext = \"b\"\n[ivr.nodes.b]\nhangup = true\n",
    );
    assert_eq!(errors.len(), 1, "{}", DisplayErrors(&errors));
    assert_has(&errors, "ivr.start", "unknown IVR node");
}

#[test]
fn default_menu_is_short() {
    let c = Config::builtin_default();
    let welcome = &c.ivr.nodes[&c.ivr.start];
    let target = |k: &str| welcome.digits.get(k).map(String::as_str);
    assert_eq!(target("1"), Some("mandarin"));
    assert_eq!(target("2"), Some("cantonese"));
    assert_eq!(target("0"), Some("emergency"));
    assert_eq!(welcome.timeout_next.as_deref(), Some("mandarin"));
    for (node, language, queue) in [
        ("mandarin", "cmn", "general"),
        ("cantonese", "yue", "cantonese"),
    ] {
        let n = &c.ivr.nodes[node];
        assert_eq!(n.language.as_deref(), Some(language));
        assert_eq!(n.queue.as_deref(), Some(queue));
    }
    let emergency: Vec<&str> = c.ivr.nodes["emergency"]
        .digits
        .values()
        .filter_map(|n| c.ivr.nodes[n].emergency.as_deref())
        .collect();
    assert_eq!(emergency.len(), 4);
    for n in ["110", "119", "120", "122"] {
        assert!(emergency.contains(&n), "{n}");
    }
    assert_eq!(c.ivr.default_language(), "cmn");
    assert_eq!(
        c.ivr.prompt_path("yue", "welcome"),
        PathBuf::from("prompts/yue/welcome.wav")
    );
}
