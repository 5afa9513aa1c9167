//! rvnet-vmtest: the tests that need the real module in a real kernel.
//!
//! Runs inside the guest (as `qemu/run --load -- rvnet-vmtest`), with rvnet.ko inserted, and
//! prints TAP: `ok N - name` or `not ok N - name` with the reason, then a summary. Exits 1 if
//! any test failed. `rvnet-vmtest NAME...` runs only the named tests; `--list` lists them.
//!
//! Every test leaves the module loaded as it found it, so that tests can run in any order.

mod harness;
mod module;

use harness::Test;

/// Every test, in the order they run.
const TESTS: &[Test] = &[
    Test {
        name: "module_is_live",
        run: module::is_live,
    },
    Test {
        name: "module_version_matches",
        run: module::version_matches,
    },
    Test {
        name: "param_selftest_visible",
        run: module::param_selftest_visible,
    },
    Test {
        name: "load_logged_with_version",
        run: module::load_logged_with_version,
    },
    Test {
        name: "reload_with_selftest_off",
        run: module::reload_with_selftest_off,
    },
    Test {
        name: "bad_param_refused",
        run: module::bad_param_refused,
    },
    Test {
        name: "kunit_suite_passed_in_guest",
        run: module::kunit_suite_passed,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for t in TESTS {
            println!("{}", t.name);
        }
        return;
    }
    let selected: Vec<&Test> = TESTS
        .iter()
        .filter(|t| args.is_empty() || args.iter().any(|a| a == t.name))
        .collect();
    if selected.is_empty() {
        eprintln!("rvnet-vmtest: no test matches {args:?}");
        std::process::exit(2);
    }
    let failed = harness::run(&selected);
    std::process::exit(i32::from(failed > 0));
}
