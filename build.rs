//! Build script: the commit `meshgen --version` names (build/version.rs).

mod version {
    include!("build/version.rs");
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let found = version::find(&dir);
    for path in &found.watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed=build/version.rs");
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap();
    println!(
        "cargo:rustc-env=MESHGEN_LONG_VERSION={}",
        version::long_version(&pkg, found.commit.as_deref())
    );
}
