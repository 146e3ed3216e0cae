//! Parsing throughput of the message layer against rsip 0.4, side by side in one
//! criterion group: a typical ~900-byte INVITE with SDP and a REGISTER carrying
//! digest credentials, each parsed and then read through the typed headers the
//! transaction layer and registrar use (top Via branch and sent-by, CSeq,
//! Call-ID, From/To tags, Contact).
//!
//! `cargo bench -p hotline-sip --bench parse -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used)] // benchmark inputs are fixed

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotline_sip::message::{parse, ContactValue, Message};
use rsip::headers::ToTypedHeader;
use rsip::prelude::HeadersExt;

const INVITE: &str = "INVITE sip:12345@hotline.example.gov.cn SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.23:5060;branch=z9hG4bK-524287-1---0f0e5c8a2d6b9c71;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:8613800138000@198.51.100.23:5060;transport=udp>\r\n\
To: <sip:12345@hotline.example.gov.cn>\r\n\
From: \"Citizen Caller\" <sip:8613800138000@trunk.example-carrier.net>;tag=4f8a1c2e\r\n\
Call-ID: NzY3ODk0NjU0ZDFjMjM0YjA5YWY0NzZkMGM1ZjBhZGE@198.51.100.23\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, norefersub, timer\r\n\
User-Agent: Carrier-SBC/7.4.1\r\n\
Content-Length: 249\r\n\
\r\n\
v=0\r\n\
o=SBC 20518 20518 IN IP4 198.51.100.23\r\n\
s=Talk\r\n\
c=IN IP4 198.51.100.23\r\n\
t=0 0\r\n\
m=audio 40376 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtcp:40377\r\n";

// rsip 0.4 cannot tokenize a quoted Contact parameter such as RFC 5626's
// `+sip.instance="<urn:uuid:...>"`, so the REGISTER leaves it out.
const REGISTER: &str = "REGISTER sip:hotline.example.gov.cn SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.20.30.41:5062;branch=z9hG4bK.Xf3kLq9vA;rport\r\n\
From: <sip:1001@hotline.example.gov.cn>;tag=a7Gp2kQm\r\n\
To: <sip:1001@hotline.example.gov.cn>\r\n\
CSeq: 21 REGISTER\r\n\
Call-ID: 9b1c7e44-2f6a-4c1e-9d55-3a8f0c6e7b21\r\n\
Max-Forwards: 70\r\n\
Supported: replaces, outbound, gruu, path\r\n\
Accept: application/sdp, text/plain, application/vnd.gsma.rcs-ft-http+xml\r\n\
Contact: <sip:1001@10.20.30.41:5062;transport=udp>;expires=600\r\n\
Expires: 600\r\n\
User-Agent: Linphone-Desktop/5.2.6 (seat-14) linux/6.1 Qt/5.15.2 LinphoneSDK/5.3.72\r\n\
Authorization: Digest realm=\"hotline.example.gov.cn\", nonce=\"ZmFiNzE2Yzc4YzE0NDEyYTk5MTZkMGE4\", algorithm=SHA-256, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", username=\"1001\", uri=\"sip:hotline.example.gov.cn\", response=\"6629fae49393a05397450978507c4ef1c0e0f7c4a1b3e5d1f7a9b2c4d6e8f0a1\", cnonce=\"0a4f113b\", nc=00000001, qop=auth\r\n\
Content-Length: 0\r\n\
\r\n";

/// Parse with ours, then the typed reads a server does for every message.
fn ours(buf: &Bytes) -> usize {
    let message = parse(buf.clone()).unwrap();
    let h = message.headers();
    let via = h.top_via().unwrap();
    let cseq = h.cseq().unwrap();
    let from = h.from_addr().unwrap();
    let to = h.to_addr().unwrap();
    let contacts = h.contacts().unwrap();
    black_box(via.branch());
    black_box((&via.host, via.port));
    black_box(&cseq);
    black_box(h.call_id().unwrap());
    black_box(from.tag());
    black_box(to.tag());
    if let Some(ContactValue::Addr(a)) = contacts.first() {
        black_box(&a.uri);
    }
    match &message {
        Message::Request(r) => r.body.len(),
        Message::Response(r) => r.body.len(),
    }
}

/// The same with rsip 0.4 and its typed headers.
fn rsip(buf: &[u8]) -> usize {
    let message = rsip::SipMessage::try_from(buf).unwrap();
    let via = message.via_header().unwrap().typed().unwrap();
    black_box(via.branch());
    black_box(via.sent_by());
    black_box(message.cseq_header().unwrap().typed().unwrap());
    black_box(message.call_id_header().unwrap());
    black_box(
        message
            .from_header()
            .unwrap()
            .typed()
            .unwrap()
            .tag()
            .cloned(),
    );
    black_box(message.to_header().unwrap().typed().unwrap().tag().cloned());
    black_box(message.contact_header().unwrap().typed().unwrap());
    message.body().len()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for (name, text) in [("invite", INVITE), ("register", REGISTER)] {
        // A shared buffer, as a socket read hands it over (slices are refcounted).
        let buf = Bytes::copy_from_slice(text.as_bytes());
        assert_eq!(ours(&buf), rsip(&buf));
        group.bench_function(format!("{name}/hotline ({} B)", buf.len()), |b| {
            b.iter(|| ours(black_box(&buf)))
        });
        group.bench_function(format!("{name}/rsip ({} B)", buf.len()), |b| {
            b.iter(|| rsip(black_box(&buf)))
        });
        // The parse alone (validation included, no typed reads), for the split.
        group.bench_function(
            format!("{name}/hotline parse only ({} B)", buf.len()),
            |b| b.iter(|| parse(black_box(buf.clone())).unwrap()),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
