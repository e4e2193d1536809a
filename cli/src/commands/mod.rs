//! One module per subcommand. `query` (issue 6) will take its dig-style
//! arguments (`@SERVER`, `+dnssec`, `+cd`) as raw trailing values
//! (`trailing_var_arg` + `allow_hyphen_values`) and parse them itself.

pub(crate) mod serve;
