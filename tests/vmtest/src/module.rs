//! The module as a module: it loads, says who it is, exposes its parameters, refuses bad ones,
//! and reloads cleanly.

use crate::harness::{ensure, ensure_eq, module_path, read, root, sh, TestResult};
use std::path::Path;

/// True while rvnet is loaded.
pub(crate) fn loaded() -> bool {
    Path::new("/sys/module/rvnet").exists()
}

/// Inserts the checkout's rvnet.ko with `args`.
pub(crate) fn insmod(args: &[&str]) -> Result<String, String> {
    let ko = module_path();
    let ko = ko.to_str().ok_or("module path is not UTF-8")?;
    let mut all = vec![ko];
    all.extend_from_slice(args);
    sh("insmod", &all)
}

/// Removes rvnet.
pub(crate) fn rmmod() -> Result<String, String> {
    sh("rmmod", &["rvnet"])
}

/// Puts the module back as the tests expect to find it: loaded, default parameters.
pub(crate) fn restore() -> TestResult {
    if loaded() {
        rmmod()?;
    }
    insmod(&[]).map(|_| ())
}

pub fn is_live() -> TestResult {
    ensure_eq(
        read("/sys/module/rvnet/initstate")?.as_str(),
        "live",
        "initstate",
    )
}

pub fn version_matches() -> TestResult {
    let want = read(root().join("VERSION").to_str().ok_or("path")?)?;
    ensure_eq(
        read("/sys/module/rvnet/version")?,
        want,
        "/sys/module/rvnet/version",
    )
}

pub fn param_selftest_visible() -> TestResult {
    let path = "/sys/module/rvnet/parameters/selftest";
    ensure_eq(read(path)?.as_str(), "1", path)?;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    ensure_eq(
        meta.permissions().mode() & 0o777,
        0o444,
        "parameter permissions",
    )
}

pub fn load_logged_with_version() -> TestResult {
    let want = format!(
        "rvnet: rvnet {} loaded",
        read(root().join("VERSION").to_str().ok_or("path")?)?
    );
    let log = sh("dmesg", &[])?;
    ensure(
        log.contains(&want),
        format!("kernel log has no line {want:?}"),
    )
}

pub fn reload_with_selftest_off() -> TestResult {
    rmmod()?;
    ensure(!loaded(), "/sys/module/rvnet still present after rmmod")?;
    let r = insmod(&["selftest=0"]).and_then(|_| {
        ensure_eq(
            read("/sys/module/rvnet/parameters/selftest")?.as_str(),
            "0",
            "selftest",
        )
    });
    restore()?;
    r
}

pub fn bad_param_refused() -> TestResult {
    rmmod()?;
    let r = match insmod(&["selftest=banana"]) {
        Ok(_) => Err("insmod selftest=banana succeeded".to_string()),
        Err(e) => ensure(
            e.contains("Invalid argument") || e.contains("Invalid parameters"),
            format!("unexpected error: {e}"),
        )
        .and_then(|_| ensure(!loaded(), "module loaded despite the bad parameter")),
    };
    restore()?;
    r
}

/// The KUnit suites the module declares (`#[kunit_tests(NAME)]` in its sources).
fn declared_suites() -> Result<Vec<String>, String> {
    let mut suites = Vec::new();
    let mut dirs = vec![root().join("drivers"), root().join("rust/net")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries {
            let path = e.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                for (i, _) in text.match_indices("#[kunit_tests(") {
                    let rest = &text[i + "#[kunit_tests(".len()..];
                    suites.push(rest.split(')').next().unwrap_or_default().to_string());
                }
            }
        }
    }
    suites.sort();
    suites.dedup();
    Ok(suites)
}

/// The rvnet suites KUnit has results for, by their debugfs directories.
fn suites_in_debugfs() -> Result<Vec<String>, String> {
    let dir = "/sys/kernel/debug/kunit";
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("rvnet_"))
        .collect();
    found.sort();
    Ok(found)
}

/// The KUnit suites run again on a fresh load: rmmod takes their results away, insmod runs
/// every suite the module declares (and no other), each case passes and none is skipped; and
/// every self-test of netcore's table has a case of its own, by name, in rvnet_netcore. (The
/// host counts the cases of the results of the boot's first load; this checks that they are
/// the cases they should be, and that they come from this load.)
pub fn kunit_suite_passed() -> TestResult {
    let want = declared_suites()?;
    ensure(
        want.iter().any(|s| s == "rvnet_netcore"),
        format!("no rvnet_netcore among the declared suites {want:?}"),
    )?;
    rmmod()?;
    let left = suites_in_debugfs();
    let r = (|| {
        let left = left?;
        ensure(
            left.is_empty(),
            format!("KUnit results of {left:?} still there after rmmod"),
        )?;
        insmod(&[])?;
        ensure_eq(suites_in_debugfs()?, want.clone(), "suites run at insmod")?;
        for s in &want {
            let path = format!("/sys/kernel/debug/kunit/{s}/results");
            let res = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            let cases: Vec<&str> = res
                .lines()
                // Cases are indented; the suite's own result line is not.
                .filter(|l| l.starts_with(char::is_whitespace))
                .map(str::trim_start)
                .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
                .collect();
            ensure(!cases.is_empty(), format!("{s}: no cases in:\n{res}"))?;
            for c in &cases {
                ensure(
                    c.starts_with("ok ") && !c.to_ascii_uppercase().contains("# SKIP"),
                    format!("{s}: {c}\n{res}"),
                )?;
            }
            if s == "rvnet_netcore" {
                for (name, _) in netcore::selftest::ALL {
                    ensure(
                        cases
                            .iter()
                            .any(|c| c.split_whitespace().nth(2) == Some(*name)),
                        format!("self-test {name} has no KUnit case of its own in {s}:\n{res}"),
                    )?;
                }
            }
        }
        Ok(())
    })();
    restore()?;
    r
}

/// `family=` picks AF_RVNET's number: a free one works (and the old one is then free), one
/// that another family holds makes the load fail with EBUSY and leaves nothing behind.
pub fn family_param_chooses_the_number() -> TestResult {
    // PF_WANPIPE (25): kept by mainline, no longer registered, like the default 19.
    let with = |family: &str| {
        rmmod()?;
        insmod(&[&format!("family={family}")])
    };
    let r = with("25")
        .and_then(|_| {
            ensure_eq(
                read("/sys/module/rvnet/parameters/family")?.as_str(),
                "25",
                "family",
            )?;
            let probe = |af: &str| {
                sh(
                    "python3",
                    &[
                        "-c",
                        &format!(
                            "import socket,sys\ntry:\n socket.socket({af}, socket.SOCK_DGRAM, 0); print('ok')\nexcept OSError as e: print('errno', e.errno)"
                        ),
                    ],
                )
            };
            ensure_eq(probe("25")?.trim(), "ok", "socket(25, SOCK_DGRAM) with family=25")?;
            // 97: EAFNOSUPPORT, once no module offers 19 (the alias would load this one, which
            // is loaded already with another number).
            ensure_eq(probe("19")?.trim(), "errno 97", "socket(19, SOCK_DGRAM) with family=25")
        })
        .and_then(|_| match with("2") {
            Ok(_) => Err("insmod family=2 (AF_INET's number) succeeded".to_string()),
            Err(e) => ensure(
                e.contains("Device or resource busy"),
                format!("insmod family=2: {e}, want EBUSY (sock_register's answer)"),
            )
            .and_then(|_| ensure(!loaded(), "module loaded despite family=2")),
        });
    restore()?;
    r
}
