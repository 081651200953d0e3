//! Configuration errors with their position, rendered with the source line
//! and a caret under the offending value.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// All problems found in one configuration file, in file order.
#[derive(Debug)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

/// One problem. `line` and `column` are 1-based and count characters; both
/// are 0 when the problem has no position (the file could not be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The whole line that contains the position, without its line break.
    pub source_line: String,
    /// Characters to underline from `column`; at most to the end of the line.
    pub width: usize,
}

impl ConfigError {
    pub(crate) fn single(path: &Path, message: String) -> ConfigError {
        ConfigError {
            diagnostics: vec![Diagnostic::without_position(path, message)],
        }
    }
}

impl Diagnostic {
    /// Locates the byte range `span` of `text`. A span past the end of the
    /// text is clamped to the end.
    pub(super) fn at(path: &Path, text: &str, span: Range<usize>, message: String) -> Diagnostic {
        let start = floor_char_boundary(text, span.start);
        let end = floor_char_boundary(text, span.end.max(start));

        let line_start = text[..start].rfind('\n').map_or(0, |index| index + 1);
        let line_end = text[start..]
            .find('\n')
            .map_or(text.len(), |index| start + index);
        let source_line = text[line_start..line_end].trim_end_matches('\r');

        let line = text[..start].matches('\n').count() + 1;
        // The source line is shown without its `\r`, so a span on the `\r` or
        // `\n` that ends a CRLF line gets the column just after the text.
        let column = text[line_start..start]
            .chars()
            .count()
            .min(source_line.chars().count())
            + 1;
        let width = text[start..end.min(line_end)]
            .trim_end_matches('\r')
            .chars()
            .count()
            .max(1);

        Diagnostic {
            path: path.to_path_buf(),
            line,
            column,
            message,
            source_line: source_line.to_string(),
            width,
        }
    }

    pub(super) fn without_position(path: &Path, message: String) -> Diagnostic {
        Diagnostic {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message,
            source_line: String::new(),
            width: 0,
        }
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Renders
///
/// ```text
/// path:12:17: error: message
///    |
/// 12 | min_reviewers = "two"
///    |                 ^^^^^
/// ```
///
/// or `path: error: message` without a position.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        if self.line == 0 {
            return write!(f, "{path}: error: {}", self.message);
        }
        writeln!(
            f,
            "{path}:{}:{}: error: {}",
            self.line, self.column, self.message
        )?;

        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        // Tabs before the column stay tabs so that the caret lines up with
        // the value whatever the terminal's tab width is.
        let indent: String = self
            .source_line
            .chars()
            .take(self.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{number} | {}", self.source_line)?;
        write!(f, "{gutter} | {indent}{}", "^".repeat(self.width))
    }
}

/// Renders every diagnostic, separated by blank lines.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_at_line_end() {
        // (text, byte offset of the span, expected column)
        let cases: &[(&str, usize, usize)] = &[
            ("a = \"x\nb = 1\n", 6, 7),
            ("a = \"x\r\nb = 1\n", 6, 7),
            ("a = \"x\r\nb = 1\n", 7, 7),
            ("a = \"x\r\r\nb = 1\n", 8, 7),
            ("a = \"x\r\nb = 1\n", 0, 1),
        ];
        for &(text, offset, column) in cases {
            let diagnostic = Diagnostic::at(
                Path::new("test.toml"),
                text,
                offset..offset + 1,
                "invalid".to_string(),
            );
            assert_eq!(diagnostic.line, 1, "line for {text:?} at {offset}");
            assert_eq!(diagnostic.column, column, "column for {text:?} at {offset}");
            assert_eq!(
                diagnostic.source_line, "a = \"x",
                "source line for {text:?}"
            );
        }
    }
}
