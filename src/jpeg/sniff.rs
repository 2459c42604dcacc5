//! Names the format of files that are not JPEG, so the error says "PNG image", not "bad marker".

/// Recognises common image formats (and a few others) from their first bytes.
pub fn other_format(head: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |pos: usize, magic: &[u8]| head.get(pos..pos + magic.len()) == Some(magic);
    if head.is_empty() {
        "the file is empty"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "PNG image"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "GIF image"
    } else if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
        "TIFF image"
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        "WebP image"
    } else if starts(b"BM") {
        "BMP image"
    } else if starts(b"\0\0\0\x0cjP  \r\n\x87\n") || starts(b"\xff\x4f\xff\x51") {
        "JPEG 2000 image"
    } else if starts(b"\xff\x0a") || starts(b"\0\0\0\x0cJXL \r\n\x87\n") {
        "JPEG XL image"
    } else if at(4, b"ftyp") {
        match head.get(8..12) {
            Some(b"avif") | Some(b"avis") => "AVIF image",
            Some(b"heic") | Some(b"heix") | Some(b"mif1") | Some(b"msf1") | Some(b"heim")
            | Some(b"heis") | Some(b"hevc") => "HEIF image",
            _ => "ISO media file (MP4/MOV/HEIF family)",
        }
    } else if starts(b"%PDF") {
        "PDF document"
    } else if starts(b"\xff\xd8") {
        // Caller only asks when the SOI check failed, so this is unreachable in practice.
        "JPEG"
    } else if head.first() == Some(&0xFF) {
        "starts with 0xFF but not with the SOI marker"
    } else {
        "unrecognised data (no SOI marker)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_formats() {
        assert_eq!(other_format(b"\x89PNG\r\n\x1a\n...."), "PNG image");
        assert_eq!(other_format(b"\0\0\0\x18ftypheic\0\0\0\0"), "HEIF image");
        assert_eq!(other_format(b"II*\0\x08\0"), "TIFF image");
        assert_eq!(other_format(b""), "the file is empty");
        assert_eq!(other_format(b"hello"), "unrecognised data (no SOI marker)");
    }
}
