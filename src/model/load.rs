//! Finding and reading platform files: a name resolves to `./platforms/<name>.yaml` (or
//! `.yml`), then to a built-in platform; a path is used as given. A platform's name is its
//! file name without the extension, for every command (`--platform NAME`, `platforms`,
//! `generate`, the post-renderer command of the values header), so a file found by name
//! must carry that name in `metadata.name`, and two files of one name are an error. Reading runs the whole pipeline:
//! YAML with positions, `--set` overrides, the JSON schema, typed deserialization, the
//! rules and `spec.values` against the line's chart keys, and reports every problem as a
//! located diagnostic.

use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error, Result, Severity};
use crate::model::platform::PlatformFile;
use crate::model::release_line::{IstioVersion, ReleaseLine};
use crate::model::rules::Finding;
use crate::model::set::Assignment;
use crate::yaml::{self, display_path, Node, PathSegment, Span};

/// The platforms built into the binary, each reproducing one seed document.
pub const BUILTIN_PLATFORMS: &[(&str, &str)] = &[
    ("pks", include_str!("../../platforms/pks.yaml")),
    (
        "gke-internal",
        include_str!("../../platforms/gke-internal.yaml"),
    ),
    ("aws", include_str!("../../platforms/aws.yaml")),
    ("azure", include_str!("../../platforms/azure.yaml")),
    ("kvm", include_str!("../../platforms/kvm.yaml")),
    ("minikube", include_str!("../../platforms/minikube.yaml")),
];

/// A platform file's text and the name to show in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// A path as the user gave it, or `builtin:<name>`.
    pub display: String,
    /// Where it was read from, when it is a file.
    pub path: Option<PathBuf>,
    pub text: String,
    /// The name it was found under (a file of the platforms directory): `metadata.name` must
    /// equal it, or `--platform NAME` and the header's commands would name another platform.
    pub name: Option<String>,
}

impl Source {
    pub fn builtin(name: &str) -> Option<Source> {
        BUILTIN_PLATFORMS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Source {
                display: format!("builtin:{n}"),
                path: None,
                text: (*text).to_string(),
                name: Some((*n).to_string()),
            })
    }

    /// Reads a file. Errors name the path; a file over the size limit is refused unread, and
    /// the read stops at the limit for devices and pipes that report no size.
    pub fn read(path: &Path) -> Result<Source> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::Usage(format!(
                "{} is a directory, not a platform file",
                path.display()
            )));
        }
        let bytes = match crate::fsutil::read_bounded(path, yaml::MAX_INPUT_BYTES) {
            Ok(bytes) => bytes,
            Err(crate::fsutil::ReadError::Io(e)) => return Err(Error::io(path, e)),
            Err(crate::fsutil::ReadError::TooLarge { at_least }) => {
                return Err(Diagnostic::error(
                    path.display().to_string(),
                    1,
                    1,
                    "",
                    format!(
                        "file has {}{at_least} bytes, more than the {} bytes meshgen reads",
                        if meta.is_file() { "" } else { "at least " },
                        yaml::MAX_INPUT_BYTES
                    ),
                )
                .into())
            }
        };
        let display = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            Error::from(Diagnostic::error(
                display.clone(),
                1,
                1,
                "",
                format!("file is not UTF-8 text (invalid byte at offset {offset})"),
            ))
        })?;
        Ok(Source {
            display,
            path: Some(path.to_path_buf()),
            text,
            name: None,
        })
    }

    /// Reads the file of the platform named `name` in a platforms directory.
    pub fn read_named(path: &Path, name: &str) -> Result<Source> {
        let mut source = Source::read(path)?;
        source.name = Some(name.to_string());
        Ok(source)
    }
}

/// The extensions of platform files, in the order a name looks for them.
const EXTENSIONS: [&str; 2] = ["yaml", "yml"];

/// The platform files of `dir`, sorted, each with its name (the file name without `.yaml` or
/// `.yml`). Two files of one name are an error naming both.
pub fn platform_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = platform_name(&name) else {
            continue;
        };
        files.push((stem.to_string(), dir.join(&name)));
    }
    files.sort();
    if let Some(pair) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(duplicate(&pair[0].0, &pair[0].1, &pair[1].1));
    }
    Ok(files)
}

/// The platform name of a file name: `NAME.yaml` or `NAME.yml`, not hidden, not empty.
pub fn platform_name(file_name: &str) -> Option<&str> {
    let stem = EXTENSIONS
        .iter()
        .find_map(|ext| file_name.strip_suffix(&format!(".{ext}")[..]))?;
    (!stem.is_empty() && !stem.starts_with('.')).then_some(stem)
}

fn duplicate(name: &str, a: &Path, b: &Path) -> Error {
    Error::Usage(format!(
        "{} and {} both define the platform `{name}`: remove or rename one",
        a.display(),
        b.display()
    ))
}

/// The file of the platform `name` in `platforms`, if there is one. Any entry is the user's
/// platform, even one that cannot be read (a dangling link, a loop, no permission): reading
/// it names the problem instead of silently falling back to a built-in of the same name.
fn local_file(platforms: &Path, name: &str) -> Result<Option<PathBuf>> {
    let found: Vec<PathBuf> = EXTENSIONS
        .iter()
        .map(|ext| platforms.join(format!("{name}.{ext}")))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [a, b, ..] => Err(duplicate(name, a, b)),
    }
}

/// Resolves `--platform NAME|PATH`: a path is used as given; a name is looked up in
/// `<dir>/platforms/<name>.yaml` (or `.yml`), then among the built-ins.
pub fn find(arg: &str, dir: &Path) -> Result<Source> {
    let looks_like_path = arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || arg.ends_with(".yaml")
        || arg.ends_with(".yml");
    if looks_like_path {
        let path = Path::new(arg);
        let mut source = Source::read(path)?;
        // A file of the repository's platforms directory is that platform, named by its file
        // (as `check`, `generate` and `--platform NAME` read it), whichever way it is given.
        let platforms = dir.join("platforms");
        let in_platforms = path
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .is_some_and(|p| platforms.canonicalize().is_ok_and(|d| d == p));
        if in_platforms {
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            source.name = platform_name(&file_name).map(str::to_string);
        }
        return Ok(source);
    }
    if let Some(local) = local_file(&dir.join("platforms"), arg)? {
        let mut source = Source::read_named(&local, arg)?;
        let file_name = local.file_name().unwrap_or_default().to_string_lossy();
        source.display = format!("platforms/{file_name}");
        return Ok(source);
    }
    if let Some(source) = Source::builtin(arg) {
        return Ok(source);
    }
    let mut known: Vec<String> = BUILTIN_PLATFORMS
        .iter()
        .map(|(n, _)| (*n).to_string())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir.join("platforms")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(stem) = platform_name(&name) {
                if !known.iter().any(|k| k == stem) {
                    known.push(stem.to_string());
                }
            }
        }
    }
    known.sort();
    let suggestion = crate::suggest::did_you_mean(arg, known.iter().map(String::as_str))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(Error::Usage(format!(
        "no platform named `{arg}`{suggestion}: not in ./platforms/ and not built in; known platforms: {}",
        known.join(", ")
    )))
}

/// A platform file that passed validation, with its source kept for positions.
#[derive(Debug, Clone)]
pub struct LoadedPlatform {
    pub source: Source,
    pub doc: Node,
    pub file: PlatformFile,
    pub warnings: Vec<Diagnostic>,
    /// The `--istio`/`--set`/`--set-string` overrides applied, to locate later findings.
    pub overrides: Vec<Assignment>,
}

impl LoadedPlatform {
    /// A finding at a path of the platform, located at its key (or at the `--set` argument
    /// that wrote it), as the loading pipeline locates its own.
    pub fn locate(&self, finding: Finding) -> Diagnostic {
        self.locate_span(self.doc.locate(&finding.path), finding)
    }

    /// `locate`, at the field's value rather than its key.
    pub fn locate_value(&self, finding: Finding) -> Diagnostic {
        self.locate_span(self.doc.locate_value(&finding.path), finding)
    }

    fn locate_span(&self, span: Span, finding: Finding) -> Diagnostic {
        diagnostic(
            &self.source,
            span,
            finding.severity,
            &finding.path,
            finding.message,
            finding.hint,
            &self.overrides,
        )
    }
}

/// The exact Istio version a platform of a release line is rendered for (the lock's pin, else
/// meshgen's), for the rules that depend on it.
pub type VersionFor<'a> = &'a dyn Fn(IstioVersion) -> semver::Version;

/// Reads and validates a platform. On failure, every diagnostic (errors and warnings). The
/// rules of the exact Istio version are left out: see `load_versioned`.
pub fn load(source: &Source, overrides: &[Assignment]) -> Result<LoadedPlatform, Vec<Diagnostic>> {
    load_with(source, overrides, None)
}

/// `load`, with the rules of the exact Istio version the platform renders for
/// (`rules::check_version`) reported among the others, located the same way.
pub fn load_versioned(
    source: &Source,
    overrides: &[Assignment],
    version_for: VersionFor<'_>,
) -> Result<LoadedPlatform, Vec<Diagnostic>> {
    load_with(source, overrides, Some(version_for))
}

fn load_with(
    source: &Source,
    overrides: &[Assignment],
    version_for: Option<VersionFor<'_>>,
) -> Result<LoadedPlatform, Vec<Diagnostic>> {
    let doc = parse_with_overrides(source, overrides)?;
    let at = Locating {
        source,
        doc: &doc,
        overrides,
    };
    let file = at.typed()?;
    let version = version_for.map(|version_for| version_for(file.spec.istio));
    let mut out: Vec<Diagnostic> = rule_findings(&doc, &file, version.as_ref())
        .into_iter()
        .chain(misnamed(source, &file).map(|f| (f, true)))
        .map(|(f, at_value)| at.diagnostic(f, at_value))
        .collect();
    sort(&mut out);
    if out.iter().any(Diagnostic::is_error) {
        return Err(out);
    }
    Ok(LoadedPlatform {
        source: source.clone(),
        doc,
        file,
        warnings: out,
        overrides: overrides.to_vec(),
    })
}

/// The platform file's YAML with the `--set` overrides applied.
fn parse_with_overrides(
    source: &Source,
    overrides: &[Assignment],
) -> Result<Node, Vec<Diagnostic>> {
    let mut doc =
        yaml::parse(&source.text).map_err(|e| vec![e.into_diagnostic(&source.display)])?;
    if !overrides.is_empty() {
        // The argument is the place to fix: it is the location, with no line of the file.
        crate::model::set::apply(&mut doc, overrides).map_err(|e| {
            vec![Diagnostic::error(
                format!("{} {}", e.flag, e.expr),
                0,
                0,
                "",
                e.reason,
            )]
        })?;
    }
    Ok(doc)
}

/// What locates a finding while a platform loads: its source, the document read from it
/// and the overrides applied to it.
struct Locating<'a> {
    source: &'a Source,
    doc: &'a Node,
    overrides: &'a [Assignment],
}

impl Locating<'_> {
    /// The finding at its key, or at its value when `at_value`.
    fn diagnostic(&self, finding: Finding, at_value: bool) -> Diagnostic {
        let span = if at_value {
            self.doc.locate_value(&finding.path)
        } else {
            self.doc.locate(&finding.path)
        };
        diagnostic(
            self.source,
            span,
            finding.severity,
            &finding.path,
            finding.message,
            finding.hint,
            self.overrides,
        )
    }

    /// The document as a typed platform file: every violation of the JSON schema, else
    /// the first error of deserializing it.
    fn typed(&self) -> Result<PlatformFile, Vec<Diagnostic>> {
        let json = self.doc.to_json();
        let violations = crate::model::schema::validate(&json);
        if !violations.is_empty() {
            let mut out: Vec<Diagnostic> = violations
                .into_iter()
                .map(|v| {
                    let unknown_field = v.message.starts_with("unknown field");
                    let finding = Finding {
                        severity: Severity::Error,
                        path: v.path,
                        message: v.message,
                        hint: v.hint,
                    };
                    self.diagnostic(finding, !unknown_field)
                })
                .collect();
            sort(&mut out);
            return Err(out);
        }
        serde_path_to_error::deserialize(&json).map_err(|e| {
            let finding = Finding {
                severity: Severity::Error,
                path: crate::yaml::serde_path(e.path()),
                message: e.inner().to_string(),
                hint: None,
            };
            vec![self.diagnostic(finding, true)]
        })
    }
}

/// `spec.values`, where the chart keys are checked.
const VALUES_PATH: [&str; 2] = ["spec", "values"];

/// Every finding of the rules, with whether it is located at the value: the platform's
/// rules, those of the exact version when it is known, `spec.values` against the chart keys
/// and the typed fields' refusals.
fn rule_findings(
    doc: &Node,
    file: &PlatformFile,
    version: Option<&semver::Version>,
) -> Vec<(Finding, bool)> {
    let values_path = VALUES_PATH.map(|k| PathSegment::Key(k.into()));
    let values = doc.get(&values_path);
    let line = file.spec.istio.line;
    let mut findings = crate::model::rules::check(file);
    let mut release_findings = Vec::new();
    if let Some(version) = version {
        findings.extend(crate::model::rules::check_version(file, version));
        if let Some(values) = values {
            release_findings =
                crate::model::chart_keys::check_release(version, values, &values_path);
        }
    }
    let guarded = values
        .map(|values| crate::model::rules::guarded_values(line, values, &values_path))
        .unwrap_or_default();
    let mesh_findings = mesh_config_findings(doc, file, version);
    // Where both speak (a plain `yes`), the mesh config's finding knows the field's type.
    let values_findings: Vec<_> = chart_key_findings(values, line, version, &values_path)
        .into_iter()
        .filter(|(f, _)| !mesh_findings.iter().any(|(m, _)| m.path == f.path))
        .collect();
    findings
        .into_iter()
        .map(|f| (f, true))
        .chain(values_findings)
        .chain(mesh_findings)
        .chain(guarded)
        .chain(release_findings)
        .collect()
}

/// `spec.values.meshConfig` against the mesh config fields of the release the platform renders
/// for (its exact release, else the line's pin when no version is known).
fn mesh_config_findings(
    doc: &Node,
    file: &PlatformFile,
    version: Option<&semver::Version>,
) -> Vec<(Finding, bool)> {
    let at = [
        PathSegment::Key("spec".into()),
        PathSegment::Key("values".into()),
        PathSegment::Key("meshConfig".into()),
    ];
    let Some(node) = doc.get(&at) else {
        return Vec::new();
    };
    let version = version.cloned().unwrap_or_else(|| {
        file.spec
            .istio
            .exact_version()
            .unwrap_or_else(|| file.spec.istio.line.pinned_version())
    });
    crate::model::mesh_config::check(
        &version,
        node,
        &at,
        crate::model::mesh_config::Reader::Meshgen,
    )
}

/// `spec.values` against the line's chart keys, less the keys the exact release declares
/// although the line's list (its newest release's) does not.
fn chart_key_findings(
    values: Option<&Node>,
    line: ReleaseLine,
    version: Option<&semver::Version>,
    values_path: &[PathSegment],
) -> Vec<(Finding, bool)> {
    let older_keys = version
        .map(crate::model::chart_keys::declared_only_before)
        .unwrap_or_default();
    values
        .map(|values| crate::model::chart_keys::check_values(line, values, values_path))
        .unwrap_or_default()
        .into_iter()
        .filter(|(f, _)| {
            let keys: Vec<String> = f.path[values_path.len().min(f.path.len())..]
                .iter()
                .map(|s| match s {
                    PathSegment::Key(k) => k.clone(),
                    PathSegment::Index(i) => i.to_string(),
                })
                .collect();
            !older_keys.iter().any(|older| keys.starts_with(older))
        })
        .collect()
}

/// A platform found by name must carry that name in `metadata.name`.
fn misnamed(source: &Source, file: &PlatformFile) -> Option<Finding> {
    let name = source.name.as_deref()?;
    let written = file.metadata.name.to_string();
    (written != name).then(|| Finding {
        severity: Severity::Error,
        path: vec![
            PathSegment::Key("metadata".into()),
            PathSegment::Key("name".into()),
        ],
        message: format!(
            "the platform `{name}` is named `{written}`: a platform's name is its file name"
        ),
        hint: Some(format!(
            "set `metadata.name: {name}`, or rename the file to `{written}.yaml`"
        )),
    })
}

fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| (a.line, a.col, &a.path).cmp(&(b.line, b.col, &b.path)));
}

fn diagnostic(
    source: &Source,
    span: Span,
    severity: Severity,
    path: &[PathSegment],
    message: String,
    hint: Option<String>,
    overrides: &[Assignment],
) -> Diagnostic {
    // Name the overrides that touched the field (or what is inside or above it): a value
    // written by --set has no line, and a missing field may be missing because of one.
    let exprs: Vec<String> = overrides
        .iter()
        .filter(|a| path.starts_with(&a.path) || a.path.starts_with(path))
        .map(|a| format!("{} {}", a.flag, a.expr))
        .collect();
    // A value only --set wrote has no line in the file: the argument is its location.
    let (file, message) = if exprs.is_empty() {
        (source.display.clone(), message)
    } else if span.line == 0 {
        (exprs.join(" "), message)
    } else {
        (
            source.display.clone(),
            format!("{message} (from {})", exprs.join(", ")),
        )
    };
    Diagnostic {
        severity,
        file,
        line: span.line,
        col: span.col,
        path: display_path(path),
        message,
        hint,
        rule: None,
    }
}

/// One platform `meshgen platforms` lists: a file of `./platforms/` or a built-in.
#[derive(Debug)]
pub struct Listed {
    pub name: String,
    /// `platforms/<name>.yaml` (or `.yml`) for a file, None for a built-in.
    pub file: Option<String>,
    /// Its description, or why it does not load: an invalid local platform is still listed.
    pub description: Result<String>,
}

/// The platforms of `dir/platforms/` (`*.yaml`, `*.yml`, sorted by name), then the
/// built-ins they do not shadow. Two files of one name are an error.
pub fn list(dir: &Path, version_for: VersionFor<'_>) -> Result<Vec<Listed>> {
    let mut listed = Vec::new();
    let platforms = dir.join("platforms");
    let files = if platforms.is_dir() {
        platform_files(&platforms)?
    } else {
        Vec::new()
    };
    for (name, path) in files {
        let description = Source::read_named(&path, &name)
            .and_then(|s| load_versioned(&s, &[], version_for).map_err(Error::Findings))
            .map(|p| describe(&p.file));
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        listed.push(Listed {
            file: Some(format!("platforms/{file_name}")),
            name,
            description,
        });
    }
    for (name, _) in BUILTIN_PLATFORMS {
        if listed.iter().any(|l| l.name == *name) {
            continue;
        }
        let source = Source::builtin(name).expect("listed built-in exists");
        listed.push(Listed {
            name: (*name).to_string(),
            file: None,
            description: load_versioned(&source, &[], version_for)
                .map_err(Error::Findings)
                .map(|p| describe(&p.file)),
        });
    }
    Ok(listed)
}

/// A platform's description, else its provider and line.
fn describe(file: &PlatformFile) -> String {
    file.metadata
        .description
        .clone()
        .unwrap_or_else(|| format!("{}, Istio {}", file.spec.provider, file.spec.istio))
}

/// What a command needs to name a platform: `--platform`, `--istio`, `--set`, `--set-string`.
#[derive(Debug, Clone, Default)]
pub struct PlatformRequest {
    pub platform: String,
    pub istio: Option<IstioVersion>,
    pub set: Vec<String>,
    /// `--set-string` expressions, applied after the `--set` ones as Helm applies them.
    pub set_string: Vec<String>,
}

/// Finds and validates the platform a command asked for, with its `--istio` and `--set`
/// overrides applied, and the rules of the version it renders for.
pub fn load_request(
    request: &PlatformRequest,
    dir: &Path,
    version_for: VersionFor<'_>,
) -> Result<LoadedPlatform> {
    let source = find(&request.platform, dir)?;
    let mut overrides = Vec::new();
    if let Some(line) = request.istio {
        overrides.extend(
            crate::model::set::parse(&format!("spec.istio={line}"))
                .map_err(|e| Error::Usage(e.to_string()))?
                .into_iter()
                .map(|mut a| {
                    // Keep the line a string: `1.0` would otherwise read as a number.
                    a.value = yaml::NodeValue::Str(line.to_string(), false);
                    a.expr = format!("--istio {line}");
                    a
                }),
        );
    }
    for arg in &request.set {
        overrides.extend(crate::model::set::parse(arg).map_err(|e| Error::Usage(e.to_string()))?);
    }
    for arg in &request.set_string {
        overrides
            .extend(crate::model::set::parse_string(arg).map_err(|e| Error::Usage(e.to_string()))?);
    }
    load_versioned(&source, &overrides, version_for).map_err(Error::Findings)
}
