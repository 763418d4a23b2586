//! The render pipeline on top of its stages: a validated platform is resolved
//! (`resolve`), its `spec.values` held against what the line's template sets (`merge`'s
//! conflicts), the template rendered (`values`) and `spec.values` merged in (`merge`).
//! Every command that writes or reads a values file goes through here; `explain` sits on
//! top of it.

use crate::error::{Error, Result};
use crate::model::load::{self, LoadedPlatform, PlatformRequest};
use crate::model::release_line::IstioVersion;
use crate::render::merge;
use crate::render::resolve::{self, ChartValue, Origin, ResolvedPlatform};
use crate::render::values::{self, GatewayFileError, RenderError};

/// Finds, validates and resolves the platform a command asked for. The exact Istio
/// version comes from `version_for` (the lock file, else the built-in pin).
pub fn resolve_request(
    request: &PlatformRequest,
    dir: &std::path::Path,
    version_for: &dyn Fn(IstioVersion) -> (semver::Version, Origin),
) -> Result<(LoadedPlatform, ResolvedPlatform)> {
    let loaded = load::load_request(request, dir, &|istio| version_for(istio).0)?;
    let (version, origin) = version_for(loaded.file.spec.istio);
    let resolved = resolve_loaded(&loaded, version, origin)?;
    Ok((loaded, resolved))
}

/// Resolves a loaded platform and holds its `spec.values` against what meshgen sets
/// (`conflicts`): every key a typed field sets is a located error.
pub fn resolve_loaded(
    loaded: &LoadedPlatform,
    version: semver::Version,
    version_origin: Origin,
) -> Result<ResolvedPlatform> {
    let resolved = resolve::resolve(&loaded.file, &loaded.doc, version, version_origin);
    let found = conflicts(&resolved).map_err(|e| Error::Render(e.to_string()))?;
    if found.is_empty() {
        return Ok(resolved);
    }
    Err(Error::Findings(
        found.into_iter().map(|f| loaded.locate(f)).collect(),
    ))
}

/// The keys of `spec.values` that meet one meshgen sets for this platform, as findings at
/// `spec.values.<key>`.
pub fn conflicts(
    platform: &ResolvedPlatform,
) -> std::result::Result<Vec<crate::model::rules::Finding>, RenderError> {
    if platform.values.is_empty() {
        return Ok(Vec::new());
    }
    let text = values::template(platform, None)?;
    merge::conflicts(&text, platform.line, &platform.values)
}

/// The values file of a resolved platform: the line's template, then `spec.values` merged in.
pub fn render(platform: &ResolvedPlatform) -> std::result::Result<String, RenderError> {
    render_in(platform, None)
}

/// `render`, the header's commands taking the values file from `values_dir` (what `generate`
/// writes, whose commands run from the repository root).
pub fn render_in(
    platform: &ResolvedPlatform,
    values_dir: Option<&str>,
) -> std::result::Result<String, RenderError> {
    let text = values::template(platform, values_dir)?;
    merge::merge(&text, platform.line, &platform.values)
}

/// The values file of an extra gateway's own release (1.11): the platform's values with that
/// gateway in the `istio-ingress` chart's place, its name and labels.
pub fn render_gateway(
    platform: &ResolvedPlatform,
    name: &str,
) -> std::result::Result<String, GatewayFileError> {
    render_gateway_in(platform, name, None)
}

/// `render_gateway`, its header's commands taking the values file from `values_dir`.
pub fn render_gateway_in(
    platform: &ResolvedPlatform,
    name: &str,
    values_dir: Option<&str>,
) -> std::result::Result<String, GatewayFileError> {
    let text = values::gateway_template(platform, name, values_dir)?;
    Ok(merge::merge(
        &text,
        platform.line,
        &global_values(platform),
    )?)
}

/// The values file of a canary control plane's own release (1.11): the platform's values at
/// the canary's release and revision, `spec.values` merged in as into `values.yaml` (mesh
/// config, pilot's settings: the canary runs the mesh the stable one runs).
pub fn render_canary(platform: &ResolvedPlatform) -> std::result::Result<String, RenderError> {
    render_canary_in(platform, None)
}

/// The canary's values file, as (file name, text), when the platform has a canary.
pub fn render_canary_file(
    platform: &ResolvedPlatform,
    values_dir: Option<&str>,
) -> std::result::Result<Option<(String, String)>, RenderError> {
    let Some(canary) = &platform.canary else {
        return Ok(None);
    };
    let text = render_canary_in(platform, values_dir)?;
    Ok(Some((values::canary_values_file(canary), text)))
}

/// `render_canary`, its header's commands taking the values file from `values_dir`.
pub fn render_canary_in(
    platform: &ResolvedPlatform,
    values_dir: Option<&str>,
) -> std::result::Result<String, RenderError> {
    let text = values::canary_template(platform, values_dir)?;
    merge::merge(&text, platform.line, &platform.values)
}

/// Of `spec.values`, `global` is every release's; the rest belongs to the charts and the
/// gateway of the platform's own values file.
fn global_values(platform: &ResolvedPlatform) -> Vec<ChartValue> {
    platform
        .values
        .iter()
        .filter(|v| v.key == "global")
        .cloned()
        .collect()
}

/// The values files of a platform's extra gateways that are releases of their own (1.11), by
/// gateway name; none on other lines.
pub fn render_gateways(
    platform: &ResolvedPlatform,
) -> std::result::Result<Vec<(String, String)>, GatewayFileError> {
    render_gateways_in(platform, None)
}

/// `render_gateways`, their headers' commands taking the values files from `values_dir`.
pub fn render_gateways_in(
    platform: &ResolvedPlatform,
    values_dir: Option<&str>,
) -> std::result::Result<Vec<(String, String)>, GatewayFileError> {
    if !platform.line.extra_gateways_are_releases() {
        return Ok(Vec::new());
    }
    platform
        .gateways
        .iter()
        .map(|g| {
            render_gateway_in(platform, &g.name, values_dir).map(|text| (g.name.clone(), text))
        })
        .collect()
}
