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

/// The KUnit suite ran at the last insmod and every case passed (the host parses the
/// per-case results too; this checks the guest sees the same).
pub fn kunit_suite_passed() -> TestResult {
    let res = read("/sys/kernel/debug/kunit/rvnet_netcore/results")?;
    ensure(
        !res.contains("not ok"),
        format!("a KUnit case failed:\n{res}"),
    )?;
    let cases = res
        .lines()
        .filter(|l| l.trim_start().starts_with("ok "))
        .count();
    ensure(
        cases >= 2,
        format!("only {cases} ok lines in the results:\n{res}"),
    )
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
