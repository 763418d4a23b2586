//! Choosing the release of each line from the remote's tags: the newest tag whose version is
//! in the line's semver range, pre-releases never included.

use crate::error::{Error, Result};
use crate::model::release_line::ReleaseLine;

/// The version a tag name stands for: `1.0.9` or `v1.0.9`; None for other tags.
pub fn parse_tag(name: &str) -> Option<semver::Version> {
    semver::Version::parse(name.strip_prefix('v').unwrap_or(name)).ok()
}

/// The newest release tag of `line` among `tags`, as (version, tag name).
///
/// A pre-release (`-rc.1`, `-beta.0`, `-snapshot.2`) never wins, even when it is the only
/// tag of the line: a vendored chart must be one that was released. The error lists what the
/// remote has, so a typo in `--remote` or a missing fetch is visible at once.
pub fn newest(
    line: ReleaseLine,
    tags: &[String],
    remote: &str,
) -> Result<(semver::Version, String)> {
    let req = line.version_req();
    let best = tags
        .iter()
        .filter_map(|t| parse_tag(t).map(|v| (v, t)))
        .filter(|(v, _)| v.pre.is_empty() && req.matches(v))
        // Only the releases meshgen's facts were checked against (every one the line had).
        .filter(|(v, _)| crate::model::release_line::IstioVersion::exact(v).is_some())
        // On a tie (`1.0.9` and `v1.0.9`) prefer the name without `v`, the upstream form.
        .max_by(|(a, ta), (b, tb)| a.cmp(b).then(tb.len().cmp(&ta.len())));
    match best {
        Some((v, t)) => Ok((v, t.clone())),
        None => Err(Error::Vendor(format!(
            "no release tag of line {line} (range {req}) at {remote}; {}",
            describe_tags(line, tags)
        ))),
    }
}

/// The tag `version` is read from: its own name, else `v<version>`; None when the remote
/// has neither.
pub fn tag_for(version: &semver::Version, tags: &[String]) -> Option<String> {
    let plain = version.to_string();
    let prefixed = format!("v{plain}");
    [plain, prefixed].into_iter().find(|t| tags.contains(t))
}

/// "tags of line 1.0 there: 1.0.0-snapshot.1 (pre-releases never match); N tags in all: ...".
pub fn describe_tags(line: ReleaseLine, tags: &[String]) -> String {
    let (major, minor) = line.major_minor();
    let mut versioned: Vec<(semver::Version, &String)> = tags
        .iter()
        .filter_map(|t| parse_tag(t).map(|v| (v, t)))
        .collect();
    versioned.sort();
    let of_line: Vec<&str> = versioned
        .iter()
        .filter(|(v, _)| v.major == major && v.minor == minor)
        .map(|(_, t)| t.as_str())
        .collect();
    let mut text = if of_line.is_empty() {
        format!("no tag of line {line} there")
    } else {
        format!(
            "tags of line {line} there: {} (pre-releases never match)",
            of_line.join(", ")
        )
    };
    let mut all: Vec<&str> = versioned.iter().map(|(_, t)| t.as_str()).collect();
    let others = tags.iter().filter(|t| parse_tag(t).is_none()).count();
    const SHOWN: usize = 30;
    let total = all.len() + others;
    if all.len() > SHOWN {
        all.drain(..all.len() - SHOWN);
        text.push_str(&format!(
            "; {total} tags in all, the newest versions: {}",
            all.join(", ")
        ));
    } else if total == 0 {
        text.push_str("; the remote has no tags at all");
    } else {
        text.push_str(&format!("; {total} tags in all: {}", all.join(", ")));
        if others > 0 {
            text.push_str(&format!(" and {others} not named as versions"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn newest_release_in_range_wins_and_prereleases_never_do() {
        let t = tags(&[
            "0.6.0",
            "1.0.0-snapshot.1",
            "1.0.0",
            "1.0.2",
            "1.0.10-rc.1",
            "1.1.0",
            "1.11.0-rc.1",
            "1.11.0-beta.0",
            "1.11.0",
            "v1.11.2",
            "1.11.1",
            "latest",
        ]);
        assert_eq!(newest(ReleaseLine::V1_0, &t, "r").unwrap().1, "1.0.2");
        assert_eq!(newest(ReleaseLine::V1_11, &t, "r").unwrap().1, "v1.11.2");
        assert_eq!(
            newest(ReleaseLine::V0_6, &t, "r").unwrap().0,
            semver::Version::new(0, 6, 0)
        );
    }

    #[test]
    fn only_prereleases_is_an_error_that_lists_them() {
        let t = tags(&["1.11.0-rc.1", "1.11.0-beta.0", "1.0.9"]);
        let err = newest(ReleaseLine::V1_11, &t, "file:///r")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no release tag of line 1.11"), "{err}");
        assert!(err.contains("1.11.0-beta.0, 1.11.0-rc.1"), "{err}");
        assert!(err.contains("file:///r"), "{err}");
    }
}
