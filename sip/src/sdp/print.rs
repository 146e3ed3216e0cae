//! The SDP printer: RFC 4566 §5 line order, CRLF line ends.

use std::fmt::{self, Display, Formatter};

use bytes::Bytes;

use super::{
    AddrType, Address, Attribute, Bandwidth, Connection, MediaDescription, Rtcp, RtpMap,
    SessionDescription,
};

impl SessionDescription {
    /// The printed description, ready to be a SIP body.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        if let Some(i) = &self.information {
            write!(f, "i={i}\r\n")?;
        }
        if let Some(u) = &self.uri {
            write!(f, "u={u}\r\n")?;
        }
        for e in &self.emails {
            write!(f, "e={e}\r\n")?;
        }
        for p in &self.phones {
            write!(f, "p={p}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                write!(f, "r={r}\r\n")?;
            }
        }
        if let Some(z) = &self.time_zones {
            write!(f, "z={z}\r\n")?;
        }
        if let Some(k) = &self.key {
            write!(f, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// The whole media section, from `m=` to its last `a=`, each line ending in CRLF.
impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media.as_str(), self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto.as_str())?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        write!(f, "\r\n")?;
        if let Some(i) = &self.title {
            write!(f, "i={i}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        if let Some(k) = &self.key {
            write!(f, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        Ok(())
    }
}

/// `IN IP4 <address>` (the part after `c=`).
impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address)?;
        match self.address.addr_type() {
            AddrType::Ip4 => {
                if let Some(ttl) = self.ttl {
                    write!(f, "/{ttl}")?;
                    if let Some(count) = self.count {
                        write!(f, "/{count}")?;
                    }
                }
            }
            AddrType::Ip6 => {
                if let Some(count) = self.count {
                    write!(f, "/{count}")?;
                }
            }
        }
        Ok(())
    }
}

/// `IN IP4 <address>`.
impl Display for Address {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let addr_type = self.addr_type().as_str();
        match self {
            Address::Ip(ip) => write!(f, "IN {addr_type} {ip}"),
            Address::Host { name, .. } => write!(f, "IN {addr_type} {name}"),
        }
    }
}

impl Display for Bandwidth {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// The part after `a=`.
impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Rtpmap(m) => write!(f, "rtpmap:{m}"),
            Attribute::Fmtp(p) if p.params.is_empty() => write!(f, "fmtp:{}", p.format),
            Attribute::Fmtp(p) => write!(f, "fmtp:{} {}", p.format, p.params),
            Attribute::Ptime(ms) => write!(f, "ptime:{ms}"),
            Attribute::Direction(d) => f.write_str(d.as_str()),
            Attribute::Rtcp(r) => write!(f, "rtcp:{r}"),
            Attribute::Other { name, value: None } => f.write_str(name),
            Attribute::Other {
                name,
                value: Some(value),
            } => write!(f, "{name}:{value}"),
        }
    }
}

/// `<payload type> <encoding>/<clock rate>[/<params>]`.
impl Display for RtpMap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(p) = &self.params {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// `<port>[ IN IP4 <address>]`.
impl Display for Rtcp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(a) = &self.address {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}
