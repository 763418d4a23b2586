//! `meshgen plan`: what must happen to each cluster to go from a base state of the repository
//! (platform files, `vendor/meshgen.lock` and `meshgen.yaml` at a git ref) to the working tree.
//!
//! Both sides are rendered by the same code `generate` uses (values files, 1.11 extra
//! gateways' own files, `meshgen manifests` objects), and the steps come from comparing what
//! was rendered: the values header's releases (install order; uninstalls reversed), each
//! release's values and chart, the manifests objects by kind, namespace and name, the proxy
//! image. What Helm and `kubectl apply` leave undone is named: `crds/` never upgraded,
//! objects never deleted, pods keeping their old proxy until restarted. A change of release
//! line cannot be done in place: it is a reinstall, with findings for what stops working.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Diagnostic, Error, Result, Severity};
use crate::model::load::{self, Source};
use crate::model::platform::ServiceType;
use crate::model::release_line::KubeMinor;
use crate::render::resolve::ResolvedPlatform;
use crate::render::values::InstallView;
use crate::vendoring::lock::Lock;

/// What happens to a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    None,
    /// A new platform file: everything of a fresh install.
    Install,
    /// A deleted platform file: everything of an uninstall.
    Remove,
    /// The same release line: upgrades, installs, deletions in place.
    Upgrade,
    /// Another release line: cannot be done in place.
    Reinstall,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::None => "none",
            Change::Install => "install",
            Change::Remove => "remove",
            Change::Upgrade => "upgrade",
            Change::Reinstall => "reinstall",
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    HelmInstall,
    HelmUpgrade,
    HelmUninstall,
    KubectlApply,
    KubectlDelete,
    KubectlLabel,
    CrdApply,
    Restart,
    KubernetesUpgrade,
    Backup,
    Manual,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::HelmInstall => "helm-install",
            Action::HelmUpgrade => "helm-upgrade",
            Action::HelmUninstall => "helm-uninstall",
            Action::KubectlApply => "kubectl-apply",
            Action::KubectlDelete => "kubectl-delete",
            Action::KubectlLabel => "kubectl-label",
            Action::CrdApply => "crd-apply",
            Action::Restart => "restart",
            Action::KubernetesUpgrade => "kubernetes-upgrade",
            Action::Backup => "backup",
            Action::Manual => "manual",
        }
    }
}

/// On the Flux path (`meshgen flux`'s objects), whether Flux takes the step itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flux {
    /// helm-controller (a HelmRelease changed, added or pruned) or kustomize-controller
    /// (an object of a pruning Kustomization) does it on reconcile.
    Automatic,
    /// A person must still do it, on the Flux path too.
    Manual,
}

impl Flux {
    pub fn as_str(self) -> &'static str {
        match self {
            Flux::Automatic => "automatic",
            Flux::Manual => "manual",
        }
    }
}

/// One step, in the order to take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub action: Action,
    /// The Helm release, as the values header names it.
    pub release: Option<String>,
    pub namespace: Option<String>,
    /// The objects it touches, `Kind/name`.
    pub objects: Vec<String>,
    /// The exact command, when there is one (a Kubernetes upgrade is the provider's).
    pub command: Option<String>,
    pub why: String,
    pub flux: Flux,
}

/// Something that stops working or needs a person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    pub hint: String,
}

/// The Istio a side runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub istio: String,
    pub line: String,
}

/// One platform's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformPlan {
    pub name: String,
    pub change: Change,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub steps: Vec<Step>,
    pub findings: Vec<Finding>,
}

/// The plan of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// `<ref> (<commit>)`.
    pub base: String,
    pub platforms: Vec<PlatformPlan>,
}

impl Plan {
    /// Platforms whose change is not `none`.
    pub fn changed(&self) -> usize {
        self.platforms
            .iter()
            .filter(|p| p.change != Change::None)
            .count()
    }
}

/// What to plan: paths relative to the repository root.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The repository root (the working tree is the target).
    pub root: &'a Path,
    /// The git ref of the base state.
    pub base: &'a str,
    /// The platforms directory, relative to the root.
    pub platforms: &'a Path,
    /// The vendor directory, relative to the root.
    pub vendor: &'a Path,
    /// Where `generate` writes, relative to the root (the values files the commands take).
    pub out: &'a Path,
    /// Only this platform.
    pub platform: Option<&'a str>,
}

/// A side's repository state: its platform sources, lock and Flux source.
struct State {
    sources: BTreeMap<String, Source>,
    lock: Option<Lock>,
}

/// One release of a rendered side.
#[derive(Debug, Clone)]
struct Release {
    install: InstallView,
    /// The values it takes, parsed (comments, which name origins, do not count).
    values: Value,
    /// The chart directory name (`istio-discovery`).
    chart_name: String,
}

/// One object of `meshgen manifests`.
#[derive(Debug, Clone)]
struct Object {
    kind: String,
    name: String,
    namespace: Option<String>,
    body: Value,
}

impl Object {
    fn key(&self) -> (String, Option<String>, String) {
        (self.kind.clone(), self.namespace.clone(), self.name.clone())
    }

    fn label(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// A platform as rendered on one side.
struct Side {
    platform: ResolvedPlatform,
    releases: Vec<Release>,
    objects: Vec<Object>,
    /// The proxy image as the values set it: `global.hub`, `global.tag`, `global.proxy.image`.
    proxy: Value,
    /// The chart files of `crds/` per chart, from the side's lock (None when not locked).
    crd_files: BTreeMap<String, Option<BTreeMap<String, String>>>,
    /// How Flux applies its manifests (not at all on a target before server-side apply).
    manifests_path: crate::install::flux::ManifestsPath,
}

/// Whether Flux applies (and prunes) the side's manifests itself.
fn manifests_flux(side: &Side) -> Flux {
    match side.manifests_path {
        crate::install::flux::ManifestsPath::Kubectl => Flux::Manual,
        _ => Flux::Automatic,
    }
}

/// Plans every platform of the two states (or the one `platform` names).
pub fn plan(options: &Options) -> Result<Plan> {
    let repo = git2::Repository::open(options.root).map_err(|e| {
        Error::Usage(format!(
            "meshgen plan compares with a git ref, and {} is not a git repository: {}",
            options.root.display(),
            e.message()
        ))
    })?;
    let commit = repo
        .revparse_single(options.base)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| {
            Error::Usage(format!(
                "--base {}: no such commit in {}: {}",
                options.base,
                options.root.display(),
                e.message()
            ))
        })?;
    let id = commit.id().to_string();
    let base_label = format!("{} ({})", options.base, &id[..12]);
    let base = state_at(&repo, &commit, options)?;
    let target = state_in_tree(options)?;

    let mut names: BTreeSet<&String> = base.sources.keys().chain(target.sources.keys()).collect();
    if let Some(only) = options.platform {
        if !names.iter().any(|n| n.as_str() == only) {
            let known: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            let suggestion = crate::suggest::did_you_mean(only, known.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "--platform {only}: no platform of that name in {} at {} or in the working tree{suggestion}",
                options.platforms.display(),
                options.base
            )));
        }
        names.retain(|n| n.as_str() == only);
    }
    let mut findings: Vec<Diagnostic> = Vec::new();
    let mut sides = Vec::new();
    for name in names {
        let a = render_side(&base, name, &mut findings);
        let b = render_side(&target, name, &mut findings);
        sides.push((name.clone(), a?, b?));
    }
    if !findings.is_empty() {
        return Err(Error::Findings(findings));
    }
    let out = options.out;
    let platforms = sides
        .into_iter()
        .map(|(name, a, b)| plan_platform(&name, a.as_ref(), b.as_ref(), out))
        .collect();
    Ok(Plan {
        base: base_label,
        platforms,
    })
}

/// A repository path as git names it (`/`-separated, no `./`).
fn git_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The text of a file at a commit, None when the commit has no such file.
fn blob_text(
    repo: &git2::Repository,
    tree: &git2::Tree,
    path: &str,
    display: &str,
) -> Result<Option<String>> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(Error::Usage(format!("{display}: {}", e.message()))),
    };
    let blob = entry
        .to_object(repo)
        .and_then(|o| o.peel_to_blob())
        .map_err(|e| Error::Usage(format!("{display}: {}", e.message())))?;
    if blob.size() > crate::yaml::MAX_INPUT_BYTES {
        return Err(Diagnostic::error(
            display,
            1,
            1,
            "",
            format!(
                "file has {} bytes, more than the {} bytes meshgen reads",
                blob.size(),
                crate::yaml::MAX_INPUT_BYTES
            ),
        )
        .into());
    }
    String::from_utf8(blob.content().to_vec())
        .map(Some)
        .map_err(|e| {
            Diagnostic::error(
                display,
                1,
                1,
                "",
                format!(
                    "file is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
            .into()
        })
}

/// The base state: everything read from the commit's tree, named `REF:path` in diagnostics.
fn state_at(repo: &git2::Repository, commit: &git2::Commit, options: &Options) -> Result<State> {
    let tree = commit
        .tree()
        .map_err(|e| Error::Usage(format!("--base {}: {}", options.base, e.message())))?;
    let at = |path: &str| format!("{}:{path}", options.base);
    let dir = git_path(options.platforms);
    let mut sources = BTreeMap::new();
    let listing = if dir.is_empty() {
        Some(tree.clone())
    } else {
        match tree.get_path(Path::new(&dir)) {
            Ok(entry) => entry.to_object(repo).ok().and_then(|o| o.into_tree().ok()),
            Err(_) => None,
        }
    };
    if let Some(listing) = listing {
        for entry in listing.iter() {
            let Ok(file_name) = entry.name() else {
                continue;
            };
            if entry.kind() != Some(git2::ObjectType::Blob) {
                continue;
            }
            let Some(stem) = load::platform_name(file_name) else {
                continue;
            };
            let path = if dir.is_empty() {
                file_name.to_string()
            } else {
                format!("{dir}/{file_name}")
            };
            let display = at(&path);
            let text = blob_text(repo, &tree, &path, &display)?.unwrap_or_default();
            if let Some(other) = sources.insert(
                stem.to_string(),
                Source {
                    display: display.clone(),
                    path: None,
                    text,
                    name: Some(stem.to_string()),
                },
            ) {
                return Err(Error::Usage(format!(
                    "{} and {display} both define the platform `{stem}`: remove or rename one",
                    other.display
                )));
            }
        }
    }
    let lock_path = format!(
        "{}/{}",
        git_path(options.vendor),
        crate::vendoring::lock::FILE_NAME
    );
    let lock = blob_text(repo, &tree, &lock_path, &at(&lock_path))?
        .map(|text| Lock::parse(&text, &at(&lock_path)))
        .transpose()?;
    let config_path = crate::gitops::repo_config::CONFIG_PATH;
    // Read for its errors: an invalid meshgen.yaml at the base is bad input.
    blob_text(repo, &tree, config_path, &at(config_path))?
        .map(|text| crate::gitops::repo_config::RepoConfig::parse(&text, &at(config_path)))
        .transpose()?;
    Ok(State { sources, lock })
}

/// The target state: the working tree.
fn state_in_tree(options: &Options) -> Result<State> {
    let dir = options.root.join(options.platforms);
    let mut sources = BTreeMap::new();
    if dir.is_dir() {
        for (name, path) in load::platform_files(&dir)? {
            let shown: PathBuf = options.platforms.join(path.file_name().unwrap_or_default());
            let mut source = Source::read_named(&path, &name)?;
            source.display = shown.display().to_string();
            sources.insert(name, source);
        }
    }
    let lock = Lock::load(
        &options
            .root
            .join(options.vendor)
            .join(crate::vendoring::lock::FILE_NAME),
    )?;
    crate::gitops::repo_config::RepoConfig::load(options.root)?;
    Ok(State { sources, lock })
}

/// Loads, resolves and renders a platform of a state, as `generate` does; its findings (with
/// the file's located errors) go to `findings`.
fn render_side(state: &State, name: &str, findings: &mut Vec<Diagnostic>) -> Result<Option<Side>> {
    let Some(source) = state.sources.get(name) else {
        return Ok(None);
    };
    let lock = state.lock.as_ref();
    let loaded = match load::load_versioned(source, &[], &|line| {
        crate::render::resolve::version_for(lock, line).0
    }) {
        Ok(loaded) => loaded,
        Err(found) => {
            findings.extend(found.into_iter().filter(Diagnostic::is_error));
            return Ok(None);
        }
    };
    let (version, origin) = crate::render::resolve::version_for(lock, loaded.file.spec.istio);
    let platform = crate::render::pipeline::resolve_loaded(&loaded, version, origin)?;
    let values =
        crate::render::pipeline::render(&platform).map_err(|e| Error::Render(e.to_string()))?;
    let gateways = crate::render::pipeline::render_gateways(&platform)
        .map_err(|e| Error::Render(e.to_string()))?;
    let manifests = crate::install::manifests::render(&platform, &source.display)?;
    let parse = |text: &str, what: &str| -> Result<Value> {
        Ok(crate::yaml::parse(text)
            .map_err(|e| Error::Render(format!("{what} do not parse back: {e}")))?
            .to_json())
    };
    let platform_values = parse(&values, "values")?;
    let mut files: BTreeMap<String, Value> = BTreeMap::new();
    files.insert("values.yaml".to_string(), platform_values.clone());
    for (gateway, text) in &gateways {
        files.insert(
            crate::render::values::gateway_values_file(gateway),
            parse(text, "gateway values")?,
        );
    }
    if let Some((file, text)) = crate::render::pipeline::render_canary_file(&platform, None)
        .map_err(|e| Error::Render(e.to_string()))?
    {
        files.insert(file, parse(&text, "the canary's values")?);
    }
    let releases = crate::render::values::header_installs(&platform)
        .into_iter()
        .map(|install| Release {
            values: files
                .get(&install.values_file)
                .cloned()
                .unwrap_or(Value::Null),
            chart_name: install
                .chart
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            install,
        })
        .collect::<Vec<_>>();
    let objects = manifest_objects(&manifests)?;
    let manifests_path = crate::install::flux::manifests_path(&platform, &manifests);
    let global = platform_values.get("global");
    let proxy = serde_json::json!({
        "hub": global.and_then(|g| g.get("hub")),
        "tag": global.and_then(|g| g.get("tag")),
        "image": global.and_then(|g| g.pointer("/proxy/image")),
    });
    let crd_files = crd_files(lock, &platform, &releases);
    Ok(Some(Side {
        platform,
        releases,
        objects,
        proxy,
        crd_files,
        manifests_path,
    }))
}

/// The objects of a `meshgen manifests` stream, parsed back.
fn manifest_objects(manifests: &str) -> Result<Vec<Object>> {
    Ok(crate::yaml::parse_stream(
        manifests,
        crate::yaml::Dialect::Kubernetes,
        crate::install::postrender::MANIFEST_BOUNDS,
    )
    .map_err(|e| Error::Render(format!("manifests do not parse back: {e}")))?
    .into_iter()
    .map(|node| node.to_json())
    .filter(|body| body.is_object())
    .map(|body| {
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Object {
            kind: text("/kind").unwrap_or_default(),
            name: text("/metadata/name").unwrap_or_default(),
            namespace: text("/metadata/namespace"),
            body,
        }
    })
    .collect())
}

/// The `crds/` files of each release's chart, per the lock (None when it does not lock the release).
fn crd_files(
    lock: Option<&Lock>,
    platform: &ResolvedPlatform,
    releases: &[Release],
) -> BTreeMap<String, Option<BTreeMap<String, String>>> {
    releases
        .iter()
        .map(|r| {
            let files = lock
                .and_then(|l| l.release(&platform.version))
                .and_then(|rel| rel.charts.iter().find(|c| c.name == r.chart_name))
                .map(|chart| {
                    chart
                        .files
                        .iter()
                        .filter(|(path, _)| is_crd_file(path))
                        .map(|(p, d)| (p.clone(), d.clone()))
                        .collect()
                });
            (r.chart_name.clone(), files)
        })
        .collect()
}

/// A file of a chart's (or sub-chart's) `crds/` directory, which Helm installs and never upgrades.
fn is_crd_file(path: &str) -> bool {
    path.starts_with("crds/") || path.contains("/crds/")
}

/// The `crds/` directories of a release's chart that Helm installs with these values: what
/// `kubectl apply` takes for Helm.
fn crd_dirs(side: &Side, release: &Release) -> Vec<String> {
    let dir = side.platform.chart_dir(&release.chart_name);
    let enabled = |switch: &str| {
        switch
            .split('.')
            .try_fold(&release.values, |at, key| at.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    side.platform
        .line
        .crd_dirs(&release.chart_name)
        .iter()
        .filter(|(_, switch)| switch.is_none_or(enabled))
        .map(|(sub, _)| format!("{dir}/{sub}"))
        .collect()
}

fn version_of(side: &Side) -> Version {
    Version {
        istio: side.platform.version.to_string(),
        line: side.platform.line.to_string(),
    }
}

fn plan_platform(name: &str, a: Option<&Side>, b: Option<&Side>, out: &Path) -> PlatformPlan {
    let (change, steps, findings) = match (a, b) {
        (None, Some(b)) => (Change::Install, install_steps(b, out), Vec::new()),
        (Some(a), None) => (Change::Remove, remove_steps(a), Vec::new()),
        (Some(a), Some(b)) if a.platform.line != b.platform.line => (
            Change::Reinstall,
            reinstall_steps(a, b, out),
            reinstall_findings(a, b),
        ),
        (Some(a), Some(b)) => {
            let steps = upgrade_steps(a, b, out);
            let change = if steps.is_empty() {
                Change::None
            } else {
                Change::Upgrade
            };
            (change, steps, Vec::new())
        }
        (None, None) => (Change::None, Vec::new(), Vec::new()),
    };
    PlatformPlan {
        name: name.to_string(),
        change,
        from: a.map(version_of),
        to: b.map(version_of),
        steps,
        findings,
    }
}

/// The values file a release takes, where `generate` writes it.
fn values_path(out: &Path, platform: &str, file: &str) -> String {
    let dir = git_path(out);
    if dir.is_empty() {
        format!("{platform}/{file}")
    } else {
        format!("{dir}/{platform}/{file}")
    }
}

/// `helm install` or `helm upgrade` of a release, as the header writes it (Helm 3 flags).
fn helm_step(
    side: &Side,
    release: &Release,
    upgrade: bool,
    out: &Path,
    why: String,
    flux: Flux,
) -> Step {
    let i = &release.install;
    let platform = &side.platform.name;
    let first = side
        .releases
        .first()
        .is_some_and(|r| r.install.release == i.release);
    let create = !upgrade && (first || i.namespace != side.platform.namespace.value);
    let mut command = format!(
        "helm {} {} {} --namespace {}{} -f {}",
        if upgrade { "upgrade" } else { "install" },
        i.release,
        i.chart,
        i.namespace,
        if create { " --create-namespace" } else { "" },
        values_path(out, platform, &i.values_file)
    );
    if i.post_render {
        command.push_str(&format!(
            " --post-renderer meshgen --post-renderer-args post-render --post-renderer-args --platform={platform}"
        ));
    }
    Step {
        action: if upgrade {
            Action::HelmUpgrade
        } else {
            Action::HelmInstall
        },
        release: Some(i.release.clone()),
        namespace: Some(i.namespace.clone()),
        objects: Vec::new(),
        command: Some(command),
        why,
        flux,
    }
}

fn uninstall_step(release: &Release, why: String, flux: Flux) -> Step {
    let i = &release.install;
    Step {
        action: Action::HelmUninstall,
        release: Some(i.release.clone()),
        namespace: Some(i.namespace.clone()),
        objects: Vec::new(),
        command: Some(format!(
            "helm uninstall {} --namespace {}",
            i.release, i.namespace
        )),
        why,
        flux,
    }
}

/// `kubectl apply` of the platform's manifests.
fn apply_step(side: &Side, objects: &[&Object], out: &Path, why: String, flux: Flux) -> Step {
    Step {
        action: Action::KubectlApply,
        release: None,
        namespace: None,
        objects: objects.iter().map(|o| o.label()).collect(),
        command: Some(format!(
            "kubectl apply -f {}",
            values_path(out, &side.platform.name, "manifests.yaml")
        )),
        why,
        flux,
    }
}

fn delete_step(object: &Object, why: String, flux: Flux) -> Step {
    let namespace = object
        .namespace
        .as_ref()
        .map(|ns| format!(" --namespace {ns}"))
        .unwrap_or_default();
    Step {
        action: Action::KubectlDelete,
        release: None,
        namespace: object.namespace.clone(),
        objects: vec![object.label()],
        command: Some(format!(
            "kubectl delete {} {}{namespace}",
            object.kind.to_lowercase(),
            object.name
        )),
        why,
        flux,
    }
}

/// The labels of a Namespace object.
fn labels(object: &Object) -> BTreeMap<String, Value> {
    object
        .body
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// What `meshgen manifests` dropped: objects deleted, except namespaces, which meshgen only
/// labels (deleting one would delete its workloads): their labels are removed instead.
fn dropped_objects(a: &Side, b: Option<&Side>, flux: Flux) -> Vec<Step> {
    let mut steps = Vec::new();
    for old in &a.objects {
        let new = b.and_then(|b| b.objects.iter().find(|o| o.key() == old.key()));
        if old.kind == "Namespace" {
            let keep = new.map(labels).unwrap_or_default();
            let gone: Vec<String> = labels(old)
                .into_keys()
                .filter(|k| !keep.contains_key(k))
                .collect();
            if !gone.is_empty() {
                steps.push(Step {
                    action: Action::KubectlLabel,
                    release: None,
                    namespace: Some(old.name.clone()),
                    objects: vec![old.label()],
                    command: Some(format!(
                        "kubectl label namespace {} {}",
                        old.name,
                        gone.iter().map(|k| format!("{k}-")).collect::<Vec<_>>().join(" ")
                    )),
                    why: format!(
                        "meshgen manifests no longer labels namespace {}: kubectl apply never removes a label, and the namespace and its workloads stay",
                        old.name
                    ),
                    flux: Flux::Manual,
                });
            }
        } else if new.is_none() {
            steps.push(delete_step(
                old,
                format!(
                    "meshgen manifests no longer has {}: kubectl apply never deletes{}",
                    old.label(),
                    match flux {
                        Flux::Automatic => "; Flux's Kustomization prunes it",
                        Flux::Manual => "",
                    }
                ),
                flux,
            ));
        }
    }
    steps
}

/// Restarts of the injected namespaces' Deployments, so their pods take the new proxy (or
/// come back with, or without, a sidecar).
fn restarts(namespaces: &BTreeMap<String, String>) -> Vec<Step> {
    namespaces
        .iter()
        .map(|(ns, why)| Step {
            action: Action::Restart,
            release: None,
            namespace: Some(ns.clone()),
            objects: Vec::new(),
            command: Some(format!("kubectl rollout restart deployment -n {ns}")),
            why: why.clone(),
            flux: Flux::Manual,
        })
        .collect()
}

/// The injected namespaces whose pods need a restart between two sides.
fn restart_namespaces(a: Option<&Side>, b: Option<&Side>) -> BTreeMap<String, String> {
    let injected = |s: Option<&Side>| -> BTreeSet<String> {
        s.map(|s| s.platform.injection_namespaces.iter().cloned().collect())
            .unwrap_or_default()
    };
    let (old, new) = (injected(a), injected(b));
    let proxy_changed = match (a, b) {
        (Some(a), Some(b)) => a.proxy != b.proxy,
        _ => false,
    };
    let mut out = BTreeMap::new();
    for ns in &new {
        if !old.contains(ns) {
            out.insert(
                ns.clone(),
                "newly injected: running pods get a sidecar only when recreated".to_string(),
            );
        } else if let Some(why) = injector_change(a, b, ns) {
            out.insert(ns.clone(), why);
        } else if proxy_changed && !canary_on_either(a, b, ns) {
            let to = b
                .map(|b| b.platform.version.to_string())
                .unwrap_or_default();
            out.insert(
                ns.clone(),
                format!("the proxy image changed (Istio {to}): injected pods keep the old proxy until restarted, after the control plane"),
            );
        }
    }
    for ns in old.difference(&new) {
        out.insert(
            ns.clone(),
            "no longer injected: running pods keep their sidecar until recreated".to_string(),
        );
    }
    out
}

/// The control plane injecting namespace `ns` on a side: its label and its release.
fn injector(side: &Side, ns: &str) -> (String, semver::Version) {
    let (key, value) = side.platform.injection_label(ns);
    let version = side
        .platform
        .canary
        .as_ref()
        .filter(|c| c.namespaces.iter().any(|n| n == ns))
        .map_or(&side.platform.version, |c| &c.version);
    (format!("{key}={value}"), version.clone())
}

/// Why a namespace injected on both sides restarts: another control plane injects it (a
/// canary taking it over, or a promotion moving it to the canary's revision).
fn injector_change(a: Option<&Side>, b: Option<&Side>, ns: &str) -> Option<String> {
    let (old, new) = (injector(a?, ns), injector(b?, ns));
    // The stable release moving alone is the proxy image's change, not another injector.
    let moved = old.0 != new.0 || (old.1 != new.1 && canary_on_either(a, b, ns));
    moved.then(|| {
        format!(
            "now injected by the control plane of {} (Istio {}), was {} (Istio {}): running pods keep the old sidecar until restarted, after that control plane runs",
            new.0, new.1, old.0, old.1
        )
    })
}

/// Whether a canary injects `ns` on either side: its proxy is then the canary's, which
/// `injector_change` follows, not the stable one's.
fn canary_on_either(a: Option<&Side>, b: Option<&Side>, ns: &str) -> bool {
    let on = |s: Option<&Side>| {
        s.and_then(|s| s.platform.canary.as_ref())
            .is_some_and(|c| c.namespaces.iter().any(|n| n == ns))
    };
    on(a) || on(b)
}

/// Whether the manifests are applied right after this release: the one whose CRDs they need,
/// as the values header orders them.
fn manifests_after(side: &Side, release: &Release) -> bool {
    let after = crate::render::values::manifests_after_release(&side.platform).map_or_else(
        || {
            crate::render::values::manifests_after(side.platform.line)
                .0
                .to_string()
        },
        |(after, _)| after,
    );
    release.install.release == after
}

/// When Flux uninstalls a release by itself: its HelmRelease is gone from `flux.yaml`, and only a
/// pruning Kustomization deletes what it no longer holds.
const FLUX_PRUNES: &str =
    "; through Flux, helm-controller uninstalls it once the Kustomization applying flux.yaml prunes its HelmRelease (prune: true)";

/// A fresh install: manifests and releases in the header's order, then restarts.
fn install_steps(b: &Side, out: &Path) -> Vec<Step> {
    let objects: Vec<&Object> = b.objects.iter().collect();
    let apply = (!objects.is_empty()).then(|| {
        apply_step(
            b,
            &objects,
            out,
            "the objects besides the charts (meshgen manifests)".to_string(),
            manifests_flux(b),
        )
    });
    let mut steps = Vec::new();
    let mut apply = apply;
    for release in &b.releases {
        steps.push(helm_step(
            b,
            release,
            false,
            out,
            "a new platform: its release, in the header's install order".to_string(),
            Flux::Automatic,
        ));
        if manifests_after(b, release) {
            steps.extend(apply.take());
        }
    }
    steps.extend(apply);
    steps.extend(restarts(&restart_namespaces(None, Some(b))));
    steps
}

/// A deleted platform file: the header's uninstall, each step typed.
fn remove_steps(a: &Side) -> Vec<Step> {
    let mut steps: Vec<Step> = a
        .releases
        .iter()
        .rev()
        .map(|r| {
            uninstall_step(
                r,
                format!("the platform file is gone: its releases, in reverse install order{FLUX_PRUNES}"),
                Flux::Automatic,
            )
        })
        .collect();
    steps.extend(dropped_objects(a, None, manifests_flux(a)));
    steps.extend(leftover_steps(a, true));
    steps.extend(restarts(&restart_namespaces(Some(a), None)));
    steps
}

/// What the releases of a side leave behind: objects no release owns, and with `all`, the
/// namespace and the CRDs (every Istio resource of the cluster).
fn leftover_steps(a: &Side, all: bool) -> Vec<Step> {
    let mut steps: Vec<Step> = crate::render::values::unowned_objects(a.platform.line)
        .iter()
        .map(|(resource, name, why)| Step {
            action: Action::KubectlDelete,
            release: None,
            namespace: None,
            objects: vec![format!("{}/{name}", kind_of(resource))],
            command: Some(format!("kubectl delete {resource} {name}")),
            why: (*why).to_string(),
            flux: Flux::Manual,
        })
        .collect();
    if all {
        let ns = &a.platform.namespace.value;
        steps.push(Step {
            action: Action::KubectlDelete,
            release: None,
            namespace: Some(ns.clone()),
            objects: vec![format!("Namespace/{ns}")],
            command: Some(format!("kubectl delete namespace {ns}")),
            why: crate::render::values::NAMESPACE_LEFT.to_string(),
            flux: Flux::Manual,
        });
        if let Some(command) = crate::render::values::crd_delete_command(a.platform.line, &[]) {
            steps.push(Step {
                action: Action::KubectlDelete,
                release: None,
                namespace: None,
                objects: vec!["CustomResourceDefinition/*".to_string()],
                command: Some(command),
                why: crate::render::values::CRDS_LEFT.to_string(),
                flux: Flux::Manual,
            });
        }
    }
    steps
}

/// The Kind of a `kubectl` resource name meshgen deletes by hand.
fn kind_of(resource: &str) -> &str {
    match resource {
        "validatingwebhookconfiguration" => "ValidatingWebhookConfiguration",
        other => other,
    }
}

/// The crd-apply steps of the charts whose `crds/` files differ between two sides (always,
/// when a lock does not say).
fn crd_steps(a: Option<&Side>, b: &Side, why: &str, flux: Flux) -> Vec<Step> {
    let mut steps = Vec::new();
    for release in &b.releases {
        let dirs = crd_dirs(b, release);
        if dirs.is_empty() {
            continue;
        }
        if let Some(a) = a {
            if a.platform.version == b.platform.version {
                continue;
            }
            let before = a.crd_files.get(&release.chart_name).cloned().flatten();
            let after = b.crd_files.get(&release.chart_name).cloned().flatten();
            if let (Some(before), Some(after)) = (&before, &after) {
                if before == after {
                    continue;
                }
            }
        }
        steps.push(Step {
            action: Action::CrdApply,
            release: Some(release.install.release.clone()),
            namespace: None,
            objects: Vec::new(),
            command: Some(format!(
                "kubectl apply {}",
                dirs.iter()
                    .map(|d| format!("-f {d}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            why: why.to_string(),
            flux,
        });
    }
    steps
}

fn kubernetes_step(a: Option<KubeMinor>, b: Option<KubeMinor>) -> Option<Step> {
    let (Some(from), Some(to)) = (a, b) else {
        return None;
    };
    if from == to {
        return None;
    }
    Some(Step {
        action: Action::KubernetesUpgrade,
        release: None,
        namespace: None,
        objects: Vec::new(),
        command: None,
        why: format!(
            "spec.kubernetes moves from {from} to {to}: the cluster is upgraded by its provider{}",
            if to > from {
                ", one minor version at a time"
            } else {
                ""
            }
        ),
        flux: Flux::Manual,
    })
}

/// The same line: compare release by release, object by object.
fn upgrade_steps(a: &Side, b: &Side, out: &Path) -> Vec<Step> {
    let mut steps = Vec::new();
    steps.extend(kubernetes_step(
        a.platform.kubernetes,
        b.platform.kubernetes,
    ));
    steps.extend(crd_steps(
        Some(a),
        b,
        &format!(
            "Istio {} → {}: Helm installs crds/ but never upgrades them (helm-controller replaces them: CreateReplace)",
            a.platform.version, b.platform.version
        ),
        Flux::Automatic,
    ));
    let key = |r: &Release| (r.install.release.clone(), r.install.namespace.clone());
    let changed: Vec<&Object> = b
        .objects
        .iter()
        .filter(|o| {
            !a.objects
                .iter()
                .any(|old| old.key() == o.key() && old.body == o.body)
        })
        .collect();
    let mut apply = (!changed.is_empty()).then(|| {
        apply_step(
            b,
            &changed,
            out,
            "meshgen manifests has new or changed objects".to_string(),
            manifests_flux(b),
        )
    });
    for release in &b.releases {
        let old = a.releases.iter().find(|r| key(r) == key(release));
        let step = match old {
            None => Some(helm_step(
                b,
                release,
                false,
                out,
                "a release the header did not list before".to_string(),
                Flux::Automatic,
            )),
            Some(old) => {
                let mut what = Vec::new();
                if old.install.chart != release.install.chart {
                    what.push(format!(
                        "the chart moves from {} to {}",
                        old.install.chart, release.install.chart
                    ));
                }
                if old.values != release.values {
                    what.push(format!(
                        "its values ({}) changed",
                        release.install.values_file
                    ));
                }
                if old.install.post_render != release.install.post_render {
                    what.push("the post-renderer changed".to_string());
                }
                (!what.is_empty())
                    .then(|| helm_step(b, release, true, out, what.join("; "), Flux::Automatic))
            }
        };
        steps.extend(step);
        if manifests_after(b, release) {
            steps.extend(apply.take());
        }
    }
    steps.extend(apply);
    steps.extend(closing_steps(a, b));
    steps
}

/// The end of an upgrade: the releases the header no longer lists, uninstalled in reverse, the
/// objects no longer rendered, and the restarts (before the uninstalls when a control plane
/// leaves).
fn closing_steps(a: &Side, b: &Side) -> Vec<Step> {
    let key = |r: &Release| (r.install.release.clone(), r.install.namespace.clone());
    let mut steps = Vec::new();
    let gone: Vec<&Release> = a
        .releases
        .iter()
        .rev()
        .filter(|old| !b.releases.iter().any(|r| key(r) == key(old)))
        .collect();
    // A control plane leaves (a promoted canary's old istiod) only once no pod uses it: the
    // namespaces move and restart first, as Istio's canary upgrade orders it.
    let control_plane_leaves = gone
        .iter()
        .any(|r| a.platform.line.revisioned_chart() == Some(r.chart_name.as_str()));
    let mut restart = Some(restarts(&restart_namespaces(Some(a), Some(b))));
    let mut tail = Vec::new();
    for old in gone {
        tail.push(uninstall_step(
            old,
            format!("the header no longer lists it: nothing uninstalls a release by itself{FLUX_PRUNES}"),
            Flux::Automatic,
        ));
    }
    // Flux prunes what it applied only where it applied the manifests before and after.
    let prunes = match (manifests_flux(a), manifests_flux(b)) {
        (Flux::Automatic, Flux::Automatic) => Flux::Automatic,
        _ => Flux::Manual,
    };
    let dropped = dropped_objects(a, Some(b), prunes);
    if control_plane_leaves {
        steps.extend(dropped);
        steps.extend(restart.take().into_iter().flatten());
        steps.extend(tail);
    } else {
        steps.extend(tail);
        steps.extend(dropped);
    }
    steps.extend(restart.into_iter().flatten());
    steps
}

/// A change of line: back up, uninstall the old line, its CRDs, the cluster, the new line.
fn reinstall_steps(a: &Side, b: &Side, out: &Path) -> Vec<Step> {
    let mut steps = Vec::new();
    let backup = format!("{}-istio-backup.yaml", a.platform.name);
    steps.push(Step {
        action: Action::Backup,
        release: None,
        namespace: None,
        objects: Vec::new(),
        command: Some(format!(
            "kubectl get $(kubectl get crd -o name | grep -E '\\.istio\\.io$' | cut -d/ -f2 | paste -sd, -) --all-namespaces -o yaml > {backup}"
        )),
        why: format!(
            "Istio {} → {} cannot be upgraded in place: keep every Istio resource before the old line goes",
            a.platform.line, b.platform.line
        ),
        flux: Flux::Manual,
    });
    steps.push(Step {
        action: Action::Manual,
        release: None,
        namespace: None,
        objects: Vec::new(),
        command: None,
        why: "on the Flux path, suspend the Kustomization that applies flux.yaml until the new line is in: Flux would install the new releases beside the old ones, whose names collide".to_string(),
        flux: Flux::Manual,
    });
    for old in a.releases.iter().rev() {
        steps.push(uninstall_step(
            old,
            format!(
                "the old line ({}), in reverse install order",
                a.platform.line
            ),
            Flux::Manual,
        ));
    }
    steps.extend(dropped_objects(a, Some(b), Flux::Manual));
    steps.extend(leftover_steps(a, false));
    steps.extend(orphaned_crds_step(a, b));
    steps.extend(kubernetes_step(
        a.platform.kubernetes,
        b.platform.kubernetes,
    ));
    steps.extend(crd_steps(
        None,
        b,
        &format!(
            "the new line's CRDs: Helm skips CRDs that exist, so the kept networking ones would stay at the {} line's versions",
            a.platform.line
        ),
        Flux::Manual,
    ));
    let mut install = install_steps(b, out);
    for step in &mut install {
        step.flux = Flux::Manual;
        if step.action == Action::HelmInstall {
            step.why = format!(
                "the new line ({}), in the header's install order",
                b.platform.line
            );
        }
    }
    // Every injected pod runs the old line's proxy: restart them all after the new control plane.
    install.retain(|s| s.action != Action::Restart);
    steps.extend(install);
    steps.extend(restarts(&reinstall_restarts(a, b)));
    steps
}

/// Deleting the old line's CRDs but those the new line shares (None when Helm keeps none).
fn orphaned_crds_step(a: &Side, b: &Side) -> Option<Step> {
    // The shared networking CRDs stay, so the VirtualServices, DestinationRules, Gateways
    // and ServiceEntries in them stay; the new line's crd-apply upgrades them in place.
    let kept = b.platform.line.networking_crds();
    let keep: Vec<&str> = a
        .platform
        .line
        .networking_crds()
        .iter()
        .copied()
        .filter(|c| kept.contains(c))
        .collect();
    let command = crate::render::values::crd_delete_command(a.platform.line, &keep)?;
    Some(Step {
        action: Action::KubectlDelete,
        release: None,
        namespace: None,
        objects: vec!["CustomResourceDefinition/*".to_string()],
        command: Some(command),
        why: if keep.is_empty() {
            format!(
                "Helm keeps the CRDs of crds/: the {} line's are orphaned",
                a.platform.line
            )
        } else {
            format!(
                "Helm keeps the CRDs of crds/: those of the {} line that {} does not define are orphaned (with their resources); the shared networking ones ({}) stay, with the resources in them",
                a.platform.line,
                b.platform.line,
                keep.join(", ")
            )
        },
        flux: Flux::Manual,
    })
}

/// Every injected namespace restarts after a change of line: its pods run the old line's proxy.
fn reinstall_restarts(a: &Side, b: &Side) -> BTreeMap<String, String> {
    let mut namespaces: BTreeMap<String, String> = b
        .platform
        .injection_namespaces
        .iter()
        .map(|ns| {
            (
                ns.clone(),
                format!(
                    "injected pods run the {} line's proxy: restarted after the new control plane, they get {}'s",
                    a.platform.line, b.platform.version
                ),
            )
        })
        .collect();
    for (ns, why) in restart_namespaces(Some(a), Some(b)) {
        namespaces.entry(ns).or_insert(why);
    }
    namespaces
}

/// What stops working across a change of line.
fn reinstall_findings(a: &Side, b: &Side) -> Vec<Finding> {
    let (from, to) = (a.platform.line, b.platform.line);
    let mut out = Vec::new();
    let finding = |severity, message: String, hint: &str| Finding {
        severity,
        message,
        hint: hint.to_string(),
    };
    if from.serves_mixer_era_apis() && !to.serves_mixer_era_apis() {
        out.push(finding(
            Severity::Warning,
            format!("Mixer is gone in {to}: policy checks, quotas and telemetry rules (config.istio.io handlers, instances, rules, QuotaSpecs) stop working"),
            "rate-limit with Envoy's rate limit filter, and take metrics from the sidecars' own Prometheus stats",
        ));
        out.push(finding(
            Severity::Error,
            format!("rbac.istio.io authorization (ServiceRole, ServiceRoleBinding, RbacConfig) is ignored by {to}: the services it protected become open"),
            "rewrite each as a security.istio.io/v1beta1 AuthorizationPolicy and apply it right after istiod",
        ));
        out.push(finding(
            Severity::Warning,
            format!("{from}'s MeshPolicy and authentication.istio.io Policies are not read by {to}"),
            "spec.mtls becomes a PeerAuthentication in meshgen manifests; rewrite per-service Policies as PeerAuthentication and RequestAuthentication",
        ));
    }
    let enabled = |s: &Side| -> BTreeSet<&'static str> {
        s.platform
            .addons
            .iter()
            .filter(|x| x.enabled)
            .map(|x| x.kind.as_str())
            .collect()
    };
    let mut lost: Vec<&str> = enabled(a).difference(&enabled(b)).copied().collect();
    if a.platform.tracing.value && !b.platform.tracing.value {
        lost.push("tracing");
    }
    if !lost.is_empty() {
        out.push(finding(
            Severity::Warning,
            format!("add-ons {from} installed that the {to} platform does not: {}", lost.join(", ")),
            if to.ships_addons() {
                "install them separately, or enable them in spec.addons"
            } else {
                "the new line's charts ship no add-ons: install Istio's samples/addons manifests, or your own monitoring"
            },
        ));
    }
    let mut balancers: Vec<(String, bool)> = Vec::new();
    let lb = |g: &crate::render::resolve::ResolvedGateway| {
        g.service_type.value == ServiceType::LoadBalancer
    };
    if lb(&a.platform.ingress) {
        balancers.push((
            "the ingress gateway".to_string(),
            b.platform.ingress.load_balancer_ip.is_some(),
        ));
    }
    if a.platform.egress.as_ref().is_some_and(lb) {
        balancers.push(("the egress gateway".to_string(), false));
    }
    for g in a.platform.gateways.iter().filter(|g| lb(&g.gateway)) {
        let pinned = b
            .platform
            .gateways
            .iter()
            .any(|n| n.name == g.name && n.gateway.load_balancer_ip.is_some());
        balancers.push((format!("gateway {}", g.name), pinned));
    }
    for (what, pinned) in balancers {
        out.push(finding(
            if pinned { Severity::Info } else { Severity::Warning },
            format!("{what}'s LoadBalancer Service is deleted and recreated: its external address may change"),
            if pinned {
                "its loadBalancerIP is set: make sure the address is reserved at the provider"
            } else {
                "set loadBalancerIP to an address reserved at the provider, or update DNS after the switch"
            },
        ));
    }
    out
}

/// The plan as JSON (the contract of `--format json`).
pub fn format_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan serializes");
    text.push('\n');
    text
}

fn side_text(version: &Option<Version>) -> String {
    version
        .as_ref()
        .map(|v| format!("Istio {}", v.istio))
        .unwrap_or_else(|| "nothing".to_string())
}

/// The heading of a platform: its change and versions.
fn heading(p: &PlatformPlan) -> String {
    match p.change {
        Change::None => format!("{}: no change", p.name),
        _ => format!(
            "{}: {} ({} → {})",
            p.name,
            p.change.as_str(),
            side_text(&p.from),
            side_text(&p.to)
        ),
    }
}

/// Where a step acts: `release in namespace`, `namespace`, or the objects.
fn target(step: &Step) -> String {
    let mut parts = Vec::new();
    if let Some(release) = &step.release {
        parts.push(release.clone());
    }
    if !step.objects.is_empty() {
        parts.push(step.objects.join(", "));
    }
    if let Some(ns) = &step.namespace {
        parts.push(format!("in {ns}"));
    }
    parts.join(" ")
}

/// The plan as text: a block per platform, steps numbered.
pub fn format_text(plan: &Plan) -> String {
    let mut out = format!(
        "Plan from {} to the working tree: {} platform{}, {} to change\n",
        plan.base,
        plan.platforms.len(),
        if plan.platforms.len() == 1 { "" } else { "s" },
        plan.changed()
    );
    for p in &plan.platforms {
        out.push_str(&format!("\n{}\n", heading(p)));
        for (i, step) in p.steps.iter().enumerate() {
            out.push_str(&format!(
                "  {:>2}. {} {}  [Flux: {}]\n",
                i + 1,
                step.action.as_str(),
                target(step),
                step.flux.as_str()
            ));
            if let Some(command) = &step.command {
                out.push_str(&format!("      $ {command}\n"));
            }
            out.push_str(&format!("      why: {}\n", step.why));
        }
        for f in &p.findings {
            out.push_str(&format!(
                "  {}: {}\n    hint: {}\n",
                f.severity.as_str(),
                f.message,
                f.hint
            ));
        }
    }
    out
}

/// Text for a markdown line: no HTML, no table or emphasis surprises.
fn md(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}

/// The plan as markdown, for a pull request comment or a job summary.
pub fn format_markdown(plan: &Plan) -> String {
    let mut out = format!(
        "## meshgen plan\n\nFrom `{}` to this change: {} platform{}, {} to change.\n",
        plan.base,
        plan.platforms.len(),
        if plan.platforms.len() == 1 { "" } else { "s" },
        plan.changed()
    );
    for p in &plan.platforms {
        out.push_str(&format!(
            "\n### `{}`: {}\n",
            p.name,
            md(&heading(p)[p.name.len() + 2..])
        ));
        if p.steps.is_empty() && p.findings.is_empty() {
            out.push_str("\nNothing to do.\n");
            continue;
        }
        if !p.steps.is_empty() {
            out.push('\n');
        }
        for (i, step) in p.steps.iter().enumerate() {
            let t = target(step);
            out.push_str(&format!(
                "{}. **{}**{}{} · Flux: {}\n",
                i + 1,
                step.action.as_str(),
                if t.is_empty() { "" } else { " " },
                md(&t),
                step.flux.as_str()
            ));
            if let Some(command) = &step.command {
                out.push_str(&format!("   ```sh\n   {command}\n   ```\n"));
            }
            out.push_str(&format!("   {}\n", md(&step.why)));
        }
        if !p.findings.is_empty() {
            out.push_str("\n| severity | what stops working | what to do |\n|---|---|---|\n");
            for f in &p.findings {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    f.severity.as_str(),
                    md(&f.message).replace('|', "\\|"),
                    md(&f.hint).replace('|', "\\|")
                ));
            }
        }
    }
    out
}
