//! Printing the layout tree with its comments and blank lines.

use procc_syntax::ast::Comment;

use crate::attach::Slots;
use crate::build::INDENT;
use crate::layout::{Kind, Slot, Tree};

/// Whether a blank line may come before the next line printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blank {
    /// Never (settings, step blocks).
    Never,
    /// Always (between processes, between a process's settings and its steps).
    Always,
    /// Where the author left one or more blank lines.
    AsWritten,
}

/// Where the printing of a sequence of lines stands.
struct Sequence {
    /// Whether anything was printed in this block yet (no blank line right after `{`).
    printed: bool,
    /// One past the source end of what was printed last.
    prev_end: usize,
    /// Whether the block keeps the author's blank lines between its items.
    keeps_blanks: bool,
}

impl Sequence {
    fn new(start: usize, keeps_blanks: bool) -> Sequence {
        Sequence {
            printed: false,
            prev_end: start,
            keeps_blanks,
        }
    }
}

/// Prints a layout tree with the comments attached to it.
pub(crate) struct Renderer<'a> {
    /// The text the tree was parsed from.
    pub source: &'a str,
    /// What to print.
    pub tree: &'a Tree,
    /// The file's comments.
    pub comments: &'a [Comment],
    /// Where each comment goes.
    pub slots: &'a Slots,
    /// The text printed so far.
    pub out: String,
}

impl Renderer<'_> {
    /// Prints the whole file.
    pub(crate) fn file(mut self) -> String {
        let mut seq = Sequence::new(0, true);
        for (i, &process) in self.tree.top.iter().enumerate() {
            let blank = if i == 0 {
                Blank::AsWritten
            } else {
                Blank::Always
            };
            self.item(process, 0, blank, &mut seq);
        }
        self.own_lines(Slot::FileEnd, 0, Blank::AsWritten, &mut seq);
        self.out
    }

    fn slot(&self, slot: Slot) -> &[usize] {
        self.slots.get(&slot).map_or(&[], Vec::as_slice)
    }

    fn comment(&self, index: usize) -> &str {
        let span = self.comments[index].span;
        self.source
            .get(span.start()..span.end())
            .unwrap_or("//")
            .trim_end()
    }

    /// Whether the source holds a blank line between `from` and `to`: a whole line of nothing
    /// but blanks (spaces, tabs and `\r`).
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let Some(between) = self.source.get(from..to) else {
            return false;
        };
        let mut lines = between.split('\n');
        // The first piece is the rest of the line `from` is on, the last the start of the line
        // `to` is on; only the lines in between are whole.
        lines.next();
        let mut whole: Vec<&str> = lines.collect();
        whole.pop();
        whole
            .iter()
            .any(|line| line.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r')))
    }

    /// Starts a line: a blank line first when `blank` asks for one.
    fn begin(&mut self, blank: Blank, start: usize, seq: &mut Sequence) {
        let wanted = match blank {
            Blank::Never => false,
            Blank::Always => true,
            Blank::AsWritten => seq.keeps_blanks && self.blank_between(seq.prev_end, start),
        };
        if wanted && seq.printed {
            self.out.push('\n');
        }
        seq.printed = true;
    }

    fn line(&mut self, indent: usize, text: &str, trailing: Option<usize>) {
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(text);
        if let Some(comment) = trailing {
            self.out.push(' ');
            let comment = self.comment(comment).to_string();
            self.out.push_str(&comment);
        }
        self.out.push('\n');
    }

    /// Comments on their own lines, each after a blank line where `blank` asks for one.
    fn own_lines(&mut self, slot: Slot, indent: usize, blank: Blank, seq: &mut Sequence) {
        let comments = self.slot(slot).to_vec();
        for comment in comments {
            let span = self.comments[comment].span;
            self.begin(blank, span.start(), seq);
            let text = self.comment(comment).to_string();
            self.line(indent, &text, None);
            seq.prev_end = span.end();
        }
    }

    /// An item with the comments before it; `blank` applies before the first line printed.
    fn item(&mut self, id: usize, indent: usize, blank: Blank, seq: &mut Sequence) {
        let within = if seq.keeps_blanks {
            Blank::AsWritten
        } else {
            Blank::Never
        };
        let before = self.slot(Slot::Before(id)).to_vec();
        let mut next_blank = blank;
        for comment in before {
            let span = self.comments[comment].span;
            self.begin(next_blank, span.start(), seq);
            let text = self.comment(comment).to_string();
            self.line(indent, &text, None);
            seq.prev_end = span.end();
            next_blank = within;
        }
        let node = &self.tree.nodes[id];
        let (start, end) = (node.start, node.end);
        match node.kind {
            Kind::Ghost => {
                self.own_lines(Slot::Head(id), indent, Blank::Never, seq);
                return;
            }
            Kind::Line => {
                self.begin(next_blank, start, seq);
                let (first, rest) = self.split(Slot::Head(id));
                let text = node.text.clone();
                self.line(indent, &text, first);
                self.extra(&rest, indent);
            }
            Kind::Step | Kind::Process => {
                self.begin(next_blank, start, seq);
                self.block_item(id, indent);
            }
        }
        seq.prev_end = end;
    }

    /// The first comment of a slot, and the others.
    fn split(&self, slot: Slot) -> (Option<usize>, Vec<usize>) {
        match self.slot(slot) {
            [] => (None, Vec::new()),
            [first, rest @ ..] => (Some(*first), rest.to_vec()),
        }
    }

    /// Comments that do not fit at the end of a line, on lines of their own.
    fn extra(&mut self, comments: &[usize], indent: usize) {
        for &comment in comments {
            let text = self.comment(comment).to_string();
            self.line(indent, &text, None);
        }
    }

    /// Whether a block must be printed for the node: something goes inside it.
    fn has_inside(&self, id: usize) -> bool {
        let node = &self.tree.nodes[id];
        let child_prints = node.children.iter().any(|&child| {
            self.tree.nodes[child].kind != Kind::Ghost
                || !self.slot(Slot::Before(child)).is_empty()
                || !self.slot(Slot::Head(child)).is_empty()
        });
        child_prints
            || !self.slot(Slot::End(id)).is_empty()
            || self.slot(Slot::Head(id)).len() > 1
            || (!self.slot(Slot::Head(id)).is_empty() && !self.slot(Slot::Close(id)).is_empty())
    }

    fn block_item(&mut self, id: usize, indent: usize) {
        let node = &self.tree.nodes[id];
        let text = node.text.clone();
        let kind = node.kind;
        if kind == Kind::Step && !self.has_inside(id) {
            // At most one of the head and the closing brace has a comment.
            let mut trailing = self.slot(Slot::Head(id)).to_vec();
            trailing.extend_from_slice(self.slot(Slot::Close(id)));
            self.line(indent, &text, trailing.first().copied());
            self.extra(trailing.get(1..).unwrap_or(&[]), indent);
            return;
        }
        let inner = indent + INDENT;
        let (head, head_rest) = self.split(Slot::Head(id));
        self.line(indent, &format!("{text} {{"), head);
        self.extra(&head_rest, inner);

        let node = &self.tree.nodes[id];
        let children = node.children.clone();
        let settings = node.settings;
        let open = node.block.map_or(node.start, |(open, _)| open + 1);
        let is_process = kind == Kind::Process;
        let mut seq = Sequence::new(open, is_process);
        for (i, &child) in children.iter().enumerate() {
            let blank = if !is_process || i < settings {
                Blank::Never
            } else if i == settings {
                Blank::Always
            } else {
                Blank::AsWritten
            };
            // Settings are reordered and never separated by blank lines.
            seq.keeps_blanks = is_process && i >= settings;
            self.item(child, inner, blank, &mut seq);
        }
        seq.keeps_blanks = is_process;
        let end_blank = if is_process {
            Blank::AsWritten
        } else {
            Blank::Never
        };
        self.own_lines(Slot::End(id), inner, end_blank, &mut seq);

        let (close, close_rest) = self.split(Slot::Close(id));
        self.line(indent, "}", close);
        self.extra(&close_rest, indent);
    }
}
