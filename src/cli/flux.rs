//! `meshgen flux`: the Flux objects of a platform. The source comes from the flags, over
//! `meshgen.yaml`'s `flux` section, over the built-in defaults.

use std::path::Path;

use super::platform::{resolve_platform, PlatformArgs};
use crate::error::{Error, Result};
use crate::gitops::repo_config::{RepoConfig, CONFIG_PATH};
use crate::install::flux::{self, Source, DEFAULT_BRANCH, DEFAULT_NAMESPACE, DEFAULT_PATH};

/// `meshgen flux` arguments.
#[derive(Debug, clap::Args)]
pub struct FluxArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Where Flux finds the repository that holds `vendor/`; each setting defaults to
/// `meshgen.yaml`'s `flux` section, then to the built-in default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// The repository Flux clones: http://, https:// or ssh:// (Flux accepts no other form).
    #[arg(long, value_name = "URL")]
    pub git_url: Option<String>,
    /// The branch Flux follows [default: main].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// The directory of the repository that holds `vendor/`, relative to its root [default: .].
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,
    /// The namespace of the Flux objects [default: flux-system].
    #[arg(long, value_name = "NAMESPACE")]
    pub flux_namespace: Option<String>,
    /// The Secret, in the Flux namespace, with the credentials of a private repository.
    #[arg(long, value_name = "NAME")]
    pub git_secret: Option<String>,
}

impl SourceArgs {
    /// The source these arguments give, on top of the repository's settings.
    pub fn check(&self, config: Option<&Source>) -> Result<Source> {
        let git_url = match (&self.git_url, config) {
            (Some(url), _) => url.as_str(),
            (None, Some(c)) => c.git_url.as_str(),
            (None, None) => {
                return Err(Error::Usage(format!(
                "no repository for Flux: give --git-url URL, or set flux.gitUrl in {CONFIG_PATH}"
            )))
            }
        };
        let pick = |arg: &Option<String>, configured: Option<&str>, default: &'static str| {
            arg.clone()
                .or(configured.map(str::to_string))
                .unwrap_or_else(|| default.to_string())
        };
        let branch = pick(
            &self.branch,
            config.map(|c| c.branch.as_str()),
            DEFAULT_BRANCH,
        );
        let path = pick(&self.path, config.map(|c| c.path.as_str()), DEFAULT_PATH);
        let namespace = pick(
            &self.flux_namespace,
            config.map(|c| c.namespace.as_str()),
            DEFAULT_NAMESPACE,
        );
        let git_secret = self
            .git_secret
            .as_deref()
            .or(config.and_then(|c| c.git_secret.as_deref()));
        Source::new(git_url, &branch, &path, &namespace, git_secret)
            .map_err(|e| Error::Usage(format!("{} {}", e.field.flag(), e.message)))
    }
}

pub fn run(args: &FluxArgs) -> Result<u8> {
    let config = RepoConfig::load(&super::current_dir()?)?;
    let source = args.source.check(config.flux.as_ref())?;
    let (loaded, platform) = resolve_platform(&args.platform)?;
    let values =
        crate::render::pipeline::render(&platform).map_err(|e| Error::Render(e.to_string()))?;
    let manifests = crate::install::manifests::render(&platform, &loaded.source.display)?;
    let gateways = crate::render::pipeline::render_gateways(&platform)
        .map_err(|e| Error::Render(e.to_string()))?;
    let canary = crate::render::pipeline::render_canary_file(&platform, None)
        .map_err(|e| Error::Render(e.to_string()))?;
    // Where `meshgen generate` writes this platform: its file's name, or a built-in's.
    let stem = loaded
        .source
        .path
        .as_deref()
        .and_then(Path::file_stem)
        .map_or_else(
            || platform.name.clone(),
            |s| s.to_string_lossy().into_owned(),
        );
    let generated_dir = Path::new(crate::gitops::generate::DEFAULT_OUT).join(stem);
    let rendered = flux::Rendered {
        values: &values,
        manifests: &manifests,
        gateways: &gateways,
        canary: canary.as_ref().map(|(_, text)| text.as_str()),
        generated_dir: &generated_dir,
    };
    let text = flux::render(&platform, &source, rendered)?;
    let with_manifests = flux::remote_manifests(&platform, &manifests).is_some();
    if let Some(warning) = flux::kubernetes_warning(&platform, with_manifests) {
        eprintln!("{warning}");
    }
    if flux::manifests_kustomization(&platform, &manifests) {
        super::term::note(&format!(
            "note: the Kustomization {} applies {}/ ({} and manifests.yaml), \
             which `meshgen generate` writes here: run it and commit that directory",
            flux::object_name(&platform, "manifests"),
            generated_dir.display(),
            flux::KUSTOMIZE_FILE
        ));
    }
    super::stdout_write(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str, path: &str) -> SourceArgs {
        SourceArgs {
            git_url: Some(url.into()),
            path: Some(path.into()),
            ..SourceArgs::default()
        }
    }

    #[test]
    fn source_urls_follow_flux() {
        assert!(args("https://example.com/r.git", ".").check(None).is_ok());
        assert!(args("ssh://git@example.com/r.git", ".").check(None).is_ok());
        let scp = args("git@github.com:org/repo.git", ".")
            .check(None)
            .unwrap_err()
            .to_string();
        assert!(scp.contains("ssh://git@github.com/org/repo.git"), "{scp}");
        assert!(args("ftp://x/y", ".").check(None).is_err());
        assert!(args("https://", ".").check(None).is_err());
    }

    #[test]
    fn paths_are_normalised_and_kept_inside() {
        let source = |p| args("https://h/r", p).check(None).map(|s| s.path);
        assert_eq!(source(".").unwrap(), "");
        assert_eq!(source("./clusters//mesh/").unwrap(), "clusters/mesh");
        assert!(source("../up").is_err());
        assert!(source("/abs").is_err());
    }
}
