//! `meshgen validate`: schema, rules and `spec.values` of each platform file; every problem
//! located, a count at the end, all on stderr.

use super::exit;
use crate::error::{Error, Result};
use crate::model::load;
use crate::render::pipeline;
use crate::render::resolve::version_for;
use crate::vendoring::lock::{Lock, LOCK_PATH};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Platform files, or names of platforms (./platforms/NAME.yaml, then built-ins).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

pub fn run(args: &ValidateArgs) -> Result<u8> {
    let dir = super::current_dir()?;
    let mut code = exit::SUCCESS;
    let mut report = String::new();
    let mut valid = 0;
    // The rules that depend on the exact version use the lock's pins, as `values` does; an
    // unreadable lock is `check`'s finding, not validation's: the built-in pins then apply.
    let lock = Lock::load(&dir.join(LOCK_PATH)).ok().flatten();
    for arg in &args.files {
        let outcome = load::find(arg, &dir)
            .and_then(|source| {
                load::load_versioned(&source, &[], &|line| version_for(lock.as_ref(), line).0)
                    .map_err(Error::Findings)
            })
            .and_then(|loaded| {
                // spec.values against what meshgen sets, for the version the lock pins.
                let (version, origin) = version_for(lock.as_ref(), loaded.file.spec.istio);
                pipeline::resolve_loaded(&loaded, version, origin)?;
                Ok(loaded)
            });
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
                code = code.max(super::exit_code(&e));
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
