//! `meshgen values`: a platform's Helm values file, on stdout or written atomically.

use std::path::PathBuf;

use super::exit;
use super::platform::{resolve_platform, PlatformArgs};
use crate::error::Result;

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
    use crate::render::pipeline::{render_file, ValuesFile};
    let which = match (&args.gateway, args.canary) {
        (Some(name), _) => ValuesFile::Gateway(name),
        (None, true) => ValuesFile::Canary,
        (None, false) => ValuesFile::Platform,
    };
    let (_, text) = render_file(&resolved, which)?;
    match &args.output {
        Some(path) => crate::fsutil::write_atomic(path, text.as_bytes()).map(|()| exit::SUCCESS),
        None => super::stdout_write(&text),
    }
}
