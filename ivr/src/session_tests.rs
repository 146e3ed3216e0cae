//! Menu compilation and `IvrSession` in virtual time.

use std::sync::Arc;
use std::time::Duration;

use hotline_config::Config;

use crate::action::{Action, Attr, PathStep};
use crate::error::Error;
use crate::menu::{Entry, Menu};
use crate::prompts::{Prompt, PromptRef};
use crate::session::IvrSession;
use crate::test_support::{menu, play_id, played, prompts_for, Clock};

const MENU: &str = r#"
[hotline]
numbers = ["12345", { number = "12315", menu = "consumer" }, { number = "12333", queue = "social" }]
[[queues]]
name = "general"
[[queues]]
name = "cantonese"
[[queues]]
name = "consumer"
[[queues]]
name = "social"
[ivr]
start = "welcome"
[ivr.nodes.welcome]
prompt = ["welcome", "language-menu"]
digits = { "1" = "mandarin", "2" = "cantonese", "0" = "emergency" }
retries = 2
first_digit_timeout_s = 5
default = "mandarin"
[ivr.nodes.mandarin]
language = "cmn"
prompt = "transfer"
queue = "general"
[ivr.nodes.cantonese]
language = "yue"
prompt = "transfer"
queue = "cantonese"
[ivr.nodes.emergency]
prompt = "emergency-menu"
digits = { "1" = "police", "*" = "welcome" }
retries = 0
[ivr.nodes.police]
emergency = "110"
[ivr.nodes.consumer]
business_line = "consumer"
prompt = "consumer"
next = "consumer_menu"
[ivr.nodes.consumer_menu]
prompt = "consumer-menu"
digits = { "1" = "consumer_queue", "12" = "callback", "*9" = "bye" }
max_digits = 2
inter_digit_timeout_s = 3
timeout_next = "consumer_queue"
[ivr.nodes.consumer_queue]
queue = "consumer"
[ivr.nodes.callback]
callback = true
[ivr.nodes.bye]
hangup = true
"#;

fn names(actions: &[Action]) -> Vec<String> {
    actions.iter().filter_map(played).flatten().collect()
}

fn step(node: &str, input: Option<&str>) -> PathStep {
    PathStep {
        node: node.to_owned(),
        input: input.map(str::to_owned),
    }
}

fn start(did: &str) -> (IvrSession, Vec<Action>, Clock) {
    let m = menu(MENU);
    let entry = m.entry(did).expect("answered number");
    let mut s = IvrSession::new(m);
    let c = Clock::new();
    let a = s.start(entry, c.at(0), None);
    (s, a, c)
}

#[test]
fn choice_after_the_prompts_goes_to_its_node() {
    let (mut s, a, c) = start("12345");
    assert_eq!(names(&a), ["cmn/welcome", "cmn/language-menu"]);
    let id = play_id(&a).expect("play");
    // Until the prompts end, only the playback guard is pending.
    assert!(s.poll(c.at(1000)).is_empty());
    assert!(s.on_playback_done(id, c.at(2000)).is_empty());
    assert_eq!(s.next_wake(), Some(c.at(7000)), "first-digit timeout");
    let a = s.on_digit('2', c.at(3000));
    assert_eq!(a[0], Action::SetAttr(Attr::Language("yue".into())));
    assert_eq!(names(&a), ["yue/transfer"], "the new language's prompt");
    let a = s.on_playback_done(play_id(&a).expect("play"), c.at(4000));
    assert_eq!(
        a,
        [Action::Enqueue {
            queue: "cantonese".into()
        }]
    );
    assert!(s.is_finished());
    assert_eq!(s.next_wake(), None);
    assert_eq!(s.language(), "yue");
    assert_eq!(
        s.path(),
        [step("welcome", Some("2")), step("cantonese", None)]
    );
    // Nothing happens after the end.
    assert!(s.on_digit('1', c.at(5000)).is_empty());
}

#[test]
fn a_key_during_the_prompt_stops_it() {
    let (mut s, a, c) = start("12345");
    let first = play_id(&a).expect("play");
    let a = s.on_digit('1', c.at(500));
    assert_eq!(a[0], Action::StopPlayback);
    assert_eq!(a[1], Action::SetAttr(Attr::Language("cmn".into())));
    assert_eq!(names(&a), ["cmn/transfer"]);
    // A late "done" for the stopped playback is ignored.
    assert!(s.on_playback_done(first, c.at(600)).is_empty());
    assert!(!s.is_finished());
}

#[test]
fn timeouts_retry_then_take_the_default() {
    let (mut s, a, c) = start("12345");
    let _ = s.on_playback_done(play_id(&a).expect("play"), c.at(2000));
    assert!(s.poll(c.at(6999)).is_empty());
    let a = s.poll(c.at(7000));
    assert_eq!(
        names(&a),
        ["cmn/try-again", "cmn/welcome", "cmn/language-menu"]
    );
    // The timer restarts only when the repeat has been played.
    assert_eq!(
        s.next_wake(),
        Some(c.at(7000 + 3000 + 2000)),
        "playback guard"
    );
    let _ = s.on_playback_done(play_id(&a).expect("play"), c.at(10_000));
    let a = s.poll(c.at(15_000));
    assert_eq!(
        names(&a),
        ["cmn/try-again", "cmn/welcome", "cmn/language-menu"]
    );
    let _ = s.on_playback_done(play_id(&a).expect("play"), c.at(18_000));
    assert!(s.poll(c.at(22_999)).is_empty());
    let a = s.poll(c.at(23_000));
    assert_eq!(a[0], Action::SetAttr(Attr::Language("cmn".into())));
    assert_eq!(names(&a), ["cmn/transfer"]);
    assert_eq!(s.path(), [step("welcome", None), step("mandarin", None)]);
}

#[test]
fn wrong_keys_retry_then_take_the_default() {
    let (mut s, _, c) = start("12345");
    let a = s.on_digit('9', c.at(100));
    assert_eq!(a[0], Action::StopPlayback);
    assert_eq!(
        names(&a),
        ["cmn/try-again", "cmn/welcome", "cmn/language-menu"]
    );
    let a = s.on_digit('#', c.at(200));
    assert_eq!(
        names(&a),
        ["cmn/try-again", "cmn/welcome", "cmn/language-menu"]
    );
    let a = s.on_digit('7', c.at(300));
    assert_eq!(names(&a), ["cmn/transfer"], "default after two retries");
}

#[test]
fn without_a_default_the_ivr_says_goodbye_and_hangs_up() {
    let (mut s, _, c) = start("12345");
    let a = s.on_digit('0', c.at(100));
    assert_eq!(names(&a), ["cmn/emergency-menu"]);
    let a = s.on_digit('5', c.at(200));
    assert_eq!(names(&a), ["cmn/goodbye"], "retries = 0");
    assert!(
        s.on_digit('1', c.at(300)).is_empty(),
        "keys are ignored now"
    );
    let a = s.on_playback_done(play_id(&a).expect("play"), c.at(1200));
    assert_eq!(a, [Action::Hangup]);
    assert!(s.is_finished());
}

#[test]
fn emergency_option_transfers_and_star_goes_back() {
    let (mut s, _, c) = start("12345");
    let _ = s.on_digit('0', c.at(100));
    let a = s.on_digit('*', c.at(200));
    assert_eq!(names(&a), ["cmn/welcome", "cmn/language-menu"]);
    let _ = s.on_digit('0', c.at(300));
    let a = s.on_digit('1', c.at(400));
    assert_eq!(
        a.last(),
        Some(&Action::TransferEmergency {
            number: "110".into()
        })
    );
    assert!(s.is_finished());
    assert_eq!(
        s.path(),
        [
            step("welcome", Some("0")),
            step("emergency", Some("*")),
            step("welcome", Some("0")),
            step("emergency", Some("1")),
            step("police", None)
        ]
    );
}

#[test]
fn each_number_starts_where_configured() {
    let m = menu(MENU);
    assert_eq!(m.entry("12345"), m.node("welcome").map(Entry::Node));
    assert_eq!(m.entry("12315"), m.node("consumer").map(Entry::Node));
    assert_eq!(m.entry("12333"), Some(Entry::Queue("social".into())));
    assert_eq!(m.entry("110"), None);

    let (s, a, _) = start("12333");
    assert_eq!(
        a,
        [Action::Enqueue {
            queue: "social".into()
        }]
    );
    assert!(s.is_finished() && s.path().is_empty());

    let (mut s, a, c) = start("12315");
    assert_eq!(a[0], Action::SetAttr(Attr::BusinessLine("consumer".into())));
    assert_eq!(names(&a), ["cmn/consumer"]);
    // A node without digits ignores keys, its prompt keeps playing.
    assert!(s.on_digit('1', c.at(100)).is_empty());
    let a = s.on_playback_done(play_id(&a).expect("play"), c.at(1000));
    assert_eq!(names(&a), ["cmn/consumer-menu"]);
    assert_eq!(s.business_line(), Some("consumer"));
}

fn at_consumer_menu() -> (IvrSession, Clock) {
    let (mut s, a, c) = start("12315");
    let a = s.on_playback_done(play_id(&a).expect("play"), c.at(1000));
    let _ = s.on_playback_done(play_id(&a).expect("play"), c.at(2000));
    (s, c)
}

#[test]
fn multi_digit_entries() {
    // "1" is a prefix of "12": wait for the inter-digit timeout.
    let (mut s, c) = at_consumer_menu();
    assert!(s.on_digit('1', c.at(2500)).is_empty());
    assert_eq!(s.next_wake(), Some(c.at(5500)));
    assert!(s.poll(c.at(5499)).is_empty());
    assert_eq!(
        s.poll(c.at(5500)),
        [Action::Enqueue {
            queue: "consumer".into()
        }]
    );

    // "12" completes at max_digits.
    let (mut s, c) = at_consumer_menu();
    let _ = s.on_digit('1', c.at(2500));
    assert_eq!(s.on_digit('2', c.at(3000)), [Action::OfferCallback]);
    assert_eq!(s.path().last(), Some(&step("callback", None)));

    // "#" ends an entry early.
    let (mut s, c) = at_consumer_menu();
    let _ = s.on_digit('1', c.at(2500));
    assert_eq!(
        s.on_digit('#', c.at(2600)),
        [Action::Enqueue {
            queue: "consumer".into()
        }]
    );

    // A hang-up node without a prompt says goodbye.
    let (mut s, c) = at_consumer_menu();
    let _ = s.on_digit('*', c.at(2500));
    let a = s.on_digit('9', c.at(2600));
    assert_eq!(names(&a), ["cmn/goodbye"]);
    assert_eq!(
        s.on_playback_done(play_id(&a).expect("play"), c.at(3600)),
        [Action::Hangup]
    );

    // Nothing keyed: timeout_next at once, no retry.
    let (mut s, c) = at_consumer_menu();
    assert_eq!(
        s.poll(c.at(7000)),
        [Action::Enqueue {
            queue: "consumer".into()
        }]
    );
    assert_eq!(s.path()[1], step("consumer_menu", None));
}

#[test]
fn the_announcement_plays_first_and_cannot_be_skipped() {
    let m = menu(MENU);
    let mut s = IvrSession::new(m.clone());
    let c = Clock::new();
    let notice = PromptRef::new(Prompt::from_pcm("water-outage", None, vec![0; 16000]));
    let entry = m.entry("12345").expect("entry");
    let a = s.start(entry.clone(), c.at(0), Some(notice));
    assert_eq!(names(&a), ["water-outage"]);
    assert!(s.on_digit('1', c.at(500)).is_empty(), "no barge-in");
    let a = s.on_playback_done(play_id(&a).expect("play"), c.at(2000));
    assert_eq!(names(&a), ["cmn/welcome", "cmn/language-menu"]);
    // A second start is ignored.
    assert!(s.start(entry, c.at(2100), None).is_empty());

    // Before a queue-only number too.
    let mut s = IvrSession::new(m.clone());
    let notice = PromptRef::new(Prompt::from_pcm("water-outage", None, vec![0; 800]));
    let a = s.start(m.entry("12333").expect("entry"), c.at(0), Some(notice));
    assert_eq!(names(&a), ["water-outage"]);
    let a = s.on_playback_done(play_id(&a).expect("play"), c.at(100));
    assert_eq!(
        a,
        [Action::Enqueue {
            queue: "social".into()
        }]
    );
}

#[test]
fn a_lost_playback_event_does_not_wedge_the_call() {
    let (mut s, _, c) = start("12345");
    // Two one-second prompts plus the two-second guard.
    assert_eq!(s.next_wake(), Some(c.at(4000)));
    assert!(s.poll(c.at(3999)).is_empty());
    assert!(s.poll(c.at(4000)).is_empty());
    assert_eq!(s.next_wake(), Some(c.at(9000)), "now waiting for a key");
}

#[test]
fn default_config_is_the_short_bilingual_menu() {
    let config = Config::builtin_default();
    let m = Arc::new(Menu::compile(&config, &prompts_for(&config)).expect("compiles"));
    let c = Clock::new();
    let run = |keys: &[(char, u64)], until: u64| -> (Vec<Action>, IvrSession) {
        let mut s = IvrSession::new(m.clone());
        let mut all = s.start(m.entry("12345").expect("entry"), c.at(0), None);
        for &(k, t) in keys {
            all.extend(s.on_digit(k, c.at(t)));
        }
        let mut t = 0;
        while t <= until && !s.is_finished() {
            if let Some(id) = play_id(&all) {
                all.extend(s.on_playback_done(id, c.at(t)));
            }
            all.extend(s.poll(c.at(t)));
            t += 250;
        }
        (all, s)
    };
    let (a, s) = run(&[], 20_000);
    assert_eq!(
        names(&a)[..3],
        ["cmn/welcome", "cmn/language-menu", "yue/language-menu-yue"]
    );
    assert_eq!(
        a.last(),
        Some(&Action::Enqueue {
            queue: "general".into()
        }),
        "Mandarin after a timeout"
    );
    assert_eq!(s.path()[0], step("welcome", None));

    let (a, _) = run(&[('2', 500)], 20_000);
    assert!(a.contains(&Action::SetAttr(Attr::Language("yue".into()))));
    assert_eq!(
        a.last(),
        Some(&Action::Enqueue {
            queue: "cantonese".into()
        })
    );

    for (key, number) in [('1', "110"), ('2', "119"), ('3', "120"), ('4', "122")] {
        let (a, _) = run(&[('0', 500), (key, 1000)], 20_000);
        assert_eq!(
            a.last(),
            Some(&Action::TransferEmergency {
                number: number.into()
            })
        );
    }
    assert_eq!(
        m.entry("12333"),
        Some(Entry::Queue("social_security".into()))
    );
    assert_eq!(m.entry("12315"), m.node("consumer").map(Entry::Node));
}

#[test]
fn queue_announcements_are_composed_from_digits() {
    let m = menu(MENU);
    let n = |v: Vec<PromptRef>| v.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>();
    assert_eq!(
        n(m.position_announcement("yue", 3)),
        [
            "yue/queue-position-prefix",
            "yue/num-3",
            "yue/queue-position-suffix"
        ]
    );
    assert_eq!(
        n(m.position_announcement("cmn", 12)),
        [
            "cmn/queue-position-prefix",
            "cmn/num-10",
            "cmn/num-2",
            "cmn/queue-position-suffix"
        ]
    );
    assert_eq!(n(m.position_announcement("cmn", 0)), ["cmn/queue-next"]);
    assert_eq!(
        n(m.wait_announcement("cmn", Duration::from_secs(90))),
        [
            "cmn/queue-wait-prefix",
            "cmn/num-liang",
            "cmn/queue-wait-suffix"
        ],
        "rounded up to two minutes"
    );
    assert_eq!(
        n(m.wait_announcement("cmn", Duration::ZERO)),
        [
            "cmn/queue-wait-prefix",
            "cmn/num-1",
            "cmn/queue-wait-suffix"
        ]
    );
    // An unknown language falls back to the default.
    assert_eq!(
        n(m.number_prompts("fr", 105)),
        ["cmn/num-1", "cmn/num-100", "cmn/num-0", "cmn/num-5"]
    );
    assert_eq!(n(m.hold_music("yue")), ["yue/hold-music"]);
    assert_eq!(
        m.prompt("yue", "goodbye")
            .map(|p| format!("{p:?}"))
            .as_deref(),
        Some("yue/goodbye")
    );
    assert!(m.prompt("yue", "no-such-prompt").is_none());
}

#[test]
fn missing_prompts_are_all_reported_with_their_key_paths() {
    let config = Config::builtin_default();
    let mut set = crate::prompts::PromptSet::new("prompts");
    for name in crate::menu::required_prompt_names(&config) {
        if name != "survey" {
            set.insert(Prompt::from_pcm(&name, Some("cmn"), vec![0; 80]));
        }
        if name != "welcome" && name != "transfer-agent" {
            set.insert(Prompt::from_pcm(&name, Some("yue"), vec![0; 80]));
        }
    }
    let Err(Error::MissingPrompts(missing)) = Menu::compile(&config, &set) else {
        panic!("should fail");
    };
    let has = |by: &str, file: &str| {
        missing
            .iter()
            .any(|m| m.needed_by == by && m.file == std::path::Path::new(file))
    };
    assert!(
        has("ivr.nodes.welcome.prompt[0]", "prompts/yue/welcome.wav"),
        "{missing:?}"
    );
    assert!(
        has(
            "ivr.nodes.mandarin.prompt[0]",
            "prompts/yue/transfer-agent.wav"
        ),
        "{missing:?}"
    );
    assert!(has(
        "ivr.nodes.cantonese.prompt[0]",
        "prompts/yue/transfer-agent.wav"
    ));
    assert!(has("survey.prompt", "prompts/cmn/survey.wav"));
    assert_eq!(missing.len(), 5, "{missing:?}");
    let text = Error::MissingPrompts(missing).to_string();
    assert!(
        text.contains("ivr.nodes.welcome.prompt[0]: missing prompt prompts/yue/welcome.wav"),
        "{text}"
    );
}

#[test]
fn an_unvalidated_config_is_an_error_not_a_panic() {
    let config = Config::from_toml("[ivr.nodes.main]\nnext = \"nowhere\"\n").expect("parses");
    match Menu::compile(&config, &prompts_for(&config)) {
        Err(Error::Config { path, message }) => {
            assert_eq!(path, "ivr.nodes.main.next");
            assert!(message.contains("nowhere"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let config = Config::from_toml("[ivr]\nlanguages = []\n").expect("parses");
    assert!(matches!(
        Menu::compile(&config, &prompts_for(&config)),
        Err(Error::Config { .. })
    ));
}
