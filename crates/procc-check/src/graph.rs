//! A small directed graph with at most two successors per node, and the linear-time algorithms
//! the flow checks need: reachability, strongly connected components (Tarjan) and dominators
//! (Lengauer-Tarjan). Every algorithm is iterative, so a process of 100,000 steps in a row does
//! not overflow the stack.

/// No node.
pub(crate) const NONE: u32 = u32::MAX;

/// Steps as nodes, flow as edges.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    /// Up to two successors per node; [`NONE`] marks an absent one.
    succ: Vec<[u32; 2]>,
    /// Whether the process can end after the node (an `end` step, the last step, or an edge
    /// whose target could not be resolved, which counts as an end so that one unknown name does
    /// not cascade into flow errors).
    pub(crate) exit: Vec<bool>,
}

/// Predecessor lists in compressed form.
pub(crate) struct Preds {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl Preds {
    /// The predecessors of `v` (an edge counted once per occurrence).
    pub(crate) fn of(&self, v: usize) -> &[u32] {
        let (Some(&a), Some(&b)) = (self.start.get(v), self.start.get(v + 1)) else {
            return &[];
        };
        self.list.get(a as usize..b as usize).unwrap_or(&[])
    }
}

/// Strongly connected components.
pub(crate) struct Sccs {
    /// The component of each node, [`NONE`] for nodes left out.
    pub(crate) comp: Vec<u32>,
    /// The nodes of each component.
    pub(crate) members: Vec<Vec<u32>>,
}

/// The dominator tree of the nodes reachable from the root.
pub(crate) struct Dominators {
    /// The immediate dominator of each node; [`NONE`] for the root and unreachable nodes.
    pub(crate) idom: Vec<u32>,
    /// The reachable nodes in depth-first preorder: every node comes after its dominators.
    pub(crate) preorder: Vec<u32>,
}

impl Graph {
    /// A graph of `n` nodes without edges.
    pub(crate) fn new(n: usize) -> Graph {
        Graph {
            succ: vec![[NONE; 2]; n],
            exit: vec![false; n],
        }
    }

    /// The number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.succ.len()
    }

    /// Adds an edge; a node keeps at most two.
    pub(crate) fn add_edge(&mut self, from: usize, to: usize) {
        let Ok(to) = u32::try_from(to) else { return };
        if let Some(slots) = self.succ.get_mut(from) {
            if slots[0] == NONE {
                slots[0] = to;
            } else if slots[1] == NONE {
                slots[1] = to;
            }
        }
    }

    /// The successors of `v`.
    pub(crate) fn succ(&self, v: usize) -> impl Iterator<Item = usize> + '_ {
        self.succ
            .get(v)
            .into_iter()
            .flatten()
            .filter(|&&s| s != NONE)
            .map(|&s| s as usize)
    }

    /// The `k`-th successor slot of `v`.
    fn slot(&self, v: usize, k: usize) -> Option<usize> {
        match self.succ.get(v).and_then(|s| s.get(k)) {
            Some(&s) if s != NONE => Some(s as usize),
            _ => None,
        }
    }

    /// Predecessor lists.
    pub(crate) fn preds(&self) -> Preds {
        let n = self.len();
        let mut start = vec![0u32; n + 1];
        for v in 0..n {
            for w in self.succ(v) {
                start[w + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut list = vec![0u32; start[n] as usize];
        for v in 0..n {
            for w in self.succ(v) {
                let at = fill[w] as usize;
                if let Some(slot) = list.get_mut(at) {
                    *slot = v as u32;
                }
                fill[w] += 1;
            }
        }
        Preds { start, list }
    }

    /// Nodes reachable from `roots` (the roots included).
    pub(crate) fn reachable_from(&self, roots: impl IntoIterator<Item = usize>) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = Vec::new();
        for r in roots {
            if r < seen.len() && !seen[r] {
                seen[r] = true;
                stack.push(r);
            }
        }
        while let Some(v) = stack.pop() {
            for w in self.succ(v) {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
        seen
    }

    /// Nodes from which some path reaches an exit.
    pub(crate) fn reaches_exit(&self, preds: &Preds) -> Vec<bool> {
        let mut seen = self.exit.clone();
        let mut stack: Vec<usize> = (0..self.len()).filter(|&v| seen[v]).collect();
        while let Some(v) = stack.pop() {
            for &p in preds.of(v) {
                let p = p as usize;
                if !seen[p] {
                    seen[p] = true;
                    stack.push(p);
                }
            }
        }
        seen
    }

    /// Whether `v` has an edge to itself.
    pub(crate) fn self_loop(&self, v: usize) -> bool {
        self.succ(v).any(|w| w == v)
    }

    /// The strongly connected components of the subgraph of the nodes with `include` set.
    pub(crate) fn sccs(&self, include: &[bool]) -> Sccs {
        tarjan(
            self.len(),
            include,
            |v| if v < self.succ.len() { 2 } else { 0 },
            |v, k| self.slot(v, k),
        )
    }

    /// Whether a component is a cycle: more than one node, or one node with an edge to itself.
    pub(crate) fn is_cycle(&self, members: &[u32]) -> bool {
        match members {
            [] => false,
            [one] => self.self_loop(*one as usize),
            _ => true,
        }
    }

    /// The dominator tree from `root` (Lengauer-Tarjan with path compression, iterative).
    pub(crate) fn dominators(&self, root: usize, preds: &Preds) -> Dominators {
        let n = self.len();
        let mut idom_out = vec![NONE; n];
        if root >= n {
            return Dominators {
                idom: idom_out,
                preorder: Vec::new(),
            };
        }
        // Depth-first numbering.
        let mut dfnum = vec![NONE; n];
        let mut vertex: Vec<u32> = Vec::new();
        let mut parent: Vec<u32> = Vec::new();
        dfnum[root] = 0;
        vertex.push(root as u32);
        parent.push(NONE);
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            if *pos < 2 {
                let k = *pos;
                *pos += 1;
                if let Some(w) = self.slot(v, k)
                    && dfnum[w] == NONE
                {
                    dfnum[w] = vertex.len() as u32;
                    parent.push(dfnum[v]);
                    vertex.push(w as u32);
                    calls.push((w, 0));
                }
            } else {
                calls.pop();
            }
        }
        let m = vertex.len();
        let mut semi: Vec<u32> = (0..m as u32).collect();
        let mut label: Vec<u32> = (0..m as u32).collect();
        let mut ancestor = vec![NONE; m];
        let mut idom = vec![NONE; m];
        let mut bucket_head = vec![NONE; m];
        let mut bucket_next = vec![NONE; m];
        let mut path: Vec<u32> = Vec::new();
        let mut eval =
            |v: u32, ancestor: &mut Vec<u32>, label: &mut Vec<u32>, semi: &Vec<u32>| -> u32 {
                let vi = v as usize;
                if ancestor[vi] == NONE {
                    return v;
                }
                // Compress the path from `v` up to the root of its tree, top-most link first.
                path.clear();
                let mut x = v;
                while ancestor[ancestor[x as usize] as usize] != NONE {
                    path.push(x);
                    x = ancestor[x as usize];
                }
                while let Some(x) = path.pop() {
                    let xi = x as usize;
                    let a = ancestor[xi] as usize;
                    if semi[label[a] as usize] < semi[label[xi] as usize] {
                        label[xi] = label[a];
                    }
                    ancestor[xi] = ancestor[a];
                }
                label[vi]
            };
        for w in (1..m).rev() {
            let wn = vertex[w] as usize;
            for &p in preds.of(wn) {
                let v = dfnum[p as usize];
                if v == NONE {
                    continue;
                }
                let u = eval(v, &mut ancestor, &mut label, &semi);
                if semi[u as usize] < semi[w] {
                    semi[w] = semi[u as usize];
                }
            }
            let s = semi[w] as usize;
            bucket_next[w] = bucket_head[s];
            bucket_head[s] = w as u32;
            let p = parent[w];
            ancestor[w] = p;
            let pi = p as usize;
            let mut b = bucket_head[pi];
            bucket_head[pi] = NONE;
            while b != NONE {
                let next = bucket_next[b as usize];
                let u = eval(b, &mut ancestor, &mut label, &semi);
                idom[b as usize] = if semi[u as usize] < semi[b as usize] {
                    u
                } else {
                    p
                };
                b = next;
            }
        }
        for w in 1..m {
            if idom[w] != semi[w] && idom[w] != NONE {
                idom[w] = idom[idom[w] as usize];
            }
        }
        for w in 1..m {
            if idom[w] != NONE {
                idom_out[vertex[w] as usize] = vertex[idom[w] as usize];
            }
        }
        Dominators {
            idom: idom_out,
            preorder: vertex,
        }
    }
}

/// Tarjan's algorithm, iterative: the strongly connected components of the subgraph of the
/// nodes with `include` set, where node `v` has `degree(v)` successor slots, read by `slot`.
pub(crate) fn tarjan(
    n: usize,
    include: &[bool],
    degree: impl Fn(usize) -> usize,
    slot: impl Fn(usize, usize) -> Option<usize>,
) -> Sccs {
    let inc = |v: usize| include.get(v).copied().unwrap_or(false);
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut comp = vec![NONE; n];
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut counter = 0u32;
    for root in 0..n {
        if !inc(root) || index[root] != NONE {
            continue;
        }
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root as u32);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            if *pos < degree(v) {
                let k = *pos;
                *pos += 1;
                let Some(w) = slot(v, k) else { continue };
                if w >= n || !inc(w) {
                    continue;
                }
                if index[w] == NONE {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w as u32);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let id = members.len() as u32;
                    let mut group = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp[w as usize] = id;
                        group.push(w);
                        if w as usize == v {
                            break;
                        }
                    }
                    group.sort_unstable();
                    members.push(group);
                }
            }
        }
    }
    Sccs { comp, members }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut g = Graph::new(n);
        for &(a, b) in edges {
            g.add_edge(a, b);
        }
        g
    }

    #[test]
    fn dominators_of_a_diamond_and_a_loop() {
        // 0 -> 1 -> {2, 3} -> 4 -> 1 (loop), 4 -> 5.
        let g = graph(6, &[(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 1), (4, 5)]);
        let d = g.dominators(0, &g.preds());
        assert_eq!(d.idom, vec![NONE, 0, 1, 1, 1, 4]);
        assert_eq!(d.preorder.first(), Some(&0));
    }

    #[test]
    fn dominators_skip_unreachable_nodes() {
        let g = graph(4, &[(0, 1), (3, 1), (1, 2)]);
        let d = g.dominators(0, &g.preds());
        assert_eq!(d.idom, vec![NONE, 0, 1, NONE]);
    }

    #[test]
    fn dominators_of_a_long_chain_do_not_overflow() {
        let n = 200_000;
        let edges: Vec<(usize, usize)> =
            (0..n - 1).map(|i| (i, i + 1)).chain([(n - 1, 0)]).collect();
        let g = graph(n, &edges);
        let d = g.dominators(0, &g.preds());
        assert_eq!(d.idom[n - 1], (n - 2) as u32);
        let s = g.sccs(&vec![true; n]);
        assert_eq!(s.members.len(), 1);
    }

    #[test]
    fn sccs_find_cycles_only_among_included_nodes() {
        let g = graph(5, &[(0, 1), (1, 2), (2, 1), (2, 3), (3, 3), (3, 4)]);
        let s = g.sccs(&[true; 5]);
        let cycles: Vec<&Vec<u32>> = s.members.iter().filter(|m| g.is_cycle(m)).collect();
        assert_eq!(cycles, vec![&vec![3], &vec![1, 2]]);
        let s = g.sccs(&[true, true, false, true, true]);
        assert_eq!(s.comp[2], NONE);
        assert_eq!(s.members.iter().filter(|m| g.is_cycle(m)).count(), 1);
    }

    #[test]
    fn reaching_an_exit() {
        let mut g = graph(4, &[(0, 1), (1, 0), (2, 3)]);
        g.exit[3] = true;
        assert_eq!(g.reaches_exit(&g.preds()), vec![false, false, true, true]);
        assert_eq!(g.reachable_from([0]), vec![true, true, false, false]);
    }
}
