//! A build command's processes: started in a process group of their own,
//! so a timeout, Ctrl-C or the command's end stops every process it
//! started (compilers, a `sleep` in the background), not only its `sh`.
//!
//! The group's leader is never reaped before the group is signalled: a
//! zombie leader keeps its id reserved, so the signal cannot reach an
//! unrelated process that was given a recycled id. A process that leaves
//! the group (`setsid`) is out of reach, as it is for a terminal.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Spawns `command` as the leader of a new process group.
pub fn spawn(command: &mut Command) -> std::io::Result<Child> {
    command.process_group(0).spawn()
}

/// Whether `child` has ended, without reaping it.
pub fn has_exited(child: &Child) -> std::io::Result<bool> {
    let pid = libc::id_t::from(child.id());
    #[allow(unsafe_code, reason = "waitid has no safe wrapper in std; it only writes `info`")]
    // SAFETY: `info` is a valid, zeroed siginfo_t the call may write; WNOWAIT leaves the child unreaped.
    let (rc, exited) = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        (rc, info.si_pid() != 0)
    };
    if rc == 0 { Ok(exited) } else { Err(std::io::Error::last_os_error()) }
}

/// Sends SIGKILL to every process in `child`'s group; `child` must not
/// have been reaped yet (see the module's comment).
pub fn kill(child: &Child) {
    let Ok(group) = libc::pid_t::try_from(child.id()) else { return };
    #[allow(unsafe_code, reason = "kill has no safe wrapper in std for a process group")]
    // SAFETY: a plain system call on a group id this process created and has not reaped.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}
