//! `meshgen plan` end to end: a repository committed with git2, changed in its working tree,
//! planned against `HEAD` (or another ref) in the three formats. What the steps do to a cluster
//! is proven by tests/helm/transitions.py (upgrade through the plan equals a fresh install);
//! here, the plan's contract: which steps, in which order, with which commands, and the errors.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{files_111, meshgen, Run, Upstream};
use serde_json::Value;

struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("fleet");
        let cache = tmp.path().join("cache");
        fs::create_dir_all(root.join("platforms")).unwrap();
        fs::create_dir_all(&cache).unwrap();
        git2::Repository::init(&root).unwrap();
        Repo {
            _tmp: tmp,
            root,
            cache,
        }
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn platform(&self, name: &str, spec: &str) {
        self.write(&format!("platforms/{name}.yaml"), &platform(name, spec));
    }

    fn remove(&self, rel: &str) {
        fs::remove_file(self.root.join(rel)).unwrap();
    }

    /// Commits the whole working tree (deletions included) on HEAD.
    fn commit(&self, message: &str) {
        let repo = git2::Repository::open(&self.root).unwrap();
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Fleet", "fleet@example.com").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap();
    }

    fn meshgen(&self, args: &[&str]) -> Run {
        common::run(meshgen(&self.cache).current_dir(&self.root).args(args))
    }

    /// `meshgen plan --format json` with `args`, which must succeed.
    fn plan(&self, args: &[&str]) -> Value {
        let mut all = vec!["plan", "--format", "json"];
        all.extend_from_slice(args);
        let run = self.meshgen(&all);
        assert_eq!(run.code, Some(0), "plan failed: {}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }
}

fn platform(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

/// The platform of that name in a JSON plan.
fn of<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no platform {name} in {plan:#}"))
}

/// `action target` per step, the target being the release or the objects, and the namespace.
fn steps(platform: &Value) -> Vec<String> {
    platform["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut line = s["action"].as_str().unwrap().to_string();
            if let Some(r) = s["release"].as_str() {
                line.push_str(&format!(" {r}"));
            }
            let objects: Vec<&str> = s["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap())
                .collect();
            if !objects.is_empty() {
                line.push_str(&format!(" {}", objects.join(",")));
            }
            if let Some(ns) = s["namespace"].as_str() {
                line.push_str(&format!(" in {ns}"));
            }
            line
        })
        .collect()
}

fn commands(platform: &Value) -> Vec<String> {
    platform["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["command"].as_str().map(str::to_string))
        .collect()
}

/// `spec` of the platforms below (`platform` adds the rest), as files under tests/fixtures/plan.
const ONPREM: &str = include_str!("fixtures/plan/onprem.spec.yaml");
const CLOUD: &str = include_str!("fixtures/plan/cloud.spec.yaml");
const LAB: &str = include_str!("fixtures/plan/lab.spec.yaml");

/// The repository of the issue: a 1.0 platform goes permissive → strict; a 1.11 one goes
/// 1.11.4 → 1.11.8 with its egress gateway off, its extra gateway and an injection namespace
/// removed; another moves from 1.0 to 1.11.
fn day_two() -> Repo {
    let repo = Repo::new();
    repo.platform("onprem", ONPREM);
    repo.platform("cloud", CLOUD);
    repo.platform("lab", LAB);
    repo.commit("day one");
    repo.platform("onprem", &ONPREM.replace("permissive", "strict"));
    repo.platform(
        "cloud",
        include_str!("fixtures/plan/cloud-day-two.spec.yaml"),
    );
    repo.platform("lab", include_str!("fixtures/plan/lab-day-two.spec.yaml"));
    repo
}

#[test]
fn day_two_plans_every_platform_against_head() {
    let repo = day_two();
    let plan = repo.plan(&[]);
    assert!(
        plan["base"].as_str().unwrap().starts_with("HEAD ("),
        "{}",
        plan["base"]
    );
    let names: Vec<&str> = plan["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cloud", "lab", "onprem"]);
}

/// 1.0, permissive → strict: the values change reaches istio, the MeshPolicy (which the
/// chart's post-install Job would never apply again) is applied after it.
#[test]
fn day_two_plans_1_0_strict_mtls_as_an_upgrade_then_the_mesh_policy() {
    let repo = day_two();
    let plan = repo.plan(&[]);
    let onprem = of(&plan, "onprem");
    assert_eq!(onprem["change"], "upgrade");
    assert_eq!(onprem["from"]["istio"], "1.0.9");
    assert_eq!(
        steps(onprem),
        [
            "helm-upgrade istio in istio-system",
            "kubectl-apply MeshPolicy/default,DestinationRule/default,DestinationRule/api-server",
        ]
    );
    assert_eq!(
        commands(onprem),
        [
            "helm upgrade istio vendor/istio/1.0.9/istio --namespace istio-system -f generated/onprem/values.yaml",
            "kubectl apply -f generated/onprem/manifests.yaml",
        ]
    );
    assert!(onprem["findings"].as_array().unwrap().is_empty());
}

/// 1.11 patch upgrade: CRDs (no lock says they are equal), upgrades in install order, the
/// dropped releases uninstalled in reverse order, the dropped namespace unlabelled, then the
/// restarts once the control plane is new.
#[test]
fn day_two_plans_a_1_11_patch_upgrade_in_order() {
    let repo = day_two();
    let plan = repo.plan(&[]);
    let cloud = of(&plan, "cloud");
    assert_eq!(cloud["change"], "upgrade");
    assert_eq!(
        (&cloud["from"]["istio"], &cloud["to"]["istio"]),
        (&Value::from("1.11.4"), &Value::from("1.11.8"))
    );
    assert_eq!(
        steps(cloud),
        [
            "crd-apply istio-base",
            "helm-upgrade istio-base in istio-system",
            "helm-upgrade istiod in istio-system",
            "helm-upgrade istio-ingress in istio-system",
            "helm-uninstall ilb-gateway in istio-system",
            "helm-uninstall istio-egress in istio-system",
            "kubectl-label Namespace/billing in billing",
            "restart in billing",
            "restart in shop",
        ]
    );
    let cloud_commands = commands(cloud);
    assert_eq!(
        cloud_commands[0],
        "kubectl apply -f vendor/istio/1.11.8/base/crds/"
    );
    assert!(cloud_commands.contains(&"helm uninstall istio-egress --namespace istio-system".into()));
    assert!(cloud_commands.contains(&"kubectl label namespace billing istio-injection-".into()));
    assert!(cloud_commands.contains(&"kubectl rollout restart deployment -n shop".into()));
    let restart_shop = &cloud["steps"][8];
    assert!(
        restart_shop["why"]
            .as_str()
            .unwrap()
            .contains("proxy image changed"),
        "{restart_shop}"
    );
    assert_eq!(restart_shop["flux"], "manual");
    assert_eq!(
        cloud["steps"][5]["flux"], "automatic",
        "Flux prunes the HelmRelease"
    );
}

/// 1.0 → 1.11: a reinstall, in the order the issue gives, and what stops working.
#[test]
fn day_two_plans_1_0_to_1_11_as_a_reinstall_with_what_stops_working() {
    let repo = day_two();
    let plan = repo.plan(&[]);
    let lab = of(&plan, "lab");
    assert_eq!(lab["change"], "reinstall");
    let lab_steps = steps(lab);
    assert_eq!(
        lab_steps,
        [
            "backup",
            "manual",
            "helm-uninstall istio in istio-system",
            "kubectl-delete MeshPolicy/default",
            "kubectl-delete ValidatingWebhookConfiguration/istio-galley",
            "kubectl-delete CustomResourceDefinition/*",
            "kubernetes-upgrade",
            "crd-apply istio-base",
            "helm-install istio-base in istio-system",
            // No spec.mtls: 1.11's default, so no PeerAuthentication.
            "kubectl-apply Namespace/default",
            "helm-install istiod in istio-system",
            "helm-install istio-ingress in istio-system",
            "helm-install istio-egress in istio-system",
            "restart in default",
        ]
    );
    let crd_delete = lab["steps"][5]["command"].as_str().unwrap();
    assert!(
        crd_delete.contains(r"grep -vE '/(virtualservices\.networking\.istio\.io|"),
        "the networking CRDs both lines define stay: {crd_delete}"
    );
    assert!(
        !crd_delete.contains("sidecars"),
        "1.0 has no Sidecar CRD: {crd_delete}"
    );
    assert!(lab["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["flux"] == "manual"));
    let findings: Vec<(&str, &str)> = lab["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(findings
        .iter()
        .any(|(s, m)| *s == "error" && m.contains("rbac.istio.io")));
    assert!(findings
        .iter()
        .any(|(s, m)| *s == "warning" && m.contains("Mixer")));
    assert!(findings.iter().any(|(_, m)| m.contains("MeshPolicy")));
}

/// Text and markdown say the same steps in the same order.
#[test]
fn day_two_text_and_markdown_say_the_same_steps_in_order() {
    let repo = day_two();
    let plan = repo.plan(&[]);
    let text = repo.meshgen(&["plan"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    let markdown = repo.meshgen(&["plan", "--format", "markdown"]);
    assert_eq!(markdown.code, Some(0), "{}", markdown.stderr);
    assert!(
        text.stdout.contains("3 platforms, 3 to change"),
        "{}",
        text.stdout
    );
    assert!(
        markdown.stdout.starts_with("## meshgen plan\n"),
        "{}",
        markdown.stdout
    );
    for p in ["cloud", "lab", "onprem"] {
        let platform = of(&plan, p);
        let mut text_at = text.stdout.find(&format!("\n{p}: ")).unwrap();
        let mut md_at = markdown.stdout.find(&format!("### `{p}`")).unwrap();
        for (i, step) in platform["steps"].as_array().unwrap().iter().enumerate() {
            let action = step["action"].as_str().unwrap();
            let numbered = format!("{:>2}. {action}", i + 1);
            text_at += text.stdout[text_at..]
                .find(&numbered)
                .unwrap_or_else(|| panic!("text: no `{numbered}` of {p} in order"));
            let numbered = format!("{}. **{action}**", i + 1);
            md_at += markdown.stdout[md_at..]
                .find(&numbered)
                .unwrap_or_else(|| panic!("markdown: no `{numbered}` of {p} in order"));
            if let Some(command) = step["command"].as_str() {
                assert!(text.stdout[text_at..].contains(&format!("$ {command}")));
                assert!(markdown.stdout[md_at..].contains(command));
            }
        }
    }
    assert!(markdown
        .stdout
        .contains("| severity | what stops working | what to do |"));
}

#[test]
fn nothing_changed_is_change_none_and_no_steps() {
    let repo = Repo::new();
    repo.platform("onprem", ONPREM);
    repo.commit("day one");
    let plan = repo.plan(&[]);
    let onprem = of(&plan, "onprem");
    assert_eq!(onprem["change"], "none");
    assert!(onprem["steps"].as_array().unwrap().is_empty());
    // A comment or a reordering that renders the same values is no change either.
    repo.write(
        "platforms/onprem.yaml",
        &format!("# a comment\n{}", platform("onprem", ONPREM)),
    );
    assert_eq!(of(&repo.plan(&[]), "onprem")["change"], "none");
    let text = repo.meshgen(&["plan"]);
    assert!(text.stdout.contains("onprem: no change"), "{}", text.stdout);
}

#[test]
fn a_new_platform_is_installed_and_a_deleted_one_removed() {
    let repo = Repo::new();
    repo.platform("old", ONPREM);
    repo.commit("day one");
    repo.remove("platforms/old.yaml");
    repo.platform(
        "new",
        "  provider: aws\n  istio: \"1.11\"\n  mtls: strict\n  sidecarInjection:\n    namespaces: [web]\n",
    );
    let plan = repo.plan(&[]);

    let new = of(&plan, "new");
    assert_eq!(new["change"], "install");
    assert!(new["from"].is_null());
    assert_eq!(
        steps(new),
        [
            "helm-install istio-base in istio-system",
            "kubectl-apply PeerAuthentication/default,Namespace/web",
            "helm-install istiod in istio-system",
            "helm-install istio-ingress in istio-system",
            "helm-install istio-egress in istio-system",
            "restart in web",
        ]
    );
    assert!(commands(new)[0].ends_with("--create-namespace -f generated/new/values.yaml"));

    let old = of(&plan, "old");
    assert_eq!(old["change"], "remove");
    assert!(old["to"].is_null());
    let old_steps = steps(old);
    assert_eq!(old_steps[0], "helm-uninstall istio in istio-system");
    for expected in [
        "kubectl-delete MeshPolicy/default",
        "kubectl-label Namespace/default in default",
        "kubectl-delete ValidatingWebhookConfiguration/istio-galley",
        "kubectl-delete Namespace/istio-system in istio-system",
        "kubectl-delete CustomResourceDefinition/*",
        "restart in default",
    ] {
        assert!(old_steps.contains(&expected.to_string()), "{old_steps:#?}");
    }
}

#[test]
fn gateway_and_namespace_changes_on_one_line() {
    let repo = Repo::new();
    let spec = "  provider: gke\n  istio: \"1.11\"\n  sidecarInjection:\n    namespaces: [shop]\n";
    repo.platform("cloud", spec);
    repo.commit("day one");
    // An extra gateway and a newly injected namespace: the gateway's release is installed
    // after the ones already there, the namespace labelled and its pods restarted; the proxy
    // image is the same, so shop is not restarted.
    repo.platform(
        "cloud",
        &format!(
            "{}  gateways:\n  - name: ilb-gateway\n    internal: true\n    serviceType: LoadBalancer\n",
            spec.replace("[shop]", "[shop, web]")
        ),
    );
    let plan = repo.plan(&[]);
    let cloud = of(&plan, "cloud");
    assert_eq!(
        steps(cloud),
        [
            "kubectl-apply Namespace/web",
            "helm-install ilb-gateway in istio-system",
            "restart in web",
        ]
    );
    assert!(cloud["steps"][2]["why"]
        .as_str()
        .unwrap()
        .contains("newly injected"));
    assert!(
        commands(cloud)[1].contains("-f generated/cloud/"),
        "{:?}",
        commands(cloud)
    );
}

#[test]
fn base_can_be_any_ref_and_platform_narrows() {
    let repo = Repo::new();
    repo.platform("onprem", ONPREM);
    repo.platform("lab", LAB);
    repo.commit("day one");
    repo.platform("onprem", &ONPREM.replace("permissive", "strict"));
    repo.commit("strict");
    // Against HEAD nothing changed; against the commit before, onprem did.
    assert_eq!(of(&repo.plan(&[]), "onprem")["change"], "none");
    let plan = repo.plan(&["--base", "HEAD~1", "--platform", "onprem"]);
    assert_eq!(plan["platforms"].as_array().unwrap().len(), 1);
    assert_eq!(of(&plan, "onprem")["change"], "upgrade");
    assert!(plan["base"].as_str().unwrap().starts_with("HEAD~1 ("));
}

#[test]
fn crd_apply_only_when_the_locked_crds_differ() {
    let up = Upstream::empty();
    up.release("1.11.4", files_111("1.11.4"));
    up.release("1.11.6", files_111("1.11.6"));
    let mut changed = files_111("1.11.8");
    changed.insert(
        "manifests/charts/base/crds/crd-all.gen.yaml".to_string(),
        (
            b"kind: CustomResourceDefinition\n# 1.11.8\n".to_vec(),
            false,
        ),
    );
    up.release("1.11.8", changed);
    let repo = Repo::new();
    let spec = |istio: &str| format!("  provider: gke\n  istio: \"{istio}\"\n");
    repo.platform("cloud", &spec("1.11.4"));
    let vendor = repo.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, Some(0), "{}", vendor.stderr);
    repo.commit("1.11.4");

    // Same crds/ files in the lock: no crd-apply.
    repo.platform("cloud", &spec("1.11.6"));
    let vendor = repo.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, Some(0), "{}", vendor.stderr);
    let plan = repo.plan(&[]);
    let actions = steps(of(&plan, "cloud"));
    assert_eq!(
        actions[0], "helm-upgrade istio-base in istio-system",
        "{actions:#?}"
    );
    assert!(!actions.iter().any(|a| a.starts_with("crd-apply")));
    repo.commit("1.11.6");

    // Other crds/ files: crd-apply of 1.11.8's, before any release is upgraded.
    repo.platform("cloud", &spec("1.11.8"));
    let vendor = repo.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, Some(0), "{}", vendor.stderr);
    let cloud = of(&repo.plan(&[]), "cloud").clone();
    assert_eq!(steps(&cloud)[0], "crd-apply istio-base");
    assert_eq!(
        commands(&cloud)[0],
        "kubectl apply -f vendor/istio/1.11.8/base/crds/"
    );
}

#[test]
fn bad_input_exits_2_with_a_located_error_and_no_plan() {
    let repo = Repo::new();
    repo.platform("onprem", ONPREM);
    repo.commit("day one");

    let bad_ref = repo.meshgen(&["plan", "--base", "no-such-ref"]);
    assert_eq!(bad_ref.code, Some(2));
    assert!(bad_ref.stdout.is_empty());
    assert!(
        bad_ref.stderr.contains("--base no-such-ref"),
        "{}",
        bad_ref.stderr
    );

    let unknown = repo.meshgen(&["plan", "--platform", "onprim"]);
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown.stderr.contains("did you mean `onprem`"),
        "{}",
        unknown.stderr
    );

    // An invalid field in the working tree: file, line and field named.
    repo.platform(
        "onprem",
        &ONPREM.replace("mtls: permissive", "mtls: strictt"),
    );
    let invalid = repo.meshgen(&["plan"]);
    assert_eq!(invalid.code, Some(2));
    assert!(invalid.stdout.is_empty());
    assert!(
        invalid.stderr.contains("platforms/onprem.yaml:8") && invalid.stderr.contains("mtls"),
        "{}",
        invalid.stderr
    );

    // An invalid platform at the base is named by its ref.
    repo.commit("broken");
    repo.platform("onprem", ONPREM);
    let at_base = repo.meshgen(&["plan"]);
    assert_eq!(at_base.code, Some(2));
    assert!(
        at_base.stderr.contains("HEAD:platforms/onprem.yaml:8"),
        "{}",
        at_base.stderr
    );

    let outside = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = common::outcome(
        meshgen(&repo.cache)
            .current_dir(outside.path())
            .args(["plan"]),
    );
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("not a git repository"), "{stderr}");
}

/// The CI workflow `init` writes runs the plan on pull requests: its step, as written (the
/// base commit GitHub gives substituted), plans the pull request into the job summary.
#[test]
fn init_workflow_plans_each_pull_request_as_written() {
    let repo = Repo::new();
    let init = repo.meshgen(&["init", repo.root.to_str().unwrap()]);
    assert_eq!(init.code, Some(0), "{}", init.stderr);
    repo.commit("init");
    let base = git2::Repository::open(&repo.root)
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    let example = fs::read_to_string(repo.root.join("platforms/example.yaml")).unwrap();
    assert!(example.contains("namespaces: [default]"), "{example}");
    repo.write(
        "platforms/example.yaml",
        &example.replace("namespaces: [default]", "namespaces: [default, shop]"),
    );

    let workflow = fs::read_to_string(repo.root.join(".github/workflows/meshgen.yml")).unwrap();
    let doc = meshgen::yaml::parse(&workflow).unwrap().to_json();
    let job = &doc["jobs"]["check"];
    assert_eq!(job["permissions"]["pull-requests"], "write", "{workflow}");
    let steps = job["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["with"]["fetch-depth"], 0,
        "the base commit must be fetched"
    );
    let plan_step = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("meshgen plan"))
        })
        .expect("a plan step");
    assert!(plan_step["if"]
        .as_str()
        .unwrap()
        .contains("github.event_name == 'pull_request'"));
    let script = plan_step["run"]
        .as_str()
        .unwrap()
        .replace("${{ github.event.pull_request.base.sha }}", &base);
    assert!(!script.contains("${{"), "{script}");
    let comment = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("gh pr comment"))
        })
        .expect("a step commenting the plan");
    assert!(comment["run"]
        .as_str()
        .unwrap()
        .contains("--body-file plan.md"));

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_meshgen"));
    let summary = repo.root.join("summary.md");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&repo.root)
        .env("PATH", path)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("MESHGEN_CACHE_DIR", &repo.cache)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let plan = fs::read_to_string(repo.root.join("plan.md")).unwrap();
    assert!(plan.starts_with("## meshgen plan\n"), "{plan}");
    assert!(plan.contains(&format!("From `{base} (")), "{plan}");
    assert!(plan.contains("### `example`: upgrade"), "{plan}");
    assert!(
        plan.contains("kubectl rollout restart deployment -n shop"),
        "{plan}"
    );
    assert_eq!(fs::read_to_string(&summary).unwrap(), plan);
}

/// README's "Day 2" shows the plan of `day_two()`'s pull request: it is the real output.
#[test]
fn readme_day_two_plan_is_what_meshgen_prints() {
    let readme = include_str!("../README.md");
    let section = &readme[readme
        .find("## Day 2: what a pull request does to each cluster")
        .expect("README has the Day 2 section")..];
    let start = section.find("```text\n").expect("a text block") + "```text\n".len();
    let shown = &section[start..start + section[start..].find("```\n").unwrap()];
    let repo = day_two();
    let printed = repo.meshgen(&["plan"]);
    assert_eq!(printed.code, Some(0), "{}", printed.stderr);
    // The base commit differs from run to run.
    let commit = |text: &str| -> String {
        let at = text.find("HEAD (").unwrap() + "HEAD (".len();
        text[at..at + 12].to_string()
    };
    let expected = printed
        .stdout
        .replace(&commit(&printed.stdout), &commit(shown));
    assert!(
        shown == expected,
        "README's Day 2 plan is stale; replace it with:\n{expected}"
    );
}

/// Manifests Flux cannot apply (a management cluster's target before Kubernetes 1.16) are a
/// person's step on the Flux path too; the releases stay Flux's.
#[test]
fn manifests_left_out_of_flux_are_manual_steps() {
    let repo = Repo::new();
    let remote = include_str!("fixtures/plan/remote.spec.yaml");
    repo.platform("edge", remote);
    repo.platform("local", ONPREM);
    repo.commit("day one");
    repo.platform("edge", &remote.replace("permissive", "strict"));
    repo.platform("local", &ONPREM.replace("permissive", "strict"));
    let plan = repo.plan(&[]);
    let flux_of = |name: &str| -> Vec<String> {
        of(&plan, name)["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s["action"].as_str().unwrap(),
                    s["flux"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        flux_of("edge"),
        ["helm-upgrade automatic", "kubectl-apply manual"]
    );
    assert_eq!(
        flux_of("local"),
        ["helm-upgrade automatic", "kubectl-apply automatic"]
    );

    // Objects dropped from such manifests: no Kustomization prunes them either.
    repo.commit("strict");
    repo.platform(
        "edge",
        "  provider: kvm\n  istio: \"1.0.2\"\n  kubernetes: \"1.11\"\n  kubeConfigSecret:\n    name: edge-kubeconfig\n",
    );
    let plan = repo.plan(&["--platform", "edge"]);
    let deletes: Vec<&Value> = of(&plan, "edge")["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "kubectl-delete")
        .collect();
    assert!(!deletes.is_empty(), "{plan:#}");
    for step in deletes {
        assert_eq!(step["flux"], "manual", "{step}");
        assert!(!step["why"].as_str().unwrap().contains("prunes"), "{step}");
    }
}

const STABLE: &str = "  provider: gke\n  istio: \"1.11.4\"\n  egressGateway:\n    enabled: false\n  sidecarInjection:\n    namespaces: [default, payments]\n";
const WITH_CANARY: &str = "  provider: gke\n  istio: \"1.11.4\"\n  egressGateway:\n    enabled: false\n  sidecarInjection:\n    namespaces: [default, payments]\n  canary:\n    istio: \"1.11.8\"\n    namespaces: [payments]\n";
const PROMOTED: &str = "  provider: gke\n  istio: \"1.11.8\"\n  revision: 1-11-8\n  egressGateway:\n    enabled: false\n  sidecarInjection:\n    namespaces: [default, payments]\n";

/// Adding a canary installs its istiod beside the stable one, which stays untouched, then
/// moves its namespaces to it and restarts them.
#[test]
fn adding_a_canary_installs_its_istiod_and_moves_its_namespaces() {
    let repo = Repo::new();
    repo.platform("shop", STABLE);
    repo.commit("stable");
    repo.platform("shop", WITH_CANARY);
    let plan = repo.plan(&["--base", "HEAD"]);
    let shop = of(&plan, "shop");
    assert_eq!(
        steps(shop),
        [
            "helm-install istiod-1-11-8 in istio-system",
            "kubectl-apply Namespace/payments",
            "kubectl-label Namespace/payments in payments",
            "restart in payments",
        ],
        "{shop:#}"
    );
    let commands = commands(shop);
    assert_eq!(
        commands[0],
        "helm install istiod-1-11-8 vendor/istio/1.11.8/istio-discovery --namespace istio-system -f generated/shop/istiod-1-11-8.yaml"
    );
    assert_eq!(
        commands[2],
        "kubectl label namespace payments istio-injection-"
    );
}

/// Promotion: the gateways and base move to the canary's release, the remaining namespaces
/// move to its revision and restart, and only then the old istiod goes; the canary's release
/// keeps its values (its file held what values.yaml now holds) and is neither upgraded nor
/// installed again, and its namespaces do not restart.
#[test]
fn promoting_a_canary_moves_the_rest_then_uninstalls_the_old_istiod() {
    let repo = Repo::new();
    repo.platform("shop", WITH_CANARY);
    repo.commit("canary");
    repo.platform("shop", PROMOTED);
    let plan = repo.plan(&["--base", "HEAD"]);
    let shop = of(&plan, "shop");
    let steps = steps(shop);
    assert_eq!(
        steps,
        [
            "crd-apply istio-base",
            "helm-upgrade istio-base in istio-system",
            "kubectl-apply Namespace/default",
            "helm-upgrade istio-ingress in istio-system",
            "kubectl-label Namespace/default in default",
            "restart in default",
            "helm-uninstall istiod in istio-system",
        ],
        "{shop:#}"
    );
    assert!(!steps.iter().any(|s| s.contains("istiod-1-11-8")));
}

/// The README's canary walk-through: the plan of each of its two pull requests, as printed.
#[test]
fn readme_canary_plans_are_what_meshgen_prints() {
    let readme = include_str!("../README.md");
    let section = &readme[readme
        .find("### Canary control planes (1.11)")
        .expect("README has the canary section")..];
    let blocks: Vec<&str> = section
        .split("```text\n")
        .skip(1)
        .take(2)
        .map(|b| &b[..b.find("```\n").unwrap()])
        .collect();
    assert_eq!(blocks.len(), 2, "two plans in the canary section");
    let repo = Repo::new();
    repo.platform("shop", STABLE);
    repo.commit("stable");
    let mut expected = Vec::new();
    for next in [WITH_CANARY, PROMOTED] {
        repo.platform("shop", next);
        let printed = repo.meshgen(&["plan"]);
        assert_eq!(printed.code, Some(0), "{}", printed.stderr);
        expected.push(printed.stdout);
        repo.commit("next");
    }
    let commit = |text: &str| -> String {
        let at = text.find("HEAD (").unwrap() + "HEAD (".len();
        text[at..at + 12].to_string()
    };
    for (shown, printed) in blocks.iter().zip(&expected) {
        let printed = printed.replace(&commit(printed), &commit(shown));
        assert!(
            *shown == printed,
            "README's canary plan is stale; replace it with:\n{printed}"
        );
    }
}
