//! The changes that turn a chart as it is in git into the chart the release archive shipped.
//! Each has a name recorded in the lock, so a reviewer sees that vendored bytes differ from
//! git on purpose, and how.
//!
//! The edits are textual and narrow: the rest of each file stays byte-identical to upstream,
//! so comments, key order and formatting survive, and the digest stays explainable.

use crate::error::{Error, Result};
use crate::model::release_line::ReleaseLine;
pub use crate::model::release_line::{ChartFix, Edit};
use crate::vendoring::digest::ChartFile;

/// Generates the 0.6 chart's values.yaml from its template, as the release build did.
pub const GENERATE_VALUES_06: &str = "generate-values-0.6";
/// Sets `global.hub` and `global.tag` to the released images instead of the dev defaults.
pub const RELEASE_HUB_TAG: &str = "release-hub-tag";

/// Where the 0.6 release build read the values template from.
pub const VALUES_TEMPLATE_06: &str = "install/kubernetes/templates/helm/istio/values.yaml.tmpl";
/// The hub the release archives point at.
pub const RELEASE_HUB: &str = "docker.io/istio";

/// Fills the placeholders of the 0.6 values template with what the `version` release used:
/// Istio images from docker.io/istio at the release tag, the proxy image named `proxy`, and
/// hyperkube from quay.io/coreos at v1.7.6_coreos.0. Fails if a placeholder is left, so an
/// upstream template with a new placeholder cannot produce a half-filled values.yaml.
pub fn generate_values_06(
    template: &str,
    version: &semver::Version,
    origin: &str,
) -> Result<String> {
    let tag = version.to_string();
    let table: [(&str, &str); 11] = [
        ("{PROXY_HUB}", RELEASE_HUB),
        ("{PROXY_IMAGE}", "proxy"),
        ("{PROXY_TAG}", &tag),
        ("{PILOT_HUB}", RELEASE_HUB),
        ("{PILOT_TAG}", &tag),
        ("{MIXER_HUB}", RELEASE_HUB),
        ("{MIXER_TAG}", &tag),
        ("{CA_HUB}", RELEASE_HUB),
        ("{CA_TAG}", &tag),
        ("{HYPERKUBE_HUB}", "quay.io/coreos/hyperkube"),
        ("{HYPERKUBE_TAG}", "v1.7.6_coreos.0"),
    ];
    let mut text = template.to_string();
    for (placeholder, value) in table {
        text = text.replace(placeholder, value);
    }
    if let Some(left) = leftover_placeholder(&text) {
        return Err(Error::Vendor(format!(
            "{origin}: placeholder `{left}` has no known value for {version}; meshgen knows PROXY_*, PILOT_*, MIXER_*, CA_* and HYPERKUBE_*"
        )));
    }
    Ok(text)
}

fn leftover_placeholder(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(start) = text[i..].find('{').map(|p| p + i) {
        let end = text[start + 1..]
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .map(|p| p + start + 1);
        if let Some(end) = end {
            if bytes[end] == b'}' && end > start + 1 {
                return Some(&text[start..=end]);
            }
        }
        i = start + 1;
    }
    None
}

/// Replaces the values of the `hub:` and `tag:` keys directly under the top-level `global:`
/// mapping with `docker.io/istio` and the release version, keeping everything else, line
/// endings and any trailing comment included. Fails, naming the file, if either line is not
/// where the upstream layout puts it, instead of silently vendoring dev images.
pub fn release_hub_tag(values: &str, version: &semver::Version, origin: &str) -> Result<String> {
    let mut lines: Vec<String> = values.split_inclusive('\n').map(str::to_string).collect();
    let start = lines
        .iter()
        .position(|l| key_of(l) == Some((0, "global")))
        .ok_or_else(|| {
            Error::Vendor(format!(
                "{origin}: no top-level `global:` mapping to set the release hub and tag in"
            ))
        })?;
    let mut child_indent = None;
    let mut hub = None;
    let mut tag = None;
    for (index, line) in lines.iter().enumerate().skip(start + 1) {
        let Some((indent, key)) = key_of(line) else {
            continue;
        };
        if indent == 0 {
            break; // the next top-level key ends the `global:` block
        }
        let child = *child_indent.get_or_insert(indent);
        if indent != child {
            continue; // deeper keys, e.g. `global.proxy.image`, are not ours
        }
        match key {
            "hub" => hub = hub.or(Some(index)),
            "tag" => tag = tag.or(Some(index)),
            _ => {}
        }
    }
    let tag_value = version.to_string();
    for (found, key, value) in [(hub, "hub", RELEASE_HUB), (tag, "tag", tag_value.as_str())] {
        let index = found.ok_or_else(|| {
            Error::Vendor(format!(
                "{origin}: no `global.{key}:` line to set to `{value}`"
            ))
        })?;
        lines[index] = replace_value(&lines[index], value);
    }
    Ok(lines.concat())
}

/// The indentation and key of a `key: ...` line; None for blank, comment and list lines.
fn key_of(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    let indent = line.len() - trimmed.len();
    if trimmed.is_empty() || trimmed.starts_with(['#', '-', '\n', '\r']) {
        return None;
    }
    let colon = trimmed.find(':')?;
    let after = &trimmed[colon + 1..];
    if !(after.is_empty() || after.starts_with([' ', '\n', '\r', '\t'])) {
        return None;
    }
    Some((indent, trimmed[..colon].trim_end()))
}

/// `  hub: gcr.io/x  # note\n` with `docker.io/istio` gives `  hub: docker.io/istio  # note\n`.
fn replace_value(line: &str, value: &str) -> String {
    let colon = line.find(':').expect("key_of found a colon");
    let (head, rest) = line.split_at(colon + 1);
    let ending_at = rest.find(['\r', '\n']).unwrap_or(rest.len());
    let (body, ending) = rest.split_at(ending_at);
    let comment = body.find(" #").map(|p| &body[p..]).unwrap_or_default();
    format!("{head} {value}{comment}{ending}")
}

/// Every chart fix meshgen applies, line by line, each line's in the order it applies them.
pub fn all_chart_fixes() -> impl Iterator<Item = &'static ChartFix> {
    ReleaseLine::ALL
        .into_iter()
        .flat_map(|line| line.spec().chart_fixes)
}

/// Applies the chart fixes for `chart` of `line` at `version` to its files; returns the names
/// applied. `origin` names the chart in git (`1.0.9:install/kubernetes/helm/istio`) for errors.
pub fn apply_chart_fixes(
    line: ReleaseLine,
    chart: &str,
    version: &semver::Version,
    files: &mut Vec<ChartFile>,
    origin: &str,
) -> Result<Vec<String>> {
    let mut applied = Vec::new();
    for fix in line.spec().chart_fixes.iter().filter(|f| f.chart == chart) {
        let wanted = semver::VersionReq::parse(fix.versions).map_err(|e| {
            Error::Vendor(format!(
                "chart fix {}: versions `{}`: {e}",
                fix.name, fix.versions
            ))
        })?;
        if !wanted.matches(version) {
            continue;
        }
        for edit in fix.edits {
            apply_edit(fix.name, edit, files, origin)?;
        }
        applied.push(fix.name.to_string());
    }
    Ok(applied)
}

fn apply_edit(fix: &str, edit: &Edit, files: &mut Vec<ChartFile>, origin: &str) -> Result<()> {
    let fail = |file: &str, why: String| {
        Err(Error::Vendor(format!(
            "{origin}/{file}: chart fix `{fix}` cannot apply: {why}; upstream differs from what meshgen knows, so nothing was vendored"
        )))
    };
    let text_of =
        |files: &[ChartFile], file: &str| -> Option<Result<String>> {
            let found = files.iter().find(|f| f.path == file)?;
            Some(String::from_utf8(found.content.clone()).map_err(|_| {
                Error::Vendor(format!("{origin}/{file}: chart fix `{fix}`: not UTF-8"))
            }))
        };
    match *edit {
        Edit::Replace {
            file,
            anchor,
            with,
            count,
        } => {
            let Some(text) = text_of(files, file) else {
                return fail(file, "the file is missing".into());
            };
            let text = text?;
            let found = text.matches(anchor).count();
            if found != count {
                return fail(
                    file,
                    format!("expected its anchor text {count} time(s), found it {found} time(s)"),
                );
            }
            let entry = files
                .iter_mut()
                .find(|f| f.path == file)
                .expect("found above");
            entry.content = text.replace(anchor, with).into_bytes();
        }
        Edit::MoveCrds { from, to } => {
            let Some(text) = text_of(files, from) else {
                return fail(from, "the file is missing".into());
            };
            let text = text?;
            if !text.contains("crd-install") || !text.contains("kind: CustomResourceDefinition") {
                return fail(
                    from,
                    "it holds no CustomResourceDefinition behind Helm 2's crd-install hook".into(),
                );
            }
            if let Some((number, _)) = text
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains("{{") && !l.trim_start().starts_with('#'))
            {
                return fail(
                    from,
                    format!("line {} has a template action outside a comment, which Helm does not render in crds/", number + 1),
                );
            }
            if files.iter().any(|f| f.path == to) {
                return fail(to, "the destination exists already".into());
            }
            let entry = files
                .iter_mut()
                .find(|f| f.path == from)
                .expect("found above");
            entry.path = to.to_string();
        }
        Edit::DropInstallJob { file, applies } => {
            let Some(text) = text_of(files, file) else {
                return fail(file, "the file is missing".into());
            };
            let text = text?;
            let hooks = text.matches("\"helm.sh/hook\":").count();
            let post_install = text.matches("\"helm.sh/hook\": post-install\n").count();
            if hooks != 1 || post_install != 1 || !text.contains("kind: Job") {
                return fail(
                    file,
                    format!("expected one post-install hook Job, found {hooks} hook(s), {post_install} post-install"),
                );
            }
            if !text.contains(applies) {
                return fail(file, format!("its Job does not apply {applies}"));
            }
            files.retain(|f| f.path != file);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: fn(&str) -> semver::Version = |s| semver::Version::parse(s).unwrap();

    #[test]
    fn fills_every_06_placeholder() {
        let tmpl = "global:\n  proxy:\n    repository: {PROXY_HUB}/{PROXY_IMAGE}\n    tag: {PROXY_TAG}\n  hyperkube:\n    repository: {HYPERKUBE_HUB}\n    tag: {HYPERKUBE_TAG}\nca: {CA_HUB}/istio-ca:{CA_TAG} {PILOT_HUB} {PILOT_TAG} {MIXER_HUB} {MIXER_TAG}\nresources: {}\n";
        let out = generate_values_06(tmpl, &V("0.6.0"), "t").unwrap();
        assert!(
            out.contains("repository: docker.io/istio/proxy\n    tag: 0.6.0\n"),
            "{out}"
        );
        assert!(out.contains("repository: quay.io/coreos/hyperkube\n    tag: v1.7.6_coreos.0\n"));
        assert!(
            out.contains("resources: {}\n"),
            "empty maps are not placeholders"
        );
        let err = generate_values_06("x: {NEW_HUB}\n", &V("0.6.0"), "tmpl").unwrap_err();
        assert!(err.to_string().contains("{NEW_HUB}"), "{err}");
    }

    #[test]
    fn chart_fixes_are_well_formed() {
        let mut names = std::collections::BTreeSet::new();
        for fix in all_chart_fixes() {
            assert!(names.insert(fix.name), "{} named twice", fix.name);
            assert!(
                semver::VersionReq::parse(fix.versions).is_ok(),
                "{}",
                fix.name
            );
            assert!(!fix.edits.is_empty(), "{}", fix.name);
        }
    }

    #[test]
    fn a_replacement_needs_its_anchor_exactly_count_times() {
        let file = |content: &str| ChartFile {
            path: "charts/tracing/templates/ingress-jaeger.yaml".into(),
            mode: crate::vendoring::digest::MODE_FILE,
            content: content.as_bytes().to_vec(),
        };
        let anchor =
            "{{ if (.Values.jaeger.ingress.enabled) and eq .Values.provider \"jaeger\" }}\n";
        let mut files = vec![file(anchor)];
        let applied =
            apply_chart_fixes(ReleaseLine::V1_0, "other", &V("1.0.9"), &mut files, "t").unwrap();
        assert!(applied.is_empty(), "another chart is left alone");
        let mut twice = vec![file(&anchor.repeat(2))];
        let err = apply_edit(
            "jaeger-ingress-condition-1.0",
            &ReleaseLine::V1_0.spec().chart_fixes[1].edits[0],
            &mut twice,
            "1.0.9:x",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("found it 2 time(s)"), "{err}");
    }

    #[test]
    fn an_install_job_is_dropped_only_as_upstream_writes_it() {
        let fix = all_chart_fixes()
            .find(|f| f.name == "custom-resources-jobs-1.0")
            .unwrap();
        let job = |hook: &str, applies: &str| {
            ChartFile {
            path: "charts/security/templates/create-custom-resources-job.yaml".into(),
            mode: crate::vendoring::digest::MODE_FILE,
            content: format!("kind: ServiceAccount\n---\nkind: Job\nmetadata:\n  annotations:\n    \"helm.sh/hook\": {hook}\n    \"helm.sh/hook-delete-policy\": hook-succeeded\nspec:\n  command: [\"run.sh\", \"{applies}\"]\n").into_bytes(),
        }
        };
        let other = ChartFile {
            path: "charts/security/templates/deployment.yaml".into(),
            mode: crate::vendoring::digest::MODE_FILE,
            content: b"kind: Deployment\n".to_vec(),
        };
        let mut files = vec![
            job("post-install", "/tmp/security/custom-resources.yaml"),
            other.clone(),
        ];
        apply_edit(fix.name, &fix.edits[0], &mut files, "1.0.9:x").unwrap();
        assert_eq!(files, vec![other.clone()], "the job's file alone goes");
        for (hook, applies, says) in [
            (
                "post-install,post-upgrade",
                "/tmp/security/custom-resources.yaml",
                "0 post-install",
            ),
            ("post-install", "/tmp/other.yaml", "does not apply"),
        ] {
            let mut files = vec![job(hook, applies)];
            let err = apply_edit(fix.name, &fix.edits[0], &mut files, "1.0.9:x")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(says) && err.contains("custom-resources-jobs-1.0"),
                "{err}"
            );
            assert_eq!(files.len(), 1, "nothing removed on a failed anchor");
        }
        let err = apply_edit(fix.name, &fix.edits[1], &mut vec![other], "1.0.9:x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("grafana") && err.contains("missing"), "{err}");
    }

    #[test]
    fn sets_global_hub_and_tag_only() {
        let values = "# head\nglobal:\n  # Default hub\n  hub: gcr.io/istio-release\r\n\n  tag: release-1.0-latest-daily # daily\n  proxy:\n    hub: keep\n    tag: keep\npilot:\n  hub: keep\n";
        let out = release_hub_tag(values, &V("1.0.9"), "t").unwrap();
        assert_eq!(
            out,
            "# head\nglobal:\n  # Default hub\n  hub: docker.io/istio\r\n\n  tag: 1.0.9 # daily\n  proxy:\n    hub: keep\n    tag: keep\npilot:\n  hub: keep\n"
        );
    }

    #[test]
    fn missing_global_keys_fail_naming_the_file() {
        let err = release_hub_tag(
            "global:\n  hub: x\npilot:\n  tag: y\n",
            &V("1.0.9"),
            "chart/values.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("chart/values.yaml") && err.contains("global.tag"),
            "{err}"
        );
        let err = release_hub_tag("hub: x\n", &V("1.0.9"), "v")
            .unwrap_err()
            .to_string();
        assert!(err.contains("global:"), "{err}");
    }
}
