//! Parses arbitrary bytes as a SIP message. Whatever parses must print and parse
//! back to the same message (with the Content-Length printing writes); whatever
//! fails must still let `error_response` run. Nothing may panic.
#![no_main]

use bytes::Bytes;
use hotline_sip::message::{error_response, parse, HeaderName, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    match parse(bytes) {
        Ok(message) => {
            let printed = message.to_bytes();
            let again = match parse(printed.clone()) {
                Ok(m) => m,
                Err(e) => panic!("reprinted message does not parse: {e}\n{printed:?}"),
            };
            let body_len = match &message {
                Message::Request(r) => r.body.len(),
                Message::Response(r) => r.body.len(),
            };
            let mut expected = message;
            expected
                .headers_mut()
                .set(HeaderName::ContentLength, body_len.to_string());
            assert_eq!(again, expected);
            // Printing is a fixed point from here on.
            assert_eq!(again.to_bytes(), printed);
            // The typed accessors of a parsed message do not fail.
            let h = again.headers();
            h.top_via().expect("validated Via");
            h.vias().expect("validated Via");
            h.call_id().expect("validated Call-ID");
            h.cseq().expect("validated CSeq");
            h.from_addr().expect("validated From");
            h.to_addr().expect("validated To");
            h.contacts().expect("validated Contact");
            h.expires().expect("validated Expires");
            h.max_forwards().expect("validated Max-Forwards");
        }
        Err(err) => {
            if let Some(answer) = error_response(data, &err) {
                assert!(answer.starts_with(b"SIP/2.0 "));
            }
        }
    }
});
