//! One module per subcommand. `query` takes its dig-style arguments
//! (`@SERVER`, `+dnssec`, `+cd`) as raw positional values and parses them
//! itself; `resolution` holds the flags and the in-process resolver that
//! `query` and `dane check` share.

pub(crate) mod anchor;
pub(crate) mod control;
pub(crate) mod dane;
pub(crate) mod man;
pub(crate) mod ops;
pub(crate) mod privileges;
pub(crate) mod query;
pub(crate) mod resolution;
pub(crate) mod serve;
