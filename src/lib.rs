//! meshgen: typed platform files rendered into Helm values for Istio, with vendored charts,
//! a post-renderer and Flux objects. `ARCHITECTURE.md` maps the modules.

pub mod cli;
pub mod diff;
pub mod error;
pub mod fsutil;
pub mod gitops;
pub mod install;
pub mod model;
pub mod render;
pub mod suggest;
pub mod vendor;
pub mod yaml;

// The old flat paths, kept only until the modules name their new homes.
pub use cli::{commands, term};
pub use gitops::{check, checkvalues, generate, init, repo_config};
pub use install::{flux, manifests, postrender};
pub use model::{gateway_ports, load, platform, release_line, rules, schema, set};
pub use render::{emit, explain, resolve, values};
pub use vendor::lock;
