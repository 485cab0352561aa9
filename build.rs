//! Builds the shipped models into the binary: `$OUT_DIR/shipped.rs` holds
//! the text of every `models/policies/*.toml` and `models/environments/*.toml`
//! (read by `src/shipped.rs`), so shipped names work from any directory.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut code = String::new();
    for (konst, dir) in [
        ("POLICIES", "models/policies"),
        ("ENVIRONMENTS", "models/environments"),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        let mut stems: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| {
                println!("cargo:rerun-if-changed={}", p.display());
                p.file_stem().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        stems.sort();
        writeln!(
            code,
            "/// `(name, text)` of every file in `{dir}/`, by name."
        )
        .unwrap();
        writeln!(code, "pub const {konst}: &[(&str, &str)] = &[").unwrap();
        for s in stems {
            let file = Path::new(dir).join(format!("{s}.toml"));
            writeln!(
                code,
                "    ({s:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{}\"))),",
                file.display()
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    std::fs::write(Path::new(&out).join("shipped.rs"), code).expect("write shipped.rs");
}
