//! Where a first attempt too large for its pace is cut into pieces.

use crate::backend::Backend;
use crate::pending::Item;

/// Where to cut `items` so that the first part holds about `target` of them and no merged
/// request entry (slot) is cut in two: the largest clean cut up to `target` (at least one
/// entry), else the smallest beyond it (`items.len()`: no cut).
pub(super) fn split_point<B: Backend>(items: &[Item<B>], target: usize) -> usize {
    let target = target.max(1);
    if items.windows(2).all(|pair| pair[0].slot < pair[1].slot) {
        return target.min(items.len());
    }
    let mut last: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        last.insert(item.slot, i);
    }
    let mut reach = 0;
    let mut best = None;
    for (i, item) in items.iter().enumerate() {
        reach = reach.max(last[&item.slot]);
        if reach == i {
            let cut = i + 1;
            if cut > target {
                return best.unwrap_or(cut);
            }
            best = Some(cut);
        }
    }
    best.unwrap_or(items.len())
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use crate::backend::Grouping;
    use crate::testing::{InMemoryBackend, TestPayload};

    fn items(slots: &[usize]) -> Vec<Item<InMemoryBackend>> {
        slots
            .iter()
            .map(|&slot| {
                let payload = TestPayload::new(0, 10);
                Item {
                    tag: None,
                    scope: None,
                    entry: payload.clone(),
                    size: 10,
                    ordering_key: None,
                    grouping: Grouping::None,
                    slot,
                    failures: 0,
                    payload,
                }
            })
            .collect()
    }

    #[test]
    fn entries_of_their_own_are_cut_where_asked() {
        let todo = items(&[0, 1, 2, 3, 4]);
        assert_eq!(split_point(&todo, 2), 2);
        assert_eq!(split_point(&todo, 0), 1);
        assert_eq!(split_point(&todo, 9), 5);
    }

    #[test]
    fn merged_entries_are_never_cut_in_two() {
        // Slots 0 and 1 interleave up to index 3; slot 2 and 3 each stand alone after.
        let todo = items(&[0, 1, 0, 1, 2, 3]);
        assert_eq!(
            split_point(&todo, 2),
            4,
            "no clean cut before 4: the smallest after"
        );
        assert_eq!(split_point(&todo, 5), 5);
        assert_eq!(
            split_point(&items(&[0, 1, 1, 0]), 1),
            4,
            "none at all: no cut"
        );
    }
}
