"""A JupyterHub started with the course's command, on loopback, and its REST API.

The hub is started exactly as an instructor starts it (``python -m course hub``);
the test adds one thing through the hub's documented site hook
(``private/local_config.py`` in the state folder): an API token for itself, with the
scopes of an admin who starts servers and calls them.

The users' servers run the course environment that ``.ci/hub-setup`` installs
with Debian's Python where every account can read it ($COURSE_HUB_ENV, by default
/opt/ml-foundations-hub); the test first brings its copy of the ``course`` package
up to date with this checkout.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from browser.lab import call_api, free_port
from nbtools import ROOT

from course.hub import system_tool

HUB_ENV = Path(os.environ.get("COURSE_HUB_ENV", "/opt/ml-foundations-hub"))
HUB_PYTHON = HUB_ENV / "bin" / "python"

LOCAL_CONFIG = """c = get_config()  # noqa: F821
c.JupyterHub.services = [{{"name": "course-test", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [{{
    "name": "course-test",
    "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
    "services": ["course-test"],
}}]
"""


@dataclass
class Hub:
    """A running hub: its process, address, admin token and folders."""

    process: subprocess.Popen
    port: int
    token: str
    state: Path
    log: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: object = None,
            timeout: float = 180) -> tuple[int, object]:
        """Call the hub (``hub/api/...``) or a user's server (``user/NAME/...``) as admin."""
        return call_api(f"{self.base}/{path.lstrip('/')}", self.token, method, body, timeout)

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def passwords(self) -> dict[str, str]:
        """The first passwords ``python -m course hub`` gave the accounts it created."""
        lines = (self.state / "private" / "passwords.csv").read_text().splitlines()[1:]
        return dict(line.split(",", 1) for line in lines)

    def start_server(self, user: str) -> None:
        status, body = self.api("POST", f"hub/api/users/{user}/server")
        assert status in (201, 202, 400), f"could not start {user}'s server: {status} {body}"

    def wait_ready(self, user: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.api("GET", f"hub/api/users/{user}")
            server = (body or {}).get("servers", {}).get("") if status == 200 else None
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not start in {timeout:.0f} s:\n"
                             f"{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the hub stops the users' servers and its proxy
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_hub(base: Path, roster: Path, instructor: str, timeout: float = 120) -> Hub:
    """Run ``python -m course hub`` for ``roster``; return once the hub's API answers."""
    state, token = base / "state", secrets.token_hex(24)
    (state / "private").mkdir(parents=True, mode=0o700)
    (state / "private" / "local_config.py").write_text(LOCAL_CONFIG.format(token=token))
    port, log = free_port(), base / "hub.log"
    command = [sys.executable, "-m", "course", "hub", "--users", str(roster),
               "--instructor", instructor, "--state", str(state),
               "--exchange", str(base / "exchange"), "--course-id", "mlpm-hub-test",
               "--port", str(port), "--hub-port", str(free_port()),
               "--proxy-api-port", str(free_port()), "--python", str(HUB_PYTHON)]
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    hub = Hub(process, port, token, state, log)
    deadline = started + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`python -m course hub` exited with {process.returncode}:\n"
                                 f"{hub.log_tail()}")
        try:
            if hub.api("GET", "hub/api/users", timeout=5)[0] == 200:
                hub.timings["hub start (accounts, exchange, course, hub up)"] = (
                    time.monotonic() - started)
                return hub
        except OSError:
            pass
        time.sleep(0.5)
    hub.stop()
    raise AssertionError(f"the hub did not answer within {timeout:.0f} s:\n{hub.log_tail()}")


def as_user(user: str, *command: str, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``command`` as the system account ``user``, with its home and the hub's Python."""
    home = pwd.getpwnam(user).pw_dir
    env = {"HOME": home, "USER": user, "LANG": "C.UTF-8",
           "PATH": os.pathsep.join([str(HUB_PYTHON.parent), "/usr/bin", "/bin"])}
    return subprocess.run([system_tool("runuser"), "-u", user, "--", *command],
                          cwd=cwd or home, env=env, capture_output=True, text=True,
                          timeout=timeout)


def memory_mb(user: str) -> float:
    """Resident memory of every process of ``user``, in MB."""
    result = subprocess.run(["ps", "-u", user, "-o", "rss="], capture_output=True, text=True)
    return sum(int(n) for n in result.stdout.split()) / 1024


def processes(user: str) -> list[str]:
    """``user``'s processes: resident MB and command line, the largest first."""
    result = subprocess.run(["ps", "-u", user, "-o", "rss=,args=", "--sort=-rss"],
                            capture_output=True, text=True)
    return [f"{int(rss) / 1024:.0f} MB {args[:120]}"
            for rss, args in (line.split(None, 1) for line in result.stdout.splitlines())]


def remove_users(names: list[str]) -> None:
    """Delete the test's accounts, their homes and any process they still run."""
    for name in names:
        listed = subprocess.run(["ps", "-u", name, "-o", "pid="], capture_output=True, text=True)
        for pid in listed.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run([system_tool("userdel"), "--remove", "--force", name], capture_output=True)


def _package_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".py", ".json")}


def refresh_course() -> None:
    """Bring the hub environment's copy of ``course`` (editable, see .ci/hub-setup) up to date."""
    copy = HUB_ENV / "course" / "course"
    if _package_files(copy) != _package_files(ROOT / "course"):
        shutil.copytree(ROOT / "course", copy, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(["chmod", "-R", "a+rX", str(copy)], check=True)
