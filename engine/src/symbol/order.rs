//! Dependency order over a namespace's links, with cycles allowed.
//!
//! Load hooks run targets before sources, unload hooks the reverse. Cycles
//! (loops in a workflow) are legal: the members of one strongly connected
//! component come in an arbitrary but stable order.

use std::collections::HashMap;
use std::hash::Hash;

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

/// Orders `keys` so that every link target comes before its sources.
/// `edges` are `(source, target)` pairs; those naming a key not in `keys`
/// are ignored.
pub fn targets_first<K: Copy + Eq + Hash>(keys: &[K], edges: &[(K, K)]) -> Vec<K> {
    let mut graph = DiGraph::<K, ()>::with_capacity(keys.len(), edges.len());
    let index: HashMap<K, _> = keys.iter().map(|k| (*k, graph.add_node(*k))).collect();
    for (source, target) in edges {
        if let (Some(s), Some(t)) = (index.get(source), index.get(target)) {
            graph.add_edge(*s, *t, ());
        }
    }
    // Tarjan's algorithm yields components in reverse topological order:
    // for edges source → target, targets come first.
    tarjan_scc(&graph)
        .into_iter()
        .flat_map(|component| component.into_iter().map(|n| graph[n]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(order: &[&str], key: &str) -> usize {
        order.iter().position(|k| *k == key).unwrap()
    }

    #[test]
    fn targets_come_before_sources() {
        let order = targets_first(&["a", "b", "c", "d"], &[("a", "b"), ("b", "c"), ("d", "c")]);
        assert!(position(&order, "c") < position(&order, "b"));
        assert!(position(&order, "b") < position(&order, "a"));
        assert!(position(&order, "c") < position(&order, "d"));
    }

    #[test]
    fn cycles_are_kept_together() {
        let order = targets_first(&["a", "b", "c"], &[("a", "b"), ("b", "a"), ("c", "a")]);
        assert_eq!(order.len(), 3);
        assert_eq!(*order.last().unwrap(), "c");
    }
}
