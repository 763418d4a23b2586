//! `meshgen init`: scaffolds a GitOps repository — an example platform file, the schemas its
//! modeline points at, the lock of the built-in pins, a GitHub Actions workflow, Helm 4's
//! post-renderer plugin, a pre-commit hook and a README section. Nothing is overwritten without `--force`: when any file exists,
//! the command lists them and writes nothing.

use std::path::Path;

use crate::error::{Error, Result};

/// The example platform; `tests/workflow.rs` proves that it validates.
pub const EXAMPLE_PLATFORM: &str = r#"# yaml-language-server: $schema=../schemas/platform.schema.json
# One file per cluster. The name of the file is the directory under generated/.
# Every field is described in schemas/platform.schema.json; `meshgen explain --platform
# platforms/example.yaml` shows where each generated value comes from.
apiVersion: meshgen/v1alpha1
kind: Platform
metadata:
  name: example
  description: On-prem KVM cluster, Istio 1.11, gateways on node ports
spec:
  provider: kvm
  istio: "1.11"
  kubernetes: "1.21"
  ingressGateway:
    serviceType: NodePort
    nodePorts:
      http2: 31380
      https: 31390
  sidecarInjection:
    namespaces: [default]
  # Chart values no field above names (checked against the line's charts), merged after
  # what meshgen sets. Quote strings: Helm reads a plain on or no as a boolean.
  values:
    meshConfig:
      accessLogFile: "/dev/stdout"
"#;

const WORKFLOW: &str = r#"# Runs `meshgen check` on every pull request: platform files valid, vendored charts as
# locked, generated files current. Findings show on the pull request's lines. Then
# `meshgen plan`: what merging will do to each cluster (helm upgrades, uninstalls, deletions,
# restarts, a change of line), in the job summary and as a comment on the pull request.
name: meshgen
on:
  pull_request:
  push:
    branches: [main]
jobs:
  check:
    runs-on: ubuntu-latest
    env:
      MESHGEN_VERSION: @VERSION@
      # Where meshgen's releases are published: MESHGEN_RELEASES/v<version>/ holds each
      # release's archives and install.sh.
      MESHGEN_RELEASES: @RELEASES@
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: actions/checkout@v4
        with:
          # The plan reads the platform files at the pull request's base commit.
          fetch-depth: 0
      # meshgen from its release archives (dist/package.sh, install.sh beside them): the
      # version `meshgen init` pinned, cached per version. To build from source instead,
      # replace these steps with `cargo install --locked --git <meshgen's git URL> --tag
      # v${{ env.MESHGEN_VERSION }} meshgen` (minutes of compilation on every run).
      - name: Cache meshgen
        id: meshgen-cache
        uses: actions/cache@v4
        with:
          path: ~/.local/bin/meshgen
          key: meshgen-${{ env.MESHGEN_VERSION }}-${{ runner.os }}-${{ runner.arch }}
      - name: Install meshgen
        if: steps.meshgen-cache.outputs.cache-hit != 'true'
        run: |
          case "$(uname -sm)" in
            "Linux x86_64") target=x86_64-unknown-linux-gnu ;;
            "Linux aarch64") target=aarch64-unknown-linux-gnu ;;
            "Darwin x86_64") target=x86_64-apple-darwin ;;
            "Darwin arm64") target=aarch64-apple-darwin ;;
            *) echo "no meshgen release archive for $(uname -sm)" >&2; exit 1 ;;
          esac
          release="$MESHGEN_RELEASES/v$MESHGEN_VERSION"
          curl --proto '=https,file' -fsSL "$release/install.sh" -o "$RUNNER_TEMP/install-meshgen.sh"
          sh "$RUNNER_TEMP/install-meshgen.sh" --prefix "$HOME/.local" \
            --archive "$release/meshgen-$MESHGEN_VERSION-$target.tar.gz"
      - name: Put meshgen on the PATH
        run: echo "$HOME/.local/bin" >> "$GITHUB_PATH"
      - name: meshgen check
        run: meshgen check --format github
      - name: meshgen plan
        if: ${{ !cancelled() && github.event_name == 'pull_request' }}
        run: |
          meshgen plan --base "${{ github.event.pull_request.base.sha }}" --format markdown > plan.md
          cat plan.md >> "$GITHUB_STEP_SUMMARY"
      - name: Comment the plan on the pull request
        if: ${{ !cancelled() && github.event_name == 'pull_request' && hashFiles('plan.md') != '' }}
        env:
          GH_TOKEN: ${{ github.token }}
        run: |
          gh pr comment "${{ github.event.pull_request.number }}" --edit-last --body-file plan.md ||
            gh pr comment "${{ github.event.pull_request.number }}" --body-file plan.md
"#;

/// The workflow installing the release of this meshgen from `releases` (a base URL; by
/// default the repository variable `MESHGEN_RELEASES`, or the releases of the repository
/// meshgen was built from).
fn workflow(releases: Option<&str>) -> String {
    let default = match env!("CARGO_PKG_REPOSITORY") {
        "" => None,
        repository => Some(format!("{repository}/releases/download")),
    };
    let releases = match releases.map(str::to_string).or(default) {
        Some(url) => crate::yaml::emit::yaml_scalar(&url.into()),
        None => "${{ vars.MESHGEN_RELEASES }}".to_string(),
    };
    WORKFLOW
        .replace(
            "@VERSION@",
            &crate::yaml::emit::yaml_scalar(&env!("CARGO_PKG_VERSION").into()),
        )
        .replace("@RELEASES@", &releases)
}

/// Where `init` writes the Helm 4 post-renderer plugin; `helm plugin install` takes the folder.
pub const HELM_PLUGIN_PATH: &str = "helm-plugins/meshgen/plugin.yaml";

/// Helm 4's `--post-renderer` names an installed plugin of type `postrenderer/v1` instead of
/// an executable; this one runs `meshgen post-render`, to which Helm appends the
/// `--post-renderer-args` of the command (`--platform=...`, as the values header prints).
/// Its name is the one the header's Helm 4 commands give to `--post-renderer`.
fn helm_plugin() -> String {
    format!(
        "# Helm 4 post-renderer: `helm plugin install ./helm-plugins/meshgen` once, then\n\
# `helm install ... --post-renderer meshgen --post-renderer-args --platform=NAME`.\n\
# It runs the meshgen on PATH.\n\
apiVersion: v1\n\
type: postrenderer/v1\n\
name: meshgen\n\
version: \"{}\"\n\
runtime: subprocess\n\
runtimeConfig:\n\
\x20 platformCommand:\n\
\x20   - command: meshgen\n\
\x20     args: [post-render]\n",
        env!("CARGO_PKG_VERSION")
    )
}

const PRE_COMMIT: &str = r#"# pre-commit (https://pre-commit.com): `pre-commit install` runs `meshgen check` before
# each commit that touches the platforms, the vendored charts or the generated files.
repos:
  - repo: local
    hooks:
      - id: meshgen-check
        name: meshgen check
        entry: meshgen check
        language: system
        pass_filenames: false
        files: ^(platforms|vendor|generated)/
"#;

const GITATTRIBUTES: &str =
    "# Collapse generated files and vendored charts in pull request diffs.\n\
generated/** linguist-generated=true\n\
vendor/istio/** linguist-vendored=true\n";

/// The README section (the whole README of a new repository).
pub const README_SECTION: &str = r#"# Istio platforms, the GitOps way

This repository holds one platform file per cluster and everything rendered from them by
meshgen: Helm values for the cluster's Istio release line, the extra
objects it needs, and the upstream Istio charts, vendored and pinned.

| path | what it is |
|---|---|
| `platforms/*.yaml` | one platform file per cluster; edit these |
| `schemas/` | JSON schemas of platform files and of the lock (editor completion via the modeline) |
| `docs/platform.md` | every field of a platform file: type, default, what it does on each line, the gateway ports |
| `vendor/meshgen.lock` | the Istio releases the platforms use (the one each line's followers render, and every exact pin), commit and chart digests |
| `vendor/istio/<version>/` | the vendored charts (written by `meshgen vendor`) |
| `generated/<platform>/` | `values.yaml` and, where needed, `manifests.yaml`, `flux.yaml`, `kustomization.yaml` (written by `meshgen generate`) |

## Workflow

```sh
meshgen vendor --locked      # fetch exactly the charts the lock pins (a fresh clone, a lock change)
$EDITOR platforms/example.yaml
meshgen vendor               # after adding a platform or changing spec.istio: vendors and locks every release the platforms name
meshgen generate             # render generated/<platform>/
meshgen check                # what CI runs: validation, vendored charts, generated files current
git add -A && git commit
```

Never edit `generated/` or `vendor/istio/` by hand: `meshgen check` fails on any difference.
`spec.istio: "1.11"` follows the lock's release of the line; `spec.istio: "1.11.4"` pins one
release. After changing either, `meshgen vendor` vendors exactly the releases the platforms use.
To take a newer Istio patch release: `meshgen outdated` shows it, `meshgen vendor --update`
moves the following platforms (pinned ones stay), review the lock change, `meshgen generate`,
commit. `meshgen explain --platform NAME` shows where each value comes from.

CI: `.github/workflows/meshgen.yml` runs `meshgen check --format github` on every pull
request, then `meshgen plan` against the pull request's base: what merging does to each
cluster, step by step, in the job summary and as a comment. `.pre-commit-config.yaml` runs
`meshgen check` before each commit. Before merging a change, run `meshgen plan` yourself.

Exit codes: 0 ok, 1 findings (invalid platform, stale or tampered files), 2 usage or I/O error.
"#;

/// The example application `meshgen check` lints (`meshgen.yaml`'s `lint.paths`).
pub const EXAMPLE_APP: &str = r#"# An application as the seeds ask for it: ports named `<protocol>[-<suffix>]`, pods
# labelled `app` and `version`. `meshgen check` lints it for platforms/example.yaml
# (meshgen.yaml, `lint.paths`); `meshgen lint --platform example apps/` does the same.
apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  ports:
  - name: http-web
    port: 80
    targetPort: 8080
  selector:
    app: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello-v1
spec:
  selector:
    matchLabels: {app: hello, version: v1}
  template:
    metadata:
      labels:
        app: hello
        version: v1
    spec:
      containers:
      - name: hello
        image: nginxdemos/hello:plain-text
        ports:
        - containerPort: 8080
"#;

/// `meshgen.yaml`: the application manifests `check` lints and, with a URL, the Flux source,
/// checked by the parser that reads it back.
fn repo_config(git_url: Option<&str>, git_secret: Option<&str>) -> Result<String> {
    let q = |text: &str| serde_json::to_string(text).expect("strings serialize");
    let mut text = "# meshgen's settings for this repository.\n\
         # meshgen check lints these application manifests for their platform; switch a rule\n\
         # off for the repository with `disable: [RULE]`, for one file with a comment\n\
         # `# meshgen-lint-disable: RULE`.\n\
         lint:\n  paths:\n  - path: apps/example\n    platform: example\n"
        .to_string();
    let Some(git_url) = git_url else {
        crate::gitops::repo_config::RepoConfig::parse(
            &text,
            crate::gitops::repo_config::CONFIG_PATH,
        )?;
        return Ok(text);
    };
    text.push_str(&format!(
        "# Flux clones the repository from here; meshgen generate writes generated/<platform>/flux.yaml.\n\
         flux:\n  gitUrl: {}\n  branch: {}\n  path: {}\n  namespace: {}\n",
        q(git_url),
        q(crate::install::flux::DEFAULT_BRANCH),
        q(crate::install::flux::DEFAULT_PATH),
        q(crate::install::flux::DEFAULT_NAMESPACE),
    ));
    if let Some(secret) = git_secret {
        text.push_str(&format!("  gitSecret: {}\n", q(secret)));
    }
    crate::gitops::repo_config::RepoConfig::parse(&text, "--git-url").map_err(|e| match e {
        Error::Findings(found) => Error::Usage(
            found
                .iter()
                // Named by the flag that gave the value, as `meshgen flux` names it.
                .map(|d| {
                    match crate::install::flux::SourceField::ALL
                        .iter()
                        .find(|f| d.path == format!("flux.{}", f.config_key()))
                    {
                        Some(field) => format!("{} {}", field.flag(), d.message),
                        None => d.message.clone(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => other,
    })?;
    Ok(text)
}

/// The files `init` writes under the repository directory: (relative path, content).
pub fn files(
    dir: &Path,
    git_url: Option<&str>,
    git_secret: Option<&str>,
    releases: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let mut files = vec![(
        "platforms/example.yaml".to_string(),
        EXAMPLE_PLATFORM.to_string(),
    )];
    files.push((
        crate::gitops::repo_config::CONFIG_PATH.to_string(),
        repo_config(git_url, git_secret)?,
    ));
    files.push(("apps/example/hello.yaml".to_string(), EXAMPLE_APP.into()));
    for (path, content) in crate::gitops::schemas::files() {
        files.push((path.to_string(), content));
    }
    // The lock of the example's line only: a repository vendors what its platforms use.
    let example = crate::model::load::load(
        &crate::model::load::Source {
            display: "platforms/example.yaml".into(),
            path: None,
            text: EXAMPLE_PLATFORM.to_string(),
            name: None,
        },
        &[],
    )
    .expect("the example platform is valid");
    files.push((
        crate::vendoring::lock::LOCK_PATH.to_string(),
        crate::vendoring::lock::Lock::builtin()
            .only_lines(&[example.file.spec.istio.line])
            .to_yaml(),
    ));
    files.push((
        ".github/workflows/meshgen.yml".to_string(),
        workflow(releases),
    ));
    files.push((HELM_PLUGIN_PATH.to_string(), helm_plugin()));
    files.push((".pre-commit-config.yaml".to_string(), PRE_COMMIT.into()));
    files.push((".gitattributes".to_string(), GITATTRIBUTES.into()));
    // An existing README is the user's (unless an earlier init wrote it): the section then
    // goes to a file of its own.
    let first_line = README_SECTION.lines().next().unwrap_or_default();
    let ours = std::fs::read_to_string(dir.join("README.md"))
        .map(|text| text.lines().next() == Some(first_line))
        .unwrap_or(true);
    let readme = if ours { "README.md" } else { "MESHGEN.md" };
    files.push((readme.to_string(), README_SECTION.into()));
    Ok(files)
}

/// Refuses to overwrite: the files of `files` that already exist under `dir`, listed in
/// a usage error (writing nothing is then the caller's part).
pub fn refuse_existing(dir: &Path, files: &[(String, String)]) -> Result<()> {
    let existing: Vec<String> = files
        .iter()
        .map(|(rel, _)| dir.join(rel))
        .filter(|p| p.symlink_metadata().is_ok())
        .map(|p| p.display().to_string())
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "not overwriting existing files (use --force to replace them):\n  {}",
        existing.join("\n  ")
    )))
}
