//! The platform model: release lines, platform files, their schema and rules, loading.

pub mod chart_keys;
pub mod gateway_ports;
pub mod load;
pub mod mesh_config;
pub mod parts;
pub mod platform;
pub mod provider;
pub mod release_line;
pub mod rules;
pub mod schema;
pub mod set;
