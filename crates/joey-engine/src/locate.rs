//! Finding the ONNX Runtime shared library (`libonnxruntime.so.*`) at runtime.

use std::path::{Path, PathBuf};

use crate::EngineError;

/// Environment variable with the library path (joey's own; takes precedence over `ORT_DYLIB_PATH`).
pub const ENV_JOEY_ORT_LIBRARY: &str = "JOEY_ORT_LIBRARY";
/// Environment variable the `ort` crate itself understands.
pub const ENV_ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";
/// Where `scripts/install-ort.sh` puts the library, relative to a directory searched.
pub const VENV_PATTERN: &str =
    ".ort/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*";

/// A located ONNX Runtime library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtLibrary {
    pub path: PathBuf,
}

impl OrtLibrary {
    /// [`locate_library`] wrapped in a struct.
    pub fn locate(explicit: Option<&Path>) -> Result<OrtLibrary, EngineError> {
        locate_library(explicit).map(|path| OrtLibrary { path })
    }
}

/// Find the ONNX Runtime shared library.
///
/// Order: `explicit`, then `$JOEY_ORT_LIBRARY`, then `$ORT_DYLIB_PATH`, then the project's own venv
/// ([`VENV_PATTERN`]) searched in the current directory and its ancestors, then in the executable's
/// directory and its ancestors. An explicit path or a set (non-empty) environment variable is
/// authoritative: if it does not name an existing file (or a directory holding `libonnxruntime.so*`)
/// the search stops with an error instead of silently falling back. The error lists every place tried.
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf, EngineError> {
    if let Some(p) = explicit {
        return check_given(p, "explicit path");
    }
    for var in [ENV_JOEY_ORT_LIBRARY, ENV_ORT_DYLIB_PATH] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return check_given(Path::new(&v), &format!("${var}"));
        }
    }
    let mut tried: Vec<String> = vec![
        format!("${ENV_JOEY_ORT_LIBRARY} (unset)"),
        format!("${ENV_ORT_DYLIB_PATH} (unset)"),
    ];
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        bases.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
    {
        for a in dir.ancestors() {
            if !bases.iter().any(|b| b == a) {
                bases.push(a.to_path_buf());
            }
        }
    }
    for base in &bases {
        if let Some(found) = search_venv(base) {
            return Ok(found);
        }
        tried.push(base.join(VENV_PATTERN).display().to_string());
    }
    Err(EngineError::LibraryNotFound(format!(
        "tried {}; run scripts/install-ort.sh or set {ENV_JOEY_ORT_LIBRARY} to the path of libonnxruntime.so",
        tried.join(", ")
    )))
}

fn check_given(p: &Path, what: &str) -> Result<PathBuf, EngineError> {
    if p.is_file() {
        return Ok(p.to_path_buf());
    }
    if p.is_dir() {
        if let Some(found) = best_lib_in(p) {
            return Ok(found);
        }
        return Err(EngineError::LibraryNotFound(format!(
            "tried {what} {} (a directory without libonnxruntime.so*)",
            p.display()
        )));
    }
    Err(EngineError::LibraryNotFound(format!(
        "tried {what} {} (no such file)",
        p.display()
    )))
}

/// `<base>/.ort/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`
fn search_venv(base: &Path) -> Option<PathBuf> {
    let lib = base.join(".ort").join("lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .collect();
    pythons.sort();
    pythons
        .iter()
        .rev()
        .find_map(|py| best_lib_in(&py.join("site-packages/onnxruntime/capi")))
}

/// The most specific `libonnxruntime.so*` (or `.dylib`) file in `dir`: the versioned name wins.
fn best_lib_in(dir: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("libonnxruntime.so")
                || (n.starts_with("libonnxruntime.") && n.ends_with(".dylib"))
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    libs.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    libs.pop()
}
