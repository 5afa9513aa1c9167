// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/rvnet`: one directory per namespace, one read-only file per table, each written
//! by the family through the kernel crate's [`SeqFile`] (`seq_file`, single-shot).

use super::ffi;
use super::namespace::Pernet;
use super::proto::Family;
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::seq_file::SeqFile;
use kernel::seq_print;
use kernel::str::CStrExt;

/// The `/proc/net/rvnet` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcFile {
    /// `dev`: attached interfaces.
    Dev,
    /// `arp`: the ARP cache.
    Arp,
    /// `route`: the FIB.
    Route,
    /// `sockets`: bound sockets.
    Sockets,
    /// `stats`: counters.
    Stats,
}

impl ProcFile {
    const ALL: [(ProcFile, &'static kernel::str::CStr); 5] = [
        (ProcFile::Dev, c"dev"),
        (ProcFile::Arp, c"arp"),
        (ProcFile::Route, c"route"),
        (ProcFile::Sockets, c"sockets"),
        (ProcFile::Stats, c"stats"),
    ];
}

/// A `/proc` file being written, as a `fmt::Write` sink.
pub struct SeqWriter<'a>(&'a SeqFile);

impl core::fmt::Write for SeqWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        seq_print!(self.0, "{}", s);
        Ok(())
    }
}

/// # Safety
///
/// Called by the seq_file core for a file made by [`create_proc_dir`]: `seq` is valid for
/// the call, and its `private` is the namespace (`proc_create_net_single`), which is live.
unsafe extern "C" fn show<T: Family, const FILE: usize>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    let Some(&(file, _)) = ProcFile::ALL.get(FILE) else {
        return 0;
    };
    // SAFETY: per the contract, `seq` is valid and ours alone during the call.
    let net = unsafe { (*seq).private }.cast::<bindings::net>();
    // SAFETY: as above: the namespace is live while its /proc files can be read.
    if let Some(state) = unsafe { Pernet::<T>::state_of(net) } {
        // SAFETY: as above.
        let sf = unsafe { SeqFile::from_raw(seq) };
        T::proc_show(state, file, &mut SeqWriter(sf));
    }
    0
}

/// Makes `/proc/net/rvnet` and its files in `net`; null if there is no memory for it (the
/// stack works without).
///
/// # Safety
///
/// `net` must be live; the caller removes the directory (`proc_remove`) before `T`'s state for
/// `net` is freed.
pub(crate) unsafe fn create_proc_dir<T: Family>(
    net: *mut bindings::net,
) -> *mut bindings::proc_dir_entry {
    type Show = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> c_int;
    let shows: [Show; 5] = [
        show::<T, 0>,
        show::<T, 1>,
        show::<T, 2>,
        show::<T, 3>,
        show::<T, 4>,
    ];
    // SAFETY: `net` is live.
    let dir = unsafe { ffi::rvnet_proc_net_mkdir(net, c"rvnet".as_char_ptr()) };
    if dir.is_null() {
        return dir;
    }
    for (&(_, name), show) in ProcFile::ALL.iter().zip(shows) {
        // SAFETY: `dir` is ours; the file passes `net` to `show` as `seq->private`. A file
        // that cannot be made is left out.
        unsafe {
            bindings::proc_create_net_single(
                name.as_char_ptr(),
                0o444,
                dir,
                Some(show),
                core::ptr::null_mut(),
            )
        };
    }
    dir
}
