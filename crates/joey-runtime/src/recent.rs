//! A few recently made values kept in a small list (a thread's caches of constant columns and
//! of JSON key layouts): found by a linear scan, the most recently used first.

/// The entry `hit` selects, moved to the front; else one made by `make`, put at the front, the
/// least recently used dropped when the list would grow beyond `max`. `get` reads the result.
pub(crate) fn recent<E, R>(entries: &mut Vec<E>, max: usize, hit: impl Fn(&E) -> bool, make: impl FnOnce() -> E, get: impl FnOnce(&E) -> R) -> R {
    match entries.iter().position(hit) {
        Some(0) => {}
        Some(i) => {
            let e = entries.remove(i);
            entries.insert(0, e);
        }
        None => {
            entries.truncate(max.saturating_sub(1));
            entries.insert(0, make());
        }
    }
    get(&entries[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recently_used() {
        let mut made = 0;
        let mut list: Vec<u32> = Vec::new();
        let mut take = |list: &mut Vec<u32>, k: u32| recent(list, 3, |e| *e == k, || { made += 1; k }, |e| *e);
        for k in [1, 2, 3, 1, 4, 1, 2] {
            assert_eq!(take(&mut list, k), k);
        }
        // 1, 2, 3 made; 1 reused; 4 made (drops 2, the least recent); 1 reused; 2 made again.
        assert_eq!(list, vec![2, 1, 4]);
        assert_eq!(made, 5);
    }
}
