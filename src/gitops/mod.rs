//! The repository workflow: generate, check, init, the repository's settings, check-values.

pub mod check;
pub mod check_values;
pub mod field_reference;
pub mod fleet;
pub mod generate;
pub mod import;
pub mod init;
pub mod outdated;
pub mod plan;
pub mod repo_config;
pub mod schemas;
