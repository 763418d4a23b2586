//! From a validated platform to its values file.

pub mod explain;
pub mod merge;
pub mod origins;
pub mod pipeline;
pub mod resolve;
pub mod values;
