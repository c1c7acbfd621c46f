# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release transaction end to end through a fake runtime: real git and files, no Docker.

The fake runtime keeps its containers in memory and, like Compose, runs what the compose files on
disk say when it switches or restores; each test scripts where it breaks.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _compose
from ansible_collections.aegee.deploy.plugins.module_utils._release import Release, ReleaseError
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import Runtime, RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, StateError
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_repo import (
    BRANCH,
    commit_file,
    git,
    make_origin,
    run,
)

CORE_FILE = "core/docker/docker-compose.yml"
EVENTS_FILE = "events/docker/docker-compose.yml"
REPO = "localhost:5000/aegee/"
OLD, NEW = REPO + "core:1.4.2", REPO + "core:1.5.0"
BROWSER_PYTHON = "/opt/fake/python3"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Made once: a bare origin of a deploy repo (base file, core and events) and a host checkout of it."""
    base = str(tmp_path_factory.mktemp("release-template"))
    bare = make_origin(base, {
        ".env": "ENABLED_SERVICES=core:events\nMYAEGEE_ENV=staging\n",
        "base-docker-compose.yml": "networks:\n  default:\n    name: aegee\n",
        CORE_FILE: "services:\n  core:\n    image: %s\n" % OLD,
        EVENTS_FILE: "services:\n  events:\n    image: %sevents:1.0.0\n" % REPO,
    })
    git(base, "clone", "-q", "-b", BRANCH, bare, os.path.join(base, "deploy"))
    return base


@pytest.fixture
def root(template, tmp_path):
    work = str(tmp_path / "w")
    shutil.copytree(template, work, symlinks=True)
    for clone in ("deploy", "seed"):
        git(os.path.join(work, clone), "remote", "set-url", "origin", os.path.join(work, "origin.git"))
    return os.path.join(work, "deploy")


class Docker:
    """What runs on the fake host, and where the fake runtime is told to break."""

    def __init__(self, **breaks):
        self.containers = {}
        self.calls = []
        self.breaks = breaks
        self.config = {"services": {}, "networks": {}}
        self.modes = []  # the modes each switch and restore was given
        self.probe = None

    def runs(self):
        return {svc: c["Image"] for svc, c in self.containers.items()}


class FakeRuntime(Runtime):
    def __init__(self, root, files, run, docker, project=None):
        super().__init__(root, files, run, project=project)
        self.docker = docker
        docker.project = project

    def _call(self, name, *args):
        self.docker.calls.append((name, *args))
        problem = self.docker.breaks.get(name)
        if callable(problem):
            problem = problem()
        if isinstance(problem, Exception):
            raise problem
        return problem

    def _up(self, services, state="running"):
        """Run what the files say now, as Compose does."""
        documents = []
        for name in self.files:
            with open(os.path.join(self.root, name)) as handle:
                documents.append((name, handle.read()))
        sources, _problems = _compose.image_sources(documents)
        for svc in services:
            image = sources[svc]["image"] if svc in sources else svc  # a shared service: a third-party image
            self.docker.containers[svc] = {"Service": svc, "ID": "id-" + svc, "Image": image,
                                           "State": state}

    def diagnose(self):
        return self._call("diagnose")

    def login(self, registry, username, password):
        self._call("login", registry, username, password)

    def config(self):
        self._call("config")
        return self.docker.config

    def ensure_networks(self, config):
        return self._call("ensure_networks") or []

    def start(self, services, timeout):
        problem = self._call("start", list(services))
        if problem is None:
            self._up(services)
        return problem

    def health_timeout(self, config, services):
        return 42

    def pull(self, services, config=None):
        self._call("pull", list(services))
        return list(services)

    def switch(self, services, timeout, modes=None, probe=None):
        self.docker.modes.append(("switch", modes))
        self.docker.probe = probe
        self.progress("%s: waiting for the new container to turn healthy" % services[0])
        with open(os.path.join(self.root, ".aegee", "lock")) as handle:
            self.docker.lock_seen = json.load(handle)
        problem = self._call("switch", list(services), timeout)
        self._up(services, "running" if problem is None else "restarting")
        return problem

    def remove(self, services):
        self._call("remove", list(services))
        for svc in services:
            self.docker.containers.pop(svc, None)

    def restore(self, services, timeout, modes=None):
        self.docker.modes.append(("restore", modes))
        problem = self._call("restore", list(services), timeout)
        if problem is None:
            self._up(services)
        return problem

    def ps(self, services=()):
        self._call("ps")
        return [dict(c) for svc, c in sorted(self.docker.containers.items()) if not services or svc in services]

    def inspect(self, kind, ids):
        return {}, None

    def evidence(self, services):
        return "evidence of " + ", ".join(services)


class Host:
    """Commands on the fake host: git and sh for real, the browser check answered, Docker refused."""

    def __init__(self, browser=None):
        self.browser = browser
        self.calls = []

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append(list(argv))
        if argv[0] == BROWSER_PYTHON:
            return 1, json.dumps(self.browser), ""
        assert argv[0] != "docker", "the transaction called docker itself: %s" % argv
        return run(argv, cwd=cwd, data=data)


def healthcheck(versions):
    """``http_get`` of services answering ``/healthcheck`` (``http://<service>/healthcheck``) with ``versions``."""

    def http_get(url, timeout=None):  # with or without a timeout, as the checks pass it
        svc = url.split("/")[2]
        return 200, json.dumps({"success": True, "data": {"version": versions[svc]}})

    return http_get


def release(root, docker, version="1.5.0", services=("core",), host=None, http_get=None, **params):
    p = {"root": root, "repo_url": "/nowhere.git", "branch": BRANCH, "actor": "alice", "smoke_timeout": 0,
         "targets": {svc: {"version": version} for svc in services},
         "smoke_urls": {svc: "http://%s/healthcheck" % svc for svc in services}}
    p.update(params)
    rel = Release(p, host or Host(), http_get or healthcheck({svc: version for svc in services}),
                  runtime=lambda r, files, run, **kw: FakeRuntime(r, files, run, docker, **kw))
    return rel


def read(root, path):
    with open(os.path.join(root, path)) as handle:
        return handle.read()


def history(root):
    return HostState(os.path.join(root, ".aegee")).read_history()


def state(root):
    return HostState(os.path.join(root, ".aegee")).read_state()


@pytest.fixture
def docker(root):
    """A host where core 1.4.2 and events 1.0.0 run, deployed by an earlier release."""
    docker = Docker()
    release(root, docker, "1.4.2").execute()
    docker.containers["events"] = {"Service": "events", "ID": "id-events", "Image": REPO + "events:1.0.0",
                                   "State": "running"}
    docker.calls.clear()
    docker.modes.clear()
    return docker


# ------------------------------------------------------------------ success


def test_success_pulls_switches_checks_and_records(root, docker):
    rel = release(root, docker)
    result = rel.execute()
    assert docker.calls == [("ps",), ("config",), ("ensure_networks",), ("pull", ["core"]),
                            ("switch", ["core"], 42)]
    assert docker.runs() == {"core": NEW, "events": REPO + "events:1.0.0"}
    assert read(root, CORE_FILE) == "services:\n  core:\n    image: %s\n" % NEW
    assert result["changed"] is True and result["recreate"] == ["core"]
    # in the flat shape the compose source is the deploy repo's commit
    source = {"submodule": None, "url": os.path.join(os.path.dirname(root), "origin.git"),
              "commit": git(root, "rev-parse", "HEAD"), "blob": git(root, "rev-parse", "HEAD:" + CORE_FILE)}
    assert result["services"]["core"] == {"from": "1.4.2", "to": "1.5.0", "digest": None, "image": NEW,
                                          "container_image": OLD, "changed": True, "smoke": "ok", "source": source,
                                          "switch": {"mode": "start-first",
                                                     "reason": "the new container starts beside the old one"}}
    assert result["submodules"] == {}
    assert [e["result"] for e in history(root)] == ["success", "success"]
    assert result["release"] == history(root)[-1] and result["release"]["recreated"] == ["core"]
    host_state = state(root)
    assert host_state["current"]["core"]["version"] == "1.5.0" and sorted(host_state["verified"]["core"]) == [
        "1.4.2", "1.5.0"]
    assert host_state["managed"]["pins"]["core"] == {"file": CORE_FILE, "value": NEW}
    assert host_state["current"]["core"]["source"] == source
    assert history(root)[-1]["services"]["core"]["source"] == source
    assert not os.path.exists(os.path.join(root, ".aegee", "lock"))


def test_login_before_the_pull_when_a_registry_user_is_given(root, docker):
    release(root, docker, registry_login={"registry": "localhost:5000", "username": "ci", "password": "s"}).execute()
    assert docker.calls[2:5] == [("ensure_networks",), ("login", "localhost:5000", "ci", "s"), ("pull", ["core"])]


def test_the_same_release_again_changes_nothing(root, docker):
    result = release(root, docker, "1.4.2").execute()
    assert docker.calls == [("ps",)]
    assert result["changed"] is False and result["recreate"] == [] and result["diff"] == []
    assert history(root)[-1]["result"] == "unchanged"


class QuickRuntime(FakeRuntime):
    """A runtime that can list the containers without loading the project (``quick_ps``)."""

    def quick_ps(self):
        self._call("quick_ps")
        return [dict(c) for _svc, c in sorted(self.docker.containers.items())]


def quick_release(root, docker, version, **params):
    rel = release(root, docker, version, **params)
    rel.runtime_class = lambda r, files, run, **kw: QuickRuntime(r, files, run, docker, **kw)
    return rel


def test_a_no_op_reads_the_containers_by_label_and_never_loads_the_project(root, docker):
    result = quick_release(root, docker, "1.4.2").execute()
    assert docker.calls == [("quick_ps",)]
    assert result["changed"] is False and result["recreate"] == []
    assert result["services"]["core"]["container_image"] == OLD
    assert history(root)[-1]["result"] == "unchanged"


def test_a_release_asks_git_each_read_only_question_once_between_commands_that_change_things(root, docker):
    host = Host()
    result = quick_release(root, docker, "1.4.2", host=host).execute()
    assert result["changed"] is False
    git = [c[1:] for c in host.calls if c[0] == "git"]
    assert ["show", "HEAD:.env"] in git and ["rev-parse", "HEAD"] in git
    asked = set()
    for argv in git:
        if argv[0] in ("show", "rev-parse", "ls-tree", "rev-list") or argv[:2] in (["config", "--blob"],
                                                                                   ["config", "--get"]):
            assert tuple(argv) not in asked, "asked again: git %s" % " ".join(argv)
            asked.add(tuple(argv))
        else:
            asked.clear()  # fetch, merge, status...: the answers may differ after it


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda c: c.update(State="exited"), "the container is not running"),
        (lambda c: c.update(Image=REPO + "core:1.4.1"), "it runs another image than its pin"),
    ],
    ids=["exited", "other-image"],
)
def test_containers_read_by_label_decide_like_composes_ps(root, docker, change, why):
    change(docker.containers["core"])
    result = quick_release(root, docker, "1.4.2").execute()
    assert docker.calls[0] == ("quick_ps",) and ("ps",) not in docker.calls, why
    assert result["recreate"] == ["core"], why


def test_no_container_by_label_asks_compose(root, docker):
    docker.containers.clear()
    result = quick_release(root, docker, "1.4.2").execute()
    assert docker.calls[:2] == [("quick_ps",), ("ps",)]
    assert result["recreate"] == ["core"]


def test_a_release_that_changes_files_reads_the_containers_by_label_too(root, docker):
    result = quick_release(root, docker, "1.5.0").execute()
    assert docker.calls[0] == ("quick_ps",) and ("ps",) not in docker.calls
    assert result["recreate"] == ["core"] and result["pulled"] == ["core"]


# ------------------------------------------------------- before the switch


@pytest.mark.parametrize(
    ("breaks", "reason"),
    [
        ({"pull": RuntimeFailure("pull access denied for aegee/core")}, "pull access denied for aegee/core"),
        ({"config": RuntimeFailure("core: invalid healthcheck")}, "core: invalid healthcheck"),
        ({"ensure_networks": RuntimeFailure("cannot create the external network aegee")},
         "cannot create the external network aegee"),
    ],
)
def test_a_failure_before_the_switch_touches_no_container_and_puts_the_files_back(root, docker, breaks, reason):
    before = read(root, CORE_FILE)
    docker.breaks = breaks
    with pytest.raises(ReleaseError) as exc:
        release(root, docker).execute()
    assert str(exc.value) == ("deploy stopped before touching any running container: %s. The compose files are as "
                              "they were." % reason)
    assert not any(call[0] in ("switch", "restore", "remove") for call in docker.calls)
    assert docker.runs()["core"] == OLD and read(root, CORE_FILE) == before
    assert history(root)[-1]["result"] == "failed-unchanged" and state(root)["current"]["core"]["version"] == "1.4.2"


def shared_project(docker, state="exited"):
    """The project has a gateway outside the catalogue (in ``state``; None: never started)."""
    docker.config = {"services": {"core": {}, "events": {}, "traefik": {}}, "networks": {}}
    if state:
        docker.containers["traefik"] = {"Service": "traefik", "ID": "id-traefik", "Image": "traefik", "State": state}
    return {"core": {"image": "aegee/core"}, "events": {"image": "aegee/events"}}


@pytest.mark.parametrize("state", [None, "exited"])
def test_a_shared_service_that_does_not_run_is_started_after_the_pull_and_before_the_switch(root, docker, state):
    result = release(root, docker, catalogue=shared_project(docker, state)).execute()
    names = [call[0] for call in docker.calls]
    assert names.index("pull") < names.index("start") < names.index("switch")
    assert ("start", ["traefik"]) in docker.calls and result["shared_started"] == ["traefik"]
    assert docker.containers["traefik"]["State"] == "running"


def test_a_running_shared_service_is_left_alone_and_without_a_catalogue_none_is_started(root, docker):
    result = release(root, docker, catalogue=shared_project(docker, "running")).execute()
    assert "start" not in [call[0] for call in docker.calls] and "shared_started" not in result
    docker.calls.clear()
    shared_project(docker, "exited")
    release(root, docker, "1.6.0").execute()
    assert "start" not in [call[0] for call in docker.calls]


def test_a_shared_service_that_cannot_start_stops_the_release_before_any_switch(root, docker):
    before = read(root, CORE_FILE)
    docker.breaks = {"start": "pull access denied for traefik"}
    with pytest.raises(ReleaseError) as exc:
        release(root, docker, catalogue=shared_project(docker)).execute()
    assert str(exc.value) == ("deploy stopped before touching any running container: cannot start traefik, which "
                              "the project needs: pull access denied for traefik. The compose files are as they were.")
    assert not any(call[0] in ("switch", "restore", "remove") for call in docker.calls)
    assert docker.runs()["core"] == OLD and read(root, CORE_FILE) == before


def test_start_first_on_a_service_with_a_fixed_port_is_refused_before_any_container_is_touched(root, docker):
    before = read(root, CORE_FILE)
    docker.config = {"services": {"core": {"ports": [{"target": 80, "published": "8084", "host_ip": "127.0.0.1"}]}}}
    with pytest.raises(ReleaseError) as exc:
        release(root, docker, catalogue={"core": {"switch": "start-first"}}).execute()
    assert str(exc.value).startswith("deploy stopped before touching any running container: core: the catalogue "
                                     "asks for switch: start-first, but it publishes the fixed host port(s) "
                                     "127.0.0.1:8084")
    assert not any(call[0] in ("pull", "switch", "restore", "remove") for call in docker.calls)
    assert docker.runs()["core"] == OLD and read(root, CORE_FILE) == before


def test_the_switch_gets_each_services_mode_and_a_probe_of_the_new_container(root, docker):
    docker.config = {"services": {"core": {"expose": ["8084"], "healthcheck": {"test": ["CMD", "true"]}}}}
    rel = release(root, docker)
    rel.execute()
    assert docker.modes == [("switch", {"core": "start-first"})]
    assert not any("core" in w for w in rel.result["warnings"])
    seen = []

    def http_get(url, timeout):
        seen.append(url)
        return 200, '{"success": true, "data": {"version": "1.4.2"}}'

    rel.http_get = http_get
    probe = _checks.container_probe(rel.p, docker.config, http_get)
    assert probe("core", "172.18.0.5") == (
        "GET http://172.18.0.5:8084/healthcheck: it runs version 1.4.2, not 1.5.0")
    assert seen == ["http://172.18.0.5:8084/healthcheck"] and docker.probe is not None


def test_a_stop_first_switch_and_a_missing_healthcheck_are_said_out_loud(root, docker):
    docker.config = {"services": {"core": {"container_name": "core"}}}
    rel = release(root, docker)
    result = rel.execute()
    assert result["services"]["core"]["switch"] == {"mode": "stop-first",
                                                    "reason": "it sets container_name core: requests fail while "
                                                              "it restarts"}
    assert "core switches stop-first (it sets container_name core: requests fail while it restarts)" in \
        result["warnings"]
    assert any(w.startswith("core has no healthcheck: the proxy routes requests to its new container")
               for w in result["warnings"])


def test_what_the_switch_waits_for_is_written_into_the_lock(root, docker):
    release(root, docker).execute()
    assert docker.lock_seen["waiting"].startswith("core: waiting for the new container to turn healthy (since 20")
    assert HostState.describe_lock(docker.lock_seen).endswith("; now: " + docker.lock_seen["waiting"])


def test_the_restore_gets_the_same_modes_as_the_switch(root, docker):
    docker.breaks = {"switch": "container core is unhealthy"}
    with pytest.raises(ReleaseError):
        release(root, docker).execute()
    assert [step for step, _modes in docker.modes] == ["switch", "restore"]
    assert docker.modes[0][1] == docker.modes[1][1] == {"core": "start-first"}


def test_check_mode_names_the_mode_of_every_service(root, docker):
    docker.config = {"services": {"core": {"ports": ["8084:80"], "healthcheck": {"test": ["CMD", "true"]}}}}
    result = Release(dict(release(root, docker).p), Host(), healthcheck({"core": "1.5.0"}), check_mode=True,
                     runtime=lambda r, files, run, **kw: FakeRuntime(r, files, run, docker, **kw)).execute()
    assert result["services"]["core"]["switch"]["mode"] == "stop-first"
    assert not any(call[0] in ("pull", "switch") for call in docker.calls)


def test_a_runtime_that_cannot_list_the_containers_says_why_and_changes_nothing(root, docker):
    docker.breaks = {"ps": RuntimeFailure("cannot connect"), "diagnose": "the Docker engine does not answer"}
    with pytest.raises(ReleaseError, match="^the Docker engine does not answer; nothing was changed$"):
        release(root, docker).execute()
    assert read(root, CORE_FILE) == "services:\n  core:\n    image: %s\n" % OLD


# ------------------------------------------------ the switch and the checks

RESTORED = "The previous version was restored and is healthy."


def failed(reason):
    return "deploy of core 1.4.2 -> 1.5.0 failed: %s. %s\nevidence of core" % (reason, RESTORED)


def answers(pages):
    """``http_get`` for the extra URL checks; ``/healthcheck`` answers 1.5.0."""

    def http_get(url, timeout=None):  # with or without a timeout, as the checks pass it
        if url.endswith("/healthcheck"):
            return 200, json.dumps({"success": True, "data": {"version": "1.5.0"}})
        return pages[url]

    return http_get


@pytest.mark.parametrize(
    ("params", "http_get", "browser", "reason"),
    [
        # the switch: the new containers never became healthy
        ({}, None, None, "the new containers did not become healthy: container core is unhealthy"),
        # /healthcheck answers another version
        ({}, healthcheck({"core": "1.4.2"}), None,
         "core: GET http://core/healthcheck: it runs version 1.4.2, not 1.5.0"),
        # an extra URL check
        ({"extra_checks": [{"name": "home", "url": "http://front/", "status": 200, "contains": "Welcome"}]},
         answers({"http://front/": (200, "Maintenance")}), None,
         "extra check 'home' failed: GET http://front/: 'Welcome' not in the answer"),
        # an extra command check (run on the host for real)
        ({"extra_checks": [{"command": "echo database gone >&2; exit 3"}]}, None, None,
         "extra check 'check 1' failed: exit 3: database gone"),
        # a browser check
        ({"browser_checks": {"core": {"url": "http://core/", "expect": "v{version}"}},
          "browser_python": BROWSER_PYTHON}, None,
         {"url": "http://core/", "errors": [], "status": 200, "text": "v1.4.2"},
         "core: browser check of http://core/ failed: 'v1.5.0' not found in body (it shows 'v1.4.2')"),
    ],
    ids=["switch", "healthcheck-version", "url-check", "command-check", "browser-check"],
)
def test_a_failed_switch_or_check_restores_the_previous_version(root, docker, params, http_get, browser, reason):
    if "did not become healthy" in reason:
        docker.breaks = {"switch": "container core is unhealthy"}
    before = read(root, CORE_FILE)
    rel = release(root, docker, http_get=http_get, host=Host(browser), **params)
    with pytest.raises(ReleaseError) as exc:
        rel.execute()
    assert str(exc.value) == failed(reason)
    assert exc.value.details == {"evidence": "evidence of core", "result": "failed-restored"}
    assert docker.calls[-2:] == [("switch", ["core"], 42), ("restore", ["core"], 120)]
    assert docker.runs()["core"] == OLD and read(root, CORE_FILE) == before
    entry = history(root)[-1]
    assert (entry["result"], entry["failure"], entry["evidence"]) == ("failed-restored", reason, "evidence of core")
    assert state(root)["current"]["core"]["version"] == "1.4.2" and "1.5.0" not in state(root)["verified"]["core"]
    assert not os.path.exists(os.path.join(root, ".aegee", "lock"))


def test_a_new_service_that_fails_is_removed(root):
    docker = Docker(switch="container core is unhealthy")
    with pytest.raises(ReleaseError) as exc:
        release(root, docker).execute()
    assert str(exc.value).startswith("deploy of core (none) -> 1.5.0 failed: the new containers did not become "
                                     "healthy: container core is unhealthy. Nothing of it ran before this deploy; "
                                     "its new containers were removed.\n")
    assert ("remove", ["core"]) in docker.calls and not any(c[0] == "restore" for c in docker.calls)
    assert docker.runs() == {} and history(root)[-1]["result"] == "failed-restored"


# ---------------------------------------------------------- restore fails


def test_a_failed_restore_while_the_new_version_runs_keeps_it_marked_bad(root, docker):
    docker.breaks = {"switch": "container core is unhealthy", "restore": "port 8080 is already allocated"}
    with pytest.raises(ReleaseError) as exc:
        release(root, docker).execute()
    assert str(exc.value) == (
        "deploy of core 1.4.2 -> 1.5.0 failed: the new containers did not become healthy: container core is "
        "unhealthy. RESTORE FAILED: restoring the previous version failed too: port 8080 is already allocated. "
        "Running now: core 1.5.0. The host needs attention now: deploy a version that works "
        "(-e service=... -e version=...).\nevidence of core")
    assert exc.value.details["result"] == "failed-restore-failed"
    # the files say what runs, and the host's state too
    assert read(root, CORE_FILE) == "services:\n  core:\n    image: %s\n" % NEW
    host_state = state(root)
    assert host_state["current"]["core"]["version"] == "1.5.0" and host_state["current"]["core"]["failed"] is True
    assert "1.5.0" in host_state["bad"]["core"] and host_state["managed"]["pins"]["core"]["value"] == NEW
    entry = history(root)[-1]
    assert entry["result"] == "failed-restore-failed" and entry["running"] == {"core": "1.5.0"}
    assert entry["restore_error"] == "restoring the previous version failed too: port 8080 is already allocated"


def test_a_restore_that_raises_while_nothing_runs_leaves_the_old_files(root, docker):
    def engine_gone():
        docker.containers.clear()
        return RuntimeFailure("engine gone")

    docker.breaks = {"switch": "container core is unhealthy", "restore": engine_gone}
    with pytest.raises(ReleaseError) as exc:
        release(root, docker).execute()
    assert "RESTORE FAILED: restoring the previous version failed too: engine gone. Running now: core nothing." in str(
        exc.value)
    assert read(root, CORE_FILE) == "services:\n  core:\n    image: %s\n" % OLD
    host_state = state(root)
    assert host_state["current"]["core"]["version"] == "1.4.2" and "failed" not in host_state["current"]["core"]
    assert "1.5.0" not in host_state["bad"].get("core", {})
    assert history(root)[-1]["running"] == {"core": None}


# ------------------------------------------------------------- the record


def test_a_release_that_cannot_be_recorded_fails_and_says_so(root, docker, monkeypatch):
    def full_disk(self, data):
        raise StateError("cannot write %s: no space left on device" % self.state_path)

    monkeypatch.setattr(HostState, "write_state", full_disk)
    rel = release(root, docker)
    with pytest.raises(ReleaseError) as exc:
        rel.execute()
    assert str(exc.value) == ("the release ran but could not be recorded: cannot write %s: no space left on device"
                              % rel.state.state_path)
    assert docker.runs()["core"] == NEW  # it runs; the host just does not remember it
    assert rel.result["warnings"][-1].endswith("no space left on device")
    assert history(root)[-1]["result"] == "success" and state(root)["current"]["core"]["version"] == "1.4.2"
    assert not os.path.exists(rel.state.lock_path)


def test_a_failed_release_that_cannot_be_recorded_still_says_why_it_failed(root, docker, monkeypatch):
    def full_disk(self, data):
        raise StateError("disk full")

    monkeypatch.setattr(HostState, "write_state", full_disk)
    docker.breaks = {"switch": "container core is unhealthy"}
    rel = release(root, docker)
    with pytest.raises(ReleaseError) as exc:
        rel.execute()
    assert str(exc.value) == failed("the new containers did not become healthy: container core is unhealthy")
    assert "disk full" in rel.result["warnings"]


# ------------------------------------------------------------ the runtime


def test_the_transaction_names_no_runtime():
    """A second runtime is one class and one registration: the transaction never names Compose or docker."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "..", "..", "plugins", "module_utils", "_release.py")
    text = read(os.path.dirname(path), os.path.basename(path))
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "docker" not in code.lower() and "Compose" not in code and "compose(" not in code


# ------------------------------------------------- several files, one service


def test_with_an_override_file_the_release_pins_the_image_compose_runs(root):
    """Compose merges the files, the last ``image:`` wins: that one is pinned, the first is left alone."""
    seed = os.path.join(os.path.dirname(root), "seed")
    override = "core/docker/docker-compose.override.yml"
    commit_file(seed, override, "services:\n  core:\n    image: %score:1.4.3\n" % REPO)
    docker = Docker()
    result = release(root, docker, files=["base-docker-compose.yml", CORE_FILE, override]).execute()
    assert read(root, override) == "services:\n  core:\n    image: %s\n" % NEW
    assert read(root, CORE_FILE) == "services:\n  core:\n    image: %s\n" % OLD
    assert [d["after_header"] for d in result["diff"]] == [override]
    assert docker.runs() == {"core": NEW}
    assert state(root)["managed"]["pins"]["core"] == {"file": override, "value": NEW}


def test_a_pull_that_leaves_a_services_file_as_it_was_does_not_recreate_it(root):
    """The update sets the tool's pins aside and the release makes them again: only what changed comes up."""
    docker = Docker()
    release(root, docker, "1.5.0", services=("core", "events")).execute()
    seed = os.path.join(os.path.dirname(root), "seed")
    commit_file(seed, CORE_FILE, "services:\n  core:\n    image: %s\n    init: true\n" % OLD)
    commit_file(seed, "README", "unrelated\n")
    docker.calls.clear()
    result = release(root, docker, "1.5.0", services=("core", "events")).execute()
    assert result["repo"]["pulled"] is True and sorted(result["repo"]["restored"]) == [CORE_FILE, EVENTS_FILE]
    assert result["recreate"] == ["core"] and ("switch", ["core"], 42) in docker.calls
    assert read(root, CORE_FILE) == "services:\n  core:\n    image: %s\n    init: true\n" % NEW
    assert read(root, EVENTS_FILE) == "services:\n  events:\n    image: %sevents:1.5.0\n" % REPO
    commit_file(seed, "README", "unrelated again\n")
    result = release(root, docker, "1.5.0", services=("core", "events")).execute()
    assert result["repo"]["pulled"] is True and result["recreate"] == [] and result["changed"] is True
    assert history(root)[-1]["result"] == "success" and read(root, CORE_FILE).endswith("init: true\n")


@pytest.mark.parametrize("env, project", [({}, None), ({"COMPOSE_PROJECT_NAME": "myaegee-staging"}, "myaegee-staging")])
def test_the_runtime_finds_the_project_the_tools_env_names(root, docker, env, project):
    """While the deploy repo is updated, the .env on disk holds the committed values: the runtime is told the
    project name the tool's own values give, or a repo update would lose sight of the running containers."""
    release(root, docker, env=env).execute()
    assert docker.project == project
