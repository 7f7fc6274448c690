//! A table derived from the world and kept beside it (the shop and order indexes): built on
//! first use, never saved. A copy of the world starts without it, and two worlds compare
//! equal whatever their derived tables hold.

use std::sync::OnceLock;

/// A derived table, built on first use.
pub struct Derived<T>(pub(crate) OnceLock<T>);

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Derived(OnceLock::new())
    }
}

impl<T> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Derived<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Derived(built: {})", self.0.get().is_some())
    }
}
