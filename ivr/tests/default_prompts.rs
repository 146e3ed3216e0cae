//! The built-in default configuration with the committed prompt set
//! (`prompts/`, made by `scripts/gen-prompts.sh`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hotline_config::Config;
use hotline_ivr::{Action, IvrSession, Menu, PromptSet, ToneDetector, FRAME_SAMPLES};
use hotline_sip::media::Encoding;

fn repo_prompts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../prompts")
}

fn default_config() -> Config {
    let mut config = Config::builtin_default();
    // The default is relative to the working directory (the repo root for
    // `hotline serve`); tests run in the crate directory.
    assert_eq!(config.ivr.prompts_dir, PathBuf::from("prompts"));
    config.ivr.prompts_dir = repo_prompts();
    config
}

#[test]
fn the_default_config_loads_with_the_committed_prompts() {
    let config = default_config();
    let menu = match Menu::load(&config) {
        Ok(menu) => Arc::new(menu),
        Err(e) => panic!("{e}"),
    };
    // A call plays real audio: the greeting is seconds long, in frames.
    let mut call = IvrSession::new(menu.clone());
    let actions = call.start(menu.entry("12345").expect("12345"), Instant::now(), None);
    let Some(Action::Play { prompts, .. }) = actions.first() else {
        panic!("{actions:?}");
    };
    assert_eq!(prompts.len(), 3);
    for p in prompts {
        assert!(p.duration().as_secs_f32() > 0.5, "{p:?} is too short");
        assert_eq!(p.frames(Encoding::Pcmu).len(), p.frame_count());
        assert!(p.frames(Encoding::Pcma).all(|f| f.len() == FRAME_SAMPLES));
    }
    assert!(menu.hold_music("cmn")[0].duration().as_secs() >= 10);
}

#[test]
fn every_prompt_is_8khz_mono_16bit_and_used_in_both_languages() {
    let dir = repo_prompts();
    let mut names = std::collections::BTreeMap::<String, Vec<String>>::new();
    for language in ["cmn", "yue"] {
        for entry in std::fs::read_dir(dir.join(language)).expect("language dir") {
            let path = entry.expect("entry").path();
            let spec = hound::WavReader::open(&path).expect("a WAV").spec();
            assert_eq!(
                (spec.sample_rate, spec.channels, spec.bits_per_sample),
                (8000, 1, 16),
                "{}",
                path.display()
            );
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
            names
                .entry(stem.to_owned())
                .or_default()
                .push(language.to_owned());
        }
    }
    for (name, languages) in &names {
        // Only the Cantonese half of the bilingual language menu is one-language.
        if name != "language-menu-yue" {
            assert_eq!(languages.len(), 2, "{name} exists only in {languages:?}");
        }
    }
}

/// Our own prompts must never look like keys to the in-band detector (an
/// echo of the menu would otherwise choose for the caller).
#[test]
fn no_prompt_triggers_the_dtmf_detector() {
    let config = default_config();
    let set = PromptSet::load(&config.ivr.prompts_dir, &config.ivr.languages).expect("loads");
    assert!(set.len() >= 70);
    for language in ["cmn", "yue"] {
        for name in hotline_ivr::menu::required_prompt_names(&config) {
            let Some(p) = set.get(language, &name) else {
                continue;
            };
            let mut d = ToneDetector::new();
            let keys: Vec<char> = p.pcm().chunks(160).flat_map(|f| d.process(f)).collect();
            assert!(keys.is_empty(), "{language}/{name} looks like {keys:?}");
        }
    }
}
