"""``python -m course hub``: start a JupyterHub for one cohort on this machine.

From a roster and the instructors' names it creates the system accounts that do
not exist yet (each with a home only its owner can read and a random first
password), nbgrader's shared exchange folder, the instructor's course directory
(``~/course``, a copy of this course) and its gradebook, then runs JupyterHub with
``deploy/jupyterhub/jupyterhub_config.py``. Nothing that exists is overwritten:
an account keeps its password, an instructor's ``~/course`` is left as it is.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from course.errors import InstructorError
from course.grading.intake.roster import read_roster
from course.grading.results.csvsafe import inert_cell
from course.layout import (
    add_course_dir,
    course_root,
    load_config,
    put_venv_on_path,
    scratch_course,
)
from course.notebook import module_ids

DEPLOY = Path("deploy") / "jupyterhub"  # in the course root
PROXY = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
ROLES = ("learner", "instructor", "common")  # Jupyter config folders, by role
ACCOUNT = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
COURSE_FOLDER = "course"  # the instructor's course directory, in their home
EXCHANGE_MODE = 0o777  # nbgrader's exchange root: every user writes and enters it


@dataclass
class Cohort:
    """Who uses the hub and where its shared state lives."""

    instructors: list[str]
    learners: list[str]
    course_id: str
    exchange: Path
    state: Path  # config/ (what users' servers read) and private/ (root only)
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    python: str = field(default_factory=lambda: sys.executable)

    @property
    def private(self) -> Path:
        """The hub's database, cookie secret, settings and first passwords: root only."""
        return self.state / "private"

    def settings(self) -> dict:
        """Return what ``jupyterhub_config.py`` reads."""
        return {"instructors": self.instructors, "learners": self.learners,
                "course_id": self.course_id, "exchange": str(self.exchange),
                "state": str(self.private), "config": str(self.state / "config"),
                "ip": self.ip, "port": self.port,
                "hub_port": self.hub_port, "proxy_api_port": self.proxy_api_port,
                "python": self.python}


def suggest_account(student_id: str) -> str:
    """Return an account name a hub could use for ``student_id`` (``eve@acme.io`` → ``eve``)."""
    name = re.sub(r"[^a-z0-9_.-]", "_", student_id.split("@")[0].lower())
    return (name if re.match(r"[a-z_]", name) else f"u{name}")[:32]


def account_names(roster: Path, instructors: list[str]) -> list[str]:
    """Return the learners' account names; refuse names that Linux or the hub cannot use.

    On a hub, nbgrader takes a learner's student id from their account name, so
    the roster's ids must be account names; every id that cannot be one is
    listed at once, with a name that would do.
    """
    learners = [student.id for student in read_roster(roster)]
    bad = [name for name in [*instructors, *learners] if not ACCOUNT.fullmatch(name)]
    if bad:
        raise InstructorError(
            f"{', '.join(map(repr, bad))} cannot be a hub account: use lower-case letters, "
            "digits and . _ - (starting with a letter or _, at most 32 characters). On a hub "
            "the student id IS the account name (nbgrader's exchange takes it from the "
            "account), so change these ids in the roster, for example "
            + ", ".join(f"{b} -> {suggest_account(b)}" for b in bad)
            + ". nbgrader's exchange also refuses + in a user name.")
    both = sorted(set(instructors) & set(learners))
    if both:
        raise InstructorError(f"{', '.join(both)} is both an instructor and on the roster: "
                              "an account is one or the other.")
    if not instructors:
        raise InstructorError("name at least one instructor (--instructor NAME).")
    return learners


def exists(name: str) -> bool:
    """Return True if the system account ``name`` exists."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def create_account(name: str) -> str:
    """Create the system account ``name`` with a private home; return its first password."""
    run(["useradd", "--create-home", "--shell", "/bin/bash", name])
    home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)
    password = first_password()
    run(["chpasswd"], stdin=f"{name}:{password}\n")
    return password


def first_password() -> str:
    """Return a random password that a spreadsheet opening passwords.csv shows as it is.

    ``token_urlsafe`` can start with ``-``, which a spreadsheet reads as a formula;
    such a password is drawn again (:mod:`course.grading.results.csvsafe`), never altered.
    """
    while True:
        password = secrets.token_urlsafe(12)
        if inert_cell(password) == password:
            return password


def ensure_accounts(names: list[str], passwords: Path) -> list[str]:
    """Create the accounts that do not exist; append their passwords to ``passwords``."""
    created = {name: create_account(name) for name in names if not exists(name)}
    if created:
        new_file = not passwords.exists()
        with passwords.open("a", newline="") as handle:
            passwords.chmod(0o600)
            writer = csv.writer(handle, lineterminator="\n")
            if new_file:
                writer.writerow(["user", "first_password"])
            writer.writerows(created.items())
    return list(created)


def prepare_exchange(exchange: Path) -> None:
    """Create nbgrader's exchange folder, writable by everyone as nbgrader requires."""
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(EXCHANGE_MODE)
    for parent in exchange.parents:
        if not os.stat(parent).st_mode & 0o001:
            raise InstructorError(f"the exchange {exchange} is inside {parent}, which other "
                                  "users cannot enter: choose a folder such as "
                                  "/srv/nbgrader/exchange.")


def prepare_course(root: Path, instructor: str, learners: list[str]) -> Path:
    """Copy the course into the instructor's ``~/course`` (if absent); register the cohort.

    The gradebook gets every learner and every module, so formgrader lists and grades them.
    """
    account = pwd.getpwnam(instructor)
    course = Path(account.pw_dir) / COURSE_FOLDER
    if not course.exists():
        scratch_course(root, module_ids(root), course, with_release=True)
    _register(course, learners, module_ids(root))
    for path in [course, *course.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return course


def _register(course: Path, learners: list[str], modules: list[str]) -> None:
    """Put the learners and the modules (notebooks and test cells too) in the gradebook.

    Formgrader's Autograde button then works before any other grading. A module's
    notebooks come from ``nbgrader generate_assignment`` into a scratch release, once:
    the course's own release (``notebooks/``) is left as it is.
    """
    from nbgrader.api import Gradebook

    from course.grading.records.gradebook import prepare_assignment, release_scratch

    put_venv_on_path()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for learner in learners:
            gradebook.update_or_create_student(learner)
        missing = [m for m in modules if not gradebook.update_or_create_assignment(m).notebooks]
    config, scratch = load_config(course), release_scratch()
    try:
        for module in missing:
            prepare_assignment(config, module, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


PROBE = ("import sys, importlib.util as u, course; "
         "print(sys.version, [m for m in ('jupyterhub', 'nbgrader') if not u.find_spec(m)])")


def check_learner_can_run(cohort: Cohort) -> None:
    """Raise unless a learner's account runs the course environment as root does.

    A Python that only root can fully read (under /root, say) can still start for
    other users on the system's own standard library, which then does not match
    the packages: refuse that too.
    """
    someone = (cohort.learners or cohort.instructors)[0]
    ours = subprocess.run([cohort.python, "-c", PROBE], capture_output=True, text=True)
    theirs = subprocess.run(["runuser", "-u", someone, "--", cohort.python, "-c", PROBE],
                            cwd="/", capture_output=True, text=True)
    if theirs.returncode != 0 or theirs.stdout != ours.stdout or "[]" not in ours.stdout:
        said = (theirs.stderr.strip().splitlines() or [f"Python {theirs.stdout.strip()}"])[-1]
        raise InstructorError(
            f"the account {someone!r} cannot run the course environment {cohort.python} "
            f"as root does ({said}; root runs Python {ours.stdout.strip()}). Install it "
            "where every account can read it, for example: `python3 -m venv "
            "/opt/ml-foundations-hub && /opt/ml-foundations-hub/bin/pip install '.[hub]'`, "
            "then pass --python /opt/ml-foundations-hub/bin/python.")


def copy_role_configs(root: Path, target: Path) -> None:
    """Copy the users' Jupyter config (by role) where every account can read it."""
    for role in ROLES:
        shutil.copytree(root / DEPLOY / role, target / role, dirs_exist_ok=True)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def prepare(root: Path, cohort: Cohort, roster: Path) -> Path:
    """Make everything the hub needs; return the settings file."""
    if os.geteuid() != 0:
        raise InstructorError("`python -m course hub` must run as root: it creates accounts "
                              "and starts each user's server as that user.")
    if not (root / PROXY).exists():
        raise InstructorError(f"the hub's proxy is not installed: run `npm ci --prefix "
                              f"{root / DEPLOY}` (Node.js 20 or newer).")
    cohort.state.mkdir(parents=True, exist_ok=True)
    cohort.state.chmod(0o755)
    cohort.private.mkdir(exist_ok=True)
    cohort.private.chmod(0o700)
    copy_role_configs(root, cohort.state / "config")
    passwords = cohort.private / "passwords.csv"
    created = ensure_accounts([*cohort.instructors, *cohort.learners], passwords)
    if created:
        print(f"Created {len(created)} accounts; their first passwords are in {passwords} "
              "(readable by root only).", flush=True)
    prepare_exchange(cohort.exchange)
    check_learner_can_run(cohort)
    for instructor in cohort.instructors:
        prepare_course(root, instructor, cohort.learners)
    settings = cohort.private / "hub.json"
    settings.write_text(json.dumps(cohort.settings(), indent=2) + "\n")
    return settings


def start(root: Path, settings: Path) -> None:
    """Replace this process with JupyterHub, configured by ``settings``."""
    env = dict(os.environ, COURSE_HUB_SETTINGS=str(settings))
    os.chdir(settings.parent)
    config = root / DEPLOY / "jupyterhub_config.py"
    os.execve(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(config)], env)


def system_tool(name: str) -> str | None:
    """Return the path of a system command such as ``useradd``, or None.

    Account tools live in /usr/sbin, which is not on every PATH (a root shell from
    ``su`` or a CI runner's often lacks it), so look there too.
    """
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.is_file()), None)


def run(command: list[str], stdin: str | None = None) -> None:
    """Run a system command; raise an InstructorError that says what failed."""
    tool = system_tool(command[0])
    if tool is None:
        raise InstructorError(f"`{command[0]}` is not installed (looked on PATH and in /usr/sbin)")
    result = subprocess.run([tool, *command[1:]], input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise InstructorError(f"`{command[0]}` failed: {result.stderr.strip()}")


def hub_command(args) -> int:
    """Prepare the cohort from ``args`` and start the hub (unless ``--prepare-only``)."""
    root = course_root(args.course_dir)
    learners = account_names(Path(args.users), args.instructor)
    cohort = Cohort(args.instructor, learners, args.course_id, Path(args.exchange).resolve(),
                    Path(args.state).resolve(), args.ip, args.port, args.hub_port,
                    args.proxy_api_port, str(Path(args.python).absolute()))
    settings = prepare(root, cohort, Path(args.users))
    print(f"Hub for {len(learners)} learners and {len(cohort.instructors)} instructors: "
          f"http://{cohort.ip}:{cohort.port}/", flush=True)
    if not args.prepare_only:
        start(root, settings)
    return 0


def add_command(commands) -> None:
    """Add ``hub`` to the ``python -m course`` parser."""
    hub = commands.add_parser(
        "hub", help="instructor: start a JupyterHub for a cohort (run as root)",
        description="Create the roster's accounts, nbgrader's exchange and the instructor's "
                    "course directory, then start JupyterHub (deploy/jupyterhub/).")
    hub.add_argument("--users", required=True, help="the roster (CSV with an id column)")
    hub.add_argument("--instructor", action="append", default=[], required=True,
                     help="an instructor's account name (repeat for several)")
    hub.add_argument("--course-id", default="ml-foundations-for-pms",
                     help="nbgrader's course id (default: ml-foundations-for-pms)")
    hub.add_argument("--exchange", default="/srv/nbgrader/exchange",
                     help="nbgrader's exchange folder (default: /srv/nbgrader/exchange)")
    hub.add_argument("--state", default="/srv/ml-foundations-hub",
                     help="the users' Jupyter config (config/) and the hub's database, "
                          "secrets and first passwords (private/, root only)")
    hub.add_argument("--python", default=sys.executable,
                     help="the course environment's Python that users' servers run; every "
                          "account must be able to read it (default: this Python)")
    hub.add_argument("--ip", default="127.0.0.1",
                     help="address to serve on (default 127.0.0.1; 0.0.0.0 behind TLS)")
    hub.add_argument("--port", type=int, default=8000, help="the hub's public port")
    hub.add_argument("--hub-port", type=int, default=8081, help="the hub's internal port")
    hub.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API port")
    hub.add_argument("--prepare-only", action="store_true",
                     help="create accounts, exchange and course directory; do not start")
    add_course_dir(hub)
    hub.set_defaults(run=hub_command)
