//! One module per subcommand: its arguments and what it does.

pub mod apply;
pub mod compile;
pub mod delete;
pub mod docs;
pub mod get;
pub mod graph;
pub mod migrate;
pub mod run;
pub mod start;
pub mod validate;
