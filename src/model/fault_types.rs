//! The platform's numbered vocabularies of what goes wrong: battery faults, slot faults and
//! rental failures (docs/api-reference.md lists them). Each is an enum with its wire number
//! and its cause text in one table, so a number is checked once, where it enters (a request,
//! a fixture, a snapshot), and the rest of the code names the case.
//!
//! On the wire and in snapshots each is its number, as the platform writes it.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Declares a numbered vocabulary: the enum, its numbers and causes, and its serde and schema
/// as a bare integer.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal => $cause:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "u8", try_from = "u8")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every case, in number order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire number.
            pub const fn code(self) -> u8 {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// The case with wire number `code`.
            pub fn from_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The case a request parameter `name` gives as `n`, or the refusal naming it.
            pub fn from_param(name: &str, n: i64) -> Result<$name, crate::error::Error> {
                u8::try_from(n).ok().and_then($name::from_code).ok_or_else(|| {
                    crate::error::Error::bad_param(name, $name::out_of_range(n))
                })
            }

            /// Why `n` is none of these: "12 is outside 0..11" for a run of numbers, the list
            /// otherwise.
            pub fn out_of_range(n: impl std::fmt::Display) -> String {
                if $name::ALL.len() == usize::from($name::MAX) + 1 {
                    format!("{n} is outside 0..{}", $name::MAX)
                } else {
                    let known: Vec<String> = $name::ALL.iter().map(|v| v.code().to_string()).collect();
                    format!("{n} is not one of {}", known.join(", "))
                }
            }

            /// The cause text the platform shows for it.
            pub const fn cause(self) -> &'static str {
                match self {
                    $($name::$variant => $cause,)*
                }
            }

            /// The largest wire number.
            pub const MAX: u8 = {
                // The table is in number order.
                let codes = [$($code,)*];
                codes[codes.len() - 1]
            };
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v.code()
            }
        }

        impl TryFrom<u8> for $name {
            type Error = String;
            fn try_from(code: u8) -> Result<$name, String> {
                $name::from_code(code).ok_or_else(|| format!("{} {}", $what, $name::out_of_range(code)))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let codes: Vec<u8> = $name::ALL.iter().map(|v| v.code()).collect();
                json_schema!({ "type": "integer", "enum": codes, "description": $what })
            }
        }
    };
}

vocabulary! {
    /// What is wrong with a battery (0: nothing).
    #[derive(Default)]
    BatteryFault, "battery fault type" {
        /// Healthy.
        #[default]
        None = 0 => "",
        /// Charges without current.
        PhantomCharge = 1 => "Phantom charge",
        /// Lightning cable fault.
        LightningCable = 2 => "Lightning cable fault",
        /// USB cable fault.
        UsbCable = 3 => "USB cable fault",
        /// Type-C cable fault.
        TypeCCable = 4 => "Type-C cable fault",
        /// Swollen.
        Swelling = 5 => "Battery swelling",
        /// The cabinet could not authorise it.
        AuthorisationFailed = 6 => "Authorisation failed",
        /// It does not charge (stays at its level in a slot).
        CannotCharge = 7 => "Cannot charge",
        /// Another battery has its id.
        DuplicateId = 8 => "Duplicate battery id",
        /// Recalled.
        Recalled = 9 => "Battery recalled",
        /// Worn out.
        HealthBelowStandard = 10 => "Battery health below standard, to be recycled",
        /// Used up.
        OverUsageLimit = 11 => "Battery over its usage limit, to be recycled",
    }
}

vocabulary! {
    /// What is wrong with a slot (0: nothing).
    #[derive(Default)]
    SlotFault, "slot fault type" {
        /// Healthy.
        #[default]
        None = 0 => "",
        /// The battery in it could not be authorised.
        AuthorisationFailed = 1 => "Battery authorisation failed",
        /// It cannot eject.
        CannotEject = 2 => "Slot cannot eject the power bank",
        /// The battery's id is unknown.
        NoSuchId = 3 => "No this ID",
        /// The anti-theft switch tripped.
        AntiTheftSwitch = 4 => "Anti-theft switch",
        /// The battery's id cannot be read.
        CannotRecogniseId = 5 => "Cannot recognise id",
        /// The insertion switch failed.
        InsertionSwitchFailed = 6 => "Insertion switch failed",
        /// It cannot lock a battery in.
        CannotLock = 7 => "Slot cannot lock the power bank",
        /// Locked by an operator (what a locked slot reports when it has no fault of its own).
        ManuallyLocked = 8 => "Manually locked",
    }
}

vocabulary! {
    /// Why a rent's eject failed (BORROW_OUT with status 0, the callback's fault).
    RentalFailure, "rental failure type" {
        /// Anything else.
        Other = 0 => "Other or undefined error",
        /// The battery could not be authorised (a faulty battery).
        AuthoriseFailed = 1 => "Authorise battery failed",
        /// The cabinet did not find the battery.
        BatteryNotFound = 2 => "Unable to find this battery id",
        /// The slot did not eject (a jammed slot).
        EjectFailed = 3 => "Eject battery failed",
        /// The slot did not eject (variant 4).
        EjectFailed4 = 4 => "Eject battery failed",
        /// The slot did not eject (variant 5).
        EjectFailed5 = 5 => "Eject battery failed",
        /// The cabinet did not answer the lease command in time.
        TimedOut = 9 => "Lease command timed out",
    }
}

impl BatteryFault {
    /// Whether the battery is healthy.
    pub fn is_none(self) -> bool {
        self == BatteryFault::None
    }
}

impl SlotFault {
    /// Whether the slot is healthy.
    pub fn is_none(self) -> bool {
        self == SlotFault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_causes_round_trip() {
        for f in BatteryFault::ALL {
            assert_eq!(BatteryFault::from_code(f.code()), Some(*f));
            assert_eq!(serde_json::to_string(f).unwrap(), f.code().to_string());
        }
        assert_eq!(BatteryFault::MAX, 11);
        assert_eq!(SlotFault::MAX, 8);
        assert_eq!(RentalFailure::MAX, 9);
        assert_eq!(BatteryFault::CannotCharge.cause(), "Cannot charge");
        assert_eq!(SlotFault::ManuallyLocked.code(), 8);
        assert_eq!(serde_json::from_str::<SlotFault>("2").unwrap(), SlotFault::CannotEject);
        let e = serde_json::from_str::<RentalFailure>("7").unwrap_err().to_string();
        assert!(e.contains("rental failure type 7 is not one of 0, 1, 2, 3, 4, 5, 9"), "{e}");
        let e = serde_json::from_str::<BatteryFault>("12").unwrap_err().to_string();
        assert!(e.contains("battery fault type 12 is outside 0..11"), "{e}");
        assert_eq!(
            BatteryFault::from_param("batteryFault", 12).unwrap_err().message(),
            "Parameter 'batteryFault' is invalid: 12 is outside 0..11."
        );
    }
}
