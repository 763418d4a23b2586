//! `meshgen.yaml`, the repository's own settings: where Flux clones the repository from, so
//! that `meshgen generate` can write each platform's `flux.yaml` and `meshgen check` can hold
//! it current (without `flux`, no Flux objects are generated); and which application
//! manifests `meshgen check` lints for which platform, with the lint rules switched off.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Diagnostic, Error, Result};
use crate::install::flux::Source;
use crate::yaml::PathSegment;

/// Where the settings live, relative to the repository root.
pub const CONFIG_PATH: &str = "meshgen.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigFile {
    flux: Option<FluxSettings>,
    lint: Option<LintFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LintFile {
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    paths: Vec<LintPath>,
}

/// Application manifests `meshgen check` lints, and the platform they run on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LintPath {
    /// A file or directory, from the repository root.
    pub path: std::path::PathBuf,
    /// A platform name (`platforms/NAME.yaml`, then a built-in) or a platform file's path.
    pub platform: String,
}

/// `meshgen.yaml`'s `lint`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintSettings {
    /// Rules switched off for the whole repository.
    pub disabled: Vec<crate::lint::Rule>,
    pub paths: Vec<LintPath>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FluxSettings {
    git_url: String,
    #[serde(default = "default_branch")]
    branch: String,
    #[serde(default = "default_path")]
    path: String,
    #[serde(default = "default_namespace")]
    namespace: String,
    #[serde(default)]
    git_secret: Option<String>,
}

fn default_branch() -> String {
    crate::install::flux::DEFAULT_BRANCH.into()
}
fn default_path() -> String {
    crate::install::flux::DEFAULT_PATH.into()
}
fn default_namespace() -> String {
    crate::install::flux::DEFAULT_NAMESPACE.into()
}

/// What marks the root of a meshgen repository: its settings, its lock, its platforms, or git's
/// own directory (a file in a worktree).
const ROOT_MARKERS: [&str; 4] = [CONFIG_PATH, "vendor/meshgen.lock", "platforms", ".git"];

/// The repository root seen from `cwd`, found as git finds its own: the nearest of `cwd` and
/// its parents that holds a root marker, else `cwd`. Returned relative to `cwd` (`.` or
/// `../..`), so that paths under it read as the user's shell would name them.
pub fn repo_root(cwd: &Path) -> PathBuf {
    for (depth, dir) in cwd.ancestors().enumerate() {
        if ROOT_MARKERS.iter().any(|m| dir.join(m).exists()) {
            return match depth {
                0 => PathBuf::from("."),
                n => std::iter::repeat_n("..", n).collect(),
            };
        }
    }
    PathBuf::from(".")
}

/// The repository's settings, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoConfig {
    pub flux: Option<Source>,
    pub lint: LintSettings,
}

impl RepoConfig {
    /// Reads `meshgen.yaml` in `root`; the defaults when there is none.
    pub fn load(root: &Path) -> Result<RepoConfig> {
        let path = root.join(CONFIG_PATH);
        match std::fs::read_to_string(&path) {
            Ok(text) => RepoConfig::parse(&text, CONFIG_PATH),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RepoConfig::default()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Parses the text of a config file; `file` names it in diagnostics.
    pub fn parse(text: &str, file: &str) -> Result<RepoConfig> {
        let located = |line, col, path: &str, message: String, hint: Option<String>| {
            Error::from(Diagnostic {
                hint,
                ..Diagnostic::error(file, line, col, path, message)
            })
        };
        let doc = crate::yaml::parse(text).map_err(|e| Error::from(e.into_diagnostic(file)))?;
        let raw: ConfigFile = serde_path_to_error::deserialize(&doc.to_json()).map_err(|e| {
            let path = crate::yaml::serde_path(e.path());
            let span = doc.locate_value(&path);
            located(
                span.line,
                span.col,
                &crate::yaml::display_path(&path),
                e.inner().to_string(),
                Some(
                    "meshgen.yaml holds `flux: {gitUrl, branch, path, namespace, gitSecret}` and `lint: {disable: [RULE], paths: [{path, platform}]}`"
                        .into(),
                ),
            )
        })?;
        let flux = match raw.flux {
            None => None,
            Some(f) => Some(
                Source::new(
                    &f.git_url,
                    &f.branch,
                    &f.path,
                    &f.namespace,
                    f.git_secret.as_deref(),
                )
                .map_err(|e| {
                    let path = [
                        PathSegment::Key("flux".into()),
                        PathSegment::Key(e.field.config_key().into()),
                    ];
                    let span = doc.locate_value(&path);
                    located(
                        span.line,
                        span.col,
                        &crate::yaml::display_path(&path),
                        e.message,
                        None,
                    )
                })?,
            ),
        };
        let mut lint = LintSettings::default();
        if let Some(l) = raw.lint {
            for (i, id) in l.disable.iter().enumerate() {
                let rule = id.parse().map_err(|message| {
                    let path = [
                        PathSegment::Key("lint".into()),
                        PathSegment::Key("disable".into()),
                        PathSegment::Index(i),
                    ];
                    let span = doc.locate_value(&path);
                    located(
                        span.line,
                        span.col,
                        &crate::yaml::display_path(&path),
                        message,
                        None,
                    )
                })?;
                lint.disabled.push(rule);
            }
            lint.paths = l.paths;
        }
        Ok(RepoConfig { flux, lint })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flux_settings_with_defaults() {
        let config = RepoConfig::parse(
            "flux:\n  gitUrl: https://h/fleet.git\n  path: ./mesh/\n",
            "m",
        )
        .unwrap();
        let flux = config.flux.unwrap();
        assert_eq!(flux.branch, "main");
        assert_eq!(flux.path, "mesh");
        assert_eq!(flux.namespace, "flux-system");
    }

    #[test]
    fn errors_are_located() {
        let err = RepoConfig::parse("flux:\n  gitUrl: git@h:o/r.git\n", "meshgen.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("meshgen.yaml:2:11: flux.gitUrl: "), "{err}");
        assert!(err.contains("ssh://git@h/o/r.git"), "{err}");
        let err = RepoConfig::parse("flux:\n  gitUrl: https://h/r\n  brnch: x\n", "meshgen.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `brnch`"), "{err}");
        assert!(err.starts_with("meshgen.yaml:"), "{err}");
    }

    #[test]
    fn reads_lint_settings_and_locates_unknown_rules() {
        let config = RepoConfig::parse(
            "lint:\n  disable: [pod-labels]\n  paths:\n  - {path: apps, platform: kvm}\n",
            "m",
        )
        .unwrap();
        assert_eq!(config.lint.disabled, vec![crate::lint::Rule::PodLabels]);
        assert_eq!(config.lint.paths[0].platform, "kvm");
        let err = RepoConfig::parse("lint:\n  disable: [port-nam]\n", "meshgen.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("meshgen.yaml:2:13: lint.disable[0]: "),
            "{err}"
        );
        assert!(err.contains("did you mean `port-name`"), "{err}");
    }

    #[test]
    fn no_file_means_no_flux() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RepoConfig::load(dir.path()).unwrap(), RepoConfig::default());
    }
}
