"""The Kubernetes configuration (deploy/kubernetes/), checked without a cluster.

``config.yaml`` is checked as Helm checks it, against the values schema of the pinned
chart (merged into the chart's defaults, both vendored beside it); its figures and
paths against the repository; its ``hub.extraConfig`` Python by running it with a
stand-in for the spawner; and the Jupyter configuration a pod would get by running the
image's ``start`` with the pod's environment, in a throw-away prefix made as Binder's
is (tests/browser/learner_env.py). What cannot be checked here: that a cluster
schedules it, mounts the exchange and runs the Job.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import yaml
from browser.learner_env import make_learner_env, server_extensions
from nbtools import ROOT
from traitlets.config import Config

from course.bench import NOTEBOOK_MB
from course.grading.run.sandbox import DEFAULT_MEMORY_MB
from course.hub import EXCHANGE_MODE

KUBERNETES = ROOT / "deploy" / "kubernetes"
CHART = "4.4.0"
SCHEMA = KUBERNETES / f"z2jh-{CHART}-values.schema.json"
DEFAULTS = KUBERNETES / f"z2jh-{CHART}-values.yaml"
IMAGE_ROOT = "/srv/course"  # where the image holds the repository (--target-repo-dir)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SERVER = "nbgrader.server_extensions."

#: A learner's server at rest, all its processes, as tests/test_hub.py measured it
#: (test-artifacts/hub/timings.json, "learner server at rest"), rounded up.
SERVER_AT_REST_MB = 256


def _mb(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([MG])i?", quantity).groups()
    return float(number) * (1024 if unit == "G" else 1)


def _values() -> dict:
    return yaml.safe_load((KUBERNETES / "config.yaml").read_text())


def _merged(defaults: dict, values: dict) -> dict:
    """``values`` over the chart's ``defaults``, as Helm merges them (null removes a key)."""
    out = dict(defaults)
    for key, value in values.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _schema_errors(values: dict) -> list[str]:
    """What Helm would refuse in ``values``: the schema's complaints about the merged values."""
    schema = json.loads(SCHEMA.read_text())
    merged = _merged(yaml.safe_load(DEFAULTS.read_text()), values)
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(merged)]


def _exchange_documents() -> dict[str, dict]:
    documents = list(yaml.safe_load_all((KUBERNETES / "exchange.yaml").read_text()))
    return {doc["kind"]: doc for doc in documents}


# --- the values, against the chart -----------------------------------------------------

def test_the_values_are_valid_for_the_pinned_chart():
    jsonschema.Draft7Validator.check_schema(json.loads(SCHEMA.read_text()))
    assert _schema_errors(_values()) == []


@pytest.mark.parametrize("section, right, wrong", [("singleuser", "memory", "memroy"),
                                                   ("hub", "extraConfig", "extraConfg"),
                                                   ("cull", "timeout", "timout")])
def test_a_misspelt_key_is_refused(section, right, wrong):
    values = _values()
    values[section][wrong] = values[section].pop(right)
    errors = _schema_errors(values)
    assert any(f"'{wrong}' was unexpected" in error for error in errors), errors


def test_the_helm_command_pins_the_chart_whose_schema_is_vendored():
    header = (KUBERNETES / "config.yaml").read_text().split("\nhub:", 1)[0]
    pinned = re.findall(r"helm upgrade --install course jupyterhub/jupyterhub --version (\S+)",
                        header)
    assert pinned == [CHART], header
    vendored = {p.name for p in KUBERNETES.glob("z2jh-*")}
    assert vendored == {DEFAULTS.name, SCHEMA.name}, vendored
    readme = (KUBERNETES / "README.md").read_text()
    assert f"git checkout {CHART}" in readme and "BSD 3-Clause" in readme
    order = header.index("kubectl apply --namespace course -f deploy/kubernetes/exchange.yaml")
    assert order < header.index("helm upgrade"), "the exchange comes before the chart"


# --- the values, against the repository ------------------------------------------------

def test_the_values_agree_with_the_repository():
    text = (KUBERNETES / "config.yaml").read_text()
    single = _values()["singleuser"]
    env = single["extraEnv"]
    start = (ROOT / "start").read_text()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert f"export {name}={env[name]}" in start, name  # the image's own thread limit
    assert f"--target-repo-dir {IMAGE_ROOT}" in text
    assert "JUPYTER_CONFIG_PATH" not in env, "start puts the role's config first: set that"
    common = (ROOT / "deploy" / "jupyterhub" / "common" / "nbgrader_config.py").read_text()
    assert all(f'os.environ["{name}"]' in common for name in ("COURSE_ID", "NBGRADER_EXCHANGE"))
    assert all((ROOT / name).is_file() for name in ("environment.yml", "postBuild", "start"))
    memory = single["memory"]
    assert _mb(memory["guarantee"]) >= SERVER_AT_REST_MB + NOTEBOOK_MB
    assert _mb(memory["limit"]) == 2048  # Binder's 2 GB, which the course is built to fit
    assert 0 < single["cpu"]["guarantee"] <= single["cpu"]["limit"] == 2
    cull = _values()["cull"]
    assert cull["enabled"] and cull["timeout"] > 0


def test_every_server_mounts_the_exchange_that_exchange_yaml_makes():
    storage = _values()["singleuser"]["storage"]
    exchange = _values()["singleuser"]["extraEnv"]["NBGRADER_EXCHANGE"]
    (mount,) = [m for m in storage["extraVolumeMounts"] if m["mountPath"] == exchange]
    (volume,) = [v for v in storage["extraVolumes"] if v["name"] == mount["name"]]
    claim = _exchange_documents()["PersistentVolumeClaim"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "set-me"


def test_the_job_gives_the_exchange_the_mode_the_single_machine_hub_does():
    job = _exchange_documents()["Job"]["spec"]["template"]["spec"]
    assert job["securityContext"]["runAsUser"] == 0 and job["restartPolicy"] == "Never"
    (container,) = job["containers"]
    assert re.fullmatch(r"busybox:\d+\.\d+\.\d+", container["image"]), "pin an exact tag"
    command, mode, folder = container["command"]
    assert command == "chmod" and int(mode, 8) == EXCHANGE_MODE
    assert EXCHANGE_MODE & stat.S_IRWXO == stat.S_IRWXO, "every user writes and enters it"
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == folder
    (volume,) = [v for v in job["volumes"] if v["name"] == mount["name"]]
    claim = _exchange_documents()["PersistentVolumeClaim"]["metadata"]["name"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim


# --- the hub's Python: hub.extraConfig -------------------------------------------------

def _hub_config() -> Config:
    """Run every ``hub.extraConfig`` snippet, in the chart's order, on an empty config."""
    c = Config()
    for _, code in sorted(_values()["hub"]["extraConfig"].items()):
        exec(compile(code, "extraConfig", "exec"), {"c": c})  # our own values
    return c


def _spawn(*groups: str, user_id: int = 7) -> SimpleNamespace:
    """A stand-in for KubeSpawner after the hub's pre_spawn_hook has run."""
    user = SimpleNamespace(id=user_id, groups=[SimpleNamespace(name=g) for g in groups])
    spawner = SimpleNamespace(user=user, environment={})
    _hub_config().KubeSpawner.pre_spawn_hook(spawner)
    return spawner


def _role_config(role: str) -> str:
    return os.pathsep.join(f"{IMAGE_ROOT}/deploy/jupyterhub/{name}" for name in (role, "common"))


def test_the_hook_gives_instructors_and_learners_their_own_config():
    assert _spawn("instructors").environment["COURSE_JUPYTER_CONFIG"] == _role_config(
        "instructor")
    for groups in ((), ("learners",), ("instructor",)):
        assert _spawn(*groups).environment["COURSE_JUPYTER_CONFIG"] == _role_config("learner")
    for role in ("learner", "instructor", "common"):
        assert (ROOT / "deploy" / "jupyterhub" / role / "jupyter_server_config.py").is_file()


def test_only_instructors_are_offered_the_grading_profile():
    profiles = _hub_config().KubeSpawner.profile_list
    learner = [p["slug"] for p in profiles(_spawn("learners"))]
    instructor = {p["slug"]: p for p in profiles(_spawn("instructors"))}
    assert learner == ["learner"]
    assert set(instructor) == {"learner", "grading"}
    grading = instructor["grading"]["kubespawner_override"]
    assert grading["cpu_guarantee"] == grading["cpu_limit"] == 2
    # `grade --workers 2` runs two sandboxed kernels of at most DEFAULT_MEMORY_MB each
    assert _mb(grading["mem_guarantee"]) >= 2 * DEFAULT_MEMORY_MB + SERVER_AT_REST_MB
    assert "profileList" not in _values()["singleuser"], "the list is the function's alone"


def test_each_user_has_their_own_uid_and_the_instructors_group_is_declared():
    c = _hub_config()
    assert c.KubeSpawner.uid(_spawn(user_id=7)) == 10007
    assert c.KubeSpawner.fs_gid == 100
    hub = _values()["hub"]["config"]
    assert set(hub["JupyterHub"]["load_groups"]) == {"instructors"}
    assert hub["JupyterHub"]["load_groups"]["instructors"]["users"] == ["set-me-instructor"]


# --- the pod's Jupyter configuration, through the image's `start` ----------------------

@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """Binder's prefix, made by the repository's postBuild (see tests/test_binder.py)."""
    env = make_learner_env(tmp_path_factory.mktemp("pod"))
    assert env.postbuild.returncode == 0, env.postbuild.stdout + env.postbuild.stderr
    return env


def _pod(image, *groups: str):
    """``image`` with the environment a pod gets: extraEnv, then what the hook sets."""
    env = {**_values()["singleuser"]["extraEnv"], **_spawn(*groups).environment}
    here = {name: value.replace(IMAGE_ROOT, str(ROOT)) for name, value in env.items()}
    return dataclasses.replace(image, env={**image.env, **here})


def _disabled_plugins(pod) -> set[str]:
    result = pod.run("jupyter", "labextension", "list")
    out = ANSI.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, out
    disabled = out.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in out else ""
    return set(re.findall(r"^\s+(@jupyter/nbgrader:\S+)", disabled, re.MULTILINE))


def test_a_learners_pod_has_the_assignment_list_and_no_instructor_tools(image):
    pod = _pod(image)
    assert server_extensions(pod.run) == {
        SERVER + "assignment_list": True, SERVER + "validate_assignment": True,
        SERVER + "formgrader": False, SERVER + "course_list": False}
    assert _disabled_plugins(pod) == {"@jupyter/nbgrader:formgrader",
                                      "@jupyter/nbgrader:create-assignment",
                                      "@jupyter/nbgrader:course-list"}


def test_an_instructors_pod_has_every_nbgrader_tool(image):
    pod = _pod(image, "instructors")
    assert server_extensions(pod.run) == dict.fromkeys(
        [SERVER + name for name in ("assignment_list", "validate_assignment", "formgrader",
                                    "course_list")], True)
    assert _disabled_plugins(pod) == set()


def test_without_a_role_start_still_gives_binders_learner_config(image):
    """Binder sets no COURSE_JUPYTER_CONFIG: learner-config/ (no exchange, no Assignment List)."""
    shown = image.run("bash", "-c", 'echo "$JUPYTER_CONFIG_PATH"').stdout.strip()
    assert shown.split(os.pathsep)[0] == str(ROOT / "learner-config")
    assert server_extensions(image.run)[SERVER + "assignment_list"] is False
    empty = dataclasses.replace(image, env={**image.env, "COURSE_JUPYTER_CONFIG": ""})
    assert server_extensions(empty.run) == server_extensions(image.run)


def test_the_pods_paths_exist_in_the_repository():
    for role in ("learner", "instructor"):
        for folder in _role_config(role).split(os.pathsep):
            assert (ROOT / Path(folder).relative_to(IMAGE_ROOT)).is_dir(), folder
