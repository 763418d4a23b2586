//! meshgen: typed platform files rendered into Helm values for Istio, with vendored charts,
//! a post-renderer and Flux objects. `ARCHITECTURE.md` maps the modules.

pub mod check;
pub mod checkvalues;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod emit;
pub mod error;
pub mod explain;
pub mod flux;
pub mod fsutil;
pub mod gateway_ports;
pub mod generate;
pub mod init;
pub mod load;
pub mod lock;
pub mod manifests;
pub mod platform;
pub mod postrender;
pub mod release_line;
pub mod repo_config;
pub mod resolve;
pub mod rules;
pub mod schema;
pub mod set;
pub mod suggest;
pub mod term;
pub mod values;
pub mod vendor;
pub mod yaml;
