//! Pages of the Advance API lists (C7, P1, R1), in MyBatis-Plus `IPage` shape:
//! `{records, total, size, current, pages}`, pages numbered from 1.

use schemars::JsonSchema;
use serde::Serialize;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    /// The items of this page.
    pub records: Vec<T>,
    /// Items in the whole list.
    pub total: usize,
    /// Page size asked for.
    pub size: usize,
    /// Page number asked for (1-based).
    pub current: usize,
    /// Number of pages (0 when the list is empty).
    pub pages: usize,
}

/// Cut page `current` (1-based) of `size` items out of `all`; a page past the end is empty.
impl<T> Page<T> {
    /// The same page with each record turned by `f`: cut the page first, then build
    /// records only for its items, not for the whole list.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            records: self.records.into_iter().map(f).collect(),
            total: self.total,
            size: self.size,
            current: self.current,
            pages: self.pages,
        }
    }
}

pub fn paginate<T>(all: Vec<T>, current: usize, size: usize) -> Page<T> {
    let total = all.len();
    page_of(all, total, current, size)
}

/// Page `current` of `size` cut from `items`, a list of `total` items that may be walked
/// lazily (only the page's items are taken from it).
pub fn page_of<T>(items: impl IntoIterator<Item = T>, total: usize, current: usize, size: usize) -> Page<T> {
    let size = size.max(1);
    let current = current.max(1);
    let skip = (current - 1).saturating_mul(size);
    // Sized up front: a filtered walk hints no length, and collecting it grew the page by
    // doubling (four allocations for a page of twenty).
    let mut records = Vec::with_capacity(size.min(total.saturating_sub(skip)));
    records.extend(items.into_iter().skip(skip).take(size));
    Page { records, total, size, current, pages: total.div_ceil(size) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_cut_from_one() {
        let p = paginate((1..=7).collect(), 2, 3);
        assert_eq!((p.records, p.total, p.pages), (vec![4, 5, 6], 7, 3));
        assert!(paginate((1..=7).collect::<Vec<i32>>(), 4, 3).records.is_empty());
        assert_eq!(paginate(Vec::<i32>::new(), 1, 10).pages, 0);
    }
}
