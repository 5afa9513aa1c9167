//! A small TAP test runner, and the helpers the tests share.
//!
//! Each test runs in a child process of its own (`rvnet-vmtest --child NAME`), in a mount
//! namespace of its own with a private `/run/netns`: the network namespaces a test names
//! ("lx", "rv", ...) are its own, so tests that use the same names can run at once, and
//! whatever a test leaves behind (namespaces, processes) goes with it. Tests marked
//! [`Mode::Alone`] (they unload the module, change its parameters, or read state of the whole
//! machine) run first, one at a time with nothing beside them; the rest then run up to
//! `jobs` at once. Results are printed in table order as soon as every test before them has
//! finished, so the TAP stream is the same whatever order the tests finished in; a test's own
//! output is kept apart and printed, as TAP comments, under its result line if it failed.

use std::collections::VecDeque;
use std::fmt::Display;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The result of one test: `Err` says what went wrong.
pub type TestResult = Result<(), String>;

/// How a test may share the machine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Runs beside other tests: everything it touches is in its own network namespaces.
    Shared,
    /// Runs with no other test: it reloads the module, changes its parameters, or looks at
    /// state of the whole machine (the kernel log, init_net, every rvnic port).
    Alone,
}

/// One test.
pub struct Test {
    /// Name printed in the TAP line.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
    /// Whether it may run beside others.
    pub mode: Mode,
}

/// A test that runs longer than this is killed (with every process it started) and fails.
const TEST_LIMIT: Duration = Duration::from_secs(420);
/// The same for a test that runs alone: the scale tests (100,000 sockets take about 3 min
/// on a fast machine of this kind, and machines differ twofold).
const ALONE_LIMIT: Duration = Duration::from_secs(900);

/// What became of one test.
struct Outcome {
    ok: bool,
    ms: u128,
    /// What the test printed (its error, a panic message), for a failure's diagnostics.
    output: String,
}

/// Runs `tests`, up to `jobs` at once, prints TAP, returns how many failed.
pub fn run(tests: &[&Test], jobs: usize) -> usize {
    println!("TAP version 13");
    println!("1..{}", tests.len());
    let dir = std::env::temp_dir().join(format!("rvnet-vmtest.{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        println!("Bail out! {}: {e}", dir.display());
        return tests.len();
    }
    let mut results: Vec<Option<Outcome>> = tests.iter().map(|_| None).collect();
    let mut printed = 0;
    let mut failed = 0;
    let mut flush = |results: &mut Vec<Option<Outcome>>| {
        while let Some(Some(o)) = results.get(printed) {
            let name = tests[printed].name;
            printed += 1;
            if o.ok {
                println!("ok {printed} - {name} # {} ms", o.ms);
            } else {
                failed += 1;
                println!("not ok {printed} - {name} # {} ms", o.ms);
                for line in o.output.lines() {
                    println!("#   {line}");
                }
            }
        }
    };
    // The tests that run alone first, in table order; then the others, `jobs` at a time.
    for (i, t) in tests.iter().enumerate() {
        if t.mode == Mode::Alone {
            results[i] = Some(run_one(t, &dir).wait());
        }
    }
    flush(&mut results);
    let mut queue: VecDeque<usize> = (0..tests.len())
        .filter(|&i| tests[i].mode == Mode::Shared)
        .collect();
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let mut running = 0;
    loop {
        while running < jobs.max(1) {
            let Some(i) = queue.pop_front() else { break };
            let child = run_one(tests[i], &dir);
            let tx = tx.clone();
            running += 1;
            std::thread::spawn(move || {
                let _ = tx.send((i, child.wait()));
            });
        }
        if running == 0 {
            break;
        }
        match rx.recv() {
            Ok((i, o)) => {
                running -= 1;
                results[i] = Some(o);
                flush(&mut results);
            }
            Err(_) => break,
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "# vmtest: {} passed, {} failed",
        tests.len() - failed,
        failed
    );
    failed
}

/// A test started in its child process (or the reason it could not be).
struct Running {
    child: Result<std::process::Child, String>,
    log: PathBuf,
    start: Instant,
    limit: Duration,
}

fn run_one(t: &Test, dir: &std::path::Path) -> Running {
    let log = dir.join(format!("{}.out", t.name));
    let start = Instant::now();
    let child = (|| {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        Command::new(exe)
            .args(["--child", t.name])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: when it ends, whatever it left running is killed too.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the test's process: {e}"))
    })();
    let limit = match t.mode {
        Mode::Alone => ALONE_LIMIT,
        Mode::Shared => TEST_LIMIT,
    };
    Running {
        child,
        log,
        start,
        limit,
    }
}

impl Running {
    /// Waits for the test (killing it past its limit), then kills what it left behind.
    fn wait(self) -> Outcome {
        let mut child = match self.child {
            Ok(c) => c,
            Err(e) => {
                return Outcome {
                    ok: false,
                    ms: 0,
                    output: e,
                }
            }
        };
        let pid = child.id() as i32;
        let mut timed_out = false;
        loop {
            // Wait without reaping: while the child is a zombie its PID (the process
            // group's ID) cannot be reused, so killing the group below is safe.
            // SAFETY: waitid on our own child, into a zeroed siginfo.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
                )
            };
            // SAFETY: reading the pid of a siginfo that waitid filled (0 if nothing exited).
            if r != 0 || unsafe { info.si_pid() } != 0 {
                break;
            }
            if self.start.elapsed() > self.limit && !timed_out {
                timed_out = true;
                // SAFETY: plain system call on our child's process group.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; the group may be empty already (ESRCH).
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let status = child.wait();
        let ms = self.start.elapsed().as_millis();
        let mut output = std::fs::read_to_string(&self.log).unwrap_or_default();
        let ok = !timed_out && matches!(&status, Ok(s) if s.success());
        if timed_out {
            output += &format!("killed after {} s (the limit)\n", self.limit.as_secs());
        } else if !ok {
            match status {
                Ok(s) if s.code() == Some(1) => {}
                Ok(s) => output += &format!("the test's process ended with {s}\n"),
                Err(e) => output += &format!("waiting for the test's process: {e}\n"),
            }
        }
        Outcome { ok, ms, output }
    }
}

/// The child's side of [`run`]: sets up its own `/run/netns`, runs the test, prints the
/// error if there is one, and exits 0 (passed) or 1 (failed).
pub fn child(t: &Test) -> ! {
    if let Err(e) = private_netns_dir() {
        println!("setting up a private /run/netns: {e}");
        std::process::exit(1);
    }
    let r = (t.run)();
    match r {
        Ok(()) => std::process::exit(0),
        Err(why) => {
            println!("{why}");
            std::process::exit(1);
        }
    }
}

/// Moves this process into a new mount namespace whose `/run/netns` is an empty tmpfs:
/// `ip netns add NAME` here creates a name only this test (and its children) sees.
fn private_netns_dir() -> TestResult {
    let dir = c"/run/netns";
    std::fs::create_dir_all("/run/netns").map_err(|e| format!("mkdir /run/netns: {e}"))?;
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: plain system calls with valid C strings; they affect this process only.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(err("unshare(CLONE_NEWNS)"));
        }
        // Nothing mounted here may propagate back to the rest of the machine.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ) != 0
        {
            return Err(err("mount --make-rslave /"));
        }
        if libc::mount(
            c"none".as_ptr(),
            dir.as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            c"mode=755".as_ptr().cast(),
        ) != 0
        {
            return Err(err("mount tmpfs on /run/netns"));
        }
    }
    Ok(())
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
    let mut c = Command::new(prog);
    c.args(args);
    output(&mut c, &format!("{prog} {}", args.join(" ")))
}

/// Runs `c` to the end; returns its stdout, or an error naming `what`, with the status and
/// stderr.
pub fn output(c: &mut Command, what: &str) -> Result<String, String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{what}: {}: {}",
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
