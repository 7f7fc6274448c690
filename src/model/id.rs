//! Newtype ids of the domain: battery ids, cabinet ids, agent accounts, trade numbers, shop ids.
//!
//! A 100,000-cabinet fleet holds about 1.5 million batteries, and every battery names its own
//! id, its agent and the cabinet of its slot, and every slot names its battery: as `String`s
//! that was five small heap allocations per battery (32 bytes each in glibc for a 10-byte id)
//! and a pointer chase on every key compare. The ids here keep up to 24 bytes inline in the
//! same 24 bytes a `String` takes (`compact_str`), so the fleet's ids (10 hex digits, 3
//! letters and 5 digits, `demo`, 18-digit trade numbers) cost no allocation at all; a longer
//! id (any string a snapshot may carry) falls back to the heap and still works.
//!
//! Each kind is its own type so a battery id cannot be passed where a cabinet id is meant.
//! They dereference to `str`, compare with `str` and `String`, hash and order exactly as the
//! `str` they hold (maps keyed by them are looked up with a `&str`), and serialise as that
//! string, so snapshots and answers are byte-identical to the `String` fields they replace.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

macro_rules! compact_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(CompactString);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The id written by `format_args!`, inline when it fits (no temporary `String`).
            pub fn from_fmt(args: fmt::Arguments<'_>) -> Self {
                $name(compact_str::format_compact!("{args}"))
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.0.as_str()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.0.as_str(), f)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(CompactString::new(s))
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(CompactString::new(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(CompactString::from(s))
            }
        }

        impl From<&$name> for $name {
            fn from(s: &$name) -> Self {
                s.clone()
            }
        }

        impl From<$name> for String {
            fn from(s: $name) -> String {
                s.0.into_string()
            }
        }

        impl From<&$name> for String {
            fn from(s: &$name) -> String {
                s.0.as_str().to_string()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0.as_str() == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0.as_str() == other.as_str()
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0.as_str()
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0.as_str()
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self.as_str() == other.0.as_str()
            }
        }
    };
}

compact_id!(
    /// A battery id (`FECF007552`: ten upper-case hex digits in generated fleets).
    BatteryId
);
compact_id!(
    /// A cabinet's device id (`BJD60151`: 3 upper-case letters and 5 digits).
    CabinetId
);
compact_id!(
    /// A merchant's account name (`demo`).
    AgentId
);
compact_id!(
    /// An order's trade number.
    TradeNo
);
compact_id!(
    /// A shop's id (`pNewid`: letters, digits, `_` and `-`).
    ShopId
);

/// A price strategy's id (`priceId`), numbered across the platform from 203 on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceId(pub u64);

impl schemars::JsonSchema for PriceId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PriceId".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "format": "uint64", "minimum": 0 })
    }
}

impl fmt::Display for PriceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    #[test]
    fn ids_behave_as_the_strings_they_hold() {
        let id = BatteryId::from("FECF007552");
        assert_eq!(id, "FECF007552");
        assert_eq!(id.to_string(), "FECF007552");
        assert_eq!(format!("{id:?}"), "\"FECF007552\"");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"FECF007552\"");
        let back: BatteryId = serde_json::from_str("\"FECF007552\"").unwrap();
        assert_eq!(back, id);
        // Longer than the inline capacity still round-trips.
        let long = CabinetId::from("a cabinet id far longer than twenty-four bytes");
        assert_eq!(&*long, "a cabinet id far longer than twenty-four bytes");
        let mut h = HashMap::new();
        h.insert(id.clone(), 1);
        assert_eq!(h.get("FECF007552"), Some(&1));
        let mut b = BTreeMap::new();
        for s in ["B", "A", "C"] {
            b.insert(CabinetId::from(s), ());
        }
        assert_eq!(b.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["A", "B", "C"]);
        assert!(b.contains_key("B"));
        assert_eq!(std::mem::size_of::<BatteryId>(), 24);
        assert_eq!(std::mem::size_of::<Option<BatteryId>>(), 24);
    }
}
