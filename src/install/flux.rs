//! `meshgen flux`: the Flux objects that install a platform from the user's own repository —
//! a `GitRepository` (source.toolkit.fluxcd.io/v1) for it, one `HelmRelease`
//! (helm.toolkit.fluxcd.io/v2) per chart of the line taken from the vendored tree, with the
//! values of `meshgen values` inline, and the objects of `meshgen manifests`. A platform with
//! `kubeConfigSecret` is installed from a management cluster: every object then targets its
//! cluster through that kubeconfig, the manifests through a Flux `Kustomization`.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::model::platform::KubeConfigSecret;
use crate::model::release_line::{KubeMinor, SERVER_SIDE_APPLY_FROM};
use crate::render::resolve::ResolvedPlatform;

/// Name of the GitRepository the HelmReleases take their charts from.
pub const SOURCE_NAME: &str = "meshgen";

/// Flux 2.3, the first release serving HelmRelease v2, requires this Kubernetes version
/// (`flux check --pre`); later releases require more.
pub const FLUX_MIN_KUBERNETES: KubeMinor = KubeMinor::new(1, 28);

/// The file of a platform's generated directory that a remote Kustomization builds: without
/// it Flux's kustomize-controller applies every YAML file there (values.yaml, flux.yaml too).
pub const KUSTOMIZE_FILE: &str = "kustomization.yaml";

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
    /// The GitRepository's `secretRef`, for a private repository.
    pub git_secret: Option<String>,
}

/// A setting of the Flux source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceField {
    GitUrl,
    Branch,
    Path,
    Namespace,
    GitSecret,
}

impl SourceField {
    pub const ALL: [SourceField; 5] = [
        SourceField::GitUrl,
        SourceField::Branch,
        SourceField::Path,
        SourceField::Namespace,
        SourceField::GitSecret,
    ];

    /// The key in `meshgen.yaml`'s `flux` section.
    pub fn config_key(self) -> &'static str {
        match self {
            SourceField::GitUrl => "gitUrl",
            SourceField::Branch => "branch",
            SourceField::Path => "path",
            SourceField::Namespace => "namespace",
            SourceField::GitSecret => "gitSecret",
        }
    }

    /// The flag of `meshgen flux`.
    pub fn flag(self) -> &'static str {
        match self {
            SourceField::GitUrl => "--git-url",
            SourceField::Branch => "--branch",
            SourceField::Path => "--path",
            SourceField::Namespace => "--flux-namespace",
            SourceField::GitSecret => "--git-secret",
        }
    }
}

/// A setting of the Flux source that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub field: SourceField,
    pub message: String,
}

/// `path` relative to the repository root, normalised (no `.` segments, no trailing `/`,
/// empty for the root); or why it is not a directory inside the repository.
fn inside_repository(path: &str) -> Result<String, String> {
    if path.starts_with('/') {
        return Err(format!("`{path}` must be relative to the repository root"));
    }
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "`{path}` leaves the repository: give a directory inside it"
                ))
            }
            s => segments.push(s),
        }
    }
    Ok(segments.join("/"))
}

impl Source {
    /// Checks a source for what Flux and git accept.
    pub fn new(
        git_url: &str,
        branch: &str,
        path: &str,
        namespace: &str,
        git_secret: Option<&str>,
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
        let path = match inside_repository(path) {
            Ok(path) => path,
            Err(message) => return fail(SourceField::Path, message),
        };
        if !crate::model::platform::DnsLabel::is_valid(namespace) {
            return fail(
                SourceField::Namespace,
                format!("`{namespace}` is not a Kubernetes namespace name (lowercase letters, digits and `-`, at most 63)"),
            );
        }
        if let Some(secret) =
            git_secret.filter(|s| !crate::model::platform::DnsSubdomain::is_valid(s))
        {
            return fail(
                SourceField::GitSecret,
                format!("`{secret}` is not a Secret name (a DNS-1123 subdomain: lowercase letters, digits, `-` and `.`, at most 253)"),
            );
        }
        Ok(Source {
            git_url: url.to_string(),
            branch: branch.to_string(),
            path,
            namespace: namespace.to_string(),
            git_secret: git_secret.map(str::to_string),
        })
    }
}

/// Why Flux cannot install where the platform's Istio runs, if it cannot: Flux's HelmRelease
/// v2 needs Kubernetes 1.28, while the charts of every supported line stop working earlier.
/// From a management cluster (`kubeConfigSecret`) that bound is the management cluster's; the
/// HelmReleases apply client-side to a cluster before 1.16, but the Kustomization of the
/// manifests (`with_manifests`) cannot: kustomize-controller only applies server-side.
pub fn kubernetes_warning(platform: &ResolvedPlatform, with_manifests: bool) -> Option<String> {
    let (cluster, why) = platform.cluster_kubernetes();
    match &platform.kube_config_secret {
        None => (cluster < FLUX_MIN_KUBERNETES).then(|| {
            format!(
                "warning: HelmRelease v2 needs Flux 2.3 or later, which needs Kubernetes {FLUX_MIN_KUBERNETES} or later, \
                 and {why}: apply these objects only where such a Flux runs, \
                 or install with helm (see the values file's header)"
            )
        }),
        Some(secret) => (with_manifests && platform.predates_server_side_apply()).then(|| {
            format!(
                "warning: a Flux Kustomization would apply the manifests to the cluster of Secret {} \
                 with server-side apply (kustomize-controller has no other way), \
                 which Kubernetes serves from {SERVER_SIDE_APPLY_FROM} on, and {why}: \
                 meshgen leaves them out of Flux; apply manifests.yaml to that cluster with kubectl \
                 after each change (the HelmReleases install client-side there)",
                secret.name
            )
        }),
    }
}

/// The Secret through which a Flux Kustomization applies the platform's manifests to its
/// cluster: set when the platform is installed from a management cluster and has manifests.
pub fn remote_manifests<'a>(
    platform: &'a ResolvedPlatform,
    manifests: &str,
) -> Option<&'a KubeConfigSecret> {
    platform
        .kube_config_secret
        .as_ref()
        .filter(|_| !manifests.is_empty())
}

/// Whether a Flux `Kustomization` applies the platform's manifests, from its generated
/// directory, instead of `flux.yaml` carrying them: from a management cluster, and whenever
/// they hold Istio custom resources whose CRDs a HelmRelease installs (1.0's MeshPolicy, 1.11's
/// PeerAuthentication). kustomize-controller fails the whole apply of a stream holding a kind
/// the cluster does not serve yet, so inline they would hold back the very HelmRelease that
/// installs their CRDs; in their own Kustomization they are retried until the CRDs exist, then
/// reapplied on every reconcile (what the charts' install-only jobs applied now follows git),
/// and pruned when dropped.
pub fn manifests_kustomization(platform: &ResolvedPlatform, manifests: &str) -> bool {
    manifests_path(platform, manifests) == ManifestsPath::Kustomization
}

/// How the platform's `meshgen manifests` objects reach its cluster on the Flux path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestsPath {
    /// It has none.
    None,
    /// In `flux.yaml`, applied with it.
    Inline,
    /// A Kustomization of their own (`manifests_kustomization`).
    Kustomization,
    /// Not through Flux: its cluster predates server-side apply, the only way
    /// kustomize-controller applies to a remote cluster; a person applies them with kubectl.
    Kubectl,
}

pub fn manifests_path(platform: &ResolvedPlatform, manifests: &str) -> ManifestsPath {
    if manifests.is_empty() {
        ManifestsPath::None
    } else if platform.kube_config_secret.is_some() && platform.predates_server_side_apply() {
        ManifestsPath::Kubectl
    } else if platform.kube_config_secret.is_some() || platform.has_custom_resources() {
        ManifestsPath::Kustomization
    } else {
        ManifestsPath::Inline
    }
}

/// The `kustomization.yaml` (after the generated-file header) that makes Flux apply only
/// `manifests.yaml` of the platform's generated directory.
pub fn kustomize_file() -> String {
    "# What Flux's Kustomization applies from this directory: the manifests only.\n\
     apiVersion: kustomize.config.k8s.io/v1beta1\n\
     kind: Kustomization\n\
     resources:\n\
     - manifests.yaml\n"
        .to_string()
}

/// A Flux object's name: from a management cluster the objects of every platform share one
/// namespace, so each carries its platform's name.
pub fn object_name(platform: &ResolvedPlatform, name: &str) -> String {
    match platform.kube_config_secret {
        Some(_) => format!("{}-{name}", platform.name),
        None => name.to_string(),
    }
}

fn kube_config(secret: &KubeConfigSecret) -> Value {
    let mut secret_ref = json!({ "name": secret.name.as_str() });
    if let Some(key) = &secret.key {
        secret_ref["key"] = json!(key.as_str());
    }
    json!({ "secretRef": secret_ref })
}

/// The platform's generated directory relative to the repository root, for the Kustomization.
fn generated_path(platform: &ResolvedPlatform, source: &Source, dir: &Path) -> Result<String> {
    let fail = |why: String| {
        Error::Usage(format!(
            "the Flux Kustomization of platform {} reads its generated directory from the repository: {why}",
            platform.name
        ))
    };
    let text = dir
        .to_str()
        .ok_or_else(|| fail(format!("{} is not UTF-8", dir.display())))?;
    let relative = inside_repository(text).map_err(fail)?;
    Ok(repository_path(source, &relative))
}

fn kustomization(
    platform: &ResolvedPlatform,
    source: &Source,
    secret: Option<&KubeConfigSecret>,
    path: String,
) -> Value {
    let mut object = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": object_name(platform, "manifests"),
            "namespace": source.namespace,
        },
        "spec": {
            "interval": INTERVAL,
            "sourceRef": {
                "kind": "GitRepository",
                "name": SOURCE_NAME,
                "namespace": source.namespace,
            },
            "path": path,
            "prune": true,
        },
    });
    if let Some(secret) = secret {
        object["spec"]["kubeConfig"] = kube_config(secret);
    }
    object
}

/// A path inside the GitRepository's artifact, as Flux wants it (`./` first), for a
/// directory relative to the source's `path`.
fn repository_path(source: &Source, dir: &str) -> String {
    match (source.path.is_empty(), dir.is_empty()) {
        (true, _) => format!("./{dir}"),
        (false, true) => format!("./{}", source.path),
        (false, false) => format!("./{}/{dir}", source.path),
    }
}

fn git_repository(source: &Source) -> Value {
    let mut spec = json!({
        "interval": INTERVAL,
        "url": source.git_url,
        "ref": { "branch": source.branch },
    });
    if let Some(secret) = &source.git_secret {
        spec["secretRef"] = json!({ "name": secret });
    }
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": { "name": SOURCE_NAME, "namespace": source.namespace },
        "spec": spec,
    })
}

fn helm_release(
    platform: &ResolvedPlatform,
    source: &Source,
    chart: &str,
    values: &Value,
) -> Value {
    let release = platform.release_of(chart);
    let release = release.as_str();
    let namespace = &platform.namespace.value;
    let mut spec = Map::new();
    spec.insert("interval".into(), json!(INTERVAL));
    // Explicit, so that Helm's release names and storage are those of a `helm install`
    // from the values file's header: Flux would otherwise name it `<namespace>-<name>`.
    spec.insert("releaseName".into(), json!(release));
    if let Some(secret) = &platform.kube_config_secret {
        spec.insert("kubeConfig".into(), kube_config(secret));
    }
    spec.insert("targetNamespace".into(), json!(namespace));
    spec.insert("storageNamespace".into(), json!(namespace));
    spec.insert(
        "chart".into(),
        json!({
            "spec": {
                "chart": repository_path(source, &platform.chart_dir(chart)),
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
    if let Some(dependency) = platform.release_before(chart) {
        spec.insert(
            "dependsOn".into(),
            json!([{ "name": object_name(platform, &dependency) }]),
        );
    }
    spec.insert(
        "install".into(),
        json!({ "createNamespace": true, "crds": "CreateReplace" }),
    );
    spec.insert("upgrade".into(), json!({ "crds": "CreateReplace" }));
    // helm-controller on Helm 4 applies server-side by default; a remote cluster before 1.16
    // serves no server-side apply (the helm path's `--server-side=false`).
    if platform.kube_config_secret.is_some() && platform.predates_server_side_apply() {
        spec["install"]["serverSideApply"] = json!(false);
        spec["upgrade"]["serverSideApply"] = json!("disabled");
    }
    if platform.line.post_render_chart() == Some(chart) {
        if let Some(post_renderers) = crate::install::postrender::flux_post_renderers(platform) {
            spec.insert("postRenderers".into(), post_renderers);
        }
    }
    spec.insert("values".into(), values.clone());
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": { "name": object_name(platform, release), "namespace": source.namespace },
        "spec": spec,
    })
}

/// What the Flux objects of a platform are made from: its values file and manifests as
/// rendered (`values::render`, `manifests::render`), and the directory `meshgen generate`
/// writes them to, relative to the repository's `path` (`generated/<platform>`).
#[derive(Debug, Clone, Copy)]
pub struct Rendered<'a> {
    pub values: &'a str,
    pub manifests: &'a str,
    /// The values files of the extra gateways that are releases of their own (1.11), by name.
    pub gateways: &'a [(String, String)],
    /// The canary control plane's values file (1.11), when the platform has a canary.
    pub canary: Option<&'a str>,
    pub generated_dir: &'a Path,
}

/// The Flux objects of a platform, in apply order: the source, the Kustomization of the
/// manifests (`manifests_kustomization`), then the releases.
pub fn objects(
    platform: &ResolvedPlatform,
    source: &Source,
    rendered: Rendered,
) -> Result<Vec<Value>> {
    let values = crate::yaml::parse(rendered.values)
        .map_err(|e| Error::Render(format!("values do not parse back: {e}")))?
        .to_json();
    let mut objects = vec![git_repository(source)];
    if manifests_kustomization(platform, rendered.manifests) {
        let path = generated_path(platform, source, rendered.generated_dir)?;
        let secret = remote_manifests(platform, rendered.manifests);
        objects.push(kustomization(platform, source, secret, path));
    }
    for chart in platform.install_charts() {
        objects.push(helm_release(platform, source, chart.name, &values));
        if platform.line.revisioned_chart() == Some(chart.name) {
            if let Some(release) = canary_release(platform, source, rendered.canary)? {
                objects.push(release);
            }
        }
    }
    for (name, text) in rendered.gateways {
        let values = crate::yaml::parse(text)
            .map_err(|e| Error::Render(format!("gateway {name}'s values do not parse back: {e}")))?
            .to_json();
        let gateway = platform
            .gateways
            .iter()
            .find(|g| &g.name == name)
            .ok_or_else(|| Error::Render(format!("no gateway {name}")))?;
        let mut release = helm_release(
            platform,
            source,
            crate::render::values::EXTRA_GATEWAY_CHART,
            &values,
        );
        release["metadata"]["name"] = json!(object_name(platform, name));
        release["spec"]["releaseName"] = json!(name);
        release["spec"]["targetNamespace"] = json!(gateway.namespace.value);
        release["spec"]["storageNamespace"] = json!(gateway.namespace.value);
        objects.push(release);
    }
    Ok(objects)
}

/// The canary control plane's HelmRelease: the revisioned chart of the canary's release with
/// its own values file, after istio-base as the stable istiod.
fn canary_release(
    platform: &ResolvedPlatform,
    source: &Source,
    text: Option<&str>,
) -> Result<Option<Value>> {
    let (Some(canary), Some(text), Some(chart)) =
        (&platform.canary, text, platform.line.revisioned_chart())
    else {
        return Ok(None);
    };
    let values = crate::yaml::parse(text)
        .map_err(|e| Error::Render(format!("the canary's values do not parse back: {e}")))?
        .to_json();
    let mut release = helm_release(platform, source, chart, &values);
    let name = crate::render::resolve::revisioned_release(&canary.revision);
    release["metadata"]["name"] = json!(object_name(platform, &name));
    release["spec"]["releaseName"] = json!(name);
    release["spec"]["chart"]["spec"]["chart"] = json!(repository_path(
        source,
        &format!("vendor/istio/{}/{chart}", canary.version)
    ));
    Ok(Some(release))
}

/// The Flux objects and, unless a Kustomization applies them, the platform's other manifests,
/// as one YAML stream. Takes what `generate` writes beside it, so nothing renders twice.
pub fn render(platform: &ResolvedPlatform, source: &Source, rendered: Rendered) -> Result<String> {
    let mut out = format!(
        "# Flux objects for platform {} (Istio {}), generated by meshgen {}.\n\
         # Do not edit by hand: change the platform file and regenerate with `meshgen flux`.\n\
         # The charts come from {}/vendor/ in the repository below (`meshgen vendor`, committed).\n",
        platform.name,
        platform.version,
        env!("CARGO_PKG_VERSION"),
        if source.path.is_empty() { "." } else { &source.path },
    );
    if let Some(secret) = &platform.kube_config_secret {
        out.push_str(&format!(
            "# Apply to the management cluster: every object targets this platform's cluster through the kubeconfig in Secret {}.\n",
            secret.name
        ));
    }
    let with_manifests = remote_manifests(platform, rendered.manifests).is_some();
    if let Some(warning) = kubernetes_warning(platform, with_manifests) {
        out.push_str(&format!("# {warning}\n"));
    }
    for object in objects(platform, source, rendered)? {
        out.push_str("---\n");
        out.push_str(&crate::yaml::emit::to_yaml(&object));
    }
    if manifests_path(platform, rendered.manifests) == ManifestsPath::Inline {
        out.push_str(rendered.manifests);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::release_line::ReleaseLine;

    #[test]
    fn chart_paths_start_in_the_source_directory() {
        let source =
            |path| Source::new("https://h/r", DEFAULT_BRANCH, path, DEFAULT_NAMESPACE, None);
        assert_eq!(
            repository_path(&source("./a/").unwrap(), "vendor/istio/1.0.9/istio"),
            "./a/vendor/istio/1.0.9/istio"
        );
        let root = source(".").unwrap();
        assert_eq!(repository_path(&root, "generated/x"), "./generated/x");
        assert_eq!(repository_path(&source("./a/").unwrap(), ""), "./a");
    }

    #[test]
    fn only_1_11_orders_its_releases() {
        assert_eq!(
            ReleaseLine::V1_11.depends_on("istio-ingress"),
            Some("istiod")
        );
        assert_eq!(
            ReleaseLine::V1_11.depends_on("istio-discovery"),
            Some("istio-base")
        );
        assert_eq!(ReleaseLine::V1_11.depends_on("base"), None);
        assert_eq!(ReleaseLine::V1_0.depends_on("istio"), None);
    }
}
