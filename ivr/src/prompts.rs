//! Prompts: audio decoded and pre-encoded once, and the set loaded from disk.
//!
//! A [`Prompt`] holds its audio as 8 kHz 16-bit PCM and, encoded at load, as
//! G.711 µ-law and A-law, padded with silence to whole 20 ms frames of 160
//! bytes: the media engine copies frames straight into RTP packets, so nothing
//! is converted per call.
//!
//! A [`PromptSet`] is every `*.wav` under `prompts_dir/<language>/` (one set
//! per language) plus language-independent files directly in `prompts_dir`
//! (the music on hold). Looking up a name in a language falls back to the
//! language-independent file. The set is read by [`PromptSet::load`], the only
//! function here that touches the file system; which prompts a configuration
//! *needs* is checked when the menu is compiled ([`crate::Menu::compile`]),
//! which reports each missing file with the key path that names it.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hotline_sip::media::g711::{alaw_encode, ulaw_encode};
use hotline_sip::media::Encoding;

use crate::audio::{self, RATE};
use crate::error::{Error, Result};

/// Samples (and G.711 bytes) in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// One prompt, ready to play.
#[derive(Clone, PartialEq, Eq)]
pub struct Prompt {
    name: String,
    language: Option<String>,
    pcm: Vec<i16>,
    ulaw: Vec<u8>,
    alaw: Vec<u8>,
}

impl Prompt {
    /// A prompt from 8 kHz mono samples (padded with silence to whole frames).
    /// `language` is `None` for a language-independent prompt.
    pub fn from_pcm(name: &str, language: Option<&str>, mut pcm: Vec<i16>) -> Prompt {
        let padded = pcm.len().div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES;
        pcm.resize(padded, 0);
        Prompt {
            name: name.to_owned(),
            language: language.map(str::to_owned),
            ulaw: pcm.iter().map(|&s| ulaw_encode(s)).collect(),
            alaw: pcm.iter().map(|&s| alaw_encode(s)).collect(),
            pcm,
        }
    }

    /// A prompt from WAV data of any common format (see [`crate::audio`]).
    pub fn from_wav(name: &str, language: Option<&str>, reader: impl Read) -> Result<Prompt> {
        let pcm = audio::decode_wav(reader, Path::new("<memory>"))?;
        Ok(Prompt::from_pcm(name, language, pcm))
    }

    /// A prompt from a WAV file; the incident announcement of §17.3 can be
    /// loaded this way when a supervisor sets it.
    pub fn from_wav_file(name: &str, language: Option<&str>, path: &Path) -> Result<Prompt> {
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let pcm = audio::decode_wav(std::io::BufReader::new(file), path)?;
        Ok(Prompt::from_pcm(name, language, pcm))
    }

    /// The prompt's name (its file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its language, `None` when it serves every language.
    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    /// 8 kHz mono samples, a whole number of frames.
    pub fn pcm(&self) -> &[i16] {
        &self.pcm
    }

    /// The audio in `encoding`, a whole number of frames.
    pub fn encoded(&self, encoding: Encoding) -> &[u8] {
        match encoding {
            Encoding::Pcmu => &self.ulaw,
            Encoding::Pcma => &self.alaw,
        }
    }

    /// The 160-byte (20 ms) frames in `encoding`, in order.
    pub fn frames(&self, encoding: Encoding) -> std::slice::ChunksExact<'_, u8> {
        self.encoded(encoding).chunks_exact(FRAME_SAMPLES)
    }

    /// Number of 20 ms frames.
    pub fn frame_count(&self) -> usize {
        self.pcm.len() / FRAME_SAMPLES
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.pcm.len() as u64 * 1000 / u64::from(RATE))
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.language {
            Some(l) => write!(f, "{l}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A shared handle to a loaded prompt, as found in [`crate::Action::Play`].
/// Cheap to clone; dereferences to the [`Prompt`]. Two handles are equal when
/// they name the same prompt (name and language).
#[derive(Clone)]
pub struct PromptRef(Arc<Prompt>);

impl PromptRef {
    /// Wrap a prompt (for one loaded outside a set, such as an announcement).
    pub fn new(prompt: Prompt) -> PromptRef {
        PromptRef(Arc::new(prompt))
    }
}

impl Deref for PromptRef {
    type Target = Prompt;
    fn deref(&self) -> &Prompt {
        &self.0
    }
}

impl PartialEq for PromptRef {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name && self.0.language == other.0.language
    }
}

impl Eq for PromptRef {}

impl fmt::Debug for PromptRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The prompts of every language, by name.
#[derive(Debug, Clone, Default)]
pub struct PromptSet {
    dir: PathBuf,
    prompts: HashMap<(Option<String>, String), PromptRef>,
}

impl PromptSet {
    /// An empty set whose files would live under `dir` (for messages).
    pub fn new(dir: impl Into<PathBuf>) -> PromptSet {
        PromptSet {
            dir: dir.into(),
            prompts: HashMap::new(),
        }
    }

    /// Load every `*.wav` in `dir/<language>/` for each of `languages`, and the
    /// language-independent ones directly in `dir`. A language directory that
    /// does not exist is not an error here: the missing prompts are reported,
    /// with the key paths needing them, when the menu is compiled.
    pub fn load(dir: &Path, languages: &[String]) -> Result<PromptSet> {
        let mut set = PromptSet::new(dir);
        set.load_dir(dir, None)?;
        for language in languages {
            set.load_dir(&dir.join(language), Some(language))?;
        }
        Ok(set)
    }

    fn load_dir(&mut self, dir: &Path, language: Option<&str>) -> Result<()> {
        let io = |source| Error::Io {
            path: dir.to_owned(),
            source,
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        for entry in entries {
            let path = entry.map_err(io)?.path();
            let is_wav = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if is_wav && path.is_file() {
                let prompt = Prompt::from_wav_file(stem, language, &path)?;
                self.insert(prompt);
            }
        }
        Ok(())
    }

    /// Add (or replace) a prompt; returns its handle.
    pub fn insert(&mut self, prompt: Prompt) -> PromptRef {
        let key = (prompt.language.clone(), prompt.name.clone());
        let r = PromptRef::new(prompt);
        self.prompts.insert(key, r.clone());
        r
    }

    /// The prompt `name` in `language`, or the language-independent one.
    pub fn get(&self, language: &str, name: &str) -> Option<PromptRef> {
        self.prompts
            .get(&(Some(language.to_owned()), name.to_owned()))
            .or_else(|| self.prompts.get(&(None, name.to_owned())))
            .cloned()
    }

    /// The file a prompt `name` in `language` is expected at.
    pub fn path_of(&self, language: &str, name: &str) -> PathBuf {
        self.dir.join(language).join(format!("{name}.wav"))
    }

    /// Number of prompts held.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether the set holds no prompt.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_sip::media::g711::{ALAW_TO_LINEAR, ULAW_TO_LINEAR};

    #[test]
    fn prompt_is_whole_frames_in_both_laws() {
        let pcm: Vec<i16> = (0..1000).map(|i| ((i % 50) * 500 - 12000) as i16).collect();
        let p = Prompt::from_pcm("x", Some("cmn"), pcm.clone());
        assert_eq!(p.frame_count(), 7); // 1000 samples -> 7 frames of 160
        assert_eq!(p.pcm().len(), 1120);
        assert_eq!(p.duration(), Duration::from_millis(140));
        for enc in [Encoding::Pcmu, Encoding::Pcma] {
            let frames: Vec<&[u8]> = p.frames(enc).collect();
            assert_eq!(frames.len(), 7);
            assert!(frames.iter().all(|f| f.len() == FRAME_SAMPLES));
        }
        // Decoding gives the samples back within G.711's quantisation.
        for (i, &s) in pcm.iter().enumerate() {
            let u = ULAW_TO_LINEAR[usize::from(p.encoded(Encoding::Pcmu)[i])];
            let a = ALAW_TO_LINEAR[usize::from(p.encoded(Encoding::Pcma)[i])];
            let tol = i32::from(s).abs() / 16 + 16;
            assert!((i32::from(u) - i32::from(s)).abs() <= tol, "µ {i}");
            assert!((i32::from(a) - i32::from(s)).abs() <= tol, "A {i}");
        }
        // The padding is silence.
        assert_eq!(
            ULAW_TO_LINEAR[usize::from(p.encoded(Encoding::Pcmu)[1100])],
            0
        );
        assert!(ALAW_TO_LINEAR[usize::from(p.encoded(Encoding::Pcma)[1100])].abs() <= 8);
    }

    #[test]
    fn load_reads_languages_and_falls_back_to_common() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |rel: &str, rate: u32| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(&path, spec).expect("create");
            for i in 0..rate / 10 {
                w.write_sample(((i % 20) * 100) as i16).expect("write");
            }
            w.finalize().expect("finalize");
        };
        write("cmn/welcome.wav", 8000);
        write("yue/welcome.wav", 16000);
        write("hold-music.wav", 8000);
        std::fs::write(dir.path().join("cmn/readme.txt"), "not a prompt").expect("write");
        let langs = vec!["cmn".to_owned(), "yue".to_owned()];
        let set = PromptSet::load(dir.path(), &langs).expect("loads");
        assert_eq!(set.len(), 3);
        let w = set.get("yue", "welcome").expect("yue welcome");
        assert_eq!((w.name(), w.language()), ("welcome", Some("yue")));
        assert_eq!(w.pcm().len(), 800); // 0.1 s at 8 kHz
        assert_eq!(
            set.get("cmn", "hold-music").expect("common").language(),
            None
        );
        assert!(set.get("cmn", "nope").is_none());

        // A broken WAV names its file.
        std::fs::write(dir.path().join("cmn/broken.wav"), "RIFF").expect("write");
        match PromptSet::load(dir.path(), &langs) {
            Err(Error::Wav { path, .. }) => assert!(path.ends_with("cmn/broken.wav")),
            other => panic!("{other:?}"),
        }
    }
}
