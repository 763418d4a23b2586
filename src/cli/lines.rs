//! `meshgen lines`: the release lines, their pinned versions, their releases and charts.

use crate::error::Result;
use crate::model::release_line::ReleaseLine;

pub fn run() -> Result<u8> {
    let mut text = String::new();
    for line in ReleaseLine::ALL {
        let charts: Vec<&str> = line.charts().iter().map(|c| c.name).collect();
        text.push_str(&format!(
            "{:<5} {:<8} {:<18} {}\n",
            line.as_str(),
            line.pinned_version(),
            line.describe_releases(),
            charts.join(", ")
        ));
    }
    super::stdout_write(&text)
}
