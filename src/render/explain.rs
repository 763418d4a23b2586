//! `meshgen explain`: every value of a platform's values file with where it comes from — a
//! line of the platform file, a provider default, a release-line rule, `--set` — so that a
//! reviewer can ask "why is this NodePort?".
//!
//! It reads the rendered values file itself (`origins`), so what it lists is exactly what is
//! emitted.

use crate::error::{Error, Result};
use crate::model::load::LoadedPlatform;
use crate::render::origins::explain_values;
use crate::render::pipeline;
use crate::render::resolve::ResolvedPlatform;

/// "platform file line N" made concrete: the file and the text on that line.
fn with_source_line(why: &str, display: &str, source: &str) -> String {
    const PHRASE: &str = "platform file line ";
    let Some(start) = why.find(PHRASE) else {
        return why.to_string();
    };
    let digits: String = why[start + PHRASE.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let Some(text) = digits
        .parse::<usize>()
        .ok()
        .and_then(|n| source.lines().nth(n.checked_sub(1)?))
    else {
        return why.to_string();
    };
    format!("{why} ({display}:{digits}: `{}`)", text.trim())
}

/// The report of `meshgen explain`: each value of the platform's values file with where it
/// comes from, the platform file's lines quoted.
pub fn report(
    loaded: &LoadedPlatform,
    resolved: &ResolvedPlatform,
    gateway: Option<&str>,
) -> Result<String> {
    use crate::render::values;
    let (file, text) = match gateway {
        None => (
            "values.yaml".to_string(),
            pipeline::render(resolved).map_err(|e| Error::Render(e.to_string()))?,
        ),
        Some(name) => (
            values::gateway_values_file(name),
            pipeline::render_gateway(resolved, name)?,
        ),
    };
    let fallback = format!(
        "meshgen's template for Istio {}: no platform field decides it",
        resolved.line
    );
    let entries = explain_values(&text, &fallback)?;
    let mut out = format!(
        "# {file} of platform {} for Istio {} ({}), {} values\n",
        resolved.name,
        resolved.version,
        resolved.version_origin.describe(),
        entries.len()
    );
    for e in entries {
        out.push_str(&format!(
            "{} = {}\n    {}\n",
            e.path,
            e.value,
            with_source_line(&e.why, &loaded.source.display, &loaded.source.text)
        ));
    }
    Ok(out)
}
