//! `meshgen explain`: every value of a platform's values file with where it comes from — a
//! line of the platform file, a provider default, a release-line rule, `--set` — so that a
//! reviewer can ask "why is this NodePort?".
//!
//! It reads the rendered values file itself (`origins`), so what it lists is exactly what is
//! emitted.

use crate::error::Result;
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
    which: pipeline::ValuesFile,
) -> Result<String> {
    let (file, text) = pipeline::render_file(resolved, which)?;
    let fallback = format!(
        "meshgen's template for Istio {}: no platform field decides it",
        resolved.line
    );
    let entries = explain_values(&text, &fallback)?;
    // A canary's file renders its own release.
    let (version, origin) = match (which, &resolved.canary) {
        (pipeline::ValuesFile::Canary, Some(c)) => (&c.version, &c.origin),
        _ => (&resolved.version, &resolved.version_origin),
    };
    let mut out = format!(
        "# {file} of platform {} for Istio {version} ({}), {} values\n",
        resolved.name,
        origin.describe(),
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
