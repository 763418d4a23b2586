//! The commands behind the CLI: each takes resolved arguments and returns an exit code,
//! leaving printing of errors to `cli::run`.

use crate::cli::{stdout_write, SchemaArgs, ValidateArgs, ValuesArgs};
use crate::error::{exit, Error, Result};
use crate::model::load::{self, LoadedPlatform, Source, BUILTIN_PLATFORMS};
use crate::model::release_line::ReleaseLine;
use crate::render::resolve::{Origin, ResolvedPlatform};

pub fn current_dir() -> Result<std::path::PathBuf> {
    std::env::current_dir().map_err(|e| Error::io(".", e))
}

pub fn platforms() -> Result<u8> {
    let dir = current_dir()?;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut code = exit::SUCCESS;
    let mut local_names = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("platforms")) {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".yaml"))
            else {
                continue;
            };
            // An invalid local platform is still listed, its errors go to stderr and the
            // command exits 1: a name that `values` would refuse must not look fine here.
            let loaded =
                Source::read(&path).and_then(|s| load::load(&s, &[]).map_err(Error::Findings));
            let description = match loaded {
                Ok(p) => describe(&p.file),
                Err(e) => {
                    code = code.max(match e {
                        Error::Findings(_) => exit::FINDINGS,
                        ref other => other.exit_code(),
                    });
                    anstream::eprintln!("{}", crate::cli::format_error(&e));
                    "(invalid: run `meshgen validate`)".to_string()
                }
            };
            local_names.push(stem.to_string());
            rows.push((
                stem.to_string(),
                format!("platforms/{stem}.yaml"),
                description,
            ));
        }
    }
    for (name, _) in BUILTIN_PLATFORMS {
        if local_names.iter().any(|n| n == name) {
            continue;
        }
        let source = Source::builtin(name).expect("listed built-in exists");
        let loaded = load::load(&source, &[]).map_err(Error::Findings)?;
        rows.push((
            (*name).to_string(),
            "built-in".to_string(),
            describe(&loaded.file),
        ));
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let origin_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (name, origin, description) in rows {
        text.push_str(&format!(
            "{name:<width$}  {origin:<origin_width$}  {description}\n"
        ));
    }
    stdout_write(&text)?;
    Ok(code)
}

fn describe(file: &crate::model::platform::PlatformFile) -> String {
    file.metadata
        .description
        .clone()
        .unwrap_or_else(|| format!("{}, Istio {}", file.spec.provider, file.spec.istio))
}

/// The generated files `meshgen schema --write` keeps current: (path, content).
pub fn generated_schema_files() -> Vec<(&'static str, String)> {
    vec![
        (
            crate::model::schema::PLATFORM_SCHEMA_PATH,
            crate::model::schema::platform_schema_text(),
        ),
        (
            "schemas/lock.schema.json",
            crate::vendor::lock::json_schema(),
        ),
    ]
}

pub fn schema(args: &SchemaArgs) -> Result<u8> {
    if let Some(dir) = &args.write {
        for (rel, content) in generated_schema_files() {
            crate::fsutil::write_atomic(&dir.join(rel), content.as_bytes())?;
            eprintln!("wrote {}", dir.join(rel).display());
        }
        return Ok(exit::SUCCESS);
    }
    if let Some(dir) = &args.check {
        let mut stale = Vec::new();
        for (rel, content) in generated_schema_files() {
            let path = dir.join(rel);
            let current = read_generated(&path, content.len())?;
            if current != content {
                stale.push(crate::diff::unified(
                    &path.display().to_string(),
                    &current,
                    &content,
                ));
            }
        }
        if stale.is_empty() {
            return Ok(exit::SUCCESS);
        }
        let mut text = stale.join("");
        text.push_str(&format!(
            "schema files are stale; regenerate them with `meshgen schema --write {}`\n",
            dir.display()
        ));
        stdout_write(&text)?;
        return Ok(exit::FINDINGS);
    }
    stdout_write(&crate::model::schema::platform_schema_text())
}

/// A generated file as it is on disk for `--check`: empty when absent (all of it is then
/// stale), an error naming it when it cannot be read. Only a little more than the expected
/// length is read: anything longer is stale whatever it holds.
fn read_generated(path: &std::path::Path, expected_len: usize) -> Result<String> {
    let limit = expected_len + 1;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let bytes = match crate::fsutil::read_to_limit(file, limit) {
        Ok(bytes) => bytes,
        Err(crate::fsutil::ReadError::Io(e)) => return Err(Error::io(path, e)),
        Err(crate::fsutil::ReadError::TooLarge { .. }) => {
            return Ok(format!("(more than {limit} bytes)\n"))
        }
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn validate(args: &ValidateArgs) -> Result<u8> {
    let dir = current_dir()?;
    let mut code = exit::SUCCESS;
    let mut report = String::new();
    let mut valid = 0;
    for arg in &args.files {
        let outcome = load::find(arg, &dir)
            .and_then(|source| load::load(&source, &[]).map_err(Error::Findings));
        match outcome {
            Ok(loaded) => {
                valid += 1;
                for w in &loaded.warnings {
                    report.push_str(&format!("{w}\n"));
                }
            }
            Err(e @ Error::Findings(_)) => {
                code = code.max(exit::FINDINGS);
                report.push_str(&format!("{e}\n"));
            }
            Err(e) => {
                code = code.max(e.exit_code());
                report.push_str(&format!("error: {e}\n"));
            }
        }
    }
    let n = args.files.len();
    report.push_str(&format!(
        "{valid} of {n} platform file{} valid\n",
        if n == 1 { "" } else { "s" }
    ));
    eprint!("{report}");
    Ok(code)
}

/// Where the lock file lives, relative to the repository.
pub const LOCK_PATH: &str = "vendor/meshgen.lock";

/// The exact version to render a line for: the lock file's when it pins the line, else
/// the version built into meshgen.
pub fn version_for(
    lock: Option<&crate::vendor::lock::Lock>,
    line: ReleaseLine,
) -> (semver::Version, Origin) {
    match lock.and_then(|l| l.version_of(line)) {
        Some(v) => (
            v,
            Origin::Default {
                why: format!("pinned by {LOCK_PATH}"),
            },
        ),
        None => (
            line.pinned_version(),
            Origin::Default {
                why: format!("the version built into meshgen (no {LOCK_PATH} pins it)"),
            },
        ),
    }
}

/// Finds, validates and resolves the platform named by a command's arguments.
pub fn resolve_platform(
    args: &crate::cli::PlatformArgs,
) -> Result<(LoadedPlatform, ResolvedPlatform)> {
    let dir = current_dir()?;
    let lock = crate::vendor::lock::Lock::load(&dir.join(LOCK_PATH))?;
    let (loaded, resolved) = load::resolve_request(&args.request(), &dir, &|line| {
        version_for(lock.as_ref(), line)
    })?;
    print_warnings(&loaded.warnings);
    Ok((loaded, resolved))
}

fn print_warnings(warnings: &[crate::error::Diagnostic]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

pub fn values(args: &ValuesArgs) -> Result<u8> {
    let (_, resolved) = resolve_platform(&args.platform)?;
    let text =
        crate::render::values::render(&resolved).map_err(|e| Error::Render(e.to_string()))?;
    match &args.output {
        Some(path) => crate::fsutil::write_atomic(path, text.as_bytes()).map(|()| exit::SUCCESS),
        None => stdout_write(&text),
    }
}
