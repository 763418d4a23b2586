//! `meshgen values`: a platform's Helm values file, on stdout or written atomically.

use std::path::PathBuf;

use super::exit;
use super::platform::{resolve_platform, PlatformArgs};
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// The values file of this extra gateway (`spec.gateways`) instead: on Istio 1.11 each is
    /// its own release of the istio-ingress chart.
    #[arg(long, value_name = "NAME", conflicts_with = "canary")]
    pub gateway: Option<String>,
    /// The values file of the canary control plane (`spec.canary`, Istio 1.11) instead: its own
    /// release of the istio-discovery chart, `istiod-<revision>`.
    #[arg(long)]
    pub canary: bool,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: &ValuesArgs) -> Result<u8> {
    let (_, resolved) = resolve_platform(&args.platform)?;
    use crate::render::pipeline;
    let text = match &args.gateway {
        None if args.canary => match &resolved.canary {
            Some(_) => {
                pipeline::render_canary(&resolved).map_err(|e| Error::Render(e.to_string()))?
            }
            None => {
                return Err(Error::Usage(format!(
                    "platform {} has no spec.canary: no canary values file",
                    resolved.name
                )))
            }
        },
        None => pipeline::render(&resolved).map_err(|e| Error::Render(e.to_string()))?,
        Some(name) => pipeline::render_gateway(&resolved, name)?,
    };
    match &args.output {
        Some(path) => crate::fsutil::write_atomic(path, text.as_bytes()).map(|()| exit::SUCCESS),
        None => super::stdout_write(&text),
    }
}
