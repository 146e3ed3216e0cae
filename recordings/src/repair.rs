//! Start-up repair of recordings whose final header never reached the disk.
//!
//! A recording's header is rewritten at each checkpoint and at hang-up. If
//! the process dies mid-call (crash, `kill -9`, power cut), the file holds
//! more audio than its header says, possibly ending in half a sample frame;
//! if the disk filled up, the header may claim more than the file holds.
//! Players then stop early or refuse the file. [`repair_dir`] walks the
//! recordings directory, recomputes the RIFF and `data` sizes from the file
//! length, truncates a partial trailing frame, and rewrites both size fields
//! in place. It runs before any recorder starts, so no file is being written.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::writer::{describe, recording_spec, RecordingInfo, BYTES_PER_FRAME};
use crate::{Error, Result};

/// What [`repair_dir`] changed in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// `data` chunk size the header claimed.
    pub declared_data_bytes: u32,
    /// `data` chunk size after repair (whole frames actually on disk).
    pub data_bytes: u32,
    /// Bytes cut from the end (a partial trailing frame).
    pub truncated_bytes: u64,
    /// The repaired file, ready to be indexed (the call that made it never
    /// reached its index row).
    pub info: RecordingInfo,
}

/// Where the `data` payload starts and how it is framed.
#[derive(Debug, Clone, Copy)]
struct Layout {
    data_size_offset: u64,
    data_start: u64,
    declared_data: u32,
    declared_riff: u32,
    block_align: u16,
}

/// Repairs every `.wav` file under `dir` (recursively) whose header sizes do
/// not match its length. Files that are not PCM WAV, or cannot be read, are
/// skipped with a warning: one bad file must not stop the server starting.
///
/// # Errors
/// `dir` itself cannot be listed. A missing `dir` is not an error (fresh
/// install): the result is empty.
pub fn repair_dir(dir: &Path) -> Result<Vec<RepairReport>> {
    let mut reports = Vec::new();
    if !dir.exists() {
        return Ok(reports);
    }
    let mut pending = vec![dir.to_path_buf()];
    let mut first = true;
    while let Some(d) = pending.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if first => return Err(Error::io(&d, e)),
            Err(e) => {
                tracing::warn!(dir = %d.display(), error = %e, "cannot list recordings directory");
                continue;
            }
        };
        first = false;
        for entry in entries.flatten() {
            let path = entry.path();
            // Do not follow symlinks: the walk stays inside the data dir.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && is_wav(&path) {
                match repair_file(&path) {
                    Ok(Some(report)) => {
                        tracing::warn!(
                            path = %path.display(),
                            declared = report.declared_data_bytes,
                            actual = report.data_bytes,
                            "repaired recording header after an unclean stop"
                        );
                        reports.push(report);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "recording left as it is"),
                }
            }
        }
    }
    reports.sort_by(|a, b| a.info.path.cmp(&b.info.path));
    Ok(reports)
}

fn is_wav(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
}

/// Repairs one file if its sizes are wrong; `Ok(None)` when it is sound.
///
/// # Errors
/// The file cannot be read or written, or is not a PCM WAV file.
pub fn repair_file(path: &Path) -> Result<Option<RepairReport>> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let layout = parse_layout(&mut file, len).map_err(|why| Error::NotRepairable {
        path: path.to_path_buf(),
        why,
    })?;

    let on_disk = len.saturating_sub(layout.data_start);
    let align = u64::from(layout.block_align);
    // Whole frames only, and no more than a RIFF size field can describe.
    let max_data = u64::from(u32::MAX) - (layout.data_start - 8);
    let data = (on_disk.min(max_data) / align) * align;
    let riff = data + (layout.data_start - 8);
    let new_len = layout.data_start + data;
    if u64::from(layout.declared_data) == data
        && u64::from(layout.declared_riff) == riff
        && new_len == len
    {
        return Ok(None);
    }
    // Both fit in u32 by construction of `max_data`.
    let (data32, riff32) = (data as u32, riff as u32);

    if new_len < len {
        file.set_len(new_len).map_err(|e| Error::io(path, e))?;
    }
    write_u32_at(&mut file, 4, riff32).map_err(|e| Error::io(path, e))?;
    write_u32_at(&mut file, layout.data_size_offset, data32).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    drop(file);

    let info = describe(path, data / align, false)?;
    Ok(Some(RepairReport {
        declared_data_bytes: layout.declared_data,
        data_bytes: data32,
        truncated_bytes: len - new_len,
        info,
    }))
}

/// Cuts a finished recording to its first `frames` stereo frames (the call's
/// end) and fixes its header. Audio written past the end can exist when a
/// channel was placed late on a starved machine; the recording must not
/// outlast the call. Returns the description of the cut file; a file already
/// that short is left alone.
pub(crate) fn truncate_frames(path: &Path, frames: u64) -> Result<Option<RecordingInfo>> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let layout = parse_layout(&mut file, len).map_err(|why| Error::NotRepairable {
        path: path.to_path_buf(),
        why,
    })?;
    let keep = layout.data_start + frames * u64::from(layout.block_align);
    if keep >= len {
        return Ok(None);
    }
    file.set_len(keep).map_err(|e| Error::io(path, e))?;
    drop(file);
    Ok(repair_file(path)?.map(|r| r.info))
}

fn write_u32_at(file: &mut File, offset: u64, value: u32) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(&value.to_le_bytes())
}

/// Walks the RIFF chunks up to `data`. Only the chunk headers are read.
fn parse_layout(file: &mut File, len: u64) -> std::result::Result<Layout, &'static str> {
    let mut head = [0u8; 12];
    file.seek(SeekFrom::Start(0)).map_err(|_| "unreadable")?;
    file.read_exact(&mut head)
        .map_err(|_| "shorter than a RIFF header")?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file");
    }
    let declared_riff = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let mut pos = 12u64;
    let mut block_align: Option<u16> = None;
    loop {
        if pos + 8 > len {
            return Err("no data chunk");
        }
        let mut ch = [0u8; 8];
        file.seek(SeekFrom::Start(pos)).map_err(|_| "unreadable")?;
        file.read_exact(&mut ch)
            .map_err(|_| "truncated chunk header")?;
        let size = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        match &ch[0..4] {
            b"fmt " => {
                if size < 16 {
                    return Err("fmt chunk too short");
                }
                let mut f = [0u8; 16];
                file.read_exact(&mut f).map_err(|_| "truncated fmt chunk")?;
                let tag = u16::from_le_bytes([f[0], f[1]]);
                let channels = u16::from_le_bytes([f[2], f[3]]);
                let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let align = u16::from_le_bytes([f[12], f[13]]);
                let bits = u16::from_le_bytes([f[14], f[15]]);
                // Only our own format is touched: durations are reported on
                // the 8 kHz stereo timeline, and anything else in the
                // directory (a prompt someone copied there) is not ours.
                let spec = recording_spec();
                if tag != 1
                    || channels != spec.channels
                    || rate != spec.sample_rate
                    || bits != spec.bits_per_sample
                    || u64::from(align) != BYTES_PER_FRAME
                {
                    return Err("not an 8 kHz 16-bit stereo PCM recording");
                }
                block_align = Some(align);
            }
            b"data" => {
                let Some(block_align) = block_align else {
                    return Err("data before fmt");
                };
                return Ok(Layout {
                    data_size_offset: pos + 4,
                    data_start: pos + 8,
                    declared_data: size,
                    declared_riff,
                    block_align,
                });
            }
            _ => {}
        }
        // Chunks are padded to even sizes (RIFF spec).
        pos += 8 + u64::from(size) + u64::from(size & 1);
    }
}

#[cfg(test)]
mod truncate_tests {
    use super::*;
    use crate::writer::RecordingWriter;

    #[test]
    fn a_recording_longer_than_its_call_is_cut_to_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("long.wav");
        let mut w = RecordingWriter::create(&path, 8000).expect("create");
        w.write_interleaved(&vec![100i16; 2 * 12_000])
            .expect("write");
        let info = w.finish().expect("finish");
        assert_eq!(info.samples, 12_000);
        let cut = truncate_frames(&path, 8_000)
            .expect("truncate")
            .expect("was longer");
        assert_eq!(cut.samples, 8_000);
        assert_eq!(cut.duration_ms, 1_000);
        let reader = hound::WavReader::open(&path).expect("valid WAV");
        assert_eq!(reader.duration(), 8_000);
        assert_eq!(
            cut.sha256_hex,
            crate::writer::sha256_file(&path).expect("hash")
        );
        assert!(truncate_frames(&path, 9_000).expect("no-op").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::tests::read_channels;
    use crate::writer::RecordingWriter;

    fn finished(path: &Path, frames: usize) {
        let mut w = RecordingWriter::create(path, 8000).expect("create");
        let s: Vec<i16> = (0..frames * 2).map(|i| (i % 1000) as i16).collect();
        w.write_interleaved(&s).expect("write");
        w.finish().expect("finish");
    }

    fn set_u32(path: &Path, offset: u64, v: u32) {
        let mut f = OpenOptions::new().write(true).open(path).expect("open");
        write_u32_at(&mut f, offset, v).expect("write");
    }

    #[test]
    fn crash_mid_call_is_recovered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crash.wav");
        let mut w = RecordingWriter::create(&path, 8000).expect("create");
        let block: Vec<i16> = (0..320).map(|i| i as i16).collect();
        // 1.5 s written; header checkpointed at 1 s.
        for _ in 0..75 {
            w.write_interleaved(&block).expect("write");
        }
        // Simulate the process dying: no final header, and whatever sat in
        // the write buffer is lost with the process.
        std::mem::forget(w);
        let len = std::fs::metadata(&path).expect("meta").len();
        assert!(len > 44 + 8000 * 4, "more than the checkpoint reached disk");
        assert_eq!(
            hound::WavReader::open(&path)
                .expect("old header")
                .duration(),
            8000
        );
        // And half a frame at the very end, as a torn write leaves.
        {
            let mut f = OpenOptions::new().append(true).open(&path).expect("open");
            f.write_all(&[1, 2, 3]).expect("append");
        }

        let reports = repair_dir(dir.path()).expect("repair");
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        let frames = (len - 44) / 4;
        assert_eq!(r.declared_data_bytes, 8000 * 4);
        assert_eq!(u64::from(r.data_bytes), frames * 4);
        assert_eq!(r.truncated_bytes, 3);
        assert_eq!(r.info.samples, frames);
        assert_eq!(r.info.size_bytes, len);

        let (_, left, right) = read_channels(&path);
        assert_eq!(left.len() as u64, frames);
        assert_eq!(right.len() as u64, frames);
        assert_eq!(&left[..3], &[0, 2, 4]);
        // A second pass finds nothing to do.
        assert!(repair_dir(dir.path()).expect("repair").is_empty());
    }

    #[test]
    fn never_finalized_header_zero_sizes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zero.wav");
        finished(&path, 1234);
        // The header as first written, before any checkpoint: sizes 0.
        set_u32(&path, 4, 0);
        set_u32(&path, 40, 0);
        let r = repair_file(&path).expect("repair").expect("needed repair");
        assert_eq!(r.declared_data_bytes, 0);
        assert_eq!(r.data_bytes, 1234 * 4);
        assert_eq!(read_channels(&path).1.len(), 1234);
    }

    #[test]
    fn header_claiming_more_than_the_disk_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.wav");
        finished(&path, 1000);
        // The tail never reached the disk (disk full): cut 2 frames + 2 bytes.
        let f = OpenOptions::new().write(true).open(&path).expect("open");
        f.set_len(44 + 998 * 4 - 2).expect("truncate");
        drop(f);
        let r = repair_file(&path).expect("repair").expect("needed repair");
        assert_eq!(r.declared_data_bytes, 4000);
        assert_eq!(r.data_bytes, 997 * 4);
        assert_eq!(r.truncated_bytes, 2);
        assert_eq!(read_channels(&path).1.len(), 997);
    }

    #[test]
    fn sound_and_foreign_files_are_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.wav");
        finished(&good, 500);
        let before = std::fs::read(&good).expect("read");
        std::fs::write(dir.path().join("notes.wav"), b"not a wav at all").expect("write");
        std::fs::write(dir.path().join("readme.txt"), b"RIFF").expect("write");
        let sub = dir.path().join("2024/05");
        std::fs::create_dir_all(&sub).expect("mkdir");
        let nested = sub.join("n.wav");
        finished(&nested, 100);
        set_u32(&nested, 40, 0);

        let reports = repair_dir(dir.path()).expect("repair");
        assert_eq!(reports.len(), 1, "only the nested broken file");
        assert_eq!(reports[0].info.path, nested);
        assert_eq!(std::fs::read(&good).expect("read"), before);
        assert_eq!(
            std::fs::read(dir.path().join("notes.wav")).expect("read"),
            b"not a wav at all"
        );
    }

    #[test]
    fn missing_dir_is_empty_not_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(repair_dir(&dir.path().join("none")).expect("ok").is_empty());
    }
}
