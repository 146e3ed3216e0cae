//! RFC 4733 telephone-events: the keys callers press (the IVR's input).
//!
//! One key press is one *event*: a series of packets sharing one RTP timestamp
//! (the event's start, RFC 4733 §2.5.1.1), with the marker on the first, a
//! growing duration, and the end bit on the last — which is sent three times
//! (§2.5.1.4) because it may be lost. Any of them may be lost or reordered, so the
//! [`DtmfDetector`] reports a key on the *first* packet it sees of an event,
//! start or end, and ignores every other packet with that timestamp. Events
//! longer than the 16-bit duration are split into segments whose timestamp is the
//! previous segment's plus its duration (§2.5.1.3): such a continuation is the
//! same key, not a new one.

/// One telephone-event payload (RFC 4733 §2.3), for the DTMF events 0–15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// `0`–`9`, `*`, `#`, `A`–`D` (events 0–15, RFC 4733 §3.2).
    pub digit: char,
    /// E bit: the last packet(s) of the event.
    pub end: bool,
    /// Power level, 0 to -63 dBm0 expressed as 0–63.
    pub volume: u8,
    /// Duration so far, in RTP clock ticks from the event's timestamp.
    pub duration: u16,
}

/// A payload that is not a DTMF telephone-event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload too short ({0} bytes)")]
    TooShort(usize),
    /// Events above 15 (flash, line tones, ...) are not keys.
    #[error("telephone-event {0} is not a DTMF digit")]
    NotDigit(u8),
}

const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

impl DtmfEvent {
    /// Parses the first four bytes of an RTP payload. Trailing bytes (RFC 4733
    /// §2.5.1.5 lets several events share a packet; phones send one) are ignored.
    pub fn parse(payload: &[u8]) -> Result<DtmfEvent, DtmfError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(DtmfError::TooShort(payload.len()));
        };
        let digit = *DIGITS
            .get(usize::from(event))
            .ok_or(DtmfError::NotDigit(event))?;
        Ok(DtmfEvent {
            digit,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The four payload bytes (for tests and, later, the IVR's own prompts).
    pub fn to_bytes(self) -> [u8; 4] {
        let code = DIGITS.iter().position(|&d| d == self.digit).unwrap_or(0);
        let [d0, d1] = self.duration.to_be_bytes();
        [
            u8::try_from(code).unwrap_or(0),
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d0,
            d1,
        ]
    }
}

#[derive(Debug, Clone, Copy)]
struct Current {
    ssrc: u32,
    timestamp: u32,
    digit: char,
    end: bool,
    duration: u16,
}

/// Reports each key press once. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    current: Option<Current>,
}

/// How far past the previous segment's reported duration a continuation segment
/// may start (its last packets may have been lost): 200 ms at 8 kHz.
const SEGMENT_SLACK: u32 = 1600;

impl DtmfDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet of the stream `ssrc`, whose RTP
    /// timestamp is `timestamp`. Returns the digit when this packet starts a new
    /// key press.
    pub fn on_event(&mut self, ssrc: u32, timestamp: u32, ev: DtmfEvent) -> Option<char> {
        if let Some(cur) = &mut self.current {
            if cur.ssrc == ssrc {
                let ahead = timestamp.wrapping_sub(cur.timestamp);
                if ahead == 0 {
                    // Another packet of the event already reported (update, end,
                    // or a retransmitted end).
                    cur.end |= ev.end;
                    cur.duration = cur.duration.max(ev.duration);
                    return None;
                }
                if (ahead as i32) < 0 {
                    // Older than the current event: a late packet of one already
                    // reported (or of one long gone). Never a new key.
                    return None;
                }
                if !cur.end
                    && ev.digit == cur.digit
                    && ahead <= u32::from(cur.duration) + SEGMENT_SLACK
                {
                    // §2.5.1.3: the next segment of a long event.
                    *cur = Current {
                        timestamp,
                        end: ev.end,
                        duration: ev.duration,
                        ..*cur
                    };
                    return None;
                }
            }
        }
        self.current = Some(Current {
            ssrc,
            timestamp,
            digit: ev.digit,
            end: ev.end,
            duration: ev.duration,
        });
        Some(ev.digit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(digit: char, end: bool, duration: u16) -> DtmfEvent {
        DtmfEvent {
            digit,
            end,
            volume: 10,
            duration,
        }
    }

    #[test]
    fn payloads_parse_and_print() {
        let p = [11, 0x80 | 10, 0x03, 0x20];
        let e = DtmfEvent::parse(&p).expect("valid");
        assert_eq!(e, ev('#', true, 800));
        assert_eq!(e.to_bytes(), p);
        for (code, d) in DIGITS.iter().enumerate() {
            let e = DtmfEvent::parse(&[code as u8, 0, 0, 0]).expect("digit");
            assert_eq!(e.digit, *d);
            assert_eq!(e.to_bytes()[0], code as u8);
        }
        assert_eq!(
            DtmfEvent::parse(&[16, 0, 0, 0]),
            Err(DtmfError::NotDigit(16))
        );
        assert_eq!(DtmfEvent::parse(&[1, 0, 0]), Err(DtmfError::TooShort(3)));
        // R bit (0x40) is not volume.
        assert_eq!(
            DtmfEvent::parse(&[1, 0x40 | 7, 0, 0]).expect("ok").volume,
            7
        );
    }

    #[test]
    fn one_key_press_with_three_end_packets_is_reported_once() {
        let mut d = DtmfDetector::new();
        let ts = 12_345;
        assert_eq!(d.on_event(1, ts, ev('5', false, 160)), Some('5'));
        for dur in [320, 480, 640] {
            assert_eq!(d.on_event(1, ts, ev('5', false, dur)), None);
        }
        for _ in 0..3 {
            assert_eq!(d.on_event(1, ts, ev('5', true, 800)), None);
        }
    }

    #[test]
    fn a_press_whose_start_was_lost_is_reported_at_its_end() {
        let mut d = DtmfDetector::new();
        assert_eq!(d.on_event(1, 500, ev('9', true, 800)), Some('9'));
        assert_eq!(d.on_event(1, 500, ev('9', true, 800)), None);
        assert_eq!(d.on_event(1, 500, ev('9', true, 800)), None);
    }

    #[test]
    fn the_same_key_twice_is_two_presses() {
        let mut d = DtmfDetector::new();
        assert_eq!(d.on_event(1, 1000, ev('1', false, 160)), Some('1'));
        assert_eq!(d.on_event(1, 1000, ev('1', true, 800)), None);
        assert_eq!(d.on_event(1, 1000, ev('1', true, 800)), None);
        // Next press, 100 ms later: a new timestamp.
        assert_eq!(d.on_event(1, 2600, ev('1', false, 160)), Some('1'));
        assert_eq!(d.on_event(1, 2600, ev('1', true, 800)), None);
    }

    #[test]
    fn a_retransmitted_end_arriving_after_the_next_key_is_not_reported_again() {
        let mut d = DtmfDetector::new();
        assert_eq!(d.on_event(1, 1000, ev('1', true, 800)), Some('1'));
        assert_eq!(d.on_event(1, 2600, ev('2', false, 160)), Some('2'));
        assert_eq!(d.on_event(1, 1000, ev('1', true, 800)), None);
        assert_eq!(d.on_event(1, 2600, ev('2', true, 800)), None);
    }

    #[test]
    fn a_long_press_split_into_segments_is_one_key() {
        let mut d = DtmfDetector::new();
        let ts0 = u32::MAX - 1000; // and across the timestamp wrap
        assert_eq!(d.on_event(1, ts0, ev('0', false, 65_000)), Some('0'));
        assert_eq!(d.on_event(1, ts0, ev('0', false, 65_535)), None);
        let ts1 = ts0.wrapping_add(65_535);
        assert_eq!(d.on_event(1, ts1, ev('0', false, 160)), None);
        assert_eq!(d.on_event(1, ts1, ev('0', true, 4000)), None);
        // After the end, the same key at a later timestamp is a new press.
        assert_eq!(
            d.on_event(1, ts1.wrapping_add(5000), ev('0', false, 160)),
            Some('0')
        );
    }

    #[test]
    fn a_new_source_resets_the_detector() {
        let mut d = DtmfDetector::new();
        assert_eq!(d.on_event(1, 1000, ev('4', false, 160)), Some('4'));
        assert_eq!(d.on_event(2, 1000, ev('4', false, 160)), Some('4'));
        assert_eq!(d.on_event(2, 1000, ev('4', true, 800)), None);
    }
}
