"""A sandbox for untrusted student code: a submission's Jupyter kernel, or a plain Python process.

``python fmnist_helpers/course/sandbox.py POLICY_JSON -- CMD...`` (also ``python -m
fmnist_helpers.course.sandbox``), run as root, gives ``CMD`` new network, mount and IPC namespaces,
a file system where only the task folder (and a private ``/tmp``) is writable and the ``hidden``
folders look empty, resource limits, a fresh unprivileged uid, and then ``execv``s it (same pid, so
jupyter_client's signals still reach it). If any step fails it prints one line to stderr and exits
126: it never runs ``CMD`` unsandboxed.

Use: ``sandboxed_command(cmd, policy)`` for a plain process, ``write_kernel_spec`` for a Jupyter
kernel (with ``execute.kernel_config``'s Unix sockets), ``sandbox_support()`` to know whether this
machine can sandbox, and ``kill_sandbox(uid)`` afterwards for whatever the submission left running.

Threat model. It holds against a submission that reads other submissions, the grading output or
the instructor's solutions; that writes outside its folder (everything else is read-only, and the
whole root file system is remounted read-only in its namespace); that reaches the network (only a
loopback of its own: not even the host's 127.0.0.1, nor the host's abstract Unix sockets); that
signals or traces other processes, or reads another sandbox's folder (its uid is its own, its
folder mode 0700); that runs set-uid programs (no_new_privs); that unmounts what hides a folder
from a user namespace of its own (inherited mounts are locked); and that exhausts one process's
memory, processes/threads, file size or CPU time (rlimits).

It does not hold against: a kernel exploit; reading what every local user may read (``/etc``,
``/proc`` of other processes, the course's code and data); memory summed over its processes, or
shared anonymous memory (``mmap(-1, n)``, memfd), which no rlimit counts (a cgroup would); wall-clock
time, and CPU time summed over processes, which the grader's own timeout bounds; Unix sockets of
the host that are visible and connectable by any user (other submissions' sockets stay hidden).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

REFUSED = 126
"""The launcher's exit status when it could not set up the sandbox (``CMD`` never ran)."""

UID_BASE = 200_000
"""A launch without ``policy.uid`` runs as uid and gid ``UID_BASE + its pid`` (see ``sandbox_uid``)."""

KERNEL_NAME = "fmnist-sandbox"
"""The name of the kernel spec that ``write_kernel_spec`` writes."""

KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"

SOCKET_FOLDER_PREFIX = "fmnist-kernel-"
"""A kernel's Unix sockets must lie in such a folder of the system temp dir (``execute.run_notebook``)."""

SYSTEM_TMP = ("/tmp", "/var/tmp", "/dev/shm")
"""Each gets a private, empty, size-limited tmpfs (torch's DataLoader workers share through /dev/shm)."""

EMPTIED = ("/root",)
"""Overmounted like the ``hidden`` folders: /root holds the interpreter (under /root/.pyenv), which
is bound back, and root's secrets, which are not."""

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
KEPT_MOUNT_FLAGS = MS_NOEXEC | 1024 | 2048 | 4096  # noexec, noatime, nodiratime, relatime (statvfs bits)
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
PR_SET_NO_NEW_PRIVS = 38
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


@dataclass(frozen=True)
class SandboxPolicy:
    """What one sandboxed process may see and use.

    ``memory_bytes`` is RLIMIT_DATA, not RLIMIT_AS. Measured in a sandboxed kernel on 2 cores:
    importing the course and training its CNN on 1,000 images takes 1.1 GiB of data (1.25 GiB is
    enough, 1 GiB is not) but 4.6 GiB of address space (the CUDA libraries are mapped), and the
    address space grows by ~40 MiB per thread (5.1 GiB with 16 torch threads, data 1.3 GiB). The
    same kernel runs 15 threads, well within ``processes``.
    """

    folder: Path  # the task folder: the ONLY writable place (plus a private tmp); HOME and TMPDIR are in it
    readable: tuple[Path, ...] = ()  # stay readable (read-only) even under a hidden place: the data root
    hidden: tuple[Path, ...] = ()  # look empty inside: other submissions, grading output, notebooks/, ...
    memory_bytes: int = 8 * 2**30  # RLIMIT_DATA of each process: writable private memory
    cpu_seconds: int = 3600  # RLIMIT_CPU per process (SIGXCPU, then SIGKILL 5 s later)
    processes: int = 256  # RLIMIT_NPROC of the sandbox's own uid: processes and threads together
    file_bytes: int = 2**30  # RLIMIT_FSIZE: the largest file it may write
    tmp_bytes: int = 2**30  # size of each private tmpfs (/tmp, /var/tmp, /dev/shm): it is RAM
    uid: int | None = None  # from UID_BASE; None: UID_BASE + the launcher's pid (unique while it runs)

    def to_json(self) -> str:
        """The policy as the launcher's JSON argument."""
        values = asdict(self)
        values["folder"] = str(self.folder)
        values["readable"] = [str(path) for path in self.readable]
        values["hidden"] = [str(path) for path in self.hidden]
        return json.dumps(values, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SandboxPolicy:
        """Parse and check the launcher's argument; ``ValueError`` names what is wrong."""
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("the policy must be a JSON object")
        unknown = set(values) - {field.name for field in fields(cls)}
        if unknown:
            raise ValueError(f"unknown policy keys {sorted(unknown)}")
        if "folder" not in values:
            raise ValueError("the policy has no folder")
        paths = {"folder": _absolute(values["folder"], "folder")}
        for key in ("readable", "hidden"):
            items = values.get(key, [])
            if not isinstance(items, list):
                raise ValueError(f"{key} must be a list of paths, got {items!r}")
            paths[key] = tuple(_absolute(item, key) for item in items)
        limits = {key: values[key] for key in ("memory_bytes", "cpu_seconds", "processes",
                                                 "file_bytes", "tmp_bytes") if key in values}
        for key, value in limits.items():
            if type(value) is not int or value <= 0:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        uid = values.get("uid")
        if uid is not None and (type(uid) is not int or not UID_BASE <= uid < 2**32 - 1):
            raise ValueError(f"uid must be an integer from {UID_BASE} to 2**32 - 2, got {uid!r}")
        return cls(**paths, **limits, uid=uid)


def _absolute(value: object, key: str) -> Path:
    if not isinstance(value, str) or not os.path.isabs(value):
        raise ValueError(f"{key} must hold absolute paths, got {value!r}")
    return Path(value)


class SandboxError(Exception):
    """A step of the launcher failed; the message is the one line it prints."""


def sandbox_uid(pid: int) -> int:
    """The uid (and gid) of the sandbox launched as process ``pid`` without ``policy.uid``."""
    return UID_BASE + pid


def package_dir() -> Path:
    """The installed ``fmnist_helpers`` folder, found without importing the package (its
    ``__init__`` imports torch, which the launcher has no use for)."""
    spec = importlib.util.find_spec("fmnist_helpers")
    if spec is None or spec.origin is None:
        raise SandboxError("the course's package fmnist_helpers is not installed")
    return Path(os.path.realpath(spec.origin)).parent


def sandboxed_command(command: Sequence[str], policy: SandboxPolicy) -> list[str]:
    """``command`` prefixed by the launcher: ``[sys.executable, "-I", <this file>, <policy JSON>,
    "--", *command]``.

    The launcher runs as a script, not with ``-m fmnist_helpers.course.sandbox``: ``-m`` imports the
    package, whose ``__init__`` imports torch (2-6 s per launch, measured); the script needs only
    the standard library. ``-I`` keeps ``PYTHONPATH`` and the script's folder off its ``sys.path``.
    """
    return [sys.executable, "-I", str(package_dir() / "course" / "sandbox.py"), policy.to_json(), "--",
            *command]


def write_kernel_spec(jupyter_path: Path, policy: SandboxPolicy) -> str:
    """Write ``jupyter_path/kernels/<name>/kernel.json``: the environment's ``python3`` kernel spec
    (its ``env`` and ``metadata``) with ``argv`` running ipykernel through the launcher; return the
    kernel name.

    The caller sets ``JUPYTER_PATH=jupyter_path`` and passes the name to papermill, with
    ``execute.kernel_config(socket_folder)`` (the ipc transport: a kernel in its own network
    namespace cannot be reached over TCP).
    """
    from fmnist_helpers.course.environment import KERNEL_ENV, kernel_spec_dir

    base_file = kernel_spec_dir() / "kernel.json"
    base = json.loads(base_file.read_text()) if base_file.is_file() else {"env": dict(KERNEL_ENV)}
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": sandboxed_command(kernel, policy), "display_name": KERNEL_DISPLAY_NAME,
            "language": "python", "env": base.get("env", {}), "metadata": base.get("metadata", {})}
    if "kernel_protocol_version" in base:
        spec["kernel_protocol_version"] = base["kernel_protocol_version"]
    spec_dir = Path(jupyter_path) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return KERNEL_NAME


@functools.cache
def sandbox_support() -> tuple[bool, str]:
    """``(True, "")`` when this process can sandbox (root, Linux, and a real launch of a trivial
    command succeeds); else ``(False, why)`` in one plain sentence."""
    if not sys.platform.startswith("linux"):
        return False, f"the sandbox needs Linux namespaces, and this is {sys.platform}."
    if os.geteuid() != 0:
        return False, "the sandbox needs root (to create namespaces, mount and change uid)."
    folder = Path(tempfile.mkdtemp(prefix="fmnist-sandbox-probe-"))
    try:
        probe = sandboxed_command([sys.executable, "-I", "-S", "-c", ""], SandboxPolicy(folder))
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"the sandbox launcher could not run: {error}."
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return False, f"a trial sandbox failed: {why[0]}"
    return True, ""


def sandbox_processes(uid: int) -> list[int]:
    """The pids of the live processes (not zombies) whose real uid is ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:  # it exited meanwhile
            continue
        lines = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(lines["Uid"].split()[0]) == uid and not lines["State"].strip().startswith(("Z", "X")):
            pids.append(int(entry))
    return pids


def kill_sandbox(uid: int) -> None:
    """SIGKILL every process of the sandbox user ``uid`` at once (what a kernel or a fork bomb left
    behind, even in other sessions): a child takes that uid and calls ``kill(-1, SIGKILL)``, which
    the kernel delivers to all of the uid's processes atomically, so none can fork away."""
    if uid < UID_BASE:  # never a real user's processes
        raise ValueError(f"kill_sandbox needs a sandbox uid (from {UID_BASE}), got {uid}")
    pid = os.fork()
    if pid == 0:  # only system calls here, then _exit: safe even if the parent has threads
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


# --- the launcher -----------------------------------------------------------------------------


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    """Turn any failure inside into ``SandboxError("name: error")``."""
    try:
        yield
    except SandboxError:
        raise
    except Exception as error:
        raise SandboxError(f"{name}: {error}") from error


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: text.encode() if text is not None else None
    result = _libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data))
    _check(result, f"mount {target}")


def _remount(target: str, flags: int) -> None:
    """Change a mount's own flags (ro, nosuid, nodev), keeping noexec and its atime mode: a bind
    remount changes this namespace's copy of the mount only, never the file system or the host."""
    kept = os.statvfs(target).f_flag & KEPT_MOUNT_FLAGS
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | kept | flags)


def _parse_command(argv: Sequence[str]) -> tuple[SandboxPolicy, list[str]]:
    if len(argv) < 3 or argv[1] != "--":
        raise SandboxError("usage: sandbox.py POLICY_JSON -- COMMAND [ARGS...]")
    try:
        policy = SandboxPolicy.from_json(argv[0])
    except ValueError as error:  # json.JSONDecodeError is one
        raise SandboxError(f"malformed policy: {error}") from error
    return policy, list(argv[2:])


def resolve_policy(policy: SandboxPolicy) -> SandboxPolicy:
    """``policy`` with real paths (mount targets must not go through symbolic links), checked: the
    task folder, which the launcher chowns, must not be a system folder (``/``, ``/tmp``, ``/home``)
    nor hold or lie in the Python installation or the course package; ``SandboxError`` if it is."""
    folder = Path(os.path.realpath(policy.folder))
    if not folder.is_dir():
        raise SandboxError(f"the task folder {folder} is not a folder")
    shared = {Path(path) for path in (*SYSTEM_TMP, tempfile.gettempdir())}
    if len(folder.parts) < 3 or folder in shared:  # /, /tmp, /home, /etc, ...
        raise SandboxError(f"the task folder {folder} is a system folder")
    for system in (Path(sys.prefix), Path(sys.base_prefix), package_dir()):
        system = Path(os.path.realpath(system))
        if folder == system or folder in system.parents or system in folder.parents:
            raise SandboxError(f"the task folder {folder} overlaps {system}, which must stay read-only")
    real = lambda paths: tuple(Path(os.path.realpath(path)) for path in paths)
    return SandboxPolicy(folder, real(policy.readable), real(policy.hidden), policy.memory_bytes,
                         policy.cpu_seconds, policy.processes, policy.file_bytes, policy.tmp_bytes,
                         policy.uid)


def _connection_file_index(command: list[str]) -> int | None:
    """Index in ``command`` of the kernel's connection file (``-f PATH``), or None."""
    for index, arg in enumerate(command[:-1]):
        if arg in ("-f", "--f"):
            return index + 1
    return None


def _socket_folder(connection: dict, folder: Path) -> Path | None:
    """The folder of the kernel's Unix sockets, which the sandbox must see and write; None if it is
    in the task folder already. Only a dedicated ``fmnist-kernel-*`` folder of the system temp dir
    is accepted: it is chowned to the sandbox's uid."""
    if connection.get("transport") != "ipc":
        raise SandboxError("the kernel's connection file uses TCP, which cannot reach a kernel in its own "
                           "network namespace; start it with execute.kernel_config(socket_folder)")
    sockets = Path(os.path.realpath(Path(connection["ip"]).parent))
    if sockets == folder or folder in sockets.parents:
        return None
    system_tmp = Path(os.path.realpath(tempfile.gettempdir()))
    if (sockets.parent != system_tmp or not sockets.name.startswith(SOCKET_FOLDER_PREFIX)
            or not stat.S_ISDIR(os.lstat(sockets).st_mode)):
        raise SandboxError(f"the kernel's socket folder {sockets} is not a {SOCKET_FOLDER_PREFIX}* folder "
                           f"of {system_tmp} nor in the task folder")
    return sockets


def _prepare_kernel(command: list[str], folder: Path, uid: int) -> Path | None:
    """For a Jupyter kernel: copy its connection file (root's, mode 0600) into the task folder,
    point ``-f`` at the copy, chown the socket folder to ``uid``; return the socket folder."""
    index = _connection_file_index(command)
    if index is None:
        return None
    connection_text = Path(command[index]).read_text()
    sockets = _socket_folder(json.loads(connection_text), folder)
    copy = folder / ".sandbox" / Path(command[index]).name
    copy.parent.mkdir(exist_ok=True)
    with open(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "w") as out:
        out.write(connection_text)
    command[index] = str(copy)
    if sockets is not None:
        os.chown(sockets, uid, uid, follow_symlinks=False)
    return sockets


def _chown_tree(folder: Path, uid: int) -> None:
    """``chown -R uid:uid folder`` without following symbolic links (``fwalk`` opens each folder
    with O_NOFOLLOW, so no link swapped in meanwhile can redirect it) and skipping files with
    several hard links, which may be files outside the folder."""
    os.chown(folder, uid, uid, follow_symlinks=False)
    folder.chmod(0o700)
    for _, dirs, files, dir_fd in os.fwalk(folder, follow_symlinks=False):
        for name in dirs + files:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode) or info.st_nlink == 1:
                os.chown(name, uid, uid, dir_fd=dir_fd, follow_symlinks=False)


def _prepare_folder(policy: SandboxPolicy, uid: int) -> None:
    """Create HOME's usual folders and TMPDIR in the task folder; chown it all to ``uid``; create
    missing hidden folders (empty), so that nothing made there later shows through."""
    for sub in ("tmp", ".cache", ".config", ".sandbox"):
        (policy.folder / sub).mkdir(exist_ok=True)
    _chown_tree(policy.folder, uid)
    for hidden in policy.hidden:
        hidden.mkdir(parents=True, exist_ok=True)


def _bring_up_loopback() -> None:
    """``ip link set lo up``, by ioctl (no dependency on iproute2)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def _unshare() -> None:
    """New network, mount and IPC namespaces for this very process.

    ctypes ``unshare(2)`` rather than re-executing through ``/usr/bin/unshare``: the pid stays the
    same either way, but this needs no util-linux, starts no second interpreter, and reports the
    errno in the launcher's one line."""
    _check(_libc.unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    _bring_up_loopback()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted from now on reaches the host


def _mount_points() -> list[str]:
    """This namespace's mount points, outside /proc, /sys and /dev."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = re.sub(r"\\([0-7]{3})", lambda code: chr(int(code[1], 8)), line.split()[4])  # \040: space
        if not any(point == top or point.startswith(top + "/") for top in ("/proc", "/sys", "/dev")):
            points.append(point)
    return points


def _make_mount_point(target: Path, like_file: bool) -> None:
    """Create ``target`` (in an overmounting tmpfs) to bind a path onto."""
    if os.path.lexists(target):
        return
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if like_file:
        target.touch(mode=0o644)
    else:
        target.mkdir(mode=0o755)


def _plan(policy: SandboxPolicy, sockets: Path | None) -> list[tuple[Path, str]]:
    """The mounts as (path, kind), kind being "tmp" (private tmpfs), "empty" (empty read-only-to-the-
    user tmpfs), "ro" or "rw" (bind the path back at the same place). Shallow paths first, and at one
    depth tmpfs before binds: a path kept inside a hidden one is bound after the hiding, a hidden
    one inside a kept one is hidden after the keeping."""
    package_root = package_dir().parent  # to `import fmnist_helpers`
    keep_ro = [Path(sys.base_prefix), Path(sys.prefix), package_root, *policy.readable]
    plan = [(Path(path), "tmp") for path in SYSTEM_TMP]
    plan += [(Path(path), "empty") for path in EMPTIED] + [(path, "empty") for path in policy.hidden]
    plan += [(Path(os.path.realpath(path)), "ro") for path in keep_ro]
    plan += [(policy.folder, "rw")] + ([(sockets, "rw")] if sockets else [])
    order = {"tmp": 0, "empty": 0, "ro": 1, "rw": 2}
    return sorted(plan, key=lambda item: (len(item[0].parts), order[item[1]]))


def _mount_file_system(policy: SandboxPolicy, sockets: Path | None) -> None:
    """Everything read-only, the system temp dirs private, ``hidden`` and /root empty, and the
    Python installation, ``readable``, the task folder and the kernel's sockets bound back."""
    plan = [(path, kind) for path, kind in _plan(policy, sockets) if os.path.lexists(path)]
    # O_PATH file descriptors opened now still reach the original paths once they are overmounted
    sources = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path, kind in plan if kind in ("ro", "rw")}
    for point in _mount_points():
        with _step(f"read-only {point}"):
            _remount(point, MS_RDONLY)
    for path, kind in plan:
        with _step(f"mount {kind} {path}"):
            if kind in ("tmp", "empty"):
                if not os.path.isdir(path):
                    continue  # inside a place emptied already (it existed before): invisible anyway
                size = policy.tmp_bytes if kind == "tmp" else 2**20
                options = f"mode={'1777' if kind == 'tmp' else '0755'},size={size}"
                _mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV, options)
            else:
                _make_mount_point(path, like_file=not stat.S_ISDIR(os.fstat(sources[path]).st_mode))
                _mount(f"/proc/self/fd/{sources[path]}", str(path), None, MS_BIND | MS_REC)
                _remount(str(path), MS_RDONLY if kind == "ro" else 0)
    for fd in sources.values():
        os.close(fd)


def _limit_resources(policy: SandboxPolicy) -> None:
    """rlimits, soft and hard: the sandboxed user cannot raise them again."""
    for limit, value in ((resource.RLIMIT_DATA, policy.memory_bytes),
                         (resource.RLIMIT_NPROC, policy.processes),
                         (resource.RLIMIT_FSIZE, policy.file_bytes),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    # SIGXCPU at the soft limit says why the process died; SIGKILL follows if it is caught
    resource.setrlimit(resource.RLIMIT_CPU, (policy.cpu_seconds, policy.cpu_seconds + 5))


def _drop_privileges(uid: int) -> None:
    """Become ``uid``/``gid`` for good: no supplementary groups, no capabilities, no set-uid gains."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
        raise SandboxError(f"still running as uids {os.getresuid()}, gids {os.getresgid()}")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise SandboxError("the process could become root again")


def _sandbox_environment(folder: Path, uid: int) -> dict[str, str]:
    """This process's environment with HOME, TMPDIR and the usual caches and settings in ``folder``."""
    inside = {"HOME": "", "TMPDIR": "tmp", "XDG_CACHE_HOME": ".cache", "XDG_CONFIG_HOME": ".config",
              "XDG_DATA_HOME": ".local/share", "XDG_STATE_HOME": ".local/state",
              "MPLCONFIGDIR": ".config/matplotlib", "IPYTHONDIR": ".ipython",
              "JUPYTER_CONFIG_DIR": ".jupyter", "JUPYTER_DATA_DIR": ".local/share/jupyter",
              "JUPYTER_RUNTIME_DIR": ".local/share/jupyter/runtime", "TORCH_HOME": ".cache/torch"}
    env = dict(os.environ)
    env.update({name: str(folder / sub) for name, sub in inside.items()})
    env.update(USER=f"sandbox{uid}", LOGNAME=f"sandbox{uid}")  # getpass.getuser(): no passwd entry
    return env


def _enter_working_folder(cwd: str, folder: Path) -> str:
    """chdir to ``cwd`` again (the old handle still points at what is overmounted now), or to
    ``folder`` when ``cwd`` is not visible in the sandbox; return where."""
    try:
        os.chdir(cwd)
    except OSError:
        os.chdir(folder)
        return str(folder)
    return cwd


def _close_inherited_files() -> None:
    """Close every descriptor but 0, 1 and 2: an inherited handle on a host folder would reach past
    the overmounts (``openat``, ``fchdir``)."""
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed already
                os.close(fd)


def launch(argv: Sequence[str]) -> None:
    """Set up the sandbox described by ``argv`` (POLICY_JSON -- CMD...) and ``exec`` CMD; return
    only by raising ``SandboxError``."""
    policy, command = _parse_command(argv)
    with _step("checking the policy"):
        policy = resolve_policy(policy)
    if os.geteuid() != 0:
        raise SandboxError("the launcher must run as root")
    uid = policy.uid if policy.uid is not None else sandbox_uid(os.getpid())
    cwd = os.getcwd()
    with _step("preparing the kernel"):
        sockets = _prepare_kernel(command, policy.folder, uid)
    with _step("preparing the task folder"):
        _prepare_folder(policy, uid)
    with _step("namespaces"):
        _unshare()
    with _step("file system"):
        _mount_file_system(policy, sockets)
    with _step("resource limits"):
        _limit_resources(policy)
    with contextlib.suppress(PermissionError):  # already a session leader (jupyter_client)
        os.setsid()  # no controlling terminal: nothing to push keystrokes into (TIOCSTI)
    with _step("dropping privileges"):
        _drop_privileges(uid)
    env = _sandbox_environment(policy.folder, uid)
    with _step("working folder"):
        env["PWD"] = _enter_working_folder(cwd, policy.folder)
    _close_inherited_files()
    with _step(f"running {command[0]}"):
        os.execvpe(command[0], command, env)


def main(argv: Sequence[str] | None = None) -> int:
    """The launcher's entry point: exec the command, or print one line and return ``REFUSED``."""
    try:
        launch(sys.argv[1:] if argv is None else argv)
    except SandboxError as error:
        message = str(error)
    except Exception as error:  # a bug in a step not wrapped: still refuse, never run unsandboxed
        message = f"{type(error).__name__}: {error}"
    print("fmnist-sandbox: " + " ".join(message.split()), file=sys.stderr, flush=True)
    return REFUSED


if __name__ == "__main__":
    sys.exit(main())
