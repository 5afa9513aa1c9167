// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/rvnet`: one directory per namespace, one read-only file per table, each written
//! by the family through the kernel crate's [`SeqFile`], a row at a time.
//!
//! The files are `seq_file`s with their own `seq_operations` (`proc_create_net_data`), so a
//! table is read in pieces, not built into one buffer: a row is whatever the family calls
//! one (a socket, or a whole small table), found by a cursor of the family's choosing
//! ([`Family::proc_next`]) and written by [`Family::proc_row`], each under the family's locks
//! for that row only. A read resumes at the next cursor; rows added or removed meanwhile
//! are seen or not, none that stays is skipped.

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

/// The namespace of a file made by [`create_proc_dir`].
///
/// # Safety
///
/// `seq` must be such a file during one of its `seq_operations`: its `private` is the
/// `seq_net_private` that `proc_create_net_data` made, whose namespace is live.
unsafe fn state<'a, T: Family>(seq: *mut bindings::seq_file) -> Option<&'a T::Net> {
    // SAFETY: per the contract.
    let net = unsafe { (*(*seq).private.cast::<bindings::seq_net_private>()).net };
    // SAFETY: as above: the namespace is live while its /proc files can be read.
    unsafe { Pernet::<T>::state_of(net) }
}

/// A row's token for the seq_file core: its cursor plus one, so that it is never null.
fn token(cursor: u64) -> *mut c_void {
    usize::try_from(cursor)
        .ok()
        .and_then(|c| c.checked_add(1))
        .map_or(core::ptr::null_mut(), |t| t as *mut c_void)
}

/// The cursor of a token made by [`token`].
fn cursor(v: *mut c_void) -> u64 {
    (v as usize).saturating_sub(1) as u64
}

/// The first row of `FILE` at or after `from`, with `*pos` set to it; null at the end.
///
/// # Safety
///
/// As [`state`]; `pos` is the seq_file core's position, valid for the call.
unsafe fn seek<T: Family, const FILE: usize>(
    seq: *mut bindings::seq_file,
    from: u64,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    let Some(&(file, _)) = ProcFile::ALL.get(FILE) else {
        return core::ptr::null_mut();
    };
    // SAFETY: per the contract.
    let Some(net) = (unsafe { state::<T>(seq) }) else {
        return core::ptr::null_mut();
    };
    let Some(c) = T::proc_next(net, file, from) else {
        return core::ptr::null_mut();
    };
    // SAFETY: per the contract.
    unsafe { *pos = i64::try_from(c).unwrap_or(i64::MAX) };
    token(c)
}

/// # Safety
///
/// Called by the seq_file core for a file made by [`create_proc_dir`], with its position.
unsafe extern "C" fn start<T: Family, const FILE: usize>(
    seq: *mut bindings::seq_file,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: per the contract.
    let from = u64::try_from(unsafe { *pos }).unwrap_or(u64::MAX);
    // SAFETY: per the contract.
    unsafe { seek::<T, FILE>(seq, from, pos) }
}

/// # Safety
///
/// As [`start`], with a token that `start` or `next` returned.
unsafe extern "C" fn next<T: Family, const FILE: usize>(
    seq: *mut bindings::seq_file,
    v: *mut c_void,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    let from = cursor(v).saturating_add(1);
    // The position moves on even at the end, as the seq_file core requires.
    // SAFETY: per the contract.
    unsafe { *pos = i64::try_from(from).unwrap_or(i64::MAX) };
    // SAFETY: per the contract.
    unsafe { seek::<T, FILE>(seq, from, pos) }
}

/// Nothing is held from `start` to `stop`: each row takes the family's locks for itself.
extern "C" fn stop(_seq: *mut bindings::seq_file, _v: *mut c_void) {}

/// # Safety
///
/// As [`next`].
unsafe extern "C" fn show<T: Family, const FILE: usize>(
    seq: *mut bindings::seq_file,
    v: *mut c_void,
) -> c_int {
    let Some(&(file, _)) = ProcFile::ALL.get(FILE) else {
        return 0;
    };
    // SAFETY: per the contract.
    if let Some(net) = unsafe { state::<T>(seq) } {
        // SAFETY: per the contract, `seq` is valid and ours alone during the call.
        let sf = unsafe { SeqFile::from_raw(seq) };
        T::proc_row(net, file, cursor(v), &mut SeqWriter(sf));
    }
    0
}

/// The `seq_operations` of file `FILE` of family `T`.
struct Ops<T, const FILE: usize>(core::marker::PhantomData<T>);

impl<T: Family, const FILE: usize> Ops<T, FILE> {
    const OPS: bindings::seq_operations = bindings::seq_operations {
        start: Some(start::<T, FILE>),
        stop: Some(stop),
        next: Some(next::<T, FILE>),
        show: Some(show::<T, FILE>),
    };
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
    let ops: [&'static bindings::seq_operations; 5] = [
        &Ops::<T, 0>::OPS,
        &Ops::<T, 1>::OPS,
        &Ops::<T, 2>::OPS,
        &Ops::<T, 3>::OPS,
        &Ops::<T, 4>::OPS,
    ];
    // SAFETY: `net` is live.
    let dir = unsafe { ffi::rvnet_proc_net_mkdir(net, c"rvnet".as_char_ptr()) };
    if dir.is_null() {
        return dir;
    }
    for (&(_, name), ops) in ProcFile::ALL.iter().zip(ops) {
        // SAFETY: `dir` is ours; the operations are static; each open gets a
        // `seq_net_private` holding (a reference on) the namespace. A file that cannot be
        // made is left out.
        unsafe {
            bindings::proc_create_net_data(
                name.as_char_ptr(),
                0o444,
                dir,
                ops,
                core::mem::size_of::<bindings::seq_net_private>() as u32,
                core::ptr::null_mut(),
            )
        };
    }
    dir
}
