//! Cursor pagination shared by every list endpoint:
//! `{"items": [...], "nextCursor": "..." | null}`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::error::ApiError;

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most items per page.
pub const MAX_LIMIT: i64 = 500;

/// One page of a list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The validated page size.
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}, got {n}"),
        )),
    }
}

/// Wraps a position so clients treat it as opaque.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

/// Reads a cursor back into the position type of the list.
pub fn decode_cursor<T: std::str::FromStr>(cursor: Option<&str>) -> Result<Option<T>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor is not one this API issued"))
}

/// Reads a cursor holding a time; a time outside the range the API accepts
/// (see [`crate::input::time_in_range`]) was not issued by it.
pub fn decode_time_cursor(
    cursor: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    match decode_cursor::<chrono::DateTime<chrono::Utc>>(cursor)? {
        Some(time) if !crate::input::time_in_range(&time) => Err(ApiError::bad_request(
            "invalid_cursor",
            "cursor is not one this API issued",
        )),
        other => Ok(other),
    }
}

/// Builds a page from `limit + 1` fetched rows: the extra row only tells that
/// another page exists.
pub fn page<T, P: ToString>(mut rows: Vec<T>, limit: i64, position: impl Fn(&T) -> P) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .map(|last| encode_cursor(&position(last).to_string()))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}
