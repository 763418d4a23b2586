//! `meshgen explain`: each value of a platform's values file and where it comes from.

use super::platform::{resolve_platform, PlatformArgs};
use crate::error::Result;

/// `meshgen explain` arguments.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// The values file of this extra gateway (`spec.gateways`) instead, as `values --gateway`.
    #[arg(long, value_name = "NAME", conflicts_with = "canary")]
    pub gateway: Option<String>,
    /// The canary control plane's values file (`spec.canary`) instead, as `values --canary`.
    #[arg(long)]
    pub canary: bool,
}

pub fn run(args: &ExplainArgs) -> Result<u8> {
    let (loaded, resolved) = resolve_platform(&args.platform)?;
    use crate::render::pipeline::ValuesFile;
    let which = match (&args.gateway, args.canary) {
        (Some(name), _) => ValuesFile::Gateway(name),
        (None, true) => ValuesFile::Canary,
        (None, false) => ValuesFile::Platform,
    };
    super::stdout_write(&crate::render::explain::report(&loaded, &resolved, which)?)
}
