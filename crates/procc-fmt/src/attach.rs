//! Which node each comment belongs to.
//!
//! Comments only ever end a line (the grammar has no block comments and no construct continues
//! past a line break except a triple-quoted text). So a comment is either
//! - *trailing*: something the formatter prints ends earlier on the same line; it belongs to
//!   the last such thing (a setting, a step or process head, a closing `}`), or
//! - *on its own line*: it belongs to the next item of the innermost block around it, or to the
//!   end of that block (or of the file) when no item follows.

use std::collections::BTreeMap;

use procc_syntax::ast::Comment;

use crate::layout::{Slot, Tree};

/// Comments by slot, each list in file order (indices into the file's comments).
pub(crate) type Slots = BTreeMap<Slot, Vec<usize>>;

/// Attaches every comment to a slot. Takes O((nodes + comments) log nodes) time.
pub(crate) fn attach(source: &str, tree: &Tree, comments: &[Comment]) -> Slots {
    let lines = LineIndex::new(source);
    let mut anchors: Vec<(usize, Slot)> = Vec::new();
    // Blocks as (open, close, node), and the items of each block (`None`: the file) by start.
    let mut blocks: Vec<(usize, usize, usize)> = Vec::new();
    let mut items: BTreeMap<Option<usize>, Vec<(usize, usize)>> = BTreeMap::new();
    let by_start = |children: &[usize]| -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = children
            .iter()
            .map(|&child| (tree.nodes[child].start, child))
            .filter(|(start, _)| *start != usize::MAX)
            .collect();
        out.sort_unstable();
        out
    };
    items.insert(None, by_start(&tree.top));
    for (id, node) in tree.nodes.iter().enumerate() {
        if node.start == usize::MAX {
            continue;
        }
        anchors.push((node.head_anchor, Slot::Head(id)));
        if let Some((open, close)) = node.block {
            anchors.push((close, Slot::Close(id)));
            blocks.push((open, close, id));
            items.insert(Some(id), by_start(&node.children));
        }
    }
    anchors.sort_by_key(|(offset, _)| *offset);
    blocks.sort_unstable();

    // Comments in file order; the blocks open around them are tracked on a stack as the sweep
    // moves forward (blocks nest, they never overlap).
    let mut order: Vec<usize> = (0..comments.len()).collect();
    order.sort_by_key(|&i| comments[i].span.start());
    let mut open: Vec<(usize, usize, usize)> = Vec::new();
    let mut next_block = 0;
    let mut slots = Slots::new();
    for index in order {
        let at = comments[index].span.start();
        while let Some(&block) = blocks.get(next_block)
            && block.0 < at
        {
            while open.last().is_some_and(|top| top.1 < block.0) {
                open.pop();
            }
            open.push(block);
            next_block += 1;
        }
        while open.last().is_some_and(|top| top.1 <= at) {
            open.pop();
        }
        let line = lines.line_of(at);
        let before = anchors.partition_point(|(offset, _)| *offset < at);
        let trailing = before
            .checked_sub(1)
            .map(|i| anchors[i])
            .filter(|(offset, _)| lines.line_of(*offset) == line);
        let slot = match trailing {
            Some((_, slot)) => slot,
            None => {
                // On its own line: before the next item of the innermost block around it.
                let container = open.last().map(|(.., id)| *id);
                let siblings = items.get(&container).map_or(&[][..], Vec::as_slice);
                let next = siblings.partition_point(|(start, _)| *start <= at);
                match (siblings.get(next), container) {
                    (Some(&(_, child)), _) => Slot::Before(child),
                    (None, Some(id)) => Slot::End(id),
                    (None, None) => Slot::FileEnd,
                }
            }
        };
        slots.entry(slot).or_default().push(index);
    }
    // Each slot in file order.
    for list in slots.values_mut() {
        list.sort_by_key(|&i| comments[i].span.start());
    }
    slots
}

/// Line numbers of byte offsets.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub(crate) fn new(text: &str) -> LineIndex {
        // Only `\n` breaks a line; a `\r` before it is a blank to the grammar.
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// The 0-based line of `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }
}
