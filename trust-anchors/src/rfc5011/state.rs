//! The RFC 5011 §4 key states and the transition table, written as the
//! table in the reference (rfc5011.md §1): one row per state, every cell
//! not listed is "no transition".

use std::fmt;

/// A key's RFC 5011 state; the numbers are unbound's (`;;state=N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyState {
    /// Unknown, or dropped while pending. Never stored.
    Start = 0,
    /// Seen in a valid RRset; the add hold-down runs. Not an anchor.
    AddPend = 1,
    /// A trust anchor.
    Valid = 2,
    /// A Valid key absent from the last valid RRset: still an anchor (§4).
    Missing = 3,
    /// Revoked by its own signature: never trusted again (§2.1).
    Revoked = 4,
    /// Revoked and gone for the remove hold-down; may be forgotten.
    Removed = 5,
}

impl KeyState {
    /// All states, in unbound's order.
    pub const ALL: [Self; 6] = [
        Self::Start,
        Self::AddPend,
        Self::Valid,
        Self::Missing,
        Self::Revoked,
        Self::Removed,
    ];

    /// unbound's number for the state.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The state with unbound's number `n`.
    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.get(usize::from(n)).copied()
    }

    /// Is a key in this state a trust anchor? (RFC 5011 §4: Valid and
    /// Missing; AddPend never, Revoked never again.)
    pub fn is_anchor(self) -> bool {
        matches!(self, Self::Valid | Self::Missing)
    }

    /// unbound's 9-character label (`[  VALID  ]`).
    pub fn unbound_label(self) -> &'static str {
        match self {
            Self::Start => "  START  ",
            Self::AddPend => " ADDPEND ",
            Self::Valid => "  VALID  ",
            Self::Missing => " MISSING ",
            Self::Revoked => " REVOKED ",
            Self::Removed => " REMOVED ",
        }
    }

    /// Plain words for `danebound anchor show`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::AddPend => "pending",
            Self::Valid => "valid",
            Self::Missing => "missing",
            Self::Revoked => "revoked",
            Self::Removed => "removed",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The RFC 5011 §4 events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A valid RRset holds an unknown SEP key.
    NewKey,
    /// The add hold-down has passed and a valid RRset holds the key again.
    AddTime,
    /// A valid RRset lacks the key.
    KeyRem,
    /// A Missing key is back in a valid RRset.
    KeyPres,
    /// The key signed the RRset with its REVOKE bit set.
    RevBit,
    /// A revoked key has been absent for the remove hold-down.
    RemTime,
}

impl Event {
    /// All events.
    pub const ALL: [Self; 6] = [
        Self::NewKey,
        Self::AddTime,
        Self::KeyRem,
        Self::KeyPres,
        Self::RevBit,
        Self::RemTime,
    ];
}

/// The RFC 5011 §4 table. `None`: the event does nothing in that state.
pub fn transition(from: KeyState, event: Event) -> Option<KeyState> {
    use Event::*;
    use KeyState::*;
    match (from, event) {
        (Start, NewKey) => Some(AddPend),
        (AddPend, KeyRem) => Some(Start),
        (AddPend, AddTime) => Some(Valid),
        (Valid, KeyRem) => Some(Missing),
        (Valid, RevBit) => Some(Revoked),
        (Missing, KeyPres) => Some(Valid),
        (Missing, RevBit) => Some(Revoked),
        (Revoked, RemTime) => Some(Removed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Event::*;
    use super::KeyState::*;
    use super::*;

    /// Every non-empty cell of the §4 table.
    const TABLE: [(KeyState, Event, KeyState); 8] = [
        (Start, NewKey, AddPend),
        (AddPend, KeyRem, Start),
        (AddPend, AddTime, Valid),
        (Valid, KeyRem, Missing),
        (Valid, RevBit, Revoked),
        (Missing, KeyPres, Valid),
        (Missing, RevBit, Revoked),
        (Revoked, RemTime, Removed),
    ];

    #[test]
    fn rfc5011_section4_each_row_of_the_table() {
        for (from, event, to) in TABLE {
            assert_eq!(transition(from, event), Some(to), "{from:?} {event:?}");
        }
    }

    #[test]
    fn rfc5011_section4_every_empty_cell_is_no_transition() {
        for from in KeyState::ALL {
            for event in Event::ALL {
                if TABLE.iter().any(|(f, e, _)| *f == from && *e == event) {
                    continue;
                }
                assert_eq!(transition(from, event), None, "{from:?} {event:?}");
            }
        }
        // The cells the reference names explicitly.
        assert_eq!(transition(AddPend, RevBit), None);
        assert_eq!(transition(Missing, RemTime), None);
        assert_eq!(transition(Removed, NewKey), None);
    }

    #[test]
    fn only_valid_and_missing_are_anchors_and_numbers_are_unbounds() {
        for s in KeyState::ALL {
            assert_eq!(s.is_anchor(), matches!(s, Valid | Missing));
            assert_eq!(KeyState::from_number(s.number()), Some(s));
            assert_eq!(s.unbound_label().len(), 9);
        }
        assert_eq!(KeyState::from_number(6), None);
    }
}
