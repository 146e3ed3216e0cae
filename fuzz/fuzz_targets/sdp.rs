//! Parses arbitrary bytes as an SDP body. Whatever parses must print and parse back
//! to the same description, printing must then be a fixed point, and negotiating
//! it as an offer must not panic: an answer we build has one m-line per offered
//! m-line, parses back, and is accepted by the offerer with the same outcome.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use hotline_sip::sdp::{accept_answer, answer, LocalMedia, MediaCaps, SessionDescription};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = SessionDescription::parse(data) else {
        return;
    };
    let printed = offer.to_string();
    let again = match SessionDescription::parse(printed.as_bytes()) {
        Ok(sd) => sd,
        Err(e) => panic!("reprinted SDP does not parse: {e}\n{printed}"),
    };
    assert_eq!(again, offer);
    assert_eq!(again.to_string(), printed);

    let local = LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
        rtp_port: 40000,
        session_id: 1,
        session_version: 1,
        username: "hotline",
    };
    if let Ok(n) = answer(&offer, &MediaCaps::default(), local) {
        assert_eq!(n.answer.media.len(), offer.media.len());
        let reparsed = SessionDescription::parse(&n.answer.to_bytes()).expect("our answer parses");
        assert_eq!(reparsed, n.answer);
        let back = accept_answer(&offer, &n.answer).expect("the offerer accepts our answer");
        assert_eq!(
            (back.codec, back.telephone_event),
            (n.codec, n.telephone_event)
        );
    }
    let _ = accept_answer(&offer, &offer);
});
