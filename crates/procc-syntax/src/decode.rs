//! Checks on raw bytes before anything is parsed: size, binary content and UTF-8.

use procc_diagnostics::{Diagnostic, FileId, Span, code};

/// Files larger than this are refused (a template of 100,000 steps takes about 15 MB).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// The outcome of [`decode`].
#[derive(Debug)]
pub enum Decoded<'a> {
    /// The bytes are text and may be parsed.
    Text(&'a str),
    /// The bytes were refused; `display_text` is what to show the diagnostic against.
    Refused {
        /// Text to register as the file's source for rendering the diagnostic.
        display_text: String,
        /// Why.
        diagnostic: Diagnostic,
    },
}

/// Decides whether `bytes` can be parsed as a `.proc` file.
pub fn decode(file: FileId, bytes: &[u8]) -> Decoded<'_> {
    if bytes.len() > MAX_FILE_BYTES {
        let diagnostic = Diagnostic::new(
            code::FILE_TOO_LARGE,
            file,
            Span::at(0),
            format!(
                "the file is {} bytes, more than the {} bytes procc reads",
                bytes.len(),
                MAX_FILE_BYTES
            ),
            "file starts here",
        )
        .with_help("split the templates over several files");
        return Decoded::Refused {
            display_text: String::new(),
            diagnostic,
        };
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        let diagnostic = Diagnostic::new(
            code::BINARY_FILE,
            file,
            Span::at(0),
            format!("the file holds a NUL byte at offset {nul}: it is binary, not a template"),
            "binary content",
        )
        .with_help("procc reads .proc templates, which are UTF-8 text");
        return Decoded::Refused {
            display_text: String::new(),
            diagnostic,
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Decoded::Text(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(error) => {
            let at = error.valid_up_to();
            let display_text = String::from_utf8_lossy(bytes).into_owned();
            let byte = bytes.get(at).copied().unwrap_or(0);
            let diagnostic = Diagnostic::new(
                code::INVALID_UTF8,
                file,
                Span::new(at, at + '\u{fffd}'.len_utf8()),
                format!("the file is not valid UTF-8: byte 0x{byte:02x} at offset {at}"),
                "this byte",
            )
            .with_help(
                "save the file as UTF-8 (most editors offer it under \"Save with encoding\")",
            );
            Decoded::Refused {
                display_text,
                diagnostic,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_passes_and_a_bom_is_dropped() {
        assert!(matches!(
            decode(FileId(0), b"process a {}"),
            Decoded::Text("process a {}")
        ));
        assert!(matches!(
            decode(FileId(0), "\u{feff}x".as_bytes()),
            Decoded::Text("x")
        ));
    }

    #[test]
    fn invalid_utf8_points_at_the_byte() {
        let Decoded::Refused {
            diagnostic,
            display_text,
        } = decode(FileId(0), b"ab\xffcd")
        else {
            panic!("accepted invalid UTF-8");
        };
        assert_eq!(diagnostic.code, code::INVALID_UTF8);
        assert_eq!(diagnostic.primary_span().start, 2);
        assert_eq!(&display_text[2..5], "\u{fffd}");
    }

    #[test]
    fn nul_bytes_mean_binary() {
        let Decoded::Refused { diagnostic, .. } = decode(FileId(0), b"\x7fELF\x00\x01") else {
            panic!("accepted a binary file");
        };
        assert_eq!(diagnostic.code, code::BINARY_FILE);
    }

    #[test]
    fn oversized_files_are_refused() {
        let big = vec![b' '; MAX_FILE_BYTES + 1];
        let Decoded::Refused { diagnostic, .. } = decode(FileId(0), &big) else {
            panic!("accepted an oversized file");
        };
        assert_eq!(diagnostic.code, code::FILE_TOO_LARGE);
    }
}
