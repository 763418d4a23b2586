//! What installs a rendered platform: the post-renderer, the extra manifests, Flux objects.

pub mod flux;
pub mod manifests;
pub mod postrender;
