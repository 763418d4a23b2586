//! `meshgen flux`: the Flux objects that install a platform from the user's own repository —
//! a `GitRepository` (source.toolkit.fluxcd.io/v1) for it, one `HelmRelease`
//! (helm.toolkit.fluxcd.io/v2) per chart of the line taken from the vendored tree, with the
//! values of `meshgen values` inline, and the objects of `meshgen manifests`.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::model::release_line::{KubeMinor, ReleaseLine};
use crate::render::resolve::ResolvedPlatform;

/// Name of the GitRepository the HelmReleases take their charts from.
pub const SOURCE_NAME: &str = "meshgen";

/// Flux 2.3, the first release serving HelmRelease v2, requires this Kubernetes version
/// (`flux check --pre`); later releases require more.
pub const FLUX_MIN_KUBERNETES: KubeMinor = KubeMinor::new(1, 28);

/// The defaults of the source's settings, for the flags and for `meshgen.yaml` alike.
pub const DEFAULT_BRANCH: &str = "main";
pub const DEFAULT_PATH: &str = ".";
pub const DEFAULT_NAMESPACE: &str = "flux-system";

/// How often Flux compares the cluster with the repository.
const INTERVAL: &str = "10m";

/// Where Flux finds the repository that holds `vendor/`, checked for what Flux and git accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub git_url: String,
    pub branch: String,
    /// Normalised: no `.` segments, no trailing `/`; empty for the repository root.
    pub path: String,
    pub namespace: String,
}

/// A setting of the Flux source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceField {
    GitUrl,
    Branch,
    Path,
    Namespace,
}

impl SourceField {
    /// The key in `meshgen.yaml`'s `flux` section.
    pub fn config_key(self) -> &'static str {
        match self {
            SourceField::GitUrl => "gitUrl",
            SourceField::Branch => "branch",
            SourceField::Path => "path",
            SourceField::Namespace => "namespace",
        }
    }

    /// The flag of `meshgen flux`.
    pub fn flag(self) -> &'static str {
        match self {
            SourceField::GitUrl => "--git-url",
            SourceField::Branch => "--branch",
            SourceField::Path => "--path",
            SourceField::Namespace => "--flux-namespace",
        }
    }
}

/// A setting of the Flux source that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub field: SourceField,
    pub message: String,
}

impl Source {
    /// Checks a source for what Flux and git accept.
    pub fn new(
        git_url: &str,
        branch: &str,
        path: &str,
        namespace: &str,
    ) -> Result<Source, SourceError> {
        let fail = |field, message: String| Err(SourceError { field, message });
        let url = git_url.trim();
        let scheme_ok = ["http://", "https://", "ssh://"]
            .iter()
            .any(|s| url.starts_with(s) && url.len() > s.len());
        if !scheme_ok || url.chars().any(char::is_whitespace) {
            let hint = match url.split_once(':') {
                Some((user_host, rest)) if user_host.contains('@') && !rest.starts_with("//") => {
                    format!(": write the scp-like address as ssh://{user_host}/{rest}")
                }
                _ => String::new(),
            };
            return fail(
                SourceField::GitUrl,
                format!("`{git_url}`: Flux's GitRepository takes an http://, https:// or ssh:// URL{hint}"),
            );
        }
        let branch = branch.trim();
        if branch.is_empty()
            || branch.starts_with('-')
            || branch.contains("..")
            || branch
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
        {
            return fail(
                SourceField::Branch,
                format!("`{branch}` is not a valid git branch name"),
            );
        }
        if path.starts_with('/') {
            return fail(
                SourceField::Path,
                format!("`{path}` must be relative to the repository root"),
            );
        }
        let mut segments = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    return fail(
                        SourceField::Path,
                        format!("`{path}` leaves the repository: give a directory inside it"),
                    )
                }
                s => segments.push(s),
            }
        }
        if !crate::model::platform::DnsLabel::is_valid(namespace) {
            return fail(
                SourceField::Namespace,
                format!("`{namespace}` is not a Kubernetes namespace name (lowercase letters, digits and `-`, at most 63)"),
            );
        }
        Ok(Source {
            git_url: url.to_string(),
            branch: branch.to_string(),
            path: segments.join("/"),
            namespace: namespace.to_string(),
        })
    }
}

/// Why Flux cannot run where the platform's Istio runs, if it cannot: Flux's HelmRelease v2
/// needs Kubernetes 1.28, while the charts of every supported line stop working earlier.
pub fn kubernetes_warning(platform: &ResolvedPlatform) -> Option<String> {
    let support = platform.line.kubernetes_support();
    let (cluster, why) = match platform.kubernetes {
        Some(v) => (v, format!("this platform targets Kubernetes {v}")),
        None => (
            support.works_to,
            format!(
                "Istio {} runs on Kubernetes {} at most",
                platform.line, support.works_to
            ),
        ),
    };
    (cluster < FLUX_MIN_KUBERNETES).then(|| {
        format!(
            "warning: HelmRelease v2 needs Flux 2.3 or later, which needs Kubernetes {FLUX_MIN_KUBERNETES} or later, \
             and {why}: apply these objects only where such a Flux runs, \
             or install with helm (see the values file's header)"
        )
    })
}

/// The chart path inside the GitRepository's artifact, as Flux wants it (`./` first).
fn chart_path(source: &Source, chart_dir: &str) -> String {
    if source.path.is_empty() {
        format!("./{chart_dir}")
    } else {
        format!("./{}/{chart_dir}", source.path)
    }
}

fn git_repository(source: &Source) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": { "name": SOURCE_NAME, "namespace": source.namespace },
        "spec": {
            "interval": INTERVAL,
            "url": source.git_url,
            "ref": { "branch": source.branch },
        },
    })
}

/// The HelmReleases a release depends on: 1.11's charts install in order (base holds the
/// CRDs istiod needs, the gateways need istiod's injection webhook); the umbrella charts of
/// 0.6 and 1.0 are one release.
fn depends_on(line: ReleaseLine, chart: &str) -> Option<&'static str> {
    match (line, chart) {
        (ReleaseLine::V1_11, "istio-discovery") => Some("istio-base"),
        (ReleaseLine::V1_11, "istio-ingress" | "istio-egress") => Some("istiod"),
        _ => None,
    }
}

fn helm_release(
    platform: &ResolvedPlatform,
    source: &Source,
    chart: &str,
    values: &Value,
) -> Value {
    let release = crate::render::values::release_name(chart);
    let namespace = &platform.namespace.value;
    let mut spec = Map::new();
    spec.insert("interval".into(), json!(INTERVAL));
    // Explicit, so that Helm's release names and storage are those of a `helm install`
    // from the values file's header: Flux would otherwise name it `<namespace>-<name>`.
    spec.insert("releaseName".into(), json!(release));
    spec.insert("targetNamespace".into(), json!(namespace));
    spec.insert("storageNamespace".into(), json!(namespace));
    spec.insert(
        "chart".into(),
        json!({
            "spec": {
                "chart": chart_path(source, &platform.chart_dir(chart)),
                // A vendored chart keeps its Chart.yaml version: without this Flux would
                // not notice the chart's files changing.
                "reconcileStrategy": "Revision",
                "sourceRef": {
                    "kind": "GitRepository",
                    "name": SOURCE_NAME,
                    "namespace": source.namespace,
                },
            }
        }),
    );
    if let Some(dependency) = depends_on(platform.line, chart) {
        spec.insert("dependsOn".into(), json!([{ "name": dependency }]));
    }
    spec.insert(
        "install".into(),
        json!({ "createNamespace": true, "crds": "CreateReplace" }),
    );
    spec.insert("upgrade".into(), json!({ "crds": "CreateReplace" }));
    if platform.line.post_render_chart() == Some(chart) {
        if let Some(post_renderers) = crate::install::postrender::flux_post_renderers(platform) {
            spec.insert("postRenderers".into(), post_renderers);
        }
    }
    spec.insert("values".into(), values.clone());
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": { "name": release, "namespace": source.namespace },
        "spec": spec,
    })
}

/// The Flux objects of a platform, in apply order.
/// `values_text` is the platform's values file (`values::render`), inlined in each release.
pub fn objects(
    platform: &ResolvedPlatform,
    source: &Source,
    values_text: &str,
) -> Result<Vec<Value>> {
    let values = crate::yaml::parse(values_text)
        .map_err(|e| Error::Render(format!("values do not parse back: {e}")))?
        .to_json();
    let mut objects = vec![git_repository(source)];
    for chart in platform.install_charts() {
        objects.push(helm_release(platform, source, chart.name, &values));
    }
    Ok(objects)
}

/// The Flux objects and the platform's other manifests, as one YAML stream. Takes the
/// platform's values file and manifests as rendered (`values::render`, `manifests::render`),
/// which `generate` writes beside it and need not render twice.
pub fn render(
    platform: &ResolvedPlatform,
    source: &Source,
    values_text: &str,
    manifests: &str,
) -> Result<String> {
    let mut out = format!(
        "# Flux objects for platform {} (Istio {}), generated by meshgen {}.\n\
         # Do not edit by hand: change the platform file and regenerate with `meshgen flux`.\n\
         # The charts come from {}/vendor/ in the repository below (`meshgen vendor`, committed).\n",
        platform.name,
        platform.version,
        env!("CARGO_PKG_VERSION"),
        if source.path.is_empty() { "." } else { &source.path },
    );
    if let Some(warning) = kubernetes_warning(platform) {
        out.push_str(&format!("# {warning}\n"));
    }
    for object in objects(platform, source, values_text)? {
        out.push_str("---\n");
        out.push_str(&crate::render::emit::to_yaml(&object));
    }
    out.push_str(manifests);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_paths_start_in_the_source_directory() {
        let source = |path| Source::new("https://h/r", DEFAULT_BRANCH, path, DEFAULT_NAMESPACE);
        assert_eq!(
            chart_path(&source("./a/").unwrap(), "vendor/istio/1.0.9/istio"),
            "./a/vendor/istio/1.0.9/istio"
        );
        assert_eq!(
            chart_path(&source(".").unwrap(), "vendor/istio/1.0.9/istio"),
            "./vendor/istio/1.0.9/istio"
        );
    }

    #[test]
    fn only_1_11_orders_its_releases() {
        assert_eq!(
            depends_on(ReleaseLine::V1_11, "istio-ingress"),
            Some("istiod")
        );
        assert_eq!(
            depends_on(ReleaseLine::V1_11, "istio-discovery"),
            Some("istio-base")
        );
        assert_eq!(depends_on(ReleaseLine::V1_11, "base"), None);
        assert_eq!(depends_on(ReleaseLine::V1_0, "istio"), None);
    }
}
