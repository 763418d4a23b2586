//! `meshgen vendor --check`: recomputes every vendored chart from disk and compares it with
//! the lock, listing each added, removed and changed file. Changes nothing, needs no network.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use super::{digest, VendorArgs};
use crate::error::{exit, Error, Result};
use crate::lock::{self, Lock};

/// Runs the check; the report goes to stdout, exit 1 on any difference.
pub fn run(args: &VendorArgs) -> Result<u8> {
    let lock_path = args.dir.join(lock::FILE_NAME);
    let lock = Lock::load(&lock_path)?.ok_or_else(|| {
        Error::Vendor(format!(
            "--check: no lock at {}; run `meshgen vendor` first",
            lock_path.display()
        ))
    })?;
    let mut report = String::new();
    let mut differences = 0;
    let mut charts = 0;
    for entry in &lock.lines {
        if !args.lines.is_empty() && !args.lines.contains(&entry.line) {
            continue;
        }
        let release = args.dir.join("istio").join(&entry.version);
        if let Ok(listing) = std::fs::read_dir(&release) {
            let mut extra: Vec<String> = listing
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !entry.charts.iter().any(|c| &c.name == name))
                .collect();
            extra.sort();
            for name in extra {
                differences += 1;
                let _ = writeln!(
                    report,
                    "{}: added (not in the lock)",
                    release.join(name).display()
                );
            }
        }
        for chart in &entry.charts {
            charts += 1;
            let root = release.join(&chart.name);
            if !root.is_dir() {
                differences += 1;
                let _ = writeln!(
                    report,
                    "{}: missing; run `meshgen vendor --locked`",
                    root.display()
                );
                continue;
            }
            let files = match digest::read_dir(&root) {
                Ok(files) => files,
                Err(e) => {
                    differences += 1;
                    let _ = writeln!(report, "{e}");
                    continue;
                }
            };
            let on_disk: BTreeMap<&str, String> = files
                .iter()
                .map(|f| (f.path.as_str(), digest::file_entry(f)))
                .collect();
            let mut found = 0;
            for (path, want) in &chart.files {
                match on_disk.get(path.as_str()) {
                    None => {
                        found += 1;
                        let _ = writeln!(report, "{}: removed", root.join(path).display());
                    }
                    Some(got) if got != want => {
                        found += 1;
                        let what = if got[..6] != want[..6] {
                            "mode changed"
                        } else {
                            "changed"
                        };
                        let _ = writeln!(report, "{}: {what}", root.join(path).display());
                    }
                    Some(_) => {}
                }
            }
            for path in on_disk.keys().filter(|p| !chart.files.contains_key(**p)) {
                found += 1;
                let _ = writeln!(report, "{}: added", root.join(path).display());
            }
            if found == 0 && digest::chart_digest(&files) != chart.digest {
                // The files match their entries but not the chart digest: the lock was edited.
                found += 1;
                let _ = writeln!(
                    report,
                    "{}: files match the lock but the chart digest {} does not; the lock was edited",
                    root.display(),
                    chart.digest
                );
            }
            differences += found;
        }
    }
    let code = if differences == 0 {
        let _ = writeln!(report, "ok: {charts} charts match {}", lock_path.display());
        exit::SUCCESS
    } else {
        let _ = writeln!(
            report,
            "{differences} difference{} from {}",
            if differences == 1 { "" } else { "s" },
            lock_path.display()
        );
        exit::FINDINGS
    };
    let mut out = std::io::stdout().lock();
    out.write_all(report.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(code)
}
