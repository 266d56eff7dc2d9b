//! Events as bytes: a compact binary encoding of [`Event`](super::Event)
//! and everything in it, and a reader that says where bytes stop making sense.
