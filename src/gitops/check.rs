//! `meshgen check`: the pull-request gate. Validates every platform file, compares the
//! vendored charts with the lock, and checks that the generated files are what
//! `meshgen generate` would write; every problem becomes a located finding, printed as text,
//! JSON for tools, or GitHub workflow annotations that show on the pull request's lines.

use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error, Result, Severity};
use crate::gitops::generate::ChangeKind;
use crate::vendoring::lock::{self, Lock};

/// What `check` looks at.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Directory of platform files.
    pub platforms: PathBuf,
    /// Directory of generated files.
    pub out: PathBuf,
    /// Vendor directory holding meshgen.lock and the charts.
    pub vendor: PathBuf,
}

/// Everything `check` found, and what it looked at.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Diagnostic>,
    pub platforms: usize,
    pub generated_files: usize,
    pub charts: usize,
    /// Generated values files held against their vendored charts.
    pub values_checked: usize,
    /// Application manifests linted (`meshgen.yaml`'s `lint.paths`).
    pub lint_files: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

fn finding(file: &Path, line: usize, message: String, hint: &str) -> Diagnostic {
    Diagnostic::error(
        file.display().to_string(),
        line,
        usize::from(line > 0),
        "",
        message,
    )
    .with_hint(hint)
}

/// Runs every check; the findings are in order: platform files, vendored charts, generated files.
pub fn report(args: &Paths) -> Result<Report> {
    let mut report = Report::default();
    let lock_path = args.vendor.join(lock::FILE_NAME);
    let lock = match Lock::load(&lock_path) {
        Ok(lock) => lock,
        Err(e @ Error::Vendor(_)) => {
            report.findings.push(finding(
                &lock_path,
                0,
                e.to_string(),
                "restore the lock from git, or write it again with `meshgen vendor`",
            ));
            None
        }
        Err(e) => return Err(e),
    };

    let config = crate::gitops::repo_config::RepoConfig::load(Path::new("."))?;
    let settings = crate::gitops::generate::Settings {
        lock: lock.as_ref(),
        flux: config.flux.as_ref(),
    };
    let plan = crate::gitops::generate::plan(&args.platforms, &args.out, settings, true)?;
    report.platforms = plan.platforms;
    report.generated_files = plan.files;
    let platforms_load = !plan.has_errors();
    report.findings.extend(plan.diagnostics);

    if let Some(lock) = &lock {
        // Releases no platform renders: a warning, since `meshgen vendor --prune` is a choice.
        // What the platforms use, from the plan (read once); unknown while one does not load.
        if platforms_load && plan.platforms > 0 {
            let fleet = crate::gitops::fleet::distinct(plan.rendered.iter().map(|r| r.istio));
            for version in crate::vendoring::unused_releases(lock, &fleet) {
                let unused = Diagnostic {
                    severity: Severity::Warning,
                    ..Diagnostic::error(
                        lock_path.display().to_string(),
                        0,
                        0,
                        "",
                        format!(
                            "Istio {version} is vendored in {} but no platform in {} uses it",
                            args.vendor.join("istio").join(&version).display(),
                            args.platforms.display()
                        ),
                    )
                };
                report.findings.push(unused.with_hint(
                    "`meshgen vendor --prune` removes it; keep it while a rollout may still go back to it",
                ));
            }
        }
        let (differences, charts) = crate::vendoring::check::differences(&args.vendor, lock, &[]);
        report.charts = charts;
        let lock_name = lock_path.display();
        for d in differences {
            report.findings.push(finding(
                &d.path,
                0,
                format!("vendored chart differs from {lock_name}: {}", d.message),
                "restore it with `meshgen vendor --locked`; to take a new upstream release, run `meshgen vendor --update` and review the lock",
            ));
        }
    }

    // A stale values file is its own finding: held against the charts, what it holds that
    // meshgen no longer writes (a gateway switched off) would get hints that do harm.
    let stale: std::collections::HashSet<&Path> = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Update)
        .map(|c| c.path.as_path())
        .collect();
    let current: Vec<crate::gitops::generate::Rendered> = plan
        .rendered
        .iter()
        .filter(|r| !stale.contains(r.values.as_path()))
        .cloned()
        .collect();
    report
        .findings
        .extend(chart_findings(&args.vendor, &current)?);
    report.values_checked = current.len();

    let (lint_findings, lint_files) = lint_findings(&config.lint, lock.as_ref())?;
    report.findings.extend(lint_findings);
    report.lint_files = lint_files;

    report.findings.extend(generated_findings(plan.changes));
    Ok(report)
}

/// The generated files that are missing, stale or orphaned.
fn generated_findings(changes: Vec<crate::gitops::generate::Change>) -> Vec<Diagnostic> {
    let regenerate = "run `meshgen generate` and commit the result";
    let mut findings = Vec::new();
    for change in changes {
        let (line, message) = match change.kind {
            ChangeKind::Create => (
                0,
                "missing: `meshgen generate` would create this file".to_string(),
            ),
            ChangeKind::Update => (
                change.line,
                format!(
                    "stale: differs from what `meshgen generate` writes, from line {} on",
                    change.line
                ),
            ),
            ChangeKind::Delete => (
                0,
                "orphaned: no platform file generates this file any more".to_string(),
            ),
        };
        findings.push(finding(&change.path, line, message, regenerate));
    }
    findings
}

/// `meshgen lint` over the application manifests `meshgen.yaml` lists, each for its platform:
/// the findings (manifests that are not YAML, and a platform that does not load, included)
/// and the number of files read.
fn lint_findings(
    settings: &crate::gitops::repo_config::LintSettings,
    lock: Option<&Lock>,
) -> Result<(Vec<Diagnostic>, usize)> {
    let mut findings = Vec::new();
    let mut files = 0;
    let config = crate::gitops::repo_config::CONFIG_PATH;
    // Where an entry's field is in meshgen.yaml, for findings that point at it: read again
    // (the settings keep no positions), and only once a finding needs it.
    let config_doc = std::cell::OnceCell::new();
    let at = |index: usize, field: &str, message: String, hint: &str| {
        use crate::yaml::PathSegment::{Index, Key};
        let path = [
            Key("lint".to_string()),
            Key("paths".to_string()),
            Index(index),
            Key(field.to_string()),
        ];
        let span = config_doc
            .get_or_init(|| {
                std::fs::read_to_string(config)
                    .ok()
                    .and_then(|text| crate::yaml::parse(&text).ok())
            })
            .as_ref()
            .map(|doc| doc.locate_value(&path))
            .unwrap_or(crate::yaml::Span { line: 0, col: 0 });
        Diagnostic::error(
            config,
            span.line,
            span.col,
            crate::yaml::display_path(&path),
            message,
        )
        .with_hint(hint)
    };
    for (index, entry) in settings.paths.iter().enumerate() {
        if !entry.path.exists() {
            findings.push(at(
                index,
                "path",
                format!("lint path `{}` does not exist", entry.path.display()),
                "fix `lint.paths` in meshgen.yaml, or remove the entry",
            ));
            continue;
        }
        let request = crate::model::load::PlatformRequest {
            platform: entry.platform.clone(),
            ..Default::default()
        };
        let resolved =
            crate::render::pipeline::resolve_request(&request, Path::new("."), &|line| {
                crate::render::resolve::version_for(lock, line)
            });
        let target = match resolved {
            Ok((_, platform)) => crate::lint::Target::platform(&platform),
            Err(Error::Findings(found)) => {
                findings.extend(found);
                continue;
            }
            // A platform deleted or renamed since the entry was written: the entry is stale.
            Err(Error::Usage(message)) => {
                findings.push(at(
                    index,
                    "platform",
                    message,
                    "name a platform of platforms/ or a built-in, or remove the entry from lint.paths",
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        let inputs =
            crate::lint::read::collect(std::slice::from_ref(&entry.path), &mut std::io::empty())?;
        files += inputs.len();
        let lint_settings = crate::lint::Settings {
            disabled: settings.disabled.clone(),
        };
        match crate::lint::lint(&inputs, &target, &lint_settings) {
            Ok(report) => findings.extend(report.findings),
            Err(unusable) => findings.extend(unusable),
        }
    }
    Ok((findings, files))
}

/// `check-values` on each generated values file whose charts are vendored: the charts of a
/// version are read once, however many platforms use them.
fn chart_findings(
    vendor: &Path,
    rendered: &[crate::gitops::generate::Rendered],
) -> Result<Vec<Diagnostic>> {
    let mut declared: std::collections::HashMap<
        &[String],
        Option<crate::gitops::check_values::Declared>,
    > = std::collections::HashMap::new();
    let mut findings = Vec::new();
    for platform in rendered {
        if !declared.contains_key(platform.charts.as_slice()) {
            let dirs: Vec<PathBuf> = platform.charts.iter().map(|c| vendor.join(c)).collect();
            // Charts not vendored yet: the vendor check reports them, nothing to hold against.
            let loaded = if dirs.iter().all(|d| d.join("Chart.yaml").is_file()) {
                match crate::gitops::check_values::load(&dirs, Some(platform.line)) {
                    Ok(charts) => Some(charts),
                    Err(Error::Findings(found)) => {
                        findings.extend(found);
                        None
                    }
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            declared.insert(&platform.charts, loaded);
        }
        let charts = &declared[platform.charts.as_slice()];
        let Some(charts) = charts else { continue };
        let text = match std::fs::read_to_string(&platform.values) {
            Ok(text) => text,
            // Missing: reported as a generated file to create.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&platform.values, e)),
        };
        findings.extend(charts.check(&platform.values.display().to_string(), &text)?);
    }
    Ok(findings)
}

/// One JSON object: the findings and their counts.
pub fn format_json(report: &Report) -> String {
    format_json_findings(
        &report.findings,
        serde_json::json!({
            "platforms": report.platforms,
            "generatedFiles": report.generated_files,
            "vendoredCharts": report.charts,
            "valuesAgainstCharts": report.values_checked,
            "applicationFiles": report.lint_files,
        }),
    )
}

/// Findings as one JSON object, with their counts by severity and what was `checked`
/// (`check`'s and `lint`'s JSON format).
pub fn format_json_findings(findings: &[Diagnostic], checked: serde_json::Value) -> String {
    let count = |s: Severity| findings.iter().filter(|d| d.severity == s).count();
    let value = serde_json::json!({
        "findings": findings,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
        "notices": count(Severity::Info),
        "checked": checked,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("findings serialize");
    text.push('\n');
    text
}

/// GitHub workflow commands; see "Workflow commands for GitHub Actions" for the escaping.
pub fn format_github(findings: &[Diagnostic]) -> String {
    fn data(text: &str) -> String {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn property(text: &str) -> String {
        data(text).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for d in findings {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = vec![format!("file={}", property(&d.file))];
        if d.line > 0 {
            props.push(format!("line={}", d.line));
            if d.col > 0 {
                props.push(format!("col={}", d.col));
            }
        }
        props.push(match &d.rule {
            Some(rule) => format!("title={}", property(&format!("meshgen lint {rule}"))),
            None => "title=meshgen check".to_string(),
        });
        let mut message = if d.path.is_empty() {
            d.message.clone()
        } else {
            format!("{}: {}", d.path, d.message)
        };
        if let Some(hint) = &d.hint {
            message.push_str(&format!("\nhint: {hint}"));
        }
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            data(&message)
        ));
    }
    out
}
