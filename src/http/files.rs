//! Serving a file with HTTP range requests (RFC 9110 §14): recordings are played
//! back in a browser, which seeks with `Range: bytes=...`.

use std::io::SeekFrom;
use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::error::ApiError;

/// An inclusive byte range within a file of known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// Parses a single-range `Range` header against a length. `Ok(None)`: no usable
/// range (serve the whole file); `Err(())`: unsatisfiable (416). Multiple ranges
/// are answered with the whole file, which RFC 9110 §14.2 allows.
#[allow(clippy::result_unit_err)]
pub fn parse_range(value: &str, len: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => {
            let n: u64 = b.parse().map_err(|_| ())?;
            if n == 0 || len == 0 {
                return Err(());
            }
            ByteRange {
                start: len.saturating_sub(n),
                end: len - 1,
            }
        }
        (false, _) => {
            let start: u64 = a.parse().map_err(|_| ())?;
            let end: u64 = if b.is_empty() {
                len.saturating_sub(1)
            } else {
                b.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))
            };
            if start >= len || end < start {
                return Err(());
            }
            ByteRange { start, end }
        }
        (true, true) => return Ok(None),
    };
    Ok(Some(range))
}

/// A `200` or `206` response streaming `path` (never read whole into memory).
pub async fn serve_file(
    path: &Path,
    content_type: &'static str,
    request_headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let mut file = tokio::fs::File::open(path).await.map_err(|e| {
        tracing::warn!(path = %path.display(), "cannot open file: {e}");
        ApiError::NotFound("the file is not available".into())
    })?;
    let len = file
        .metadata()
        .await
        .map_err(|_| ApiError::NotFound("the file is not available".into()))?
        .len();
    let range = match request_headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) => match parse_range(v, len) {
            Ok(r) => r,
            Err(()) => {
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response())
            }
        },
        None => None,
    };
    let (status, start, count) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.end - r.start + 1),
        None => (StatusCode::OK, 0, len),
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|_| ApiError::NotFound("the file is not available".into()))?;
    }
    let body = Body::from_stream(ReaderStream::new(file.take(count)));
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, count)
        .body(body)
        .map_err(|_| ApiError::NotFound("the file is not available".into()))?;
    if let Some(r) = range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{len}", r.start, r.end)) {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s, e| Ok(Some(ByteRange { start: s, end: e }));
        assert_eq!(parse_range("bytes=0-99", 1000), r(0, 99));
        assert_eq!(parse_range("bytes=900-", 1000), r(900, 999));
        assert_eq!(parse_range("bytes=-100", 1000), r(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), r(0, 999));
        assert_eq!(parse_range("bytes=990-2000", 1000), r(990, 999));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=50-10", 1000), Err(()));
        assert_eq!(parse_range("bytes=x-1", 1000), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
        assert_eq!(parse_range("bytes=-0", 1000), Err(()));
    }
}
