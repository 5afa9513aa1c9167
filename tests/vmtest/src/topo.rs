//! Test topologies: rvnic pairs between network namespaces, torn down on drop.

use crate::harness::{ensure, output, sh};
use std::process::{Child, Command, Stdio};

/// Runs `cmd` with `sh -c`; stdout on success, else an error with stderr.
pub fn shell(cmd: &str) -> Result<String, String> {
    sh("sh", &["-c", cmd])
}

/// `sh -c cmd` set to start in network namespace `ns`, as `ip netns exec ns sh -c cmd` would,
/// without the cost of starting `ip` (in the debug guest every program started costs about
/// half a second). The child joins the namespace, then, in a mount namespace of its own,
/// mounts a sysfs that shows that namespace's devices, as `ip netns exec` does.
fn ns_command(ns: &str, cmd: &str) -> Result<Command, String> {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let path = format!("/run/netns/{ns}");
    let file: OwnedFd = std::fs::File::open(&path)
        .map_err(|e| format!("{path}: {e}"))?
        .into();
    let mut c = Command::new("sh");
    c.args(["-c", cmd]);
    // SAFETY: the closure runs in the child between fork and exec and makes only system
    // calls, with C strings built before the fork; `file` lives in the closure.
    unsafe {
        c.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) != 0
                || libc::unshare(libc::CLONE_NEWNS) != 0
            {
                return fail();
            }
            let none = std::ptr::null();
            if libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_SLAVE,
                none.cast(),
            ) != 0
            {
                return fail();
            }
            // A sysfs mounted now lists this namespace's devices; the old one is let go.
            libc::umount2(c"/sys".as_ptr(), libc::MNT_DETACH);
            if libc::mount(
                c"sysfs".as_ptr(),
                c"/sys".as_ptr(),
                c"sysfs".as_ptr(),
                0,
                none.cast(),
            ) != 0
            {
                return fail();
            }
            Ok(())
        });
    }
    Ok(c)
}

/// Runs `cmd` in namespace `ns`.
pub fn in_ns(ns: &str, cmd: &str) -> Result<String, String> {
    output(&mut ns_command(ns, cmd)?, &format!("in {ns}: {cmd}"))
}

/// Starts `cmd` in namespace `ns` in the background, stdout piped.
pub fn spawn_in_ns(ns: &str, cmd: &str) -> Result<Child, String> {
    ns_command(ns, cmd)?
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {cmd}: {e}"))
}

/// Waits until a server started by [`spawn_in_ns`] prints `listening` (it has bound its
/// socket), rather than guessing how long a loaded guest takes to start it. Fails if it ends
/// first.
pub fn listening(c: &mut Child) -> Result<(), String> {
    use std::io::Read;
    let out = c
        .stdout
        .as_mut()
        .ok_or("the server's stdout is not piped")?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match out.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => {
                if line == b"listening" {
                    return Ok(());
                }
                line.clear();
            }
            Ok(1) => line.push(byte[0]),
            Ok(_) => return Err("the server ended before it was listening".into()),
            Err(e) => return Err(format!("reading the server's output: {e}")),
        }
    }
}

/// Waits for a child, returning its stdout, or an error with its stderr.
pub fn finish(c: Child, what: &str) -> Result<String, String> {
    let out = c.wait_with_output().map_err(|e| format!("{what}: {e}"))?;
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(so)
    } else {
        Err(format!(
            "{what}: {}: {} {}",
            out.status,
            so.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Network namespaces, deleted on drop.
pub struct Namespaces(Vec<String>);

impl Namespaces {
    /// Creates the namespaces `names`, with loopback up.
    pub fn new(names: &[&str]) -> Result<Namespaces, String> {
        let ns = Namespaces(names.iter().map(|s| s.to_string()).collect());
        for n in names {
            shell(&format!("ip netns add {n} && ip -n {n} link set lo up"))?;
        }
        Ok(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = shell(&format!("ip netns del {n}"));
        }
    }
}

/// Two namespaces `<tag>a` and `<tag>b` joined by the rvnic pair `<tag>0` (in a) and `<tag>1`
/// (in b), with 198.18.N.1/24 and 2001:2:0:N::1/64 on a, .2 and ::2 on b, both up.
pub struct Pair {
    /// Namespace of the first port.
    pub a: String,
    /// Namespace of the second port.
    pub b: String,
    /// First port.
    pub p0: String,
    /// Second port.
    pub p1: String,
    /// Subnet number N.
    pub n: u8,
}

impl Pair {
    /// Builds the pair; `opts` go to `ip link add` (e.g. "numrxqueues 4 numtxqueues 4").
    pub fn new(tag: &str, n: u8, opts: &str) -> Result<Pair, String> {
        let p = Pair {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
            p0: format!("{tag}0"),
            p1: format!("{tag}1"),
            n,
        };
        shell(&format!(
            "ip netns add {a} && ip netns add {b}",
            a = p.a,
            b = p.b
        ))?;
        shell(&format!(
            "ip link add {p0} netns {a} {opts} type rvnic peer name {p1} netns {b} {opts}",
            p0 = p.p0,
            p1 = p.p1,
            a = p.a,
            b = p.b
        ))?;
        for (ns, dev, host) in [(&p.a, &p.p0, 1), (&p.b, &p.p1, 2)] {
            in_ns(
                ns,
                &format!(
                    "ip link set lo up && ip addr add 198.18.{n}.{host}/24 dev {dev} && \
                     ip -6 addr add 2001:2:0:{n}::{host}/64 dev {dev} nodad && ip link set {dev} up"
                ),
            )?;
        }
        // Carrier comes up once both ends are up.
        if p.wait_carrier(0, true)? && p.wait_carrier(1, true)? {
            return Ok(p);
        }
        Err("carrier did not come up on both ends".into())
    }

    /// Address of end 0 or 1 (IPv4).
    pub fn ip4(&self, end: u8) -> String {
        format!("198.18.{}.{}", self.n, end + 1)
    }

    /// Address of end 0 or 1 (IPv6).
    pub fn ip6(&self, end: u8) -> String {
        format!("2001:2:0:{}::{}", self.n, end + 1)
    }

    /// Namespace of end 0 or 1.
    pub fn ns(&self, end: u8) -> &str {
        if end == 0 {
            &self.a
        } else {
            &self.b
        }
    }

    /// Port of end 0 or 1.
    pub fn dev(&self, end: u8) -> &str {
        if end == 0 {
            &self.p0
        } else {
            &self.p1
        }
    }

    /// Runs `cmd` in end's namespace.
    pub fn run(&self, end: u8, cmd: &str) -> Result<String, String> {
        in_ns(self.ns(end), cmd)
    }

    /// The carrier of end's port, as `/sys/class/net/DEV/carrier` would say while the port is
    /// up: IFF_RUNNING of SIOCGIFFLAGS, asked from this process (no program started).
    pub fn carrier(&self, end: u8) -> Result<bool, String> {
        let dev = self.dev(end).to_string();
        in_netns(self.ns(end), move || {
            let mut ifr = zeroed_ifreq();
            let name = dev.as_bytes();
            if name.len() >= ifr.ifr_name.len() {
                return Err(format!("{dev}: name too long"));
            }
            for (d, s) in ifr.ifr_name.iter_mut().zip(name) {
                *d = *s as libc::c_char;
            }
            // SAFETY: a socket for the ioctl, closed below; the ioctl fills `ifr`, ours.
            let flags = unsafe {
                let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
                if fd < 0 {
                    return Err(format!("socket: {}", std::io::Error::last_os_error()));
                }
                let r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr);
                let e = std::io::Error::last_os_error();
                libc::close(fd);
                if r != 0 {
                    return Err(format!("SIOCGIFFLAGS {dev}: {e}"));
                }
                ifr.ifr_ifru.ifru_flags
            };
            Ok(i32::from(flags) & libc::IFF_RUNNING != 0)
        })
    }

    /// Waits up to ten seconds for end's carrier to be `want` and says whether it became so.
    /// IFF_RUNNING follows the operstate, which linkwatch updates from a workqueue some time
    /// after the driver's netif_carrier_on/off: under load that takes more than a second.
    pub fn wait_carrier(&self, end: u8, want: bool) -> Result<bool, String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if self.carrier(end)? == want {
                return Ok(true);
            }
            if std::time::Instant::now() > deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Sum of a per-queue counter (`rx_queue_*_NAME` or `tx_queue_*_NAME`) over all queues.
    pub fn stat_sum(&self, end: u8, dir: &str, name: &str) -> Result<u64, String> {
        let out = self.run(end, &format!("ethtool -S {}", self.dev(end)))?;
        let mut sum = 0;
        let mut seen = false;
        for line in out.lines() {
            if let Some((k, v)) = line.trim().split_once(": ") {
                if k.starts_with(&format!("{dir}_queue_")) && k.ends_with(&format!("_{name}")) {
                    sum += v.trim().parse::<u64>().map_err(|_| format!("{k}: {v}"))?;
                    seen = true;
                }
            }
        }
        ensure(seen, format!("no {dir}_queue_*_{name} counters"))?;
        Ok(sum)
    }

    /// Sends `bytes` over TCP from end 0 to end 1 and checks every byte arrived intact.
    pub fn tcp_transfer(&self, bytes: u64, port: u16) -> Result<(), String> {
        let sink = spawn_in_ns(
            self.ns(1),
            &format!("rvnet-vmtest tcp-sink {}:{port}", self.ip4(1)),
        )?;
        let src = in_ns(
            self.ns(0),
            &format!("rvnet-vmtest tcp-source {}:{port} {bytes}", self.ip4(1)),
        );
        let got = finish(sink, "tcp-sink")?;
        let src = src?;
        ensure(
            got.contains(&format!("ok {bytes}")),
            format!("sink: {got:?}, source: {src:?}"),
        )
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Deleting the namespaces deletes the ports in them.
        let _ = shell(&format!(
            "ip netns del {} ; ip netns del {}",
            self.a, self.b
        ));
    }
}

/// An all-zero `ifreq`.
fn zeroed_ifreq() -> libc::ifreq {
    // SAFETY: ifreq is plain data (a name and a union of integers); all zeroes is valid.
    unsafe { std::mem::zeroed() }
}

/// Runs `f` on a thread that has joined the network namespace `ns`: the sockets it creates
/// live in `ns` for good, and may be returned and used from any thread.
pub fn in_netns<T: Send>(
    ns: &str,
    f: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String> {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on a namespace file we hold open; it affects this thread only.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(format!("the thread in {ns} panicked")))
    })
}
