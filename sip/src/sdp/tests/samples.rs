//! Session descriptions as sent by real user agents (shapes of their default
//! offers, addresses replaced by documentation ones) and the RFC examples. Each is
//! written in the RFC 4566 §5 line order, so printing it back gives the same text.

/// baresip 1.x with opus enabled: opus first, G.711 after, RFC 4733 at 101, its
/// usual run of attributes we do not interpret.
pub(super) const BARESIP: &str = "v=0
o=- 1477493063 1614024437 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
a=tool:baresip 1.1.0
m=audio 10256 RTP/AVP 96 0 8 101
b=AS:64
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-rsize
a=sendrecv
a=label:1
a=ssrc:1584961440 cname:2bc6e0c6-3c0b-4b94-8aef-8e3e7ae3a6ed
a=ptime:20
";

/// Linphone 4.x/5.x: many codecs, `telephone-event` at three rates (the 8 kHz one
/// last), RTCP-XR and RTCP feedback, and a video stream.
pub(super) const LINPHONE: &str = "v=0
o=alice 3227 2417 IN IP4 192.0.2.20
s=Talk
c=IN IP4 192.0.2.20
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
a=rtcp-fb:96 nack pli
a=rtcp-fb:97 nack pli
";

/// SIPp's built-in `uac` scenario with `-i 127.0.0.1` and media port 6000.
pub(super) const SIPP_UAC: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";

/// Asterisk (chan_sip/pjsip) towards a trunk: A-law first, GSM, DTMF 0-16.
pub(super) const ASTERISK: &str = "v=0
o=- 1804289383 1804289383 IN IP4 203.0.113.5
s=Asterisk
c=IN IP4 203.0.113.5
t=0 0
m=audio 17450 RTP/AVP 8 0 3 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:3 GSM/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
";

/// A Cisco CUCM/CUBE trunk offer: G.729 preferred, session and media `b=` lines.
pub(super) const CISCO: &str = "v=0
o=CiscoSystemsCCM-SIP 2000 1 IN IP4 198.51.100.1
s=SIP Call
c=IN IP4 198.51.100.2
b=TIAS:64000
b=AS:64
t=0 0
m=audio 24580 RTP/AVP 18 8 0 101
b=TIAS:64000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
";

/// RFC 4566 §5: the example session description (multicast, a TTL, `i u e` lines).
pub(super) const RFC4566_EXAMPLE: &str = "v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
c=IN IP4 224.2.17.12/127
t=2873397496 2873404696
a=recvonly
m=audio 49170 RTP/AVP 0
m=video 51372 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
";

/// RFC 3264 §10.1: Alice's offer (audio and two video streams).
pub(super) const RFC3264_10_1_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
s=
c=IN IP4 host.anywhere.com
t=0 0
m=audio 49170 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 51372 RTP/AVP 31
a=rtpmap:31 H261/90000
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
";

/// RFC 3264 §10.1: Bob's answer, rejecting the first video stream.
pub(super) const RFC3264_10_1_ANSWER: &str = "v=0
o=bob 2890844730 2890844730 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 49920 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
";

/// RFC 3264 §10.1: Bob's second offer, adding a receive-only events stream (the
/// RFC spells it `telephone-events`).
pub(super) const RFC3264_10_1_REOFFER: &str = "v=0
o=bob 2890844730 2890844731 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 65422 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
m=audio 51434 RTP/AVP 110
a=rtpmap:110 telephone-events/8000
a=recvonly
";

/// RFC 3264 §10.2: the first offer of "one of N codec selection", inactive.
pub(super) const RFC3264_10_2_OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
s=
c=IN IP4 host.anywhere.com
t=0 0
m=audio 62986 RTP/AVP 0 4 18
a=rtpmap:0 PCMU/8000
a=rtpmap:4 G723/8000
a=rtpmap:18 G729/8000
a=inactive
";

/// RFC 3264 §10.2: Bob's answer with the two codecs he can switch between.
pub(super) const RFC3264_10_2_ANSWER: &str = "v=0
o=bob 2890844730 2890844731 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 54344 RTP/AVP 0 4
a=rtpmap:0 PCMU/8000
a=rtpmap:4 G723/8000
a=inactive
";

/// Every sample, named, for the table tests.
pub(super) const ALL: &[(&str, &str)] = &[
    ("baresip", BARESIP),
    ("linphone", LINPHONE),
    ("sipp uac", SIPP_UAC),
    ("asterisk", ASTERISK),
    ("cisco", CISCO),
    ("rfc4566 §5", RFC4566_EXAMPLE),
    ("rfc3264 §10.1 offer", RFC3264_10_1_OFFER),
    ("rfc3264 §10.1 answer", RFC3264_10_1_ANSWER),
    ("rfc3264 §10.1 re-offer", RFC3264_10_1_REOFFER),
    ("rfc3264 §10.2 offer", RFC3264_10_2_OFFER),
    ("rfc3264 §10.2 answer", RFC3264_10_2_ANSWER),
];
