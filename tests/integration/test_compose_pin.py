# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""aegee.deploy.compose_pin through real Ansible on a copy of the real-shaped core compose file.

Needs only the checkout's venv; the ``docker compose config`` comparison
needs the Docker CLI with Compose v2 and a running engine (the testbed's) and
fails, rather than skips, when ``AEGEE_REQUIRE_DOCKER=1`` and they are absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(REPO_ROOT, "tests", "fixtures", "compose", "core-docker-compose.yml")
ANSIBLE = os.path.join(REPO_ROOT, ".venv", "bin", "ansible")
DIGEST = "sha256:" + "5f" * 32
COMPOSE_ENV = {
    "MYAEGEE_ENV": "production",
    "CORE_DB_PASSWORD": "not-a-secret",
    "SUBDOMAIN_FRONTEND": "my.",
    "BASE_URL": "aegee.test",
    "BIND_IP": "127.0.0.1",
    "PORT_PREFIX": "180",
    "NETWORK_NAME": "myaegee-net",
}


def env(**extra):
    e = dict(os.environ)
    e.update(
        ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=os.path.join(REPO_ROOT, ".venv", "bin") + os.pathsep + e.get("PATH", ""),
    )
    e.update(extra)
    return e


def pin(args, *flags, as_json=True):
    """Run the module ad hoc on localhost; return (rc, result dict or raw stdout)."""
    extra = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"} if as_json else {}
    proc = subprocess.run(
        [ANSIBLE, "localhost", "-m", "aegee.deploy.compose_pin", "-a", args, *flags],
        cwd=REPO_ROOT,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if not as_json:
        return proc.returncode, proc.stdout + proc.stderr
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("no JSON from ansible:\n%s\n%s" % (proc.stdout, proc.stderr)) from None
    return proc.returncode, data["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture
def compose(tmp_path):
    path = tmp_path / "core" / "docker" / "docker-compose.yml"
    path.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURE, path)
    if os.geteuid() == 0:
        os.chown(path, 1234, 4321)
    os.chmod(path, 0o640)
    return path


def owner_mode(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_one_line_diff_then_no_change(compose):
    original = compose.read_bytes()
    before_owner = owner_mode(compose)
    rc, out = pin(f"path={compose} service=core tag=1.4.2", "--diff", as_json=False)
    assert rc == 0, out
    changes = [line for line in out.splitlines() if re.match(r"^[-+](?![-+]{2} )", line)]
    assert changes == [
        "-        image: localhost:5000/aegee/core:latest",
        "+        image: localhost:5000/aegee/core:1.4.2",
    ], out
    assert "CHANGED" in out
    after = compose.read_bytes()
    assert after == original.replace(b"aegee/core:latest", b"aegee/core:1.4.2")
    assert owner_mode(compose) == before_owner
    assert os.listdir(compose.parent) == ["docker-compose.yml"]

    rc, result = pin(f"path={compose} service=core tag=1.4.2")
    assert rc == 0 and result["changed"] is False, result
    assert compose.read_bytes() == after


def test_check_mode_leaves_file_byte_identical(compose):
    original = compose.read_bytes()
    rc, result = pin(f"path={compose} service=core tag=1.4.2 digest={DIGEST}", "--check", "--diff")
    assert rc == 0 and result["changed"] is True, result
    assert result["after"] == "localhost:5000/aegee/core:1.4.2@" + DIGEST
    assert compose.read_bytes() == original
    assert os.listdir(compose.parent) == ["docker-compose.yml"]


def test_backup_and_digest(compose):
    original = compose.read_bytes()
    rc, result = pin(f"path={compose} image=localhost:5000/aegee/core tag=1.4.2 digest={DIGEST} backup=true")
    assert rc == 0 and result["changed"] is True, result
    assert result["services"] == ["core"]
    with open(result["backup_file"], "rb") as handle:
        assert handle.read() == original
    rc, result = pin(f"path={compose} service=core tag=latest")
    assert rc == 0 and result["changed"] is True
    assert compose.read_bytes() == original  # back to following latest, byte for byte


BAD = [
    (
        "unknown service",
        None,
        "service=nope tag=1.4.2",
        r"service 'nope' is not defined .*known services: core, postgres-core",
    ),
    (
        "no image",
        ("        image: localhost:5000/aegee/core:latest\n", "        build: ../..\n"),
        "service=core tag=1.4.2",
        r"has no 'image:': it is built from 'build:'",
    ),
    (
        "image variable",
        ("localhost:5000/aegee/core:latest", "${CORE_IMAGE}"),
        "service=core tag=1.4.2",
        r"is the variable \$\{CORE_IMAGE\}: its value is set in \.env or the environment",
    ),
    (
        "tag variable",
        ("localhost:5000/aegee/core:latest", "localhost:5000/aegee/core:${CORE_VERSION}"),
        "service=core tag=1.4.2",
        r"its tag comes from \$\{CORE_VERSION\}",
    ),
    ("bad tag", None, "service=core tag=.hidden", r"'\.hidden' is not a valid Docker tag"),
    ("bad digest", None, "service=core tag=1.4.2 digest=sha256:1234", r"'sha256:1234' is not a valid image digest"),
    (
        "invalid yaml",
        ("    core:\n", "    core: [\n"),
        "service=core tag=1.4.2",
        r"is not valid YAML: line \d+, column \d+",
    ),
    ("not compose", ("services:\n", "servicez:\n"), "service=core tag=1.4.2", r"is not a compose file"),
    (
        "unknown image",
        None,
        "image=aegee/events tag=1.4.2",
        r"no service in .* uses the image repository 'aegee/events'",
    ),
]


@pytest.mark.parametrize("label,edit,args,pattern", BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_clearly_and_leaves_file(compose, label, edit, args, pattern):
    if edit:
        compose.write_text(compose.read_text().replace(*edit, 1))
    original = compose.read_bytes()
    before_owner = owner_mode(compose)
    rc, result = pin(f"path={compose} {args}")
    assert rc != 0 and result.get("failed") is True, result
    assert re.search(pattern, result["msg"]), result["msg"]
    assert "Traceback" not in result["msg"]
    assert compose.read_bytes() == original
    assert owner_mode(compose) == before_owner
    assert os.listdir(compose.parent) == ["docker-compose.yml"]


def test_missing_file_fails_clearly(tmp_path):
    rc, result = pin(f"path={tmp_path}/nope.yml service=core tag=1.4.2")
    assert rc != 0
    assert result["msg"] == f"compose file {tmp_path}/nope.yml does not exist"
    assert os.listdir(tmp_path) == []


def docker_compose_available():
    if shutil.which("docker") is None:
        return "no docker CLI"
    for cmd in (["docker", "compose", "version"], ["docker", "info"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        if proc.returncode != 0:
            return "%s failed: %s" % (" ".join(cmd), (proc.stderr or proc.stdout).strip()[:300])
    return None


def compose_config(path, project_dir):
    proc = subprocess.run(
        [
            "docker",
            "compose",
            "-p",
            "pintest",
            "--project-directory",
            str(project_dir),
            "-f",
            str(path),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env(**COMPOSE_ENV),
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_docker_compose_config_equal_apart_from_image(compose, tmp_path):
    reason = docker_compose_available()
    if reason:
        if os.environ.get("AEGEE_REQUIRE_DOCKER") == "1":
            pytest.fail("docker compose is required here (AEGEE_REQUIRE_DOCKER=1): " + reason)
        pytest.skip(reason)
    original = tmp_path / "original.yml"
    shutil.copyfile(compose, original)
    rc, result = pin(f"path={compose} service=core tag=1.4.2 digest={DIGEST}")
    assert rc == 0 and result["changed"], result
    before = compose_config(original, tmp_path)
    after = compose_config(compose, tmp_path)
    assert after["services"]["core"]["image"] == "localhost:5000/aegee/core:1.4.2@" + DIGEST
    assert before["services"]["core"]["image"] == "localhost:5000/aegee/core:latest"
    before["services"]["core"]["image"] = after["services"]["core"]["image"]
    assert before == after
    # the interpolation and the anchors really were resolved by compose, so the comparison means something
    assert after["services"]["core"]["environment"]["DB_PASSWORD"] == "not-a-secret"
    assert after["services"]["core"]["logging"]["driver"] == "json-file"
    assert after["services"]["core"]["healthcheck"]["test"] == [
        "CMD",
        "curl",
        "-f",
        "http://localhost:8084/healthcheck",
    ]


HOST_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(not os.path.exists(HOST_PYTHON), reason="no Debian /usr/bin/python3 here")
def test_runs_under_the_hosts_python(compose):
    """The hosts run modules with Debian's python3 (ruamel.yaml 0.17.21): same one-line result there."""
    original = compose.read_bytes()
    rc, result = pin(f"path={compose} service=core tag=1.4.2", "-e", f"ansible_python_interpreter={HOST_PYTHON}")
    assert rc == 0 and result["changed"] is True, result
    assert compose.read_bytes() == original.replace(b"aegee/core:latest", b"aegee/core:1.4.2")
    rc, result = pin(f"path={compose} service=core tag=1.4.2", "-e", f"ansible_python_interpreter={HOST_PYTHON}")
    assert rc == 0 and result["changed"] is False, result
