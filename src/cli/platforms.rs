//! `meshgen platforms`: the platforms of `./platforms/` and the built-ins, one line each.

use super::exit;
use crate::error::Result;

pub fn run() -> Result<u8> {
    let dir = super::current_dir()?;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut code = exit::SUCCESS;
    // Listed as `values` would load them: the version rules with the lock's pins.
    let lock = crate::vendoring::lock::Lock::load(&dir.join(crate::vendoring::lock::LOCK_PATH))
        .ok()
        .flatten();
    let version_for = |line| crate::render::resolve::version_for(lock.as_ref(), line).0;
    for listed in crate::model::load::list(&dir, &version_for)? {
        let local = listed.file.is_some();
        let origin = listed.file.unwrap_or_else(|| "built-in".to_string());
        let description = match listed.description {
            Ok(description) => description,
            // A built-in that does not load is a meshgen bug: the command fails.
            Err(e) if !local => return Err(e),
            // An invalid local platform is still listed, its errors go to stderr and the
            // command exits 1: a name that `values` would refuse must not look fine here.
            Err(e) => {
                code = code.max(super::exit_code(&e));
                anstream::eprintln!("{}", super::format_error(&e));
                "(invalid: run `meshgen validate`)".to_string()
            }
        };
        rows.push((listed.name, origin, description));
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let origin_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (name, origin, description) in rows {
        text.push_str(&format!(
            "{name:<width$}  {origin:<origin_width$}  {description}\n"
        ));
    }
    super::stdout_write(&text)?;
    Ok(code)
}
