//! A small TAP test runner, and the helpers the tests share.

use std::fmt::Display;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The result of one test: `Err` says what went wrong.
pub type TestResult = Result<(), String>;

/// One test.
pub struct Test {
    /// Name printed in the TAP line.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

/// Runs `tests`, prints TAP, returns how many failed.
pub fn run(tests: &[&Test]) -> usize {
    println!("TAP version 13");
    println!("1..{}", tests.len());
    let mut failed = 0;
    for (i, t) in tests.iter().enumerate() {
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(t.run)
            .unwrap_or_else(|_| Err("the test panicked".to_string()));
        let ms = start.elapsed().as_millis();
        match outcome {
            Ok(()) => println!("ok {} - {} # {} ms", i + 1, t.name, ms),
            Err(why) => {
                failed += 1;
                println!("not ok {} - {} # {} ms", i + 1, t.name, ms);
                for line in why.lines() {
                    println!("#   {line}");
                }
            }
        }
    }
    println!(
        "# vmtest: {} passed, {} failed",
        tests.len() - failed,
        failed
    );
    failed
}

/// Fails with `what` unless `cond`.
pub fn ensure(cond: bool, what: impl Display) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

/// Fails unless `got == want`, saying both.
pub fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> TestResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// The checkout (the guest sees it at the host's path).
pub fn root() -> PathBuf {
    std::env::var_os("RVNET_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The built module.
pub fn module_path() -> PathBuf {
    root().join("rvnet.ko")
}

/// Runs a command; returns its stdout, or an error with its stderr and status.
pub fn sh(prog: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{prog} {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Reads a file to a trimmed string.
pub fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{path}: {e}"))
}
