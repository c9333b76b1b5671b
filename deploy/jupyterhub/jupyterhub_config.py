"""JupyterHub 6 for one cohort of the course on one machine.

Started by ``python -m course hub --users roster.csv --instructor NAME`` (see
course/INSTRUCTORS.md, "A cohort on JupyterHub"), which creates the accounts and
writes the settings this file reads: a JSON file named by $COURSE_HUB_SETTINGS.

- System users log in with their password (PAM); each gets JupyterLab in their
  home folder, started as that user by the hub (LocalProcessSpawner).
- Two groups: ``instructors`` get nbgrader's formgrader and create-assignment
  tools and the course directory ``~/course``; ``learners`` get the Assignment
  List and the Validate button only. The role is read from the hub's groups when
  a server starts, so moving a user between groups takes effect at their next start.
- Everyone shares nbgrader's exchange folder (world-writable, as nbgrader sets it;
  nbgrader makes each course's inbound folder unlistable). A submission is readable
  by its learner and the instructors only (an ACL, course/private_submit.py).
- Each server limits numerical libraries to 2 threads.
- The users' Jupyter config comes from the state folder's ``config/`` (a copy of
  this folder's learner/, instructor/ and common/ that every account can read);
  the hub's database and secrets stay in its ``private/`` (root only).
- Site-specific settings (TLS, another authenticator) go in ``private/local_config.py``
  in the state folder, loaded last.
"""

import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

HERE = Path(__file__).resolve().parent
settings_file = os.environ.get("COURSE_HUB_SETTINGS")
if not settings_file:
    raise SystemExit("jupyterhub_config.py: start the hub with `python -m course hub "
                     "--users roster.csv --instructor NAME`, which sets COURSE_HUB_SETTINGS.")
settings = json.loads(Path(settings_file).read_text())
state = Path(settings["state"])
proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
if not proxy.exists():
    raise SystemExit(f"jupyterhub_config.py: the pinned proxy is not installed ({proxy}); "
                     f"run `npm ci --prefix {HERE}`.")

# --- the hub and its proxy -------------------------------------------------------------
c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.command = [str(proxy)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True

# --- who may log in, and their groups --------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(settings["instructors"]) | set(settings["learners"])
c.Authenticator.admin_users = set(settings.get("admins", []))
c.JupyterHub.load_groups = {
    "instructors": {"users": settings["instructors"]},
    "learners": {"users": settings["learners"]},
}

# --- each user's JupyterLab ------------------------------------------------------------
python = settings["python"]
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
THREADS = "2"
c.Spawner.environment = {
    "PATH": os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
    "OMP_NUM_THREADS": THREADS,
    "OPENBLAS_NUM_THREADS": THREADS,
    "MKL_NUM_THREADS": THREADS,
    "COURSE_ID": settings["course_id"],
    "NBGRADER_EXCHANGE": settings["exchange"],
    # who may read a submission besides its learner (common/nbgrader_config.py)
    "COURSE_INSTRUCTORS": ",".join(settings["instructors"]),
}


def role_config(spawner):
    """Point the server at the Jupyter config of the user's role (instructor or learner)."""
    groups = {group.name for group in spawner.user.groups}
    role = "instructor" if "instructors" in groups else "learner"
    config = Path(settings["config"])
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(config / role), str(config / "common")])
    spawner.environment["COURSE_HUB_ROLE"] = role


c.Spawner.pre_spawn_hook = role_config

local = state / "local_config.py"
if local.exists():
    load_subconfig(str(local))  # noqa: F821 (provided by traitlets)
