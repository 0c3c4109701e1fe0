"""OS isolation of the process that runs untrusted step code (Linux namespaces, via libc).

The refactored worker reads its job, loads the tensors it needs into memory, and only then calls
`enter()`, before importing any file of the step. `enter()` puts the process in new mount and
network namespaces (and a new user namespace when it is not root), builds an allow-list view of the
file system in a tmpfs and pivots into it:

    /<sys.prefix>, /<sys.base_prefix>, /usr, /lib*         read-only (Python, torch, shared libs)
    /dev/null, /dev/zero, /dev/urandom, /dev/random        read-only device binds
    /step/refactored.py, /step/children/                   read-only: the step's own files
    /scratch                                               read-write: cwd, where outputs go
    /tmp                                                   a small private tmpfs

Nothing else exists there: not the original, not the job directory (job.json, state.pt, inputs),
not other runs, not the result paths, not ~/.config/hdecomp or $HDECOMP_HOME, not the checkout
(the worker's own modules were imported before). The network namespace has only a loopback that is
down. Then every capability is dropped (bounding set too) with no_new_privs set, so the untrusted
code cannot remount, unmount, mount a block device or open files by handle (`open_by_handle_at`
would otherwise reach any inode of a bound file system). Mounts are MS_NOSUID|MS_NODEV.

Where namespaces cannot be had (macOS, containers without CAP_SYS_ADMIN and without user
namespaces) the verifier falls back to plain process isolation and records `"isolation":
"process"` in the result. The parent decides the mode (`mode()`), not the worker: a worker told
"namespace" that cannot enter it fails instead of running the untrusted code, so the recorded mode
never rests on what the untrusted process says. `HDECOMP_ISOLATION=process` forces the fallback
(tests, debugging); `HDECOMP_ISOLATION=namespace` makes an unavailable namespace an error.

The unprivileged path (not root: CLONE_NEWUSER with our uid mapped to 0 inside) is written but
was only exercised as root here; `unshare -r` working on a machine is the sign it should.

Not done here: a PID namespace (the worker could still signal processes of its own uid; the fork
server's children are killed by process group on timeout).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path

NAMESPACE = "namespace"
PROCESS = "process"
ENV = "HDECOMP_ISOLATION"

# Where things appear inside the view.
VIEW_STEP = Path("/step")
VIEW_SCRATCH = Path("/scratch")

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MNT_DETACH = 2
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PIVOT_ROOT_NR = {"x86_64": 155, "aarch64": 41}
_CAPSET_NR = {"x86_64": 126, "aarch64": 91}


class IsolationError(OSError):
    """The namespace view could not be built."""


@dataclass(frozen=True)
class View:
    """What the untrusted process may see, as host paths."""

    refactored: Path | None
    children_dir: Path | None
    scratch: Path  # writable, empty, made by the trusted side for this job only
    root: Path  # an empty directory the tmpfs root is mounted on (host side, inside the job dir)
    # Other callers (hdecomp verify's composition run) see further host paths at their own
    # path: `read_only` folders or files, `writable` ones (their own job folder), and `hidden`
    # paths inside those, replaced by an empty file or folder (the original model's files).
    read_only: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()


_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_lib().mount(source.encode() if source else None, target.encode(),
                        fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                        data.encode() if data else None), f"mount {source} on {target}")


def _bind(source: Path, target: Path, writable: bool = False) -> None:
    """Bind `source` at `target` (created: a directory or an empty file), then lock its flags."""
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)
    _mount(str(source), str(target), None, _MS_BIND | _MS_REC)
    flags = _MS_BIND | _MS_REMOUNT | _MS_NOSUID | _MS_NODEV | (0 if writable else _MS_RDONLY)
    if writable:
        flags |= _MS_NOEXEC
    _mount(None, str(target), None, flags)


def _unshare(flags: int) -> None:
    _check(_lib().unshare(ctypes.c_int(flags)), "unshare")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _enter_namespaces() -> None:
    """New mount + network namespaces; through a user namespace when not root."""
    flags = _CLONE_NEWNS | _CLONE_NEWNET
    if os.geteuid() == 0:
        try:
            _unshare(flags)
            return
        except IsolationError as err:
            if err.errno not in (errno.EPERM, errno.EINVAL):
                raise
    uid, gid = os.geteuid(), os.getegid()
    _unshare(_CLONE_NEWUSER | flags)
    # Map ourselves to root of the new user namespace: capabilities there, none outside.
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


def _read_only_roots() -> list[Path]:
    """The Python installation and the system's shared libraries, deduplicated, existing only."""
    candidates = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
                  Path(sys.base_exec_prefix), Path("/usr"), Path("/lib"), Path("/lib64"),
                  Path("/lib32")]
    for path in list(sys.path):
        # site-packages outside the prefixes (a user site, PYTHONPATH entries that are not ours)
        if path and "site-packages" in path:
            candidates.append(Path(path))
    out: list[Path] = []
    for cand in candidates:
        try:
            real = cand.resolve()
        except OSError:
            continue
        if not real.is_dir() or real == Path("/"):
            continue
        if any(real == o or o in real.parents for o in out):
            continue
        out = [o for o in out if real not in o.parents] + [real]
    return sorted(out)


def _drop_capabilities() -> None:
    """No capability left, none to regain (bounding set emptied, no_new_privs)."""
    libc = _lib()
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the kernel's last capability
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x 2 words: all zero
    number = _CAPSET_NR.get(os.uname().machine)
    if number is None:
        raise IsolationError(errno.ENOSYS, "capset: unknown architecture")
    _check(libc.syscall(ctypes.c_long(number), header, data), "capset")


def _close_inherited_fds(keep: set[int]) -> None:
    """Close descriptors that could reach files outside the view (directories, job files)."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd < 3 or fd in keep:
            continue
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor, already closed
        if target.startswith(("/dev/nvidia", "anon_inode:")):
            continue  # CUDA's device handles: no file system behind them
        try:
            os.close(fd)
        except OSError:
            pass


def _init_cpu_dispatch() -> None:
    """Make torch pick its CPU kernels now, on the host's file system.

    ATen's cpuinfo reads /proc/cpuinfo and /sys on first use; inside the view (no /proc) it
    fails and torch falls back to its unvectorised DEFAULT kernels: slower, and rounding
    differently from the run they are compared with (a composed GPT that equals its original
    bit for bit outside the view differed by 1e-4 inside it).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.backends.cpu.get_cpu_capability()


def enter(view: View, keep_fds: set[int] | None = None) -> None:
    """Enter the namespaces and pivot into the allow-list view; raises IsolationError.

    After it returns the process sees only the view (see the module docstring), its cwd is
    /scratch, and it holds no capability. Call it in the worker, after the trusted part has read
    everything it needs, before any untrusted file is imported.
    """
    if sys.platform != "linux":
        raise IsolationError(errno.ENOSYS, "namespaces need Linux")
    ro_roots = _read_only_roots()
    _init_cpu_dispatch()
    _close_inherited_fds(keep_fds or set())
    _enter_namespaces()
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    root = view.root
    root.mkdir(parents=True, exist_ok=True)
    _mount("hdecomp-view", str(root), "tmpfs", _MS_NOSUID | _MS_NODEV, "size=16m,mode=0755")
    # The private /tmp first: host paths under /tmp bound below (a checkout or virtualenv in
    # /tmp, the composition's job folder) must stay visible above it.
    tmp = root / "tmp"
    tmp.mkdir()
    _mount("hdecomp-tmp", str(tmp), "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64m,mode=1777")
    for path in ro_roots:
        _bind(path, root / path.relative_to("/"))
    for dev in ("null", "zero", "urandom", "random"):
        if Path("/dev", dev).exists():
            target = root / "dev" / dev
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
            _mount(f"/dev/{dev}", str(target), None, _MS_BIND)
            _mount(None, str(target), None, _MS_BIND | _MS_REMOUNT | _MS_NOSUID)
    for name in ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1", "nvidia2",
                 "nvidia3", "nvidia4", "nvidia5", "nvidia6", "nvidia7"):
        if Path("/dev", name).exists():  # CUDA reopens its devices when a context is made
            target = root / "dev" / name
            target.touch()
            _mount(f"/dev/{name}", str(target), None, _MS_BIND)
    step = root / VIEW_STEP.relative_to("/")
    if view.refactored is not None:
        _bind(view.refactored, step / "refactored.py")
    if view.children_dir is not None and view.children_dir.is_dir():
        _bind(view.children_dir, step / "children")
    for path in view.read_only:
        _bind(path, root / path.relative_to("/"))
    for path in view.writable:
        _bind(path, root / path.relative_to("/"), writable=True)
    for path in view.hidden:
        target = root / path.relative_to("/")
        if path.is_dir():
            _mount("hdecomp-hidden", str(target), "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY,
                   "size=4k,mode=0555")
        elif path.exists():
            _mount("/dev/null", str(target), None, _MS_BIND)
            _mount(None, str(target), None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID)
    _bind(view.scratch, root / VIEW_SCRATCH.relative_to("/"), writable=True)
    old = root / ".old"
    old.mkdir()
    number = _PIVOT_ROOT_NR.get(os.uname().machine)
    if number is None:
        raise IsolationError(errno.ENOSYS, "pivot_root: unknown architecture")
    _check(_lib().syscall(ctypes.c_long(number), str(root).encode(), str(old).encode()),
           "pivot_root")
    os.chdir("/")
    _check(_lib().umount2(b"/.old", _MNT_DETACH), "umount the old root")
    os.rmdir("/.old")
    _mount(None, "/", None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir(str(VIEW_SCRATCH))
    os.environ["TMPDIR"] = "/tmp"
    os.environ.pop(ENV, None)
    _drop_capabilities()


_probed: str | None = None


def mode() -> str:
    """The isolation the verifier will require of refactored workers on this machine.

    `namespace` when a throwaway child can enter the namespaces, else `process`; the env var
    HDECOMP_ISOLATION overrides (`process` forces the fallback). Probed once per process (~ms).
    """
    global _probed
    forced = os.environ.get(ENV, "").strip().lower()
    if forced == PROCESS:
        return PROCESS
    if _probed is None:
        _probed = NAMESPACE if _probe() else PROCESS
    if forced == NAMESPACE and _probed != NAMESPACE:
        raise IsolationError(errno.EPERM, f"{ENV}=namespace but namespaces are unavailable here")
    return _probed


def _probe() -> bool:
    if sys.platform != "linux":
        return False
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:
        code = 1
        try:
            _enter_namespaces()
            _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
            _mount("hdecomp-probe", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m")
            code = 0
        except BaseException:  # noqa: BLE001 - any failure means "unavailable"
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0
