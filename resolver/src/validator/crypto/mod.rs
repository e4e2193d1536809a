//! Cryptographic backends behind one small trait.
