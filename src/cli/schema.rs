//! `meshgen schema`: prints the platform schema, or writes or checks the committed copies
//! (and the field reference generated with them).

use std::path::PathBuf;

use super::exit;
use crate::error::Result;
use crate::gitops::schemas;

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Write the schema files under DIR/schemas/ and the field reference DIR/docs/platform.md
    /// (regenerates the committed copies).
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    pub write: Option<PathBuf>,
    /// Exit 1 with a diff when the schema files under DIR/schemas/ or DIR/docs/platform.md are
    /// stale.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
}

pub fn run(args: &SchemaArgs) -> Result<u8> {
    if let Some(dir) = &args.write {
        schemas::check_dir(dir, "--write")?;
        for (rel, content) in schemas::files() {
            crate::fsutil::create_parent(&dir.join(rel))?;
            crate::fsutil::write_atomic(&dir.join(rel), content.as_bytes())?;
            eprintln!("wrote {}", dir.join(rel).display());
        }
        return Ok(exit::SUCCESS);
    }
    if let Some(dir) = &args.check {
        schemas::check_dir(dir, "--check")?;
        let stale = schemas::stale(dir)?;
        if stale.is_empty() {
            return Ok(exit::SUCCESS);
        }
        let mut text = stale.join("");
        text.push_str(&format!(
            "schema files are stale; regenerate them with `meshgen schema --write {}`\n",
            dir.display()
        ));
        super::stdout_write(&text)?;
        return Ok(exit::FINDINGS);
    }
    super::stdout_write(&crate::model::schema::platform_schema_text())
}
