//! `meshgen outdated`: for each release line the platforms use, the releases in use (and
//! which platforms are on each), the newest release at the remote, the platforms that
//! `meshgen vendor --update` would move (they follow the line) and those pinned behind it
//! (they move only when their file is edited).

use serde::Serialize;

use crate::error::Result;
use crate::gitops::fleet::Member;
use crate::model::release_line::ReleaseLine;
use crate::vendor::lock::Lock;

/// What `outdated` found, line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Where the releases were listed (the lock's remote after `insteadOf`, or `--remote`).
    pub remote: String,
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
    /// The release the line's followers render: the lock's, else meshgen's built-in pin.
    pub followed: String,
    /// The newest release of the line at the remote.
    pub newest: String,
    /// Each release in use, in version order.
    pub in_use: Vec<InUse>,
    /// Platforms following the line that `meshgen vendor --update` would move to `newest`.
    pub would_move: Vec<String>,
    /// Platforms pinned to a release older than `newest`: (platform, release).
    pub pinned_behind: Vec<Pinned>,
}

/// A release in use and its platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InUse {
    pub version: String,
    /// Platforms that follow the line, on this release through the lock.
    pub following: Vec<String>,
    /// Platforms that name this release exactly.
    pub pinned: Vec<String>,
}

/// A platform pinned to a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pinned {
    pub platform: String,
    pub version: String,
}

/// The report for `members` (the repository's platforms) with `lock`, against the remote's
/// `tags` listed at `remote`.
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
        let (newest, _) = crate::vendor::resolve::newest(line, tags, remote)?;
        let followed = crate::render::resolve::version_for(lock, line.into()).0;
        let mut in_use: Vec<InUse> = Vec::new();
        let mut would_move = Vec::new();
        let mut pinned_behind = Vec::new();
        for member in on_line {
            let (version, following) = match member.istio.exact_version() {
                Some(exact) => (exact, false),
                None => (followed.clone(), true),
            };
            let entry = match in_use
                .iter_mut()
                .position(|u| u.version == version.to_string())
            {
                Some(i) => &mut in_use[i],
                None => {
                    in_use.push(InUse {
                        version: version.to_string(),
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
                        version: version.to_string(),
                    });
                }
            }
        }
        in_use.sort_by_key(|u| semver::Version::parse(&u.version).expect("versions in use parse"));
        lines.push(LineReport {
            line,
            followed: followed.to_string(),
            newest: newest.to_string(),
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
        let status = if line.would_move.is_empty() {
            "followers up to date".to_string()
        } else {
            format!("{} is out", line.newest)
        };
        out.push_str(&format!(
            "Istio {} (follows {}, newest {}): {status}\n",
            line.line, line.followed, line.newest
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

/// The report as one JSON object (`remote`, `outdated`, `lines`).
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
