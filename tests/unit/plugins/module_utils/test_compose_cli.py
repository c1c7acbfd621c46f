# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Compose v2 CLI wrapper, with a scripted ``run`` instead of docker."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _compose_cli as cc
from ansible_collections.aegee.deploy.plugins.module_utils._compose_cli import Compose, ComposeCliError
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_run import FakeRun


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1m30s", 90.0),
        ("40s", 40.0),
        ("500ms", 0.5),
        ("1h", 3600.0),
        ("1h2m3s", 3723.0),
        ("1.5s", 1.5),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("100ns", 1e-7),
        ("0s", 0.0),
        (30000000000, 30.0),
        (0, 0.0),
        (1500000000.0, 1.5),
    ],
)
def test_parse_duration(value, seconds):
    assert cc.parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["garbage", "10", "s", "1x", "1m 30s", " 40s", "40s ", "-1s", "1m30", "m1"])
def test_parse_duration_garbage_gives_the_default(value):
    assert cc.parse_duration(value, default=7.0) == 7.0


@pytest.mark.parametrize("value", [None, ""])
def test_parse_duration_empty_gives_the_default(value):
    assert cc.parse_duration(value, default=3.0) == 3.0


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, 20.0),
        ({"healthcheck": None}, 20.0),
        ({"healthcheck": {}}, 20.0),
        ({"healthcheck": {"disable": True, "interval": "1h"}}, 20.0),
        # start 40 + (30 + 10) * (3 + 1) + margin 10
        ({"healthcheck": {"interval": "30s", "timeout": "10s", "retries": 3, "start_period": "40s"}}, 210.0),
        # docker's defaults: interval 30s, timeout 30s, retries 3
        ({"healthcheck": {"test": ["CMD", "true"]}}, 250.0),
        # a fast healthcheck still gets the minimum
        ({"healthcheck": {"interval": "1s", "timeout": "1s", "retries": 1}}, 20.0),
        ({"healthcheck": {"interval": 2000000000, "timeout": 1000000000, "retries": 9}}, 40.0),
    ],
)
def test_health_timeout(config, expected):
    assert cc.health_timeout(config) == pytest.approx(expected)


def test_health_timeout_minimum_and_margin():
    assert cc.health_timeout({}, minimum=5) == 5
    hc = {"healthcheck": {"interval": "10s", "timeout": "5s", "retries": 1}}
    assert cc.health_timeout(hc, minimum=0, margin=0) == pytest.approx(30.0)


# ------------------------------------------------------------- project files


@pytest.fixture
def project(tmp_path):
    for name in ("base-docker-compose.yml", "core/docker/docker-compose.yml", "events/docker/docker-compose.yml",
                 "custom.yml"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("services: {}\n")
    return str(tmp_path)


def test_project_files_follow_enabled_services(project):
    assert cc.project_files(project, {"ENABLED_SERVICES": "events:core"}) == [
        "base-docker-compose.yml",
        "events/docker/docker-compose.yml",
        "core/docker/docker-compose.yml",
    ]


def test_project_files_skip_empty_parts(project):
    assert cc.project_files(project, {"ENABLED_SERVICES": ":core::"}) == [
        "base-docker-compose.yml",
        "core/docker/docker-compose.yml",
    ]


def test_project_files_without_a_base_file(project):
    assert cc.project_files(project, {"ENABLED_SERVICES": "core"}, base_file="") == ["core/docker/docker-compose.yml"]


@pytest.mark.parametrize("env", [{}, {"ENABLED_SERVICES": ""}, {"ENABLED_SERVICES": ":"}, {"ENABLED_SERVICES": None}])
def test_project_files_need_enabled_services(project, env):
    with pytest.raises(ComposeCliError, match="ENABLED_SERVICES is empty or missing in %s/.env" % project):
        cc.project_files(project, env)


def test_project_files_missing_files_are_named(project):
    with pytest.raises(ComposeCliError) as exc:
        cc.project_files(project, {"ENABLED_SERVICES": "core:mailer:frontend"})
    assert str(exc.value) == "compose files missing in %s: mailer/docker/docker-compose.yml, " \
        "frontend/docker/docker-compose.yml" % project


def test_project_files_explicit_list_wins(project):
    assert cc.project_files(project, {"ENABLED_SERVICES": "nothing-here"}, files=["custom.yml"]) == ["custom.yml"]
    with pytest.raises(ComposeCliError, match="missing.yml"):
        cc.project_files(project, {}, files=["custom.yml", "missing.yml"])


# -------------------------------------------------------------------- Compose


def test_argv_with_and_without_project_name():
    run = FakeRun()
    c = Compose("/srv/deploy", ["base.yml", "core/docker/docker-compose.yml"], run)
    assert c.argv("ps") == [
        "docker", "compose", "--project-directory", "/srv/deploy",
        "-f", "/srv/deploy/base.yml", "-f", "/srv/deploy/core/docker/docker-compose.yml", "ps",
    ]
    c = Compose("/srv/deploy", ["base.yml"], run, project="aegee-staging")
    assert c.argv("up", "-d") == [
        "docker", "compose", "--project-directory", "/srv/deploy", "--project-name", "aegee-staging",
        "-f", "/srv/deploy/base.yml", "up", "-d",
    ]


def test_call_runs_in_the_root_and_passes_data():
    run = FakeRun()
    c = Compose("/srv/deploy", ["base.yml"], run)
    assert c("pull", "--quiet", data="x") == (0, "", "")
    argv, cwd, data = run.calls[0]
    assert argv[-2:] == ["pull", "--quiet"] and cwd == "/srv/deploy" and data == "x"


def test_call_failure_raises_with_cleaned_output():
    err = 'time="..." level=warning msg="/x.yml: the attribute `version` is obsolete"\nno such service: nope\n'
    c = Compose("/r", ["a.yml"], FakeRun(default=(1, "", err)))
    with pytest.raises(ComposeCliError) as exc:
        c("up", "nope")
    assert str(exc.value) == "docker compose up nope failed: no such service: nope"
    rc, _out, cleaned = c("up", "nope", check=False)
    assert rc == 1 and cleaned == "no such service: nope"


CONTAINERS = [
    {"ID": "abc", "Name": "p-core-1", "Service": "core", "State": "running", "Image": "x/core:1.5.0"},
    {"ID": "def", "Name": "p-events-1", "Service": "events", "State": "exited", "Image": "x/events:1.4.2"},
]


@pytest.mark.parametrize(
    "out",
    [
        "\n".join(json.dumps(c) for c in CONTAINERS) + "\n",  # Compose >= 2.21: one object per line
        json.dumps(CONTAINERS),  # older Compose v2: one array
        "\n\n" + "\n\n".join(json.dumps(c) for c in CONTAINERS) + "\n\n",
    ],
    ids=["json-lines", "json-array", "blank-lines"],
)
def test_ps_parses_both_formats(out):
    run = FakeRun(default=(0, out, ""))
    assert Compose("/r", ["a.yml"], run).ps(["core", "events"]) == CONTAINERS
    assert run.calls[0][0][-7:] == ["ps", "--all", "--no-trunc", "--format", "json", "core", "events"]


@pytest.mark.parametrize("out", ["", "\n", "[]"])
def test_ps_of_nothing(out):
    assert Compose("/r", ["a.yml"], FakeRun(default=(0, out, ""))).ps() == []


def test_config_parses_json_or_says_what_it_got():
    good = {"services": {"core": {"image": "x"}}}
    assert Compose("/r", ["a.yml"], FakeRun(default=(0, json.dumps(good), ""))).config() == good
    with pytest.raises(ComposeCliError, match="did not print JSON: services:"):
        Compose("/r", ["a.yml"], FakeRun(default=(0, "services:\n", ""))).config()


def test_evidence_gathers_ps_health_log_and_logs():
    health = {"Status": "unhealthy", "Log": [{"End": "2024-01-01T10:00:00.123Z", "ExitCode": 1, "Output": "boom\n"}]}
    run = FakeRun({
        ("docker", "compose", "--project-directory", "/r", "-f", "/r/a.yml", "ps", "--all", "--no-trunc"):
            (0, json.dumps(CONTAINERS[0]), ""),
        ("docker", "compose", "--project-directory", "/r", "-f", "/r/a.yml", "ps", "--all"): (0, "TABLE", ""),
        ("docker", "inspect"): (0, json.dumps(health), ""),
        ("docker", "compose", "--project-directory", "/r", "-f", "/r/a.yml", "logs"): (0, "core | crashed\n", ""),
    })
    text = Compose("/r", ["a.yml"], run).evidence(["core"])
    assert "$ docker compose ps core\nTABLE" in text
    assert "health log of p-core-1 (unhealthy):\n  2024-01-01T10:00:00 exit 1: boom" in text
    assert "$ docker compose logs --tail 20 core\ncore | crashed" in text


# ------------------------------------------------------------------ diagnose


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            {("docker", "version"): (127, "", "/bin/sh: docker: not found")},
            "the docker CLI is not installed on this host: install Docker Engine",
        ),
        (
            {("docker", "version"): (2, "", "[Errno 2] No such file or directory: b'docker'")},
            "the docker CLI is not installed on this host: install Docker Engine",
        ),
        (
            {("docker", "version"): (1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                            "Is the docker daemon running?")},
            "the Docker engine does not answer (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?): start it, and check that this user may use it",
        ),
        (
            {("docker", "version"): (0, "24.0.5\n", ""),
             ("docker", "compose"): (125, "", "docker: 'compose' is not a docker command."),
             ("docker-compose",): (0, "1.29.2\n", "")},
            "only Compose v1 (docker-compose 1.29.2) is installed; aegee.deploy needs Compose v2 (`docker compose`): "
            "install the docker-compose-plugin package (or the v2 binary as a CLI plugin)",
        ),
        (
            {("docker", "version"): (0, "24.0.5\n", ""),
             ("docker", "compose"): (125, "", "docker: 'compose' is not a docker command."),
             ("docker-compose",): (127, "", "not found")},
            "Docker Compose v2 (`docker compose`) is not available: install the docker-compose-plugin package",
        ),
        (
            # a docker-compose that is v2 itself does not count as v1
            {("docker", "version"): (0, "24.0.5\n", ""),
             ("docker", "compose"): (125, "", "docker: 'compose' is not a docker command."),
             ("docker-compose",): (0, "2.24.0\n", "")},
            "Docker Compose v2 (`docker compose`) is not available: install the docker-compose-plugin package",
        ),
        (
            {("docker", "version"): (0, "24.0.5\n", ""), ("docker", "compose"): (0, "2.24.0\n", "")},
            None,
        ),
    ],
    ids=["docker-missing-127", "docker-missing-enoent", "engine-down", "compose-v1-only", "compose-missing",
         "docker-compose-is-v2", "all-fine"],
)
def test_diagnose(answers, expected):
    assert cc.diagnose(FakeRun(answers)) == expected


def test_diagnose_keeps_the_end_of_a_long_error():
    msg = cc.diagnose(FakeRun({("docker", "version"): (1, "", "x" * 1000 + "permission denied")}))
    assert "permission denied" in msg and len(msg) < 450


# -------------------------------------------------------------- clean_output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  hello \n", "hello"),
        ('level=warning msg="/a.yml: the attribute `version` is obsolete, it will be ignored"\nreal error',
         "real error"),
        ("a\nthe attribute `version` is obsolete\nb\nthe attribute `version` is obsolete", "a\nb"),
    ],
)
def test_clean_output(text, expected):
    assert cc.clean_output(text) == expected


def test_default_file_names_are_the_deploy_repos():
    assert cc.DEFAULT_BASE_FILE == "base-docker-compose.yml"
    assert cc.DEFAULT_SERVICE_FILE.format(service="core") == os.path.join("core", "docker", "docker-compose.yml")
