//! The layout tree: what the formatter prints, in canonical order, each node remembering where
//! it was written so that comments and blank lines can be put back.

/// What a node is; decides its indentation rules and blank lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A process template: always printed with a block.
    Process,
    /// A step: printed on one line when nothing goes inside its block.
    Step,
    /// One line inside a block: a setting, a deadline or a branch.
    Line,
    /// A setting that is printed elsewhere (a decision's `question` moves into the head): it
    /// prints only the comments that were attached to it, as lines of their own.
    Ghost,
}

/// One printed item.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// What it is.
    pub kind: Kind,
    /// The text of the item's (first) line, without indentation, trailing comment or ` {`;
    /// holds line breaks when a triple-quoted text is part of it.
    pub text: String,
    /// The first byte written; comments on their own lines before it belong to it.
    pub start: usize,
    /// One past the last byte written.
    pub end: usize,
    /// A byte on the line where the item's head ends (the `{` of a block): a comment later on
    /// that line trails the head.
    pub head_anchor: usize,
    /// The source block: where its `{` and `}` are.
    pub block: Option<(usize, usize)>,
    /// The nodes inside, in canonical order.
    pub children: Vec<usize>,
    /// For processes: how many of `children` are settings (the rest are steps).
    pub settings: usize,
}

impl Node {
    /// A node with no block.
    pub fn line(kind: Kind, text: String, (start, end): (usize, usize)) -> Node {
        Node {
            kind,
            text,
            start,
            end,
            head_anchor: end.saturating_sub(1),
            block: None,
            children: Vec::new(),
            settings: 0,
        }
    }
}

/// Every node of a file.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    /// The arena.
    pub nodes: Vec<Node>,
    /// The processes, in file order.
    pub top: Vec<usize>,
}

impl Tree {
    /// Adds a node and returns its id.
    pub fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }
}

/// Where the comment goes, relative to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Slot {
    /// On its own line before the node.
    Before(usize),
    /// At the end of the node's (head) line.
    Head(usize),
    /// At the end of the line of the node's closing `}`.
    Close(usize),
    /// On its own line at the end of the node's block.
    End(usize),
    /// On its own line at the end of the file.
    FileEnd,
}
