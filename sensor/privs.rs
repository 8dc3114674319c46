//! Dropping privileges after the capture is open: `--user NAME` switches to
//! that user's uid/gid (supplementary groups cleared), after giving it the
//! log directory. Under systemd use `DynamicUser=` and `CAP_NET_RAW` instead.

use anyhow::{bail, Context, Result};
use std::ffi::CString;
use std::path::Path;

/// Switches to `user` (which must exist) and makes `log_dir` its own.
pub fn drop_to(user: &str, log_dir: &Path) -> Result<()> {
    let name = CString::new(user).context("--user: name contains a NUL byte")?;
    // SAFETY: getpwnam returns a pointer to static storage or NULL; we copy the
    // two fields we need before any other call that could overwrite it.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            bail!("--user: no such user {user:?}");
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let dir = CString::new(log_dir.as_os_str().as_encoded_bytes())
        .context("log directory contains a NUL byte")?;
    // SAFETY: plain system calls on valid C strings / ids.
    unsafe {
        if libc::chown(dir.as_ptr(), uid, gid) != 0 {
            bail!(
                "--user: giving {} to {user}: {}",
                log_dir.display(),
                std::io::Error::last_os_error()
            );
        }
        if libc::setgroups(0, std::ptr::null()) != 0 {
            bail!("--user: setgroups: {}", std::io::Error::last_os_error());
        }
        if libc::setgid(gid) != 0 {
            bail!("--user: setgid({gid}): {}", std::io::Error::last_os_error());
        }
        if libc::setuid(uid) != 0 {
            bail!("--user: setuid({uid}): {}", std::io::Error::last_os_error());
        }
        // Regaining root must now fail.
        if libc::setuid(0) == 0 {
            bail!("--user: still able to become root after dropping privileges");
        }
    }
    Ok(())
}
