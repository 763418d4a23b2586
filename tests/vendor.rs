//! `meshgen vendor` end to end, against repositories built by the tests (tests/common).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{meshgen, Upstream, UMBRELLA};
use meshgen::model::release_line::ReleaseLine;
use meshgen::vendoring::lock::Lock;
use predicates::prelude::*;

struct Workspace {
    _dir: tempfile::TempDir,
    vendor: PathBuf,
    cache: PathBuf,
}

fn workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let vendor = dir.path().join("vendor");
    let cache = dir.path().join("cache");
    fs::create_dir_all(&cache).unwrap();
    Workspace {
        _dir: dir,
        vendor,
        cache,
    }
}

impl Workspace {
    fn vendor(&self, remote: &str, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = meshgen(&self.cache);
        // Beside the vendor directory: no platform files unless a test writes them.
        cmd.current_dir(self._dir.path())
            .arg("vendor")
            .arg("--remote")
            .arg(remote)
            .arg("--dir")
            .arg(&self.vendor)
            .args(extra);
        cmd
    }

    fn run(&self, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = meshgen(&self.cache);
        cmd.current_dir(self._dir.path())
            .arg("vendor")
            .arg("--dir")
            .arg(&self.vendor)
            .args(extra);
        cmd
    }

    fn lock(&self) -> Lock {
        Lock::load(&self.vendor.join("meshgen.lock"))
            .unwrap()
            .expect("a lock")
    }

    /// The lock's text, compared whole to prove a run did not rewrite it.
    fn lock_bytes(&self) -> String {
        read(&self.vendor.join("meshgen.lock"))
    }

    fn chart(&self, version: &str, chart: &str) -> PathBuf {
        self.vendor.join("istio").join(version).join(chart)
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn vendors_every_line_resolving_peeling_and_patching() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &[]).assert().success().stdout("");

    let lock = ws.lock();
    let versions: Vec<String> = lock.releases.iter().map(|l| l.version.clone()).collect();
    // 1.11.2-rc.1 is newer than 1.11.1 but a pre-release; 1.0.0-snapshot.1 never counts.
    assert_eq!(versions, ["0.6.0", "1.0.2", "1.11.1"]);
    assert_eq!(
        lock.remote,
        fs::canonicalize(up.path()).unwrap().to_str().unwrap()
    );
    for entry in &lock.releases {
        // Peeled: the commit, not the annotated tag object.
        let tag = up
            .repo
            .revparse_single(&format!("refs/tags/{}", entry.tag))
            .unwrap();
        assert_eq!(tag.kind(), Some(git2::ObjectType::Tag));
        assert_eq!(entry.commit, tag.peel_to_commit().unwrap().id().to_string());
    }

    // 0.6: values.yaml generated from the template.
    let values = read(&ws.chart("0.6.0", "istio").join("values.yaml"));
    assert!(
        values.contains("repository: docker.io/istio/proxy\n    tag: 0.6.0\n"),
        "{values}"
    );
    assert!(values.contains("repository: quay.io/coreos/hyperkube\n    tag: v1.7.6_coreos.0\n"));
    // The 0.6.0 release's add-on pins, and mixer's spans sent to the chart's zipkin Service.
    assert!(
        values.contains("repository: prom/statsd-exporter\n    tag: v0.5.0\n"),
        "{values}"
    );
    assert!(
        values.contains("repository: docker.io/prom/prometheus\n    tag: v2.0.0\n"),
        "{values}"
    );
    let mixer = read(
        &ws.chart("0.6.0", "istio")
            .join("charts/mixer/templates/deployment.yaml"),
    );
    assert!(
        mixer.contains("--zipkinURL=http://{{ .Release.Name }}-zipkin:9411/api/v1/spans"),
        "{mixer}"
    );
    assert!(!values.contains('{') || values.contains("resources: {}"));
    assert_eq!(
        lock.followed_release(ReleaseLine::V0_6).unwrap().charts[0].patches,
        [
            "generate-values-0.6",
            "addon-images-0.6",
            "mixer-zipkin-address-0.6",
            "ingress-container-ports-0.6"
        ]
    );

    // 1.0: global hub and tag of the release; everything else byte-identical.
    let values = read(&ws.chart("1.0.2", "istio").join("values.yaml"));
    let upstream = String::from_utf8(
        common::files_10("1.0.2")[&format!("{UMBRELLA}/values.yaml")]
            .0
            .clone(),
    )
    .unwrap();
    assert_eq!(
        values,
        upstream
            .replace("hub: gcr.io/istio-release", "hub: docker.io/istio")
            .replace("tag: release-1.0-latest-daily", "tag: 1.0.2")
    );
    assert!(ws
        .chart("1.0.2", "istio")
        .join("charts/galley/Chart.yaml")
        .is_file());
    assert!(
        !ws.vendor.join("istio/1.0.2/README.md").exists(),
        "only the chart paths"
    );

    // 1.11: the split charts, patched except base; istio-cni, which no platform enables, left out.
    let mut charts: Vec<String> = fs::read_dir(ws.vendor.join("istio/1.11.1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    charts.sort();
    assert_eq!(
        charts,
        ["base", "istio-discovery", "istio-egress", "istio-ingress"]
    );
    let discovery = read(&ws.chart("1.11.1", "istio-discovery").join("values.yaml"));
    assert!(
        discovery.starts_with("pilot:\n  hub: \"\"\n  tag: \"\"\n"),
        "{discovery}"
    );
    assert!(
        discovery.contains("  hub: docker.io/istio\n") && discovery.contains("  tag: 1.11.1\n")
    );
    let patches: Vec<Vec<String>> = lock
        .followed_release(ReleaseLine::V1_11)
        .unwrap()
        .charts
        .iter()
        .map(|c| c.patches.clone())
        .collect();
    assert_eq!(patches[0], Vec::<String>::new());
    assert_eq!(patches[1], ["release-hub-tag"]);

    ws.run(&["--check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: 6 charts match"));
}

// The 1.0 and 0.6 traps each chart fix removes, on every 1.0 tag that carries them: the text
// each fix writes. (That the fixed charts install with Helm is the Helm harness's proof,
// tests/helm/harness.py.)

/// 0.6.0 and 1.0.2 vendored from a test upstream; keep the upstream alive while it is used.
fn vendored_06_and_1_0_2() -> (Upstream, Workspace) {
    let up = Upstream::empty();
    up.release("0.6.0", common::files_06());
    up.release("1.0.2", common::files_10("1.0.2"));
    let ws = workspace();
    ws.vendor(&up.path_str(), &["0.6", "1.0"])
        .assert()
        .success();
    (up, ws)
}

/// One 1.0 release vendored alone from a test upstream.
fn vendored_1_0(version: &str) -> (Upstream, Workspace) {
    let up = Upstream::empty();
    up.release(version, common::files_10(version));
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    (up, ws)
}

#[cfg(unix)]
/// 1.0.2: CRDs out of the hook into crds/, byte for byte; the condition rewritten.
#[test]
fn chart_fixes_of_1_0_2_crds_jaeger_pilot_gateway_and_jobs() {
    let (_up, ws) = vendored_06_and_1_0_2();
    let chart = ws.chart("1.0.2", "istio");
    assert!(!chart.join("templates/crds.yaml").exists());
    assert_eq!(read(&chart.join("crds/crds.yaml")), common::trap_crds_10());
    assert_eq!(
        read(&chart.join("charts/certmanager/crds/crds.yaml")),
        common::trap_certmanager_crds_10()
    );
    let jaeger = common::trap_jaeger_condition_10();
    assert!(jaeger.contains(
        "{{ if (.Values.jaeger.ingress.enabled) and eq .Values.provider \"jaeger\" }}\n"
    ));
    assert_eq!(
        read(&chart.join("charts/tracing/templates/ingress-jaeger.yaml")),
        jaeger.replace(
            "{{ if (.Values.jaeger.ingress.enabled) and eq .Values.provider \"jaeger\" }}\n",
            "{{ if and .Values.jaeger.ingress.enabled (eq .Values.provider \"jaeger\") }}\n"
        )
    );
    // Before 1.0.3 mixer has no duplicate ports, so that fix is not applied nor recorded.
    assert_eq!(
        ws.lock()
            .followed_release(ReleaseLine::V1_0)
            .unwrap()
            .charts[0]
            .patches,
        [
            "release-hub-tag",
            "crds-dir-1.0",
            "jaeger-ingress-condition-1.0",
            "custom-resources-jobs-1.0",
            "k8s-ingress-gateway-switch-1.0"
        ]
    );
    // Pilot's Kubernetes Ingress Gateway: behind global.k8sIngressGateway, rendered unless false.
    let gateway = common::trap_k8s_ingress_gateway_10();
    let head = "apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata:\n  name: istio-autogenerated-k8s-ingress\n";
    let end = "{{ end }}\n---\n{{- if .Values.global.meshExpansion }}";
    assert_eq!(
        (gateway.matches(head).count(), gateway.matches(end).count()),
        (1, 1)
    );
    assert_eq!(
        read(&chart.join("charts/pilot/templates/gateway.yaml")),
        gateway
            .replacen(
                head,
                &format!(
                    "{{{{- if ne (toString .Values.global.k8sIngressGateway) \"false\" }}}}\n{head}"
                ),
                1
            )
            .replacen(
                end,
                "{{ end }}\n{{- end }}\n---\n{{- if .Values.global.meshExpansion }}",
                1
            )
    );
    // The post-install Jobs are gone (`meshgen manifests` applies what they applied); the
    // rest of their charts stays.
    for sub in ["security", "grafana"] {
        assert!(!chart
            .join(format!(
                "charts/{sub}/templates/create-custom-resources-job.yaml"
            ))
            .exists());
        assert!(chart.join(format!("charts/{sub}/Chart.yaml")).exists());
    }
}

#[cfg(unix)]
/// 0.6.0: port 443 its own entry.
#[test]
fn chart_fix_of_0_6_0_ingress_container_ports() {
    let (_up, ws) = vendored_06_and_1_0_2();
    let ingress = read(
        &ws.chart("0.6.0", "istio")
            .join("charts/ingress/templates/deployment.yaml"),
    );
    assert!(
        ingress.ends_with("            - containerPort: 80\n            - containerPort: 443\n"),
        "{ingress}"
    );
    assert_eq!(
        ws.lock()
            .followed_release(ReleaseLine::V0_6)
            .unwrap()
            .charts[0]
            .patches,
        [
            "generate-values-0.6",
            "addon-images-0.6",
            "mixer-zipkin-address-0.6",
            "ingress-container-ports-0.6"
        ]
    );
}

#[cfg(unix)]
/// 1.0.3 and later: one ports list per proxy container, in both Deployments.
#[test]
fn chart_fix_of_1_0_3_mixer_proxy_ports() {
    let (up, ws) = vendored_06_and_1_0_2();
    up.release("1.0.3", common::files_10("1.0.3"));
    ws.run(&["--update", "1.0"]).assert().success();
    let mixer = read(
        &ws.chart("1.0.3", "istio")
            .join("charts/mixer/templates/deployment.yaml"),
    );
    let trap = common::trap_mixer_ports_10();
    assert_eq!(trap.matches("\n        ports:\n").count(), 4, "{trap}");
    assert_eq!(mixer.matches("\n        ports:\n").count(), 2, "{mixer}");
    assert_eq!(mixer, trap.replace("0. }}\n        ports:\n", "0. }}\n"));
    assert!(ws
        .lock()
        .followed_release(ReleaseLine::V1_0)
        .unwrap()
        .charts[0]
        .patches
        .contains(&"mixer-proxy-ports-1.0".to_string()));
}

#[cfg(unix)]
/// 1.0.0 and 1.0.1: the telemetry gateway's `(x) or (y)` written as `or (x) (y)`.
#[test]
fn chart_fix_of_1_0_1_telemetry_gateway_condition() {
    let (_up, ws) = vendored_1_0("1.0.1");
    assert_eq!(
        read(
            &ws.chart("1.0.1", "istio")
                .join("charts/telemetry-gateway/templates/gateway.yaml")
        ),
        "{{- if or (.Values.prometheusEnabled) (.Values.grafanaEnabled) }}\nkind: Gateway\n{{- end }}\n"
    );
    assert!(ws
        .lock()
        .followed_release(ReleaseLine::V1_0)
        .unwrap()
        .charts[0]
        .patches
        .contains(&"telemetry-gateway-condition-1.0".to_string()));
}

#[cfg(unix)]
/// 1.0.0: the gateway Deployments' first `app` label dropped, as 1.0.1 did.
#[test]
fn chart_fix_of_1_0_0_gateway_app_label() {
    let (_up, ws) = vendored_1_0("1.0.0");
    let gateway = read(
        &ws.chart("1.0.0", "istio")
            .join("charts/gateways/templates/deployment.yaml"),
    );
    assert_eq!(
        gateway,
        common::TRAP_GATEWAY_APP_LABEL_10.replace("    app: {{ $spec.labels.istio }}\n", "")
    );
    let patches = ws
        .lock()
        .followed_release(ReleaseLine::V1_0)
        .unwrap()
        .charts[0]
        .patches
        .clone();
    assert!(
        patches.contains(&"gateway-app-label-1.0".to_string()),
        "{patches:?}"
    );
    assert!(patches.contains(&"telemetry-gateway-condition-1.0".to_string()));
    ws.run(&["--check"]).assert().success();
}

/// An upstream that no longer carries a fix's anchor fails naming the tag, the file and the
/// fix, and nothing is written.
#[test]
fn a_chart_fix_whose_anchor_moved_fails_loudly_and_writes_nothing() {
    let cases: [(&str, &str, &str); 4] = [
        (common::JAEGER_INGRESS_10, "{{ if .Values.jaeger.ingress.enabled }}\n", "jaeger-ingress-condition-1.0"),
        (common::MIXER_DEPLOYMENT_10, "ports:\n", "mixer-proxy-ports-1.0"),
        (common::CRDS_10, "{{ if .Values.pilot.enabled }}\nkind: CustomResourceDefinition # crd-install\n{{ end }}\n", "crds-dir-1.0"),
        (common::GRAFANA_JOB_10, &common::install_job_10("grafana").replace("post-install", "post-install,post-upgrade"), "custom-resources-jobs-1.0"),
    ];
    for (file, content, fix) in cases {
        let up = Upstream::empty();
        let mut files = common::files_10("1.0.4");
        files.insert(file.to_string(), (content.as_bytes().to_vec(), false));
        up.release("1.0.4", files);
        let ws = workspace();
        ws.vendor(&up.path_str(), &["1.0"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("1.0.4:{file}")))
            .stderr(predicate::str::contains(format!("chart fix `{fix}`")));
        assert!(!ws.vendor.join("istio/1.0.4").exists(), "{fix}");
        assert!(!ws.vendor.join("meshgen.lock").exists(), "{fix}");
    }
    // A missing file is named too.
    let up = Upstream::empty();
    let mut files = common::files_10("1.0.4");
    files.remove(common::CERTMANAGER_CRDS_10);
    up.release("1.0.4", files);
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(common::CERTMANAGER_CRDS_10))
        .stderr(predicate::str::contains("the file is missing"));
}

#[test]
fn file_modes_are_reproducible_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    let mode = |p: &str| {
        fs::metadata(ws.chart("1.0.2", "istio").join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("files/probe.sh"), 0o755);
    assert_eq!(mode("Chart.yaml"), 0o644);
}

#[test]
fn a_url_goes_through_the_cache_and_locks_the_same_charts() {
    let up = Upstream::standard();
    let by_path = workspace();
    by_path
        .vendor(&up.path_str(), &["1.0", "1.11"])
        .assert()
        .success();
    let by_url = workspace();
    by_url
        .vendor(&up.file_url(), &["1.0", "1.11"])
        .assert()
        .success()
        .stdout("");
    let cached: Vec<_> = fs::read_dir(by_url.cache.join("git")).unwrap().collect();
    assert!(!cached.is_empty(), "a bare cache repository was created");
    assert_eq!(by_url.lock().remote, up.file_url());
    assert_eq!(by_url.lock().releases, by_path.lock().releases);
    // Switching the remote keeps the locked versions and records the new remote.
    up.release("1.0.3", common::files_10("1.0.3"));
    // It says so, and how to keep the lock's remote with a mirror.
    by_path
        .vendor(&up.file_url(), &[])
        .assert()
        .success()
        .stderr(predicates::str::contains(format!(
            "the lock's remote changes from `{}` to `{}`",
            up.path_str(),
            up.file_url()
        )))
        .stderr(predicates::str::contains("--locked --remote"));
    assert_eq!(by_path.lock().remote, up.file_url());
    assert_eq!(
        by_path
            .lock()
            .followed(ReleaseLine::V1_0)
            .unwrap()
            .to_string(),
        "1.0.2"
    );
    // A second run reuses the cache and changes nothing.
    let before = by_url.lock_bytes();
    by_url.run(&["1.0", "1.11"]).assert().success();
    assert_eq!(by_url.lock_bytes(), before);
}

#[test]
fn check_lists_each_tampered_added_and_removed_file() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &[]).assert().success();
    let chart = ws.chart("1.0.2", "istio");
    fs::write(chart.join("values.yaml"), "global: {}\n").unwrap();
    fs::write(chart.join("templates/extra.yaml"), "kind: Secret\n").unwrap();
    fs::remove_file(chart.join("charts/galley/Chart.yaml")).unwrap();
    let before = ws.lock_bytes();
    ws.run(&["--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "istio/1.0.2/istio/values.yaml: changed",
        ))
        .stdout(predicate::str::contains(
            "istio/1.0.2/istio/templates/extra.yaml: added",
        ))
        .stdout(predicate::str::contains(
            "istio/1.0.2/istio/charts/galley/Chart.yaml: removed",
        ))
        .stdout(predicate::str::contains("3 differences"));
    assert_eq!(ws.lock_bytes(), before, "--check changes nothing");
    assert_eq!(read(&chart.join("values.yaml")), "global: {}\n");

    // A plain run repairs the tree from the same commits, and the check passes again.
    ws.run(&[]).assert().success();
    ws.run(&["--check"]).assert().success();
}

#[test]
fn check_reports_a_missing_chart_and_a_missing_lock() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.run(&["--check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no lock at"));
    ws.vendor(&up.path_str(), &["1.11"]).assert().success();
    fs::remove_dir_all(ws.chart("1.11.1", "istio-egress")).unwrap();
    ws.run(&["--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("istio-egress: missing"));
}

#[test]
fn locked_versions_are_kept_until_update() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    up.release("1.0.3", common::files_10("1.0.3"));
    ws.run(&["1.0"]).assert().success();
    assert_eq!(
        ws.lock().followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.2"
    );
    ws.run(&["--update", "1.0"]).assert().success();
    assert_eq!(
        ws.lock().followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.3"
    );
    assert!(ws.chart("1.0.3", "istio").is_dir());
    assert!(
        !ws.vendor.join("istio/1.0.2").exists(),
        "the release no longer locked is removed"
    );
}

#[test]
fn locked_refuses_a_moved_tag_and_never_rewrites_the_lock() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &[]).assert().success();
    let before = ws.lock_bytes();
    let mut files = common::files_10("1.0.2");
    files.insert("SECURITY.md".into(), (b"moved\n".to_vec(), false));
    let tree = up.tree(&files);
    let moved_to = up.commit(tree, "rewritten 1.0.2");
    up.tag("1.0.2", moved_to);

    ws.run(&["--locked"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("moved tag: tag 1.0.2 of line 1.0"))
        .stderr(predicate::str::contains(moved_to.to_string()));
    assert_eq!(ws.lock_bytes(), before);
    // Without --update a plain run refuses too; --update accepts it with a warning.
    ws.run(&[]).assert().code(1);
    ws.run(&["--update"])
        .assert()
        .success()
        .stderr(predicate::str::contains("moved"));
    assert_eq!(
        ws.lock()
            .followed_release(ReleaseLine::V1_0)
            .unwrap()
            .commit,
        moved_to.to_string()
    );
}

#[test]
fn locked_restores_a_deleted_tree_exactly() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.file_url(), &[]).assert().success();
    let before = ws.lock_bytes();
    fs::remove_dir_all(ws.vendor.join("istio")).unwrap();
    ws.run(&["--locked"]).assert().success().stdout("");
    assert_eq!(ws.lock_bytes(), before);
    ws.run(&["--check"]).assert().success();
}

#[test]
fn locked_without_a_lock_or_a_locked_line_fails_clearly() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &["--locked"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--locked needs a lock"));
    ws.vendor(&up.path_str(), &["0.6"]).assert().success();
    ws.run(&["--locked", "1.11"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("follows no release of line 1.11"));
}

/// Makes the (mode, name, id) of a hostile tree entry.
type MakeEntry = Box<dyn Fn(&Upstream) -> (&'static str, &'static str, git2::Oid)>;

/// A repository whose only 1.0 release has `entry` (mode, name, id) inside the chart.
fn with_unsafe_entry(
    make: impl Fn(&Upstream) -> (&'static str, &'static str, git2::Oid),
) -> Upstream {
    let up = Upstream::empty();
    let files = common::files_10("1.0.0");
    let root = up.tree(&files);
    let chart = up
        .repo
        .find_tree(root)
        .unwrap()
        .get_path(Path::new(UMBRELLA))
        .unwrap()
        .id();
    let mut entries: Vec<(String, String, git2::Oid)> = up
        .repo
        .find_tree(chart)
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!("{:o}", e.filemode()),
                e.name().unwrap().to_string(),
                e.id(),
            )
        })
        .collect();
    let (mode, name, id) = make(&up);
    entries.push((mode.to_string(), name.to_string(), id));
    let borrowed: Vec<(&str, &str, git2::Oid)> = entries
        .iter()
        .map(|(m, n, i)| (m.as_str(), n.as_str(), *i))
        .collect();
    let bad_chart = up.raw_tree(&borrowed);
    let root = up.replace_subtree(root, UMBRELLA, bad_chart);
    let commit = up.commit(root, "bad");
    up.tag("1.0.0", commit);
    up
}

#[test]
fn unsafe_entries_are_refused_by_name_and_nothing_is_written() {
    let cases: Vec<(&str, MakeEntry, &str)> = vec![
        (
            "symlink",
            Box::new(|up: &Upstream| ("120000", "link.yaml", up.blob("/etc/passwd"))),
            "link.yaml: a symlink",
        ),
        (
            "gitlink",
            Box::new(|_: &Upstream| {
                (
                    "160000",
                    "vendored",
                    git2::Oid::from_str("1234567890123456789012345678901234567890").unwrap(),
                )
            }),
            "vendored: a gitlink",
        ),
        (
            "dotdot",
            Box::new(|up: &Upstream| ("100644", "..", up.blob("escape"))),
            "/..: path contains `..`",
        ),
        (
            "absolute",
            Box::new(|up: &Upstream| ("100644", "/etc", up.blob("escape"))),
            "absolute path",
        ),
    ];
    for (what, make, expected) in cases {
        let up = with_unsafe_entry(make);
        let ws = workspace();
        ws.vendor(&up.path_str(), &["1.0"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "unsafe entry 1.0.0:{UMBRELLA}"
            )))
            .stderr(predicate::str::contains(expected));
        assert!(!ws.vendor.join("istio").exists(), "{what}: nothing written");
        assert!(!ws.vendor.join("meshgen.lock").exists(), "{what}: no lock");
    }
}

#[test]
fn missing_remote_missing_tag_and_empty_range_list_what_was_found() {
    let ws = workspace();
    ws.vendor("/nonexistent/istio", &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--remote /nonexistent/istio: no such repository",
        ));
    ws.vendor("file:///nonexistent/istio.git", &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read the tags of remote `file:///nonexistent/istio.git`",
        ));

    let up = Upstream::empty();
    up.release("1.11.0-rc.1", common::files_111("1.11.0-rc.1"));
    up.release("1.11.0-beta.0", common::files_111("1.11.0-beta.0"));
    up.release("1.0.9", common::files_10("1.0.9"));
    ws.vendor(&up.path_str(), &["1.11"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no release tag of line 1.11"))
        .stderr(predicate::str::contains(
            "1.11.0-beta.0, 1.11.0-rc.1 (pre-releases never match)",
        ))
        .stderr(predicate::str::contains("1.0.9"));

    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    up.delete_tag("1.0.9");
    ws.run(&["1.0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tag `1.0.9` locked for Istio 1.0.9 is not at",
        ))
        .stderr(predicate::str::contains("no tag of line 1.0 there"));
}

#[test]
fn an_interrupted_run_leaves_the_old_tree_and_lock_intact() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    let lock_before = ws.lock_bytes();
    up.release("1.0.3", common::files_10("1.0.3"));

    // Killed half-way through writing the new release.
    ws.run(&["--update", "1.0"])
        .env("MESHGEN_FAILPOINT", "install-mid-write:abort")
        .assert()
        .failure();
    assert_eq!(ws.lock_bytes(), lock_before);
    assert!(!ws.vendor.join("istio/1.0.3").exists());
    ws.run(&["--check"]).assert().success();

    // Failing after the release is in place but before the lock is renamed over.
    ws.run(&["--update", "1.0"])
        .env("MESHGEN_FAILPOINT", "lock-before-rename")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "injected failure at lock-before-rename",
        ));
    assert_eq!(ws.lock_bytes(), lock_before);
    ws.run(&["--check"]).assert().success();

    // Repairing a tampered release of the same version, killed before the swap.
    fs::write(ws.chart("1.0.2", "istio").join("Chart.yaml"), "tampered\n").unwrap();
    ws.run(&[])
        .env("MESHGEN_FAILPOINT", "install-before-rename:abort")
        .assert()
        .failure();
    assert_eq!(
        read(&ws.chart("1.0.2", "istio").join("Chart.yaml")),
        "tampered\n",
        "old tree untouched"
    );

    // The next run cleans up the leftovers and completes.
    ws.run(&["--update", "1.0"]).assert().success();
    assert_eq!(
        ws.lock().followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.3"
    );
    let leftovers: Vec<_> = fs::read_dir(ws.vendor.join("istio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(leftovers, ["1.0.3"]);
    ws.run(&["--check"]).assert().success();
}

#[test]
fn a_second_run_waits_then_fails_clearly() {
    let up = Upstream::standard();
    let ws = workspace();
    fs::create_dir_all(&ws.vendor).unwrap();
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ws.vendor.join(".meshgen-vendor.flock"))
        .unwrap();
    fs4::FileExt::try_lock(&held).unwrap();
    ws.vendor(&up.path_str(), &["0.6"])
        .env("MESHGEN_LOCK_TIMEOUT", "0")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("locked by another meshgen run"));
    fs4::FileExt::unlock(&held).unwrap();
    ws.vendor(&up.path_str(), &["0.6"]).assert().success();
}

#[test]
fn conflicting_flags_are_usage_errors() {
    let ws = workspace();
    ws.run(&["--check", "--update"]).assert().code(2);
    ws.run(&["--locked", "--update"]).assert().code(2);
    ws.run(&["2.0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Istio 2.0 is not a line meshgen supports",
        ));
}

#[test]
fn no_blob_outside_the_chart_paths_is_read() {
    // A snapshot whose root holds a blob that is not in the repository at all, as in a
    // partial mirror without large files: vendoring must not need it.
    let up = Upstream::empty();
    let normal = up.tree(&common::files_10("1.0.0"));
    let mut entries: Vec<(String, String, git2::Oid)> = up
        .repo
        .find_tree(normal)
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!("{:o}", e.filemode()),
                e.name().unwrap().to_string(),
                e.id(),
            )
        })
        .collect();
    let absent = git2::Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
    entries.push(("100644".into(), "BIG.bin".into(), absent));
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    let borrowed: Vec<(&str, &str, git2::Oid)> = entries
        .iter()
        .map(|(m, n, i)| (m.as_str(), n.as_str(), *i))
        .collect();
    let root = up.raw_tree(&borrowed);
    let commit = up.commit(root, "partial");
    up.tag("1.0.0", commit);
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    ws.run(&["--check"]).assert().success();
}

#[cfg(unix)]
#[test]
fn check_reports_a_planted_symlink() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &["0.6"]).assert().success();
    std::os::unix::fs::symlink("/etc/passwd", ws.chart("0.6.0", "istio").join("passwd")).unwrap();
    ws.run(&["--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("passwd: not a regular file"));
}

/// A bare copy of every tag of `up`, as a mirror holds them.
fn mirror_of(up: &Upstream) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init_bare(dir.path()).unwrap();
    repo.remote_anonymous(&up.path_str())
        .unwrap()
        .fetch(&["+refs/tags/*:refs/tags/*"], None, None)
        .unwrap();
    dir
}

fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// The names in `dir`, sorted; empty when it does not exist.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn locked_from_a_mirror_keeps_the_locked_remote_and_checks_each_commit() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.file_url(), &[]).assert().success();
    let before = ws.lock_bytes();
    let locked_10 = ws
        .lock()
        .followed_release(ReleaseLine::V1_0)
        .unwrap()
        .commit
        .clone();
    let full = mirror_of(&up);
    let moved = mirror_of(&up);
    // The public remote is gone: only the mirror can serve the run.
    fs::rename(up.path(), up.dir.path().join("gone.git")).unwrap();
    fs::remove_dir_all(ws.vendor.join("istio")).unwrap();

    ws.vendor(&path_str(full.path()), &["--locked"])
        .assert()
        .success();
    assert_eq!(ws.lock_bytes(), before, "the lock is not rewritten");
    assert_eq!(ws.lock().remote, up.file_url(), "the lock keeps its remote");
    ws.run(&["--check"]).assert().success();
    // The same mirror as a URL goes through the cache, with the same result.
    fs::remove_dir_all(ws.vendor.join("istio")).unwrap();
    let mirror_url = format!("file://{}", path_str(full.path()));
    ws.vendor(&mirror_url, &["--locked", "1.0"])
        .assert()
        .success();
    assert_eq!(ws.lock_bytes(), before);
    assert_eq!(names(&ws.vendor.join("istio")), ["1.0.2"]);

    // A mirror lacking the locked 1.0 release: refused by version, commit and mirror; nothing written.
    fs::remove_dir_all(ws.vendor.join("istio")).unwrap();
    // Unparented commits of fixed dates: the same releases are the same commits.
    let partial = Upstream::empty();
    partial.release("0.6.0", common::files_06());
    partial.release("1.11.1", common::files_111("1.11.1"));
    let partial = partial.dir;
    ws.vendor(&path_str(&partial.path().join("istio.git")), &["--locked"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Istio 1.0.2 locked for line 1.0"))
        .stderr(predicate::str::contains(&locked_10))
        .stderr(predicate::str::contains(path_str(
            &partial.path().join("istio.git"),
        )))
        .stderr(predicate::str::contains(up.file_url()));
    assert_eq!(ws.lock_bytes(), before);
    assert!(!ws.vendor.join("istio").exists(), "nothing written");

    // A mirror whose tag names another commit is not a copy of the locked remote.
    let moved_repo = git2::Repository::open_bare(moved.path()).unwrap();
    let other = moved_repo.revparse_single("1.0.1^{commit}").unwrap().id();
    moved_repo
        .reference("refs/tags/1.0.2", other, true, "moved")
        .unwrap();
    ws.vendor(&path_str(moved.path()), &["--locked", "1.0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "its tag `1.0.2` is at {other}, the lock has commit {locked_10}"
        )));
    assert_eq!(ws.lock_bytes(), before);

    // A mirror holding the locked commit without its tag serves it: the lock pins the commit.
    moved_repo.tag_delete("1.0.2").unwrap();
    ws.vendor(&path_str(moved.path()), &["--locked", "1.0"])
        .assert()
        .success();
    assert_eq!(ws.lock_bytes(), before);
    ws.run(&["--check", "1.0"]).assert().success();
}

#[test]
fn insteadof_in_the_repository_config_redirects_the_public_url() {
    let up = Upstream::standard();
    let ws = workspace();
    // The repository holding vendor/ redirects the public URL; the user's global config
    // (HOME is the private cache, see common::meshgen) only has a shorter, broken prefix.
    let root = ws.vendor.parent().unwrap();
    let repo = git2::Repository::init(root).unwrap();
    repo.config()
        .unwrap()
        .set_str(
            &format!("url.{}.insteadOf", up.file_url()),
            "https://github.com/istio/istio.git",
        )
        .unwrap();
    fs::write(
        ws.cache.join(".gitconfig"),
        "[url \"file:///nonexistent/\"]\n\tinsteadOf = https://github.com/\n",
    )
    .unwrap();
    ws.run(&["1.0"]).assert().success();
    assert_eq!(ws.lock().remote, "https://github.com/istio/istio.git");
    assert_eq!(
        ws.lock().followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.2"
    );
    let before = ws.lock_bytes();
    fs::remove_dir_all(ws.vendor.join("istio")).unwrap();
    ws.run(&["--locked"]).assert().success();
    assert_eq!(ws.lock_bytes(), before);
    ws.run(&["--check"]).assert().success();

    // Without the repository's rule, the global one applies (and cannot be reached).
    repo.config()
        .unwrap()
        .remove(&format!("url.{}.insteadOf", up.file_url()))
        .unwrap();
    ws.run(&["--locked"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "file:///nonexistent/istio/istio.git",
        ));
}

#[test]
fn a_failed_fetch_leaves_no_cache_no_lock_file_and_no_vendor_directory() {
    let ws = workspace();
    let git_cache = ws.cache.join("git");
    // Unreachable URL.
    ws.vendor("file:///nonexistent/istio.git", &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the tags"));
    assert!(!ws.vendor.exists(), "no vendor directory left");
    assert_eq!(names(&git_cache), Vec::<String>::new(), "no cache left");
    // A path that is no repository.
    let not_repo = tempfile::tempdir().unwrap();
    ws.vendor(&path_str(not_repo.path()), &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a git repository"));
    assert!(!ws.vendor.exists());
    // A remote without a tag of the line.
    let up = Upstream::empty();
    up.release("1.0.9", common::files_10("1.0.9"));
    ws.vendor(&up.file_url(), &["1.11"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no release tag of line 1.11"));
    assert!(!ws.vendor.exists());
    assert_eq!(names(&git_cache), Vec::<String>::new());
    // A later run works, and leaves its cache but no lock file.
    ws.vendor(&up.file_url(), &["1.0"]).assert().success();
    assert_eq!(names(&ws.vendor), ["istio", "meshgen.lock"]);
    let cached = names(&git_cache);
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].ends_with(".git"), "{cached:?}");
    // A failed run in an existing vendor directory keeps it, and leaves no lock file either.
    ws.vendor("file:///nonexistent/istio.git", &[])
        .assert()
        .code(2);
    assert_eq!(names(&ws.vendor), ["istio", "meshgen.lock"]);
    assert_eq!(names(&git_cache), cached, "the good cache is kept");
}

#[test]
fn a_cache_a_failed_run_left_broken_is_redone() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.file_url(), &["1.0"]).assert().success();
    let git_cache = ws.cache.join("git");
    let name = names(&git_cache).remove(0);
    let cache_dir = git_cache.join(&name);
    let lock_file = git_cache.join(format!("{name}.lock"));

    // Killed after creating the directory: empty, its lock file left.
    fs::remove_dir_all(&cache_dir).unwrap();
    fs::create_dir(&cache_dir).unwrap();
    fs::write(&lock_file, "").unwrap();
    ws.run(&["--update", "1.0"]).assert().success();
    assert_eq!(names(&git_cache), std::slice::from_ref(&name));

    // Half-initialised: a HEAD and nothing else.
    fs::remove_dir_all(&cache_dir).unwrap();
    fs::create_dir(&cache_dir).unwrap();
    fs::write(cache_dir.join("HEAD"), "garbage").unwrap();
    ws.run(&["--update", "1.0"]).assert().success();

    // Killed mid-fetch: git's own lock on the ref it was writing.
    up.release("1.0.3", common::files_10("1.0.3"));
    fs::write(cache_dir.join("refs/tags/1.0.3.lock"), "").unwrap();
    ws.run(&["--update", "1.0"]).assert().success();
    assert_eq!(
        ws.lock().followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.3"
    );
    assert!(!cache_dir.join("refs/tags/1.0.3.lock").exists());
    assert_eq!(names(&git_cache), [name]);
    ws.run(&["--check"]).assert().success();
}

/// By hand: `meshgen vendor 1.0.1` adds that release beside the followed one and changes no
/// follow entry; `--update` moves the followed line and leaves an exact release alone; a
/// release the remote lacks is named with what the remote has; `--prune` needs platforms.
#[test]
fn exact_releases_by_hand_sit_beside_the_followed_one() {
    let up = Upstream::standard();
    let ws = workspace();
    ws.vendor(&up.path_str(), &["1.0"]).assert().success();
    ws.run(&["1.0.1"]).assert().success();
    let lock = ws.lock();
    assert_eq!(
        lock.followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.2"
    );
    let versions: Vec<&str> = lock.releases.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["1.0.1", "1.0.2"]);
    assert!(ws.chart("1.0.1", "istio").join("values.yaml").is_file());
    assert!(read(&ws.chart("1.0.1", "istio").join("values.yaml")).contains("tag: 1.0.1"));

    up.release("1.0.3", common::files_10("1.0.3"));
    ws.run(&["--update"]).assert().success();
    let lock = ws.lock();
    assert_eq!(
        lock.followed(ReleaseLine::V1_0).unwrap().to_string(),
        "1.0.3"
    );
    let versions: Vec<&str> = lock.releases.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["1.0.1", "1.0.3"], "1.0.2 replaced, 1.0.1 kept");

    ws.run(&["1.0.0-snapshot.1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a pre-release"));
    ws.run(&["1.0.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Istio 1.0.5 has no tag at"))
        .stderr(predicate::str::contains(
            "tags of line 1.0 there: 1.0.0-snapshot.1, 1.0.0, 1.0.1, 1.0.2, 1.0.3",
        ));
    ws.run(&["--prune"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--prune needs the repository's platform files",
        ));
    // --check of one release, and --locked of one release.
    ws.run(&["--check", "1.0.1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: 1 charts match"));
    fs::remove_dir_all(ws.vendor.join("istio/1.0.1")).unwrap();
    ws.run(&["--locked", "1.0.1"]).assert().success();
    assert!(ws.chart("1.0.1", "istio").is_dir());
}
