//! Photos residents send through a platform: downloaded from the platform, checked, and
//! bounded in size before they are kept with a case.

use crate::store::Media;

/// Why a photo was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("`{0}` is not a photo (JPEG, PNG or WebP)")]
    NotAPhoto(String),
    #[error("the photo is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the download failed")]
    Download,
}

/// The type of a photo by its first bytes: JPEG, PNG or WebP, else none.
#[must_use]
pub fn photo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Reads a photo from an HTTP response: only JPEG, PNG or WebP, at most `max_bytes`,
/// streamed so that an oversized file is refused without being held in memory.
pub async fn read_photo(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<Media, PhotoError> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !matches!(
        content_type.as_str(),
        "image/jpeg" | "image/png" | "image/webp"
    ) {
        return Err(PhotoError::NotAPhoto(content_type));
    }
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Err(PhotoError::TooLarge(max_bytes));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| PhotoError::Download)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(PhotoError::TooLarge(max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Media {
        content_type,
        bytes,
    })
}
