//! meshgen: typed platform files rendered into Helm values for Istio, with vendored charts,
//! a post-renderer and Flux objects. `ARCHITECTURE.md` maps the modules.

pub mod alloc;
pub mod cli;
pub mod diff;
pub mod error;
pub mod fsutil;
pub mod gitops;
pub mod install;
pub mod lint;
pub mod model;
pub mod parallel;
pub mod render;
pub mod suggest;
pub mod vendoring;
pub mod yaml;
