"""A bubblewrap sandbox for each grading kernel, with a memory cgroup where there is one.

Student code is untrusted. Each submission's kernel runs under ``bwrap``
(bubblewrap, the sandbox Flatpak uses; Debian package ``bubblewrap``):

- no network (its own, empty network namespace) and its own process namespace,
  so it sees and signals no other kernel, and every process it starts dies with it;
- a fresh root holding only the system's ``/usr``, the Python installation, the
  installed packages, the ``course`` package and ``datasets/``, all read-only;
  no ``solutions/``, gradebook, other submissions or home folders;
- a private ``/tmp`` and a writable *copy* of the submission's folder as its
  working directory, each a file system of ``Limits.disk_mb`` inside the
  sandbox (nothing written reaches the host's disk); no capabilities, an
  unprivileged user id; bwrap's options (every host path) passed through a pipe,
  so that process 1's command line inside shows none;
- a memory limit for all its processes together (a cgroup; where none can be
  made, each process is limited on its own and the grader says so), and a cap
  on the number of processes.

The kernel talks to the grader over Unix sockets in a folder that is the only
thing the two share (ZeroMQ's ``ipc`` transport).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from course.errors import InstructorError

#: Environment variables passed into the sandbox (everything else is cleared).
PASSED_ENV = ("LANG", "LC_ALL", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "PYTHONHASHSEED", "COURSE_DATASETS")
#: System folders bound read-only when present.
SYSTEM = ("/usr", "/etc/alternatives", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime",
          "/etc/mime.types")
#: Where each sandbox keeps its sockets and working copy (short: socket paths are limited).
RUN_PREFIX = "cgk-"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
                "`sudo dnf install bubblewrap`) or, only for code you trust, pass "
                "--unsafe-no-sandbox")


#: Memory of one submission's processes together, in MB, unless the instructor says otherwise.
DEFAULT_MEMORY_MB = 2048
#: Size of each writable folder of a submission (its working copy, /tmp), in MB.
DEFAULT_DISK_MB = 512
#: Where the submission's folder is shown, read-only, to be copied into its working copy.
STAGE = "/run/submission"
#: Copies the submission's files into the size-limited working copy, then starts the kernel.
COPY_IN = 'cp -R "$0"/. . 2>/dev/null; exec "$@"'


class SandboxUnavailable(InstructorError):
    """Grading cannot be sandboxed on this machine."""


@dataclass(frozen=True)
class Limits:
    """Limits of one submission's processes, together."""

    memory_mb: int = DEFAULT_MEMORY_MB
    processes: int = 256
    disk_mb: int = DEFAULT_DISK_MB


@cache
def bwrap() -> str:
    """Return the path of a working ``bwrap``, or raise SandboxUnavailable saying why."""
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable(f"grading runs each submission in a sandbox, and bubblewrap "
                                 f"(bwrap) is not installed: {INSTALL_HINT}.")
    probe = subprocess.run([found, *_namespaces(), *_system_binds(), "--proc", "/proc",
                            "--dev", "/dev", "true"], capture_output=True, text=True,
                           timeout=30, check=False)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot make a sandbox here ({probe.stderr.strip()[:200]}); user "
            f"namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1), or "
            f"{INSTALL_HINT.split(' or, ')[1]}.")
    return found


def _namespaces() -> list[str]:
    return ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534"]


def _system_binds() -> list[str]:
    args: list[str] = []
    for name in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in SYSTEM:
        args += ["--ro-bind-try", name, name]
    return args


@cache
def readonly_paths() -> tuple[Path, ...]:
    """Return the Python installation, its packages, ``course`` and ``datasets/`` (once)."""
    from course.datasets import data_dir
    from course.notebook import package_dir

    package = package_dir()  # the installed ``course`` package
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sysconfig.get_path("purelib")),
             Path(sysconfig.get_path("platlib")), package}
    try:
        paths.add(data_dir())
    except Exception:  # noqa: BLE001 (no datasets: notebooks that need them say so)
        pass
    resolved = {p.resolve() for p in paths if p.exists()}
    return tuple(sorted(p for p in resolved
                        if not any(p != q and q in p.parents for q in resolved)))


def _tmpfs(path: str, disk_mb: int) -> list[str]:
    """Return bwrap's arguments for a tmpfs at ``path`` of ``disk_mb`` MB (0: no limit)."""
    return ["--size", str(disk_mb * 2**20), "--tmpfs", path] if disk_mb > 0 else ["--tmpfs", path]


def command(kernel_cmd: list[str], run: Path, source: Path, cwd: Path,
            disk_mb: int = DEFAULT_DISK_MB) -> list[str]:
    """Return ``kernel_cmd`` wrapped in bwrap: ``run`` shared, a copy of ``source`` at ``cwd``.

    The working copy and /tmp are file systems of ``disk_mb`` MB each inside the
    sandbox (writing more fails with "No space left on device"); ``source`` is
    only read, to fill the working copy before the kernel starts.
    """
    # /tmp first: a later mount may sit inside it (a course cloned under /tmp), and bwrap
    # mounts in order, so a tmpfs after it would hide it.
    args = [bwrap(), *_namespaces(), *_tmpfs("/tmp", disk_mb), *_system_binds()]
    for path in readonly_paths():
        args += ["--ro-bind", str(path), str(path)]
    args += ["--proc", "/proc", "--dev", "/dev", "--bind", str(run), str(run),
             "--ro-bind", str(source), STAGE, *_tmpfs(str(cwd), disk_mb), "--chdir", str(cwd),
             "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
             "--setenv", "USER", "learner", "--setenv", "MPLBACKEND", "agg",
             "--setenv", "PYTHONNOUSERSITE", "1",
             "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin"]
    for name in PASSED_ENV:
        if name in os.environ:
            args += ["--setenv", name, _passed(name)]
    return [*args, "--", "/bin/sh", "-c", COPY_IN, STAGE, *kernel_cmd]


def hide_arguments(cmd: list[str]) -> tuple[list[str], int | None]:
    """Return bwrap command ``cmd`` reading its arguments from a pipe, and the pipe's read end.

    Process 1 of the sandbox is bwrap itself, and its command line
    (``/proc/1/cmdline``, readable inside) would list the host paths of the
    course and the scratch folder; with its options passed through a pipe, it is
    ``bwrap --args N -- <the kernel's command>``.
    The caller passes the read end to the process (``pass_fds``) and then closes it.
    """
    end = cmd.index("--")  # bwrap reads only options from the pipe, not the command
    data = b"".join(arg.encode() + b"\0" for arg in cmd[1:end])
    if len(data) > 60_000:  # a pipe holds 64 KiB without a reader: keep them on the line
        return cmd, None
    read, write = os.pipe()
    try:
        os.write(write, data)
    finally:
        os.close(write)
    return [cmd[0], "--args", str(read), *cmd[end:]], read


def _passed(name: str) -> str:
    """Return an environment variable's value for the sandbox (a data folder made absolute)."""
    value = os.environ[name]
    return str(Path(value).resolve()) if name == "COURSE_DATASETS" and value else value


def make_run_dir() -> Path:
    """Return a new private folder for one kernel's sockets and working copy."""
    run = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
    _LIVE[run] = None
    return run


#: This process's live sandboxes: run folder -> cgroup (see :func:`clean_up`).
_LIVE: dict[Path, Cgroup | None] = {}


def track(run: Path, cgroup: Cgroup | None) -> None:
    """Remember ``cgroup`` as the sandbox of ``run``, for :func:`clean_up`."""
    _LIVE[run] = cgroup


def release(run: Path) -> None:
    """Remove ``run`` and its cgroup (the kernel is gone); forget them."""
    cgroup = _LIVE.pop(run, None)
    if cgroup is not None:
        cgroup.remove()
    shutil.rmtree(run, ignore_errors=True)


def clean_up() -> None:
    """Kill every sandbox this process still has, then remove their folders and cgroups.

    For the exits that skip the kernel manager's own clean-up: a worker
    stopped by a signal, a grading run interrupted.
    """
    for run in list(_LIVE):
        release(run)


# --- memory and process limits ----------------------------------------------------------


def _own_cgroup_v1(controller: str) -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup") / controller / path.lstrip("/")
    return None


def _v2_root() -> Path | None:
    root = Path("/sys/fs/cgroup")
    if not (root / "cgroup.controllers").exists():
        return None
    own = ""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            own = line[3:].lstrip("/")
    return root / own


@dataclass
class Cgroup:
    """Cgroups holding one submission's processes: memory (and process count) together."""

    folders: list[Path]
    procs: list[Path]
    #: True when the memory limit is set (then no per-process limit is added).
    memory: bool = False

    @classmethod
    def create(cls, limits: Limits) -> Cgroup | None:
        """Make the cgroups, or return None where this machine lets us make none."""
        name = f"course-grading-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        v1 = _own_cgroup_v1("memory")
        if v1 is not None and v1.exists():
            return cls._v1(name, limits)
        return cls._v2(name, limits)

    @classmethod
    def _v1(cls, name: str, limits: Limits) -> Cgroup | None:
        made = cls([], [])
        settings = {"memory": {"memory.limit_in_bytes": limits.memory_mb * 2**20,
                               "memory.memsw.limit_in_bytes": limits.memory_mb * 2**20},
                    "pids": {"pids.max": limits.processes}}
        for controller, values in settings.items():
            parent = _own_cgroup_v1(controller)
            if parent is None:
                continue
            folder = parent / name
            try:
                folder.mkdir()
            except OSError:
                made.remove()
                return None
            made.folders.append(folder)
            made.procs.append(folder / "cgroup.procs")
            for setting, value in values.items():
                if (folder / setting).exists():
                    _write(folder / setting, str(value))
                    made.memory |= setting == "memory.limit_in_bytes"
        return made if made.folders else None

    @classmethod
    def _v2(cls, name: str, limits: Limits) -> Cgroup | None:
        parent = _v2_root()
        if parent is None:
            return None
        try:
            controllers = (parent / "cgroup.subtree_control").read_text()
            if "memory" not in controllers:
                _write(parent / "cgroup.subtree_control", "+memory +pids")
            folder = parent / name
            folder.mkdir()
        except OSError:
            return None
        made = cls([folder], [folder / "cgroup.procs"])
        try:
            _write(folder / "memory.max", str(limits.memory_mb * 2**20))
            made.memory = True
            _write(folder / "memory.swap.max", "0")
            _write(folder / "pids.max", str(limits.processes))
        except OSError:
            pass
        return made

    def enter(self) -> list[str]:
        """Return a command prefix that moves the process into these cgroups, then execs."""
        script = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 97; done; ' \
                 'while [ "$1" != -- ]; do shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *map(str, self.procs), "--"]

    def kill(self) -> None:
        """Kill every process left in the cgroups."""
        for procs in self.procs:
            for _ in range(20):
                try:
                    pids = [int(p) for p in procs.read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def oom_kills(self) -> int:
        """Return how many processes the kernel killed for going over the memory limit."""
        return self._memory_event("oom_kill")

    def limit_hits(self) -> int:
        """Return how often the processes together reached the memory limit (cgroup v2).

        Reaching it does not always end in a kill: the kernel may instead reclaim the
        submission's pages until it barely runs, and then fail for another reason (a
        time-out, output that never ends). This count says memory was the cause.
        """
        return self._memory_event("max")

    def _memory_event(self, event: str) -> int:
        for folder in self.folders:
            for name in ("memory.oom_control", "memory.events"):
                try:
                    text = (folder / name).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    if line.startswith(f"{event} "):
                        return int(line.split()[1])
        return 0

    def remove(self) -> None:
        """Kill what is left, then delete the cgroups (waiting a moment for the killed)."""
        self.kill()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy: a killed process has not exited yet
                    self.kill()
                    time.sleep(0.05)


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(value)


def limit_each_process(memory_mb: int, cgroup: Cgroup | None = None) -> list[str]:
    """Return a ``prlimit`` prefix capping each process's address space, if no cgroup does.

    The address space counts virtual memory (reserved, never used): under a
    1 GB limit scikit-learn's import can fail and OpenBLAS's threads crash the
    kernel. So it is only the fallback where no memory cgroup could be made.
    """
    if memory_mb <= 0 or not shutil.which("prlimit") or (cgroup is not None and cgroup.memory):
        return []
    size = memory_mb * 2**20
    return ["prlimit", f"--as={size}:{size}", "--"]
