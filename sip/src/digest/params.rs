//! Parsing of one `Authorization` / `Proxy-Authorization` header value into its
//! scheme and `name=value` parameters.
//!
//! Grammar (RFC 7235 §2.1 and RFC 3261 §25.1, which allows LWS around `=` and `,`):
//!
//! ```text
//! credentials = auth-scheme [ 1*SP #auth-param ]
//! auth-param  = token LWS "=" LWS ( token / quoted-string )
//! ```
//!
//! The parser is deliberately a little more lenient than the grammar on unquoted
//! values (some phones send `uri=sip:host` or `nc="00000001"`): an unquoted value is
//! any run of visible characters other than `,` and `"`. It is strict where leniency
//! would make the meaning ambiguous: a parameter named twice is an error (RFC 7235
//! §2.1: "each parameter name MUST only occur once"), as is an unterminated quoted
//! string. Peer input never panics here: the only indexing is on boundaries found by
//! `char_indices`.

/// Upper bound on a credentials line. Real ones are ~300 bytes; the cap keeps a
/// hostile header from costing more than a fixed amount of work and memory.
pub(super) const MAX_CREDENTIALS_LEN: usize = 4096;
/// Upper bound on the number of parameters (RFC 7616 defines about a dozen).
const MAX_PARAMS: usize = 32;

/// Why a credentials line could not be parsed (reported as a 400 reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ParamsError {
    TooLong,
    NoScheme,
    Syntax,
    Unterminated,
    Duplicate,
    TooMany,
}

impl ParamsError {
    pub(super) fn reason(self) -> &'static str {
        match self {
            ParamsError::TooLong => "Authorization header too long",
            ParamsError::NoScheme => "Authorization header without a scheme",
            ParamsError::Syntax => "Malformed Authorization parameters",
            ParamsError::Unterminated => "Unterminated quoted string in Authorization",
            ParamsError::Duplicate => "Duplicate Authorization parameter",
            ParamsError::TooMany => "Too many Authorization parameters",
        }
    }
}

/// A parsed credentials line: the scheme as written and the parameters, names
/// lower-cased, quoted values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub(super) scheme: String,
    params: Vec<(String, String)>,
}

impl Credentials {
    /// The value of parameter `name` (lower-case).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }
}

/// Splits off the scheme token. Returns the scheme and the rest (parameters).
pub(super) fn split_scheme(value: &str) -> Result<(&str, &str), ParamsError> {
    if value.len() > MAX_CREDENTIALS_LEN {
        return Err(ParamsError::TooLong);
    }
    let value = value.trim_matches(is_lws);
    let end = value
        .find(|c: char| !is_token_char(c))
        .unwrap_or(value.len());
    if end == 0 {
        return Err(ParamsError::NoScheme);
    }
    let (scheme, rest) = value.split_at(end);
    // The scheme must be followed by whitespace (or nothing).
    if !rest.is_empty() && !rest.starts_with(is_lws) {
        return Err(ParamsError::Syntax);
    }
    Ok((scheme, rest))
}

/// Parses a full credentials line (`Digest username="..", ...`).
pub(super) fn parse_credentials(value: &str) -> Result<Credentials, ParamsError> {
    let (scheme, rest) = split_scheme(value)?;
    let params = parse_params(rest)?;
    Ok(Credentials {
        scheme: scheme.to_owned(),
        params,
    })
}

fn parse_params(input: &str) -> Result<Vec<(String, String)>, ParamsError> {
    let mut cur = Cursor { s: input, pos: 0 };
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        cur.skip_lws();
        // `#rule` (RFC 7230 §7): empty list elements are allowed and ignored.
        if cur.eat(',') {
            continue;
        }
        if cur.at_end() {
            break;
        }
        let name = cur.token().ok_or(ParamsError::Syntax)?.to_ascii_lowercase();
        cur.skip_lws();
        if !cur.eat('=') {
            return Err(ParamsError::Syntax);
        }
        cur.skip_lws();
        let value = if cur.peek() == Some('"') {
            cur.quoted()?
        } else {
            cur.bare_value().ok_or(ParamsError::Syntax)?.to_owned()
        };
        if params.iter().any(|(n, _)| *n == name) {
            return Err(ParamsError::Duplicate);
        }
        if params.len() == MAX_PARAMS {
            return Err(ParamsError::TooMany);
        }
        params.push((name, value));
        cur.skip_lws();
        if cur.at_end() {
            break;
        }
        if !cur.eat(',') {
            return Err(ParamsError::Syntax);
        }
    }
    Ok(params)
}

/// RFC 3261 §25.1 token characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~'
        )
}

/// Linear whitespace; header values reach us unfolded, but tolerate CR/LF anyway.
fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn skip_lws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(is_lws).len();
    }
    /// Consumes a run of characters matching `pred`; `None` if empty.
    fn run(&mut self, pred: impl Fn(char) -> bool) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest.find(|c: char| !pred(c)).unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(&rest[..len])
    }
    fn token(&mut self) -> Option<&'a str> {
        self.run(is_token_char)
    }
    /// An unquoted value: lenient, see the module docs.
    fn bare_value(&mut self) -> Option<&'a str> {
        self.run(|c| !is_lws(c) && c != ',' && c != '"' && !c.is_control())
    }
    /// A quoted-string (RFC 3261 §25.1) starting at the opening quote; returns the
    /// content with quoted-pairs resolved.
    fn quoted(&mut self) -> Result<String, ParamsError> {
        let rest = self.rest();
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    // quoted-pair excludes CR and LF.
                    Some((_, '\r' | '\n')) | None => return Err(ParamsError::Unterminated),
                    Some((_, escaped)) => out.push(escaped),
                },
                '\r' | '\n' | '\0' => return Err(ParamsError::Syntax),
                c => out.push(c),
            }
        }
        Err(ParamsError::Unterminated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7616_credentials() {
        let c = parse_credentials(
            r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .expect("RFC example parses");
        assert!(c.is_digest());
        assert_eq!(c.get("username"), Some("Mufasa"));
        assert_eq!(c.get("algorithm"), Some("SHA-256"));
        assert_eq!(c.get("nc"), Some("00000001"));
        assert_eq!(c.get("qop"), Some("auth"));
        assert_eq!(
            c.get("opaque"),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
    }

    #[test]
    fn names_are_case_insensitive_and_lws_is_allowed() {
        let c = parse_credentials("dIgEsT  UserName = \"a\" ,\tNC=\"00000002\" ,, QOP = auth ")
            .expect("parses");
        assert!(c.is_digest());
        assert_eq!(c.get("username"), Some("a"));
        assert_eq!(c.get("nc"), Some("00000002"));
        assert_eq!(c.get("qop"), Some("auth"));
    }

    #[test]
    fn quoted_pairs_are_unescaped() {
        let c = parse_credentials(r#"Digest username="a\"b\\c", realm="ü""#).expect("parses");
        assert_eq!(c.get("username"), Some(r#"a"b\c"#));
        assert_eq!(c.get("realm"), Some("ü"));
    }

    #[test]
    fn lenient_bare_uri() {
        let c = parse_credentials("Digest uri=sip:hotline.example;transport=tcp, nc=1")
            .expect("parses");
        assert_eq!(c.get("uri"), Some("sip:hotline.example;transport=tcp"));
    }

    #[test]
    fn rejects_broken_input() {
        for bad in [
            "",
            "   ",
            "=x",
            r#"Digest username="abc"#,
            r#"Digest username="abc\"#,
            "Digest username",
            "Digest username=",
            "Digest a=1 b=2",
            "Digest a=1, a=2",
            "Digest A=1, a=2",
            "Digest =1",
            "Digest\"x\"",
            "Digest a=\"x\"y",
        ] {
            assert!(parse_credentials(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            parse_credentials(&format!("Digest a=\"{}\"", "x".repeat(5000))),
            Err(ParamsError::TooLong)
        );
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            parse_credentials(&format!("Digest {}", many.join(","))),
            Err(ParamsError::TooMany)
        );
    }

    #[test]
    fn other_schemes_split() {
        let (scheme, rest) = split_scheme("Basic dXNlcjpwYXNz").expect("splits");
        assert_eq!(scheme, "Basic");
        assert_eq!(rest.trim(), "dXNlcjpwYXNz");
    }
}
