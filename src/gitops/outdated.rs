//! `meshgen outdated`: for each release line the platforms use, the release the lock follows,
//! the releases in use (and which platforms are on each), the newest release at the remote,
//! the platforms that `meshgen vendor --update` would move (they follow the line) and those
//! pinned behind it (they move only when their file is edited).

use semver::Version;
use serde::Serialize;

use crate::error::Result;
use crate::gitops::fleet::Member;
use crate::model::release_line::ReleaseLine;
use crate::vendoring::lock::Lock;

/// What `outdated` found, line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Where the releases were listed (the lock's remote after `insteadOf`, or `--remote`).
    pub remote: String,
    /// The lines some platform uses, in line order.
    pub lines: Vec<LineReport>,
}

impl Report {
    /// Whether `meshgen vendor --update` would move a platform. A platform pinned behind is
    /// listed but is not outdated: its pin is a choice, moved by an edit of its file.
    pub fn is_outdated(&self) -> bool {
        self.lines.iter().any(|l| !l.would_move.is_empty())
    }
}

/// One release line in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineReport {
    pub line: ReleaseLine,
    /// The release the lock follows for the line; `None` (JSON `null`) when it follows none,
    /// and the line's followers then render meshgen's built-in pin.
    pub followed: Option<Version>,
    /// The newest release of the line at the remote (among the releases meshgen knows).
    pub newest: Version,
    /// Each release in use, in version order.
    pub in_use: Vec<InUse>,
    /// Platforms following the line that `meshgen vendor --update` would move to `newest`.
    pub would_move: Vec<String>,
    /// Platforms pinned to a release older than `newest`.
    pub pinned_behind: Vec<Pinned>,
}

impl LineReport {
    /// Whether some platform follows the line.
    pub fn has_followers(&self) -> bool {
        self.in_use.iter().any(|u| !u.following.is_empty())
    }

    /// Followers are on a release newer than the remote's newest (a mirror behind, the wrong
    /// remote): `vendor --update` would move them back to `newest`.
    pub fn remote_behind(&self) -> bool {
        self.in_use
            .iter()
            .any(|u| !u.following.is_empty() && u.version > self.newest)
    }
}

/// A release in use and its platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InUse {
    pub version: Version,
    /// Platforms that follow the line, on this release through the lock (or meshgen's pin).
    pub following: Vec<String>,
    /// Platforms that name this release exactly.
    pub pinned: Vec<String>,
}

/// A platform pinned to a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pinned {
    pub platform: String,
    pub version: Version,
}

/// The report for `members` (the repository's platforms) with `lock`, against the remote's
/// `tags` listed at `remote`. A line in use without a release at the remote is an error.
pub fn report(
    members: &[Member],
    lock: Option<&Lock>,
    tags: &[String],
    remote: &str,
) -> Result<Report> {
    let mut lines = Vec::new();
    for line in ReleaseLine::ALL {
        let on_line: Vec<&Member> = members.iter().filter(|m| m.istio.line == line).collect();
        if on_line.is_empty() {
            continue;
        }
        let (newest, _) = crate::vendoring::resolve::newest(line, tags, remote)?;
        let mut in_use: Vec<InUse> = Vec::new();
        let mut would_move = Vec::new();
        let mut pinned_behind = Vec::new();
        for member in on_line {
            // What the platform renders: its exact release, else the lock's (or the pin).
            let (version, _) = crate::render::resolve::version_for(lock, member.istio);
            let following = member.istio.exact_version().is_none();
            let entry = match in_use.iter().position(|u| u.version == version) {
                Some(i) => &mut in_use[i],
                None => {
                    in_use.push(InUse {
                        version: version.clone(),
                        following: Vec::new(),
                        pinned: Vec::new(),
                    });
                    in_use.last_mut().expect("just pushed")
                }
            };
            if following {
                entry.following.push(member.name.clone());
                if version < newest {
                    would_move.push(member.name.clone());
                }
            } else {
                entry.pinned.push(member.name.clone());
                if version < newest {
                    pinned_behind.push(Pinned {
                        platform: member.name.clone(),
                        version,
                    });
                }
            }
        }
        in_use.sort_by(|a, b| a.version.cmp(&b.version));
        lines.push(LineReport {
            line,
            followed: lock.and_then(|l| l.followed(line)),
            newest,
            in_use,
            would_move,
            pinned_behind,
        });
    }
    Ok(Report {
        remote: remote.to_string(),
        lines,
    })
}

/// The report as text, a block per line.
pub fn format_text(report: &Report) -> String {
    let mut out = String::new();
    for line in &report.lines {
        let status = if !line.would_move.is_empty() {
            format!("{} is out", line.newest)
        } else if line.has_followers() {
            "followers up to date".to_string()
        } else {
            "no platform follows the line".to_string()
        };
        let follows = match &line.followed {
            Some(version) => format!("follows {version}"),
            None => "the lock follows no release".to_string(),
        };
        out.push_str(&format!(
            "Istio {} ({follows}, newest {}): {status}\n",
            line.line, line.newest
        ));
        for used in &line.in_use {
            let mut who = Vec::new();
            if !used.following.is_empty() {
                who.push(format!("following: {}", used.following.join(", ")));
            }
            if !used.pinned.is_empty() {
                who.push(format!("pinned: {}", used.pinned.join(", ")));
            }
            out.push_str(&format!("  {:<8} {}\n", used.version, who.join("; ")));
        }
        if !line.would_move.is_empty() {
            out.push_str(&format!(
                "  `meshgen vendor --update` moves to {}: {}\n",
                line.newest,
                line.would_move.join(", ")
            ));
        }
        if line.remote_behind() {
            out.push_str(&format!(
                "  the remote's newest release is older than the followers': `meshgen vendor --update` would move the followers back to {}; is {} the right remote?\n",
                line.newest, report.remote
            ));
        }
        if !line.pinned_behind.is_empty() {
            let pinned: Vec<String> = line
                .pinned_behind
                .iter()
                .map(|p| format!("{} ({})", p.platform, p.version))
                .collect();
            out.push_str(&format!(
                "  pinned behind {}, moved only by editing their spec.istio: {}\n",
                line.newest,
                pinned.join(", ")
            ));
        }
    }
    out
}

/// The report as one JSON object: `remote`, `lines`, then `outdated` (`Report::is_outdated`).
pub fn format_json(report: &Report) -> String {
    let mut value = serde_json::to_value(report).expect("the report serializes");
    value
        .as_object_mut()
        .expect("an object")
        .insert("outdated".into(), report.is_outdated().into());
    let mut text = serde_json::to_string_pretty(&value).expect("json");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::release_line::IstioVersion;
    use crate::vendoring::lock::LockedRelease;

    fn member(name: &str, istio: &str) -> Member {
        Member {
            name: name.to_string(),
            file: format!("platforms/{name}.yaml").into(),
            istio: istio.parse::<IstioVersion>().unwrap(),
            canary: None,
        }
    }

    /// A lock holding `releases`, following `follow`.
    fn lock(releases: &[&str], follow: &[&str]) -> Lock {
        let mut lock = Lock::new("r");
        for version in releases {
            let v = Version::parse(version).unwrap();
            let line = ReleaseLine::of_version(&v).unwrap();
            lock.upsert(LockedRelease {
                line,
                version: version.to_string(),
                tag: version.to_string(),
                commit: "0".repeat(40),
                charts: Vec::new(),
            });
            if follow.contains(version) {
                lock.follow.insert(line, version.to_string());
            }
        }
        lock
    }

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn followers_behind_move_and_pins_behind_are_listed_apart() {
        let members = [
            member("a", "1.11"),
            member("b", "1.11.4"),
            member("c", "1.11.8"),
            member("d", "1.11"),
        ];
        let lock = lock(&["1.11.4", "1.11.8"], &["1.11.4"]);
        let report = report(&members, Some(&lock), &tags(&["1.11.4", "1.11.8"]), "r").unwrap();
        assert!(report.is_outdated());
        let line = &report.lines[0];
        assert_eq!(
            (line.followed.clone(), line.newest.clone()),
            (Some(v("1.11.4")), v("1.11.8"))
        );
        assert_eq!(line.would_move, ["a", "d"]);
        assert_eq!(
            line.pinned_behind,
            [Pinned {
                platform: "b".into(),
                version: v("1.11.4")
            }]
        );
        assert_eq!(
            line.in_use,
            [
                InUse {
                    version: v("1.11.4"),
                    following: vec!["a".into(), "d".into()],
                    pinned: vec!["b".into()],
                },
                InUse {
                    version: v("1.11.8"),
                    following: vec![],
                    pinned: vec!["c".into()],
                },
            ]
        );
    }

    #[test]
    fn only_the_lines_in_use_and_pins_alone_are_not_outdated() {
        let members = [member("p", "1.0.2")];
        let lock = lock(&["1.0.2"], &[]);
        let report = report(
            &members,
            Some(&lock),
            &tags(&["0.6.0", "1.0.2", "1.0.9"]),
            "r",
        )
        .unwrap();
        assert_eq!(report.lines.len(), 1);
        assert!(!report.is_outdated());
        assert_eq!(report.lines[0].followed, None);
        let text = format_text(&report);
        assert!(
            text.starts_with(
                "Istio 1.0 (the lock follows no release, newest 1.0.9): no platform follows the line\n"
            ),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&format_json(&report)).unwrap();
        assert_eq!(json["lines"][0]["followed"], serde_json::Value::Null);
        assert_eq!(json["lines"][0]["pinnedBehind"][0]["version"], "1.0.2");
        assert_eq!(json["outdated"], false);
    }

    #[test]
    fn without_a_lock_followers_are_on_the_pin() {
        // meshgen's pin of 1.0 is 1.0.9: a remote whose newest is 1.0.9 moves nobody.
        let members = [member("k", "1.0")];
        let report = report(&members, None, &tags(&["1.0.2", "1.0.9"]), "r").unwrap();
        assert!(!report.is_outdated());
        assert_eq!(report.lines[0].in_use[0].version, v("1.0.9"));
        assert_eq!(report.lines[0].followed, None);
    }

    #[test]
    fn a_remote_behind_the_lock_is_told_and_moves_nobody_forward() {
        let members = [member("s", "1.11")];
        let lock = lock(&["1.11.8"], &["1.11.8"]);
        let with_lock = report(&members, Some(&lock), &tags(&["1.11.4"]), "mirror").unwrap();
        assert!(!with_lock.is_outdated());
        assert!(with_lock.lines[0].remote_behind());
        let text = format_text(&with_lock);
        assert!(
            text.contains("would move the followers back to 1.11.4; is mirror the right remote?"),
            "{text}"
        );
        // Without a lock, the followers are on meshgen's pin (1.11.8) all the same.
        let without = report(&members, None, &tags(&["1.11.4"]), "mirror").unwrap();
        assert!(without.lines[0].remote_behind());
    }

    #[test]
    fn a_line_in_use_without_a_release_at_the_remote_is_an_error() {
        let err = report(&[member("k", "1.0")], None, &tags(&["1.11.8"]), "r")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no release tag of line 1.0"), "{err}");
    }
}
