//! meshgen: typed platform files rendered into Helm values for Istio, with vendored charts,
//! a post-renderer and Flux objects. `ARCHITECTURE.md` maps the modules.

pub mod cli;
pub mod error;
pub mod lock;
pub mod release_line;
pub mod vendor;
