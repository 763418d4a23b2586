//! From a validated platform to its values file.

pub mod explain;
pub mod merge;
pub mod resolve;
pub mod values;
