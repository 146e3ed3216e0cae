//! The callback offer and the survey in virtual time.

use std::sync::Arc;

use crate::action::{Action, CallbackRequest, SurveyOutcome};
use crate::callback::CallbackOffer;
use crate::menu::Menu;
use crate::survey::Survey;
use crate::test_support::{menu, play_id, played, Clock};

const CONFIG: &str = r#"
[survey]
timeout_s = 8
retries = 1
"#;

fn names(actions: &[Action]) -> Vec<String> {
    actions.iter().filter_map(played).flatten().collect()
}

fn m() -> Arc<Menu> {
    menu(CONFIG)
}

/// Play-through helper: report the last Play of `a` done at `t`.
fn done<F: FnMut(u32) -> Vec<Action>>(a: &[Action], mut f: F) -> Vec<Action> {
    f(play_id(a).expect("a play to finish"))
}

// ---------------------------------------------------------------------------
// Callback offer

#[test]
fn key_1_takes_the_callers_own_number() {
    let c = Clock::new();
    let mut o = CallbackOffer::new(m(), "yue", Some("+8613800138000"));
    let a = o.start(c.at(0));
    assert_eq!(names(&a), ["yue/callback-offer"]);
    let a = o.on_digit('1', c.at(500));
    assert_eq!(a[0], Action::StopPlayback);
    let request = CallbackRequest {
        number: "+8613800138000".into(),
        own_number: true,
    };
    assert_eq!(a[1], Action::CallbackRequested(request.clone()));
    assert_eq!(names(&a), ["yue/callback-accepted", "yue/goodbye"]);
    assert_eq!(
        done(&a, |id| o.on_playback_done(id, c.at(3000))),
        [Action::Hangup]
    );
    assert!(o.is_finished());
    assert_eq!(o.request(), Some(&request));
}

#[test]
fn key_2_enters_confirms_and_requests_another_number() {
    let c = Clock::new();
    let mut o = CallbackOffer::new(m(), "cmn", Some("13800138000"));
    let _ = o.start(c.at(0));
    let a = o.on_digit('2', c.at(100));
    assert_eq!(names(&a), ["cmn/callback-enter"]);
    let mut a = Vec::new();
    for (i, k) in "0668123".chars().enumerate() {
        a = o.on_digit(k, c.at(2000 + 300 * i as u64));
    }
    assert!(a.is_empty(), "still collecting");
    let a = o.on_digit('#', c.at(5000));
    assert_eq!(
        names(&a),
        [
            "cmn/callback-confirm-prefix",
            "cmn/num-0",
            "cmn/num-6",
            "cmn/num-6",
            "cmn/num-8",
            "cmn/num-1",
            "cmn/num-2",
            "cmn/num-3",
            "cmn/callback-confirm-suffix"
        ]
    );
    // 2: enter again; this time the pause ends the entry.
    let _ = o.on_digit('2', c.at(6000));
    for (i, k) in "07682345678".chars().enumerate() {
        let a = o.on_digit(k, c.at(7000 + 100 * i as u64));
        let expected: &[Action] = if i == 0 { &[Action::StopPlayback] } else { &[] };
        assert_eq!(a, expected, "key {i}");
    }
    assert!(o.poll(c.at(8000 + 4999)).is_empty());
    let a = o.poll(c.at(8000 + 5000));
    assert_eq!(names(&a).len(), 13, "prefix, 11 digits, suffix");
    let a = o.on_digit('1', c.at(14_000));
    assert!(a.contains(&Action::CallbackRequested(CallbackRequest {
        number: "07682345678".into(),
        own_number: false
    })));
}

#[test]
fn an_unknown_caller_goes_straight_to_entering_a_number() {
    for caller in [None, Some("anonymous"), Some("")] {
        let c = Clock::new();
        let mut o = CallbackOffer::new(m(), "cmn", caller);
        assert_eq!(
            names(&o.start(c.at(0))),
            ["cmn/callback-enter"],
            "{caller:?}"
        );
        // Key 1 here is the first digit of a number, not "my number".
        assert_eq!(o.on_digit('1', c.at(100)), [Action::StopPlayback]);
        assert!(o.on_digit('3', c.at(200)).is_empty());
    }
}

#[test]
fn a_too_short_number_retries_once_then_gives_up_politely() {
    let c = Clock::new();
    let mut o = CallbackOffer::new(m(), "cmn", None);
    let _ = o.start(c.at(0));
    let _ = o.on_digit('1', c.at(100));
    let _ = o.on_digit('2', c.at(200));
    let a = o.on_digit('#', c.at(300));
    assert_eq!(names(&a), ["cmn/try-again", "cmn/callback-enter"]);
    let a = o.on_playback_done(play_id(&a).expect("play"), c.at(2300));
    assert!(a.is_empty());
    // Nothing keyed within ten seconds: second failure.
    assert!(o.poll(c.at(12_299)).is_empty());
    let a = o.poll(c.at(12_300));
    assert_eq!(names(&a), ["cmn/goodbye"]);
    assert!(!a.iter().any(|x| matches!(x, Action::CallbackRequested(_))));
    assert_eq!(
        done(&a, |id| o.on_playback_done(id, c.at(13_300))),
        [Action::Hangup]
    );
    assert_eq!(o.request(), None);
}

#[test]
fn offer_timeout_retries_then_ends() {
    let c = Clock::new();
    let mut o = CallbackOffer::new(m(), "cmn", Some("13800138000"));
    let a = o.start(c.at(0));
    let _ = o.on_playback_done(play_id(&a).expect("play"), c.at(1000));
    assert_eq!(o.next_wake(), Some(c.at(7000)));
    let a = o.poll(c.at(7000));
    assert_eq!(names(&a), ["cmn/try-again", "cmn/callback-offer"]);
    let a = o.on_digit('7', c.at(7500));
    assert_eq!(names(&a), ["cmn/goodbye"]);
}

// ---------------------------------------------------------------------------
// Survey

#[test]
fn every_rating_is_recorded_then_thanks_and_hangup() {
    for key in ['1', '2', '3', '4', '5'] {
        let c = Clock::new();
        let mut s = Survey::new(m(), "cmn");
        let a = s.start(c.at(0));
        assert_eq!(names(&a), ["cmn/survey"]);
        let a = s.on_digit(key, c.at(700));
        let rating = key as u8 - b'0';
        assert_eq!(a[0], Action::StopPlayback, "barge-in");
        assert_eq!(a[1], Action::SurveyResult(SurveyOutcome::Rated(rating)));
        assert_eq!(names(&a), ["cmn/survey-thanks"]);
        assert!(s.on_digit('1', c.at(800)).is_empty(), "one rating only");
        assert_eq!(
            done(&a, |id| s.on_playback_done(id, c.at(2000))),
            [Action::Hangup]
        );
        assert_eq!(s.outcome(), Some(SurveyOutcome::Rated(rating)));
        assert!(s.is_finished());
    }
}

#[test]
fn one_retry_after_an_invalid_key() {
    let c = Clock::new();
    let mut s = Survey::new(m(), "yue");
    let _ = s.start(c.at(0));
    let a = s.on_digit('9', c.at(500));
    assert_eq!(names(&a), ["yue/survey-retry", "yue/survey"]);
    let a = s.on_digit('4', c.at(1000));
    assert_eq!(a[1], Action::SurveyResult(SurveyOutcome::Rated(4)));

    let mut s = Survey::new(m(), "yue");
    let _ = s.start(c.at(0));
    let _ = s.on_digit('0', c.at(500));
    let a = s.on_digit('6', c.at(1000));
    assert_eq!(a[1], Action::SurveyResult(SurveyOutcome::NoRating));
    assert_eq!(names(&a), ["yue/survey-thanks"]);
}

#[test]
fn silence_is_no_rating_after_one_retry() {
    let c = Clock::new();
    let mut s = Survey::new(m(), "cmn");
    let a = s.start(c.at(0));
    let _ = s.on_playback_done(play_id(&a).expect("play"), c.at(1000));
    assert!(s.poll(c.at(8999)).is_empty());
    let a = s.poll(c.at(9000));
    assert_eq!(names(&a), ["cmn/survey-retry", "cmn/survey"]);
    let _ = s.on_playback_done(play_id(&a).expect("play"), c.at(11_000));
    assert_eq!(s.next_wake(), Some(c.at(19_000)));
    let a = s.poll(c.at(19_000));
    assert_eq!(a[0], Action::SurveyResult(SurveyOutcome::NoRating));
    assert_eq!(s.outcome(), Some(SurveyOutcome::NoRating));
}

#[test]
fn survey_retries_follow_the_config() {
    let c = Clock::new();
    let mut s = Survey::new(menu("[survey]\nretries = 0\n"), "cmn");
    let _ = s.start(c.at(0));
    let a = s.on_digit('*', c.at(100));
    assert_eq!(a[1], Action::SurveyResult(SurveyOutcome::NoRating));
}
