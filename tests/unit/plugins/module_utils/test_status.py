# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_status: what release_info reports, with the docker and HTTP boundaries faked."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils import basic

from ansible_collections.aegee.deploy.plugins.module_utils import _status
from ansible_collections.aegee.deploy.plugins.modules import release_info
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import WARNINGS, patch_exits, run_main

REG = "localhost:5000/aegee"
D_CORE = "sha256:" + "c" * 64
D_CORE_OLD = "sha256:" + "b" * 64
D_EVENTS = "sha256:" + "e" * 64
CORE_PIN = "%s/core:1.5.0@%s" % (REG, D_CORE)
EVENTS_PIN = "%s/events:1.4.2@%s" % (REG, D_EVENTS)

BASE = """version: "3.4"
x-logging: &default-logging
    driver: "json-file"
networks:
    default:
        external: true
        name: "${NETWORK_NAME}"
"""

SERVICE = """version: "3.4"

services:
    {svc}:
        image: {image}
        init: true
        ports:
            - "${{BIND_IP}}:${{PORT_PREFIX}}84:80"
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


@pytest.fixture
def root(tmp_path):
    """A deploy root in the real shape, deployed once by the tool (state.json, history)."""
    r = tmp_path / "myaegee"
    (r / ".git").mkdir(parents=True)
    write(str(r / ".env"), "COMPOSE_PROJECT_NAME=myaegee-staging\nENABLED_SERVICES=core:events\n"
                           "MYAEGEE_ENV=staging\nBIND_IP=127.0.0.2\nPORT_PREFIX=180\nREG=localhost:5000\n")
    write(str(r / "base-docker-compose.yml"), BASE)
    write(str(r / "core/docker/docker-compose.yml"), SERVICE.format(svc="core", image=CORE_PIN))
    write(str(r / "events/docker/docker-compose.yml"), SERVICE.format(svc="events", image=EVENTS_PIN))
    state = {
        "format": 1,
        "managed": {"env": {"BIND_IP": "127.0.0.2"}, "pins": {
            "core": {"file": "core/docker/docker-compose.yml", "value": CORE_PIN},
            "events": {"file": "events/docker/docker-compose.yml", "value": EVENTS_PIN},
        }},
        "current": {
            "core": {"version": "1.5.0", "digest": D_CORE, "image": CORE_PIN, "time": "t", "release": "r2"},
            "events": {"version": "1.4.2", "digest": D_EVENTS, "image": EVENTS_PIN, "time": "t", "release": "r1"},
        },
        "verified": {
            "core": {"1.10.0": {"digest": "sha256:" + "1" * 64}, "1.4.2": {"digest": D_CORE_OLD},
                     "1.5.0": {"digest": D_CORE}},
            "events": {"1.4.2": {"digest": D_EVENTS}},
        },
        "bad": {"events": {"1.5.0": {"time": "t", "by": "alice", "reason": "login broken", "release": "r3"}}},
    }
    write(str(r / ".aegee/state.json"), json.dumps(state))
    history = [
        {"id": "r%d" % i, "time": "2026-01-0%dT00:00:00Z" % i, "actor": "ci", "action": "deploy",
         "environment": "staging", "services": {}, "recreated": [], "result": "success"}
        for i in range(1, 5)
    ]
    history[-1]["evidence"] = "x" * 5000
    write(str(r / ".aegee/history.jsonl"),
          "\n".join(json.dumps(e) for e in history[:2]) + "\n{not json\n"
          + "\n".join(json.dumps(e) for e in history[2:]) + "\n")
    return str(r)


def ps_entry(svc, cid, image, state="running", health="healthy"):
    return {"ID": cid, "Service": svc, "Name": "myaegee-staging-%s-1" % svc, "Image": image, "State": state,
            "Health": health, "Status": "Up 2 minutes (%s)" % health}


def container(cid, image, image_id, state="running", health="healthy"):
    obj = {"Id": cid, "Name": "/c-" + cid, "Image": image_id, "Config": {"Image": image, "Labels": {}},
           "State": {"Status": state, "StartedAt": "2026-01-01T00:00:00Z"}}
    if health:
        obj["State"]["Health"] = {"Status": health}
    return obj


def image(image_id, repo_digests, version):
    return {"Id": image_id, "RepoDigests": repo_digests,
            "Config": {"Labels": {"org.opencontainers.image.version": version} if version else {}}}


class FakeDocker:
    """The three docker commands release_info runs; records every call."""

    def __init__(self, ps, containers, images, ps_rc=0, ps_lines=False):
        self.ps = ps
        self.containers = {c["Id"]: c for c in containers}
        self.images = {i["Id"]: i for i in images}
        self.ps_rc = ps_rc
        self.ps_lines = ps_lines
        self.calls = []

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append(list(argv))
        if argv[:2] == ["docker", "compose"]:
            assert "ps" in argv and "--format" in argv
            if self.ps_rc:
                return self.ps_rc, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
            if self.ps_lines:  # compose >= 2.21 prints one object per line
                return 0, "\n".join(json.dumps(p) for p in self.ps), ""
            return 0, json.dumps(self.ps), ""
        if argv[:4] == ["docker", "inspect", "--type", "container"]:
            found = [self.containers[i] for i in argv[4:] if i in self.containers]
            rc = 0 if len(found) == len(argv[4:]) else 1
            return rc, json.dumps(found), "" if rc == 0 else "Error: No such container"
        if argv[:3] == ["docker", "image", "inspect"]:
            return 0, json.dumps([self.images[i] for i in argv[3:] if i in self.images]), ""
        raise AssertionError("unexpected command %r" % argv)

    def kinds(self):
        return [" ".join(c[:3]) for c in self.calls]


class FakeHttp:
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, url, timeout):
        self.calls.append((url, timeout))
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def healthy_docker(core_image=CORE_PIN, core_version="1.5.0", core_digest=D_CORE, **kw):
    return FakeDocker(
        ps=[ps_entry("core", "c1", core_image), ps_entry("events", "e1", EVENTS_PIN)],
        containers=[container("c1", core_image, "sha256:img-core"), container("e1", EVENTS_PIN, "sha256:img-ev")],
        images=[
            image("sha256:img-core", ["%s/core@%s" % (REG, core_digest), "other.example/core@sha256:" + "0" * 64],
                  core_version),
            image("sha256:img-ev", ["%s/events@%s" % (REG, D_EVENTS)], "1.4.2"),
        ],
        **kw,
    )


URLS = {"core": "http://127.0.0.2:18084/healthcheck", "events": "http://127.0.0.2:18085/healthcheck"}


def hc(version):
    # busybox httpd serves it as text/plain: the body is all we get
    return 200, '{"success": true, "data": {"name": "x", "version": "%s"}}' % version


def collect(root, docker, http=None, **params):
    p = {"root": root, "state_dir": ".aegee", "history": 20, "smoke_urls": URLS if http else {}, "timeout": 3}
    p.update(params)
    return _status.collect(p, docker, http or FakeHttp({}))


# ------------------------------------------------------------------ collect


def test_healthy_host_reports_everything_and_no_drift(root):
    docker = healthy_docker()
    http = FakeHttp({URLS["core"]: hc("1.5.0"), URLS["events"]: hc("1.4.2")})
    result = collect(root, docker, http)
    assert result["changed"] is False
    assert result["exists"] is True and result["state_found"] is True
    assert result["project"] == "myaegee-staging"
    assert result["environment"] == "staging"
    assert result["files"] == ["base-docker-compose.yml", "core/docker/docker-compose.yml",
                               "events/docker/docker-compose.yml"]
    core = result["services"]["core"]
    assert core["pinned"] == CORE_PIN and core["pinned_version"] == "1.5.0" and core["pinned_digest"] == D_CORE
    assert core["repository"] == REG + "/core"
    assert core["container"]["id"] == "c1"
    assert core["container"]["state"] == "running" and core["container"]["health"] == "healthy"
    assert core["container"]["image"] == CORE_PIN
    assert core["container"]["image_id"] == "sha256:img-core"
    assert core["container"]["repo_digest"] == D_CORE  # the digest of the configured repository, not another one
    assert core["container"]["version_label"] == "1.5.0"
    assert core["running_version"] == "1.5.0" and core["running_digest"] == D_CORE
    assert core["healthcheck_version"] == "1.5.0" and core["healthcheck"]["error"] is None
    assert core["current"]["version"] == "1.5.0"
    assert core["verified"] == ["1.4.2", "1.5.0", "1.10.0"]  # by precedence, not as strings
    assert result["services"]["events"]["bad"]["1.5.0"]["reason"] == "login broken"
    assert all(s["drift"] == [] for s in result["services"].values())
    assert result["lock"] is None


def test_three_docker_calls_whatever_the_number_of_services(root):
    docker = healthy_docker()
    collect(root, docker)
    assert docker.kinds() == ["docker compose --project-directory", "docker inspect --type", "docker image inspect"]
    assert sorted(docker.calls[1][4:]) == ["c1", "e1"]
    assert sorted(docker.calls[2][3:]) == ["sha256:img-core", "sha256:img-ev"]
    files = [docker.calls[0][i + 1] for i, a in enumerate(docker.calls[0]) if a == "-f"]
    assert [os.path.relpath(f, root) for f in files] == [
        "base-docker-compose.yml", "core/docker/docker-compose.yml", "events/docker/docker-compose.yml"]


def test_compose_ps_one_object_per_line(root):
    result = collect(root, healthy_docker(ps_lines=True))
    assert result["services"]["core"]["container"]["id"] == "c1"


def test_history_tail_newest_last_corrupt_line_warned_evidence_cut(root):
    result = collect(root, healthy_docker(), history=3)
    assert [e["id"] for e in result["history"]] == ["r2", "r3", "r4"]
    assert len(result["history"][-1]["evidence"]) == _status.EVIDENCE_KEEP + 3
    assert any("line 3 is corrupt" in w for w in result["warnings"])
    assert result["last_release"]["id"] == "r4"
    assert collect(root, healthy_docker(), history=0)["history"] == []


def test_hand_edited_compose_file_is_drift(root):
    edited = "%s/core:1.4.2" % REG
    write(os.path.join(root, "core/docker/docker-compose.yml"), SERVICE.format(svc="core", image=edited))
    result = collect(root, healthy_docker())
    drift = result["services"]["core"]["drift"]
    assert any("edited by hand" in d and edited in d for d in drift), drift
    # and the container no longer matches the file either
    assert any("the container runs %s" % CORE_PIN in d for d in drift), drift
    assert result["services"]["events"]["drift"] == []


def test_container_recreated_by_hand_is_drift(root):
    by_hand = "%s/core:1.4.2@%s" % (REG, D_CORE_OLD)
    result = collect(root, healthy_docker(core_image=by_hand, core_version="1.4.2", core_digest=D_CORE_OLD))
    drift = result["services"]["core"]["drift"]
    assert len(drift) == 1, drift
    assert "recreated by hand" in drift[0] and by_hand in drift[0]
    assert result["services"]["core"]["running_version"] == "1.4.2"


def test_repushed_tag_digest_differs(root):
    result = collect(root, healthy_docker(core_digest=D_CORE_OLD))
    assert any("not the pinned digest" in d for d in result["services"]["core"]["drift"])


def test_version_label_differs_from_pin(root):
    result = collect(root, healthy_docker(core_version="1.4.9"))
    assert result["services"]["core"]["drift"] == [
        "the image's version label says 1.4.9, the pin says 1.5.0 (the tag was pushed again with another version)"]


def test_missing_and_stopped_containers(root):
    docker = FakeDocker(
        ps=[ps_entry("events", "e1", EVENTS_PIN, state="exited", health="")],
        containers=[container("e1", EVENTS_PIN, "sha256:img-ev", state="exited", health=None)],
        images=[image("sha256:img-ev", [], None)],
    )
    result = collect(root, docker)
    assert result["services"]["core"]["container"] is None
    assert any("no container" in d for d in result["services"]["core"]["drift"])
    events = result["services"]["events"]
    assert events["container"]["state"] == "exited" and events["container"]["health"] is None
    assert events["container"]["repo_digest"] is None  # a locally built image
    assert events["running_version"] == "1.4.2"  # no label: the configured tag
    assert any("is exited" in d for d in events["drift"])


def test_healthcheck_answers_other_version_or_nothing(root):
    http = FakeHttp({URLS["core"]: hc("1.4.2"), URLS["events"]: OSError("Connection refused")})
    result = collect(root, healthy_docker(), http)
    core = result["services"]["core"]
    assert core["healthcheck_version"] == "1.4.2"
    assert any("/healthcheck answers version 1.4.2, the pin says 1.5.0" in d for d in core["drift"])
    events = result["services"]["events"]
    assert events["healthcheck_version"] is None and "Connection refused" in events["healthcheck"]["error"]


def test_healthcheck_compared_with_what_runs_when_the_container_is_not_the_pin(root):
    write(os.path.join(root, "core/docker/docker-compose.yml"), SERVICE.format(svc="core", image=REG + "/core:1.4.1"))
    http = FakeHttp({URLS["core"]: hc("1.5.0"), URLS["events"]: hc("1.4.2")})
    drift = collect(root, healthy_docker(), http)["services"]["core"]["drift"]
    assert len(drift) == 2 and "edited by hand" in drift[0] and "recreated by hand" in drift[1], drift
    http = FakeHttp({URLS["core"]: hc("1.3.0"), URLS["events"]: hc("1.4.2")})
    drift = collect(root, healthy_docker(), http)["services"]["core"]["drift"]
    assert drift[-1] == "/healthcheck answers version 1.3.0, but the container runs 1.5.0"


def test_no_state_yet_still_reports_containers_and_pins(root):
    os.unlink(os.path.join(root, ".aegee/state.json"))
    os.unlink(os.path.join(root, ".aegee/history.jsonl"))
    result = collect(root, healthy_docker())
    assert result["state_found"] is False and result["history"] == []
    core = result["services"]["core"]
    assert core["pinned_version"] == "1.5.0" and core["container"]["id"] == "c1"
    assert core["current"] is None and core["verified"] == [] and core["bad"] == {}
    assert core["drift"] == []
    assert result["environment"] == "staging"  # from MYAEGEE_ENV


def test_lock_is_reported_with_staleness(root):
    write(os.path.join(root, ".aegee/lock"), json.dumps({"owner": "bob", "time": "t", "expires_ts": 1}))
    assert collect(root, healthy_docker())["lock"]["stale"] is True


def test_docker_down_is_a_warning_not_a_failure(root):
    result = collect(root, healthy_docker(ps_rc=1))
    assert any("cannot list the containers" in w and "Docker daemon" in w for w in result["warnings"])
    core = result["services"]["core"]
    assert core["container"] is None and core["pinned_version"] == "1.5.0"
    assert core["drift"] == []  # unknown is not drift


def test_interpolated_pin_is_resolved_from_env(root):
    write(os.path.join(root, "core/docker/docker-compose.yml"),
          SERVICE.format(svc="core", image="${REG}/aegee/core:${CORE_TAG:-1.5.0}@" + D_CORE))
    result = collect(root, healthy_docker())
    core = result["services"]["core"]
    assert core["pinned_resolved"] == CORE_PIN and core["pinned_version"] == "1.5.0"
    assert not any("the container runs" in d for d in core["drift"])


def test_not_a_checkout(tmp_path):
    result = collect(str(tmp_path / "absent"), FakeDocker([], [], []))
    assert result["exists"] is False and result["services"] == {}


def test_enabled_services_missing_is_a_warning(root):
    write(os.path.join(root, ".env"), "COMPOSE_PROJECT_NAME=x\n")
    result = collect(root, FakeDocker([], [], []))
    assert any("ENABLED_SERVICES" in w for w in result["warnings"])
    # the release state still says what was deployed
    assert sorted(result["services"]) == ["core", "events"]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("a/b:1", {}, "a/b:1"),
        ("${R}/b:${T}", {"R": "reg", "T": "2"}, "reg/b:2"),
        ("${R:-x}/b", {"R": ""}, "x/b"),
        ("${R-x}/b", {"R": ""}, "/b"),
        ("$R/b$$", {"R": "r"}, "r/b$"),
    ],
)
def test_interpolate(text, env, expected):
    assert _status.interpolate(text, env) == expected


# --------------------------------------------------------------- the module


@pytest.fixture
def module_exits(monkeypatch):
    """exit_json/fail_json raise (module_harness); the warnings the module gave."""
    patch_exits(monkeypatch)
    return WARNINGS


def test_module_main_reads_without_changing_anything(root, module_exits, monkeypatch):
    docker = healthy_docker()
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: docker(argv))
    before = {p: os.stat(os.path.join(root, p)).st_mtime_ns for p in (".env", ".aegee/state.json")}
    result = run_main(release_info.main, {"root": root, "_ansible_check_mode": True})
    assert result["changed"] is False and result["services"]["core"]["pinned_version"] == "1.5.0"
    assert "warnings" not in result
    assert any("corrupt" in w for w in module_exits)
    assert before == {p: os.stat(os.path.join(root, p)).st_mtime_ns for p in before}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"root": "relative/path"}, "absolute"),
        ({"root": "/srv/../etc"}, "without '..'"),
        ({"root": "/srv/x", "state_dir": "../elsewhere"}, "state_dir"),
        ({"root": "/srv/x", "history": -1}, "history"),
        ({"root": "/srv/x", "timeout": 0}, "timeout"),
        ({"root": "/srv/x", "smoke_urls": {"core": "127.0.0.1:80"}}, "smoke_urls: core"),
    ],
)
def test_module_refuses_bad_options(module_exits, args, message):
    assert message in run_main(release_info.main, args, expect="fail")["msg"]


def test_each_service_reports_the_compose_source_its_last_release_recorded(root):
    path = os.path.join(root, ".aegee", "state.json")
    with open(path) as handle:
        state = json.load(handle)
    source = {"submodule": "core", "url": "git@example.org:aegee/core.git", "commit": "4" * 40, "blob": "5" * 40}
    state["current"]["core"]["source"] = source
    write(path, json.dumps(state))
    result = collect(root, healthy_docker())
    assert result["services"]["core"]["source"] == source
    assert result["services"]["events"]["source"] is None  # recorded by an older release: not known
