# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtime interface on Compose v2: the commands each step runs, with a scripted ``run``; the registry."""

from __future__ import annotations

import json

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils._compose_cli import ComposeCliError
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import Runtime, RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._runtime_compose import ComposeRuntime
from ansible_collections.aegee.deploy.plugins.module_utils._runtimes import RUNTIMES, get_runtime
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_run import FakeRun

COMPOSE = ["docker", "compose", "--project-directory", "/srv/deploy", "-f", "/srv/deploy/base.yml",
           "-f", "/srv/deploy/core.yml"]


def runtime(answers=None, default=(0, "", ""), project=None):
    run = FakeRun(answers, default)
    return ComposeRuntime("/srv/deploy", ["base.yml", "core.yml"], run, project=project), run


def argvs(run):
    return [argv for argv, _cwd, _data in run.calls]


# ----------------------------------------------------------------- registry


def test_the_registry_names_compose_and_the_default_is_compose():
    assert RUNTIMES == {"compose": ComposeRuntime} and get_runtime() is ComposeRuntime
    assert get_runtime("compose") is ComposeRuntime and issubclass(ComposeRuntime, Runtime)


def test_an_unknown_runtime_is_refused_with_the_known_ones():
    with pytest.raises(RuntimeFailure, match="^unknown runtime 'swarm': use one of compose$"):
        get_runtime("swarm")


def test_a_runtime_must_implement_every_step():
    class Half(Runtime):
        def ps(self, services=()):
            return []

    with pytest.raises(TypeError, match="abstract"):
        Half("/r", [], FakeRun())  # pylint: disable=abstract-class-instantiated


def test_compose_errors_are_runtime_failures():
    assert issubclass(ComposeCliError, RuntimeFailure)


# -------------------------------------------------------------- the steps


@pytest.mark.parametrize("step", ["switch", "restore"])
def test_switch_and_restore_say_what_compose_said_when_it_fails(step):
    rt, _run = runtime(default=(1, "", "x" * 2000 + " container core is unhealthy\n"))
    problem = getattr(rt, step)(["core"], 120)
    assert problem.endswith("container core is unhealthy") and len(problem) == 1500


def test_start_leaves_running_containers_as_they_are_and_says_why_it_failed():
    rt, run = runtime()
    assert rt.start(["traefik"], 30.9) is None
    assert argvs(run) == [COMPOSE + ["up", "--detach", "--no-recreate", "--wait", "--wait-timeout", "30", "traefik"]]
    rt, _run = runtime(default=(1, "", "pull access denied for traefik\n"))
    assert rt.start(["traefik"], 30) == "pull access denied for traefik"


def test_restore_waits_with_its_own_timeout():
    rt, run = runtime()
    assert rt.restore(["core"], 120) is None
    assert argvs(run) == [COMPOSE + ["up", "--detach", "--no-deps", "--wait", "--wait-timeout", "120", "core"]]


def test_remove_stops_and_removes_and_ignores_failures():
    rt, run = runtime(default=(1, "", "no such service"))
    assert rt.remove(["core"]) is None
    assert argvs(run) == [COMPOSE + ["rm", "--stop", "--force", "core"]]


def test_pull_is_quiet_and_raises_when_an_image_is_missing():
    rt, run = runtime()
    rt.pull(["core"])
    assert argvs(run) == [COMPOSE + ["pull", "--quiet", "core"]]
    rt, run = runtime(default=(1, "", "manifest unknown"))
    with pytest.raises(RuntimeFailure, match="docker compose pull --quiet core failed: manifest unknown"):
        rt.pull(["core"])


def test_login_passes_the_password_on_stdin():
    rt, run = runtime()
    rt.login("localhost:5000", "ci", "s3cret")
    assert run.calls == [(["docker", "login", "--username", "ci", "--password-stdin", "localhost:5000"], None,
                          "s3cret")]
    rt, run = runtime(default=(1, "", "unauthorized\n"))
    with pytest.raises(RuntimeFailure, match="^docker login to localhost:5000 as ci failed: unauthorized$"):
        rt.login("localhost:5000", "ci", None)
    assert run.calls[0][2] == ""


def test_ensure_networks_creates_the_missing_external_ones():
    config = {"networks": {"default": {"name": "p_default"}, "web": {"external": True, "name": "traefik"},
                           "ok": {"external": True}, "odd": "text"}}
    rt, run = runtime({("docker", "network", "inspect", "--format", "{{.Name}}", "traefik"): (1, "", "not found")})
    assert rt.ensure_networks(config) == ["traefik"]
    assert argvs(run) == [["docker", "network", "inspect", "--format", "{{.Name}}", "ok"],
                          ["docker", "network", "inspect", "--format", "{{.Name}}", "traefik"],
                          ["docker", "network", "create", "traefik"]]
    rt, run = runtime(default=(1, "", "permission denied"))
    with pytest.raises(RuntimeFailure, match="^cannot create the external network ok: permission denied$"):
        rt.ensure_networks(config)


def test_health_timeout_is_the_longest_of_the_services():
    config = {"services": {"core": {"healthcheck": {"interval": "10s", "timeout": "5s", "retries": 3}},
                           "events": {}}}
    rt, _run = runtime()
    assert rt.health_timeout(config, ["core", "events"]) == (10 + 5) * (3 + 1) + 10
    assert rt.health_timeout(config, ["events", "mailer"]) == 20


def test_config_validates_through_compose():
    rt, run = runtime(default=(0, json.dumps({"services": {"core": {}}}), ""))
    assert rt.config() == {"services": {"core": {}}}
    assert argvs(run) == [COMPOSE + ["config", "--format", "json"]]


# ------------------------------------------------------------------ reading


def test_inspect_reads_every_id_in_one_call():
    objects = [{"Id": "abc", "State": {}}, {"Id": "def"}, {"no": "id"}]
    rt, run = runtime(default=(0, json.dumps(objects), ""))
    assert rt.inspect("container", ["def", None, "abc", "abc"]) == ({"abc": objects[0], "def": objects[1]}, None)
    assert run.calls == [(["docker", "inspect", "--type", "container", "abc", "def"], "/srv/deploy", None)]
    rt, run = runtime(default=(0, json.dumps(objects[0]) + "\n", ""))
    assert rt.inspect("image", ["sha256:1"]) == ({"abc": objects[0]}, None)
    assert argvs(run) == [["docker", "image", "inspect", "sha256:1"]]


@pytest.mark.parametrize(
    ("answer", "found", "problem"),
    [
        ((1, json.dumps([{"Id": "abc"}]), "Error: No such container: def"), {"abc": {"Id": "abc"}},
         "docker container inspect: Error: No such container: def"),
        ((0, "not json", ""), {}, "docker container inspect printed no JSON: not json"),
    ],
)
def test_inspect_reports_what_it_could_not_read(answer, found, problem):
    rt, _run = runtime(default=answer)
    assert rt.inspect("container", ["abc", "def"]) == (found, problem)


def test_inspect_of_nothing_runs_nothing():
    rt, run = runtime()
    assert rt.inspect("image", [None, ""]) == ({}, None) and run.calls == []


def test_diagnose_names_what_is_missing():
    rt, _run = runtime({("docker", "version"): (127, "", "docker: not found")})
    assert rt.diagnose() == "the docker CLI is not installed on this host: install Docker Engine"


def test_the_project_name_is_passed_when_known():
    run = FakeRun(default=(0, "[]", ""))
    ComposeRuntime("/srv/deploy", ["base.yml"], run, project="myaegee-staging").ps()
    argv = run.calls[0][0]
    assert argv[argv.index("--project-name") + 1] == "myaegee-staging"
    run = FakeRun(default=(0, "[]", ""))
    ComposeRuntime("/srv/deploy", ["base.yml"], run).ps()
    assert "--project-name" not in run.calls[0][0]


# ------------------------------------------------------ the start-first switch

INSPECT = ["docker", "inspect", "--type", "container", "--format",
           "{{json .State}}|{{json .NetworkSettings.Networks}}|{{json .Config.Healthcheck}}"]
PS_CORE = COMPOSE + ["ps", "--quiet", "--no-trunc", "core"]
PS_ALL_CORE = COMPOSE + ["ps", "--all", "--quiet", "--no-trunc", "core"]
SCALE_UP = COMPOSE + ["up", "--detach", "--no-deps", "--no-recreate", "--scale", "core=2", "core"]
HEALTHCHECK = {"Test": ["CMD-SHELL", "test ! -e /tmp/drain && curl -f http://localhost/healthcheck"],
               "Interval": 1000000000, "Timeout": 2000000000, "Retries": 3}


def container(health, status="running", ip="172.18.0.7", exit_code=0):
    state = {"Status": status, "ExitCode": exit_code}
    if health:
        state["Health"] = {"Status": health}
    return (0, "%s|%s|%s\n" % (json.dumps(state), json.dumps({"aegee": {"IPAddress": ip}}), json.dumps(HEALTHCHECK)),
            "")


def start_first(answers, default=(0, "", ""), project=None):
    rt, run = runtime(answers, default, project=project)
    now = [0.0]
    rt.start_first.clock = lambda: now[0]
    rt.start_first.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
    return rt, run


def test_start_first_starts_the_new_container_beside_the_old_one_then_drains_and_removes_the_old_one():
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                           tuple(INSPECT + ["new1"]): [container("starting"), container("healthy")],
                           tuple(INSPECT + ["old1"]): [container("healthy"), container("unhealthy")]})
    probed, told = [], []
    rt.progress = told.append
    assert rt.switch(["core"], 60, {"core": "start-first"},
                     lambda svc, ip: probed.append((svc, ip))) is None
    assert argvs(run) == [PS_CORE, PS_ALL_CORE, SCALE_UP, PS_CORE, INSPECT + ["new1"], INSPECT + ["new1"],
                          INSPECT + ["new1"],
                          ["docker", "exec", "old1", "sh", "-c", "echo > /tmp/drain"],
                          INSPECT + ["old1"], INSPECT + ["old1"],
                          ["docker", "stop", "old1"], ["docker", "rm", "--force", "old1"]]
    assert probed == [("core", "172.18.0.7")]
    assert told == ["core: waiting up to 60s for the new container new1 to turn healthy",
                    "core: checking the version of the new container new1", "core: draining the old container(s) old1"]
    assert rt.report["core"] == {"mode": "start-first", "healthy_after": 0.5, "total": 2.5,
                                 "drain": "old1: unhealthy (out of rotation)", "drained_in": 2.0}
    assert rt.replaced == {"core"}


@pytest.mark.parametrize(
    ("new", "probe", "problem"),
    [
        ([container("starting")], None, "the container new1 is starting, not healthy"),
        ([container("starting"), container(None, "exited", exit_code=3)], None, "the new container exited (code 3)"),
        ([container("healthy")], lambda svc, ip: "it runs version 1.4.2, not 1.5.0",
         "the new core container: it runs version 1.4.2, not 1.5.0"),
    ],
    ids=["never-healthy", "exits", "wrong-version"],
)
def test_a_start_first_failure_before_the_drain_removes_the_new_container_and_never_touches_the_old_one(
        new, probe, problem):
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                           tuple(INSPECT + ["new1"]): new})
    assert rt.switch(["core"], 10, {"core": "start-first"}, probe) == problem
    assert argvs(run)[-1] == ["docker", "rm", "--force", "new1"]
    assert not any("old1" in argv for argv in argvs(run))
    assert rt.replaced == set() and rt.report["core"]["mode"] == "start-first"


def test_a_failed_scale_up_says_what_compose_said_and_removes_whatever_started():
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\n", "")],
                           tuple(SCALE_UP): (1, "", "Bind for 127.0.0.1:8084 failed: port is already allocated\n")})
    assert rt.switch(["core"], 10, {"core": "start-first"}) == (
        "starting a new core container beside the old one failed: Bind for 127.0.0.1:8084 failed: port is already "
        "allocated")
    assert argvs(run) == [PS_CORE, PS_ALL_CORE, SCALE_UP, PS_CORE]


def test_an_old_container_that_ignores_the_drain_marker_is_stopped_anyway_and_said_so():
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                           tuple(INSPECT + ["new1"]): container("healthy"),
                           tuple(INSPECT + ["old1"]): container("healthy")})
    assert rt.switch(["core"], 60, {"core": "start-first"}) is None
    assert rt.report["core"]["drain"] == ("old1: the container old1 is healthy, not unhealthy: its healthcheck "
                                          "ignores /tmp/drain; stopped anyway")
    assert argvs(run)[-2:] == [["docker", "stop", "old1"], ["docker", "rm", "--force", "old1"]]


def test_stop_first_services_come_up_together_before_the_start_first_ones():
    rt, run = start_first({tuple(COMPOSE + ["ps", "--quiet", "--no-trunc", "events"]): [(0, "", ""),
                                                                                        (0, "new1\n", "")],
                           tuple(COMPOSE + ["ps", "--all", "--quiet", "--no-trunc", "core"]): (0, "c1\n", ""),
                           tuple(INSPECT + ["c1"]): container("healthy"),
                           tuple(INSPECT + ["new1"]): container("healthy")})
    assert rt.switch(["core", "events"], 30, {"events": "start-first"}) is None
    assert argvs(run)[0] == COMPOSE + ["up", "--detach", "--no-deps", "core"]
    assert argvs(run)[1:3] == [PS_CORE, COMPOSE + ["ps", "--all", "--quiet", "--no-trunc", "core"]]
    assert argvs(run)[6] == COMPOSE + ["up", "--detach", "--no-deps", "--no-recreate", "--scale", "events=1",
                                       "events"]
    assert rt.report["core"]["mode"] == "stop-first" and rt.report["events"]["drain"] == "nothing ran before"
    assert not any(argv[:2] == ["docker", "stop"] for argv in argvs(run))


def test_restore_switches_back_start_first_only_where_the_old_container_is_gone():
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", ""), (0, "new1\n", ""),
                                            (0, "new1\nnew2\n", "")],
                           tuple(INSPECT + ["new1"]): [container("healthy"), container("healthy"),
                                                       container("unhealthy")],
                           tuple(INSPECT + ["new2"]): container("healthy"),
                           tuple(INSPECT + ["old1"]): container("unhealthy")})
    modes = {"core": "start-first", "events": "start-first"}
    assert rt.switch(["core"], 60, modes) is None
    run.calls.clear()
    assert rt.restore(["core", "events"], 120, modes) is None
    assert argvs(run)[0] == COMPOSE + ["up", "--detach", "--no-deps", "--wait", "--wait-timeout", "120", "events"]
    assert argvs(run)[1:4] == [PS_CORE, PS_ALL_CORE, SCALE_UP]
    assert argvs(run)[-2:] == [["docker", "stop", "new1"], ["docker", "rm", "--force", "new1"]]


def test_a_failed_new_container_leaves_its_last_words_in_the_problem_before_it_is_removed():
    health = {"Status": "unhealthy", "Log": [{"ExitCode": 1, "Output": "curl: (7) Failed to connect\n"}]}
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                           tuple(INSPECT + ["new1"]): container(None, "exited", exit_code=2),
                           ("docker", "inspect", "--type", "container", "--format", "{{json .State.Health}}"):
                               (0, json.dumps(health), ""),
                           ("docker", "logs", "--tail", "10", "new1"): (0, "booting\n", "panic: no database\n")})
    assert rt.switch(["core"], 10, {"core": "start-first"}) == (
        "the new container exited (code 2); its last health check (exit 1): curl: (7) Failed to connect; "
        "its last log lines:\nbooting\npanic: no database")
    assert argvs(run)[-1] == ["docker", "rm", "--force", "new1"]


def test_a_stopped_container_of_the_service_is_removed_before_the_new_one_starts():
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                           tuple(PS_ALL_CORE): (0, "old1\nexited1\n", ""),
                           tuple(INSPECT + ["new1"]): container("healthy"),
                           tuple(INSPECT + ["old1"]): container("unhealthy")})
    assert rt.switch(["core"], 60, {"core": "start-first"}) is None
    assert argvs(run)[:4] == [PS_CORE, PS_ALL_CORE, ["docker", "rm", "--force", "exited1"], SCALE_UP]


# ------------------------------------------- several start-first services at once

PS_EVENTS = COMPOSE + ["ps", "--quiet", "--no-trunc", "events"]
PS_ALL_EVENTS = COMPOSE + ["ps", "--all", "--quiet", "--no-trunc", "events"]
SCALE_BOTH = COMPOSE + ["up", "--detach", "--no-deps", "--no-recreate", "--scale", "core=2", "--scale", "events=2",
                        "core", "events"]
BOTH = {"core": "start-first", "events": "start-first"}


def two_services(core_new, events_new, old_health=("unhealthy",)):
    return start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                        tuple(PS_EVENTS): [(0, "old2\n", ""), (0, "old2\nnew2\n", "")],
                        tuple(INSPECT + ["new1"]): core_new, tuple(INSPECT + ["new2"]): events_new,
                        tuple(INSPECT + ["old1"]): [container(h) for h in old_health],
                        tuple(INSPECT + ["old2"]): [container(h) for h in old_health]})


def test_several_start_first_services_boot_in_one_up_are_waited_for_together_and_drained_together():
    # core is healthy at once, events after three polls: the wait is the slowest one's, not their sum
    rt, run = two_services([container("healthy")],
                           [container("starting"), container("starting"), container("starting"),
                            container("healthy")], ("healthy", "unhealthy"))
    probed = []
    assert rt.switch(["core", "events"], 60, BOTH, lambda svc, ip: probed.append(svc)) is None
    calls = argvs(run)
    assert calls[:5] == [PS_CORE, PS_ALL_CORE, PS_EVENTS, PS_ALL_EVENTS, SCALE_BOTH]
    assert sum(argv[:2] == ["docker", "compose"] and "up" in argv for argv in calls) == 1
    # one round polls both, later rounds only the one still starting
    waits = [argv[-1] for argv in calls if argv[:len(INSPECT)] == INSPECT and argv[-1].startswith("new")]
    assert waits[:5] == ["new1", "new2", "new2", "new2", "new2"]
    assert probed == ["core", "events"]
    # both markers first, then both waited for, one pause, one stop and one rm of both old containers
    marks = [i for i, argv in enumerate(calls) if argv[:2] == ["docker", "exec"]]
    assert [calls[i][2] for i in marks] == ["old1", "old2"]
    assert calls[-2:] == [["docker", "stop", "old1", "old2"], ["docker", "rm", "--force", "old1", "old2"]]
    assert sum(argv[:2] == ["docker", "stop"] for argv in calls) == 1
    assert rt.report["core"]["healthy_after"] == 0.0 and rt.report["events"]["healthy_after"] == 1.5
    assert rt.report["core"]["total"] == rt.report["events"]["total"] == 3.5  # 1.5 boot, 2 settle (one, not two)
    assert rt.report["events"]["drain"] == "old2: unhealthy (out of rotation)"
    assert rt.replaced == {"core", "events"}


@pytest.mark.parametrize(
    ("events_new", "probe", "problem"),
    [
        ([container("starting")], None, "events: the container new2 is starting, not healthy"),
        ([container("starting"), container(None, "exited", exit_code=3)], None,
         "events: the new container exited (code 3)"),
        ([container("healthy")], lambda svc, ip: "it runs 1.4.2" if svc == "events" else None,
         "events: the new events container: it runs 1.4.2"),
    ],
    ids=["never-healthy", "exits", "wrong-version"],
)
def test_one_failing_service_removes_every_new_container_and_no_old_one_is_touched(events_new, probe, problem):
    rt, run = two_services([container("healthy")], events_new)
    found = rt.switch(["core", "events"], 10, BOTH, probe)
    assert found.startswith(problem) and found.endswith("; the new containers of core, events were removed")
    assert argvs(run)[-1] == ["docker", "rm", "--force", "new1", "new2"]
    assert not any(cid in argv for argv in argvs(run) for cid in ("old1", "old2"))
    assert rt.replaced == set()
    assert rt.report["core"]["healthy_after"] == 0.0
    assert ("healthy_after" in rt.report["events"]) == (probe is not None)  # only the version was wrong
    assert rt.report["core"]["total"] == rt.report["events"]["total"]


def test_an_exited_new_container_ends_the_wait_at_once():
    rt, _run = two_services([container("starting")], [container(None, "exited", exit_code=1)])
    assert rt.switch(["core", "events"], 60, BOTH).startswith("events: the new container exited (code 1)")
    assert rt.report["core"]["total"] == 0.0  # not the 60 s core could still have taken


def test_a_failed_scale_up_of_several_services_removes_whatever_started_of_each():
    rt, run = start_first({tuple(PS_CORE): [(0, "old1\n", ""), (0, "old1\nnew1\n", "")],
                           tuple(PS_EVENTS): [(0, "old2\n", ""), (0, "old2\n", "")],
                           tuple(SCALE_BOTH): (1, "", "events: no such image\n")})
    assert rt.switch(["core", "events"], 10, BOTH) == (
        "starting a new core, events container beside the old one failed: events: no such image; "
        "the new containers of core, events were removed")
    assert argvs(run)[-1] == ["docker", "rm", "--force", "new1"]


def test_a_restore_after_a_failed_parallel_switch_leaves_the_old_containers_as_they_are():
    rt, run = two_services([container("healthy")], [container("starting")])
    assert rt.switch(["core", "events"], 10, BOTH) is not None
    run.calls.clear()
    assert rt.restore(["core", "events"], 120, BOTH) is None
    assert argvs(run) == [COMPOSE + ["up", "--detach", "--no-deps", "--wait", "--wait-timeout", "120", "core",
                                     "events"]]


# ------------------------------------------------------------ the quick read

QUICK = ["docker", "ps", "--all", "--no-trunc", "--filter", "label=com.docker.compose.project=myaegee-staging",
         "--format", '{{.ID}}\t{{.State}}\t{{.Image}}\t{{.Label "com.docker.compose.service"}}\t'
                     '{{.Label "com.docker.compose.oneoff"}}\t{{.Label "com.docker.compose.project"}}']


def quick(answer):
    run = FakeRun(default=answer)
    return ComposeRuntime("/srv/deploy", ["base.yml"], run, project="myaegee-staging").quick_ps(), run


def test_quick_ps_lists_the_projects_containers_by_label_without_compose():
    rows = ("abc\trunning\tlocalhost:5000/aegee/core:1.5.0@sha256:1\tcore\tFalse\tmyaegee-staging\n"
            "def\texited\tlocalhost:5000/aegee/core:1.5.0\tcore\tTrue\tmyaegee-staging\n"
            "ghi\trunning\tlocalhost:5000/aegee/events:1.0.0\tevents\t\tmyaegee-staging\n")
    found, run = quick((0, rows, ""))
    assert argvs(run) == [QUICK]
    assert found == [{"ID": "abc", "State": "running", "Image": "localhost:5000/aegee/core:1.5.0@sha256:1",
                      "Service": "core"},
                     {"ID": "ghi", "State": "running", "Image": "localhost:5000/aegee/events:1.0.0",
                      "Service": "events"}]  # the one-off `compose run` container is no service's


@pytest.mark.parametrize(
    "answer",
    [(1, "", "Cannot connect to the Docker daemon"), (0, "abc\trunning\tcore\n", ""),
     (0, "abc\trunning\timg\tcore\tFalse\tother-project\n", "")],
    ids=["docker-fails", "odd-line", "other-project"],
)
def test_quick_ps_says_none_when_it_cannot_be_sure(answer):
    assert quick(answer)[0] is None


def test_quick_ps_without_a_project_name_reads_nothing():
    run = FakeRun()
    assert ComposeRuntime("/srv/deploy", ["base.yml"], run).quick_ps() is None and run.calls == []


# ------------------------------------------------------ the stop-first switch

PROJECT = COMPOSE[:4] + ["--project-name", "myaegee-staging"] + COMPOSE[4:]


def stop_first(answers):
    """A runtime of the project myaegee-staging (its containers are found by label), on a fake clock."""
    return start_first(answers, project="myaegee-staging")


def test_switch_brings_up_only_those_services_and_waits_for_their_health():
    # stop-first: one up of both, one docker ps for their new containers, then their health until both are healthy
    rt, run = stop_first({tuple(QUICK): (0, "c1\trunning\timg\tcore\tFalse\tmyaegee-staging\n"
                                            "e1\trunning\timg\tevents\tFalse\tmyaegee-staging\n"
                                            "t1\trunning\timg\ttraefik\tFalse\tmyaegee-staging\n", ""),
                          tuple(INSPECT + ["c1"]): container("healthy"),
                          tuple(INSPECT + ["e1"]): [container("starting"), container("starting"),
                                                    container("healthy")]})
    assert rt.switch(["core", "events"], 97.6) is None
    assert argvs(run) == [PROJECT + ["up", "--detach", "--no-deps", "core", "events"], QUICK,
                          INSPECT + ["c1"], INSPECT + ["e1"], INSPECT + ["e1"], INSPECT + ["e1"]]
    assert rt.report["core"] == rt.report["events"] == {"mode": "stop-first", "total": 0.2}  # two looks 0.1 s apart


@pytest.mark.parametrize(
    ("health", "problem"),
    [
        ([container("starting"), container("unhealthy")], "core: the new container c1 is unhealthy"),
        ([container(None, "exited", exit_code=4)], "core: the new container exited (code 4)"),
        ([container("starting")], "core: the container c1 is starting, not healthy"),
    ],
    ids=["unhealthy-at-once", "exited", "never-healthy-in-time"],
)
def test_a_stop_first_container_that_cannot_turn_healthy_ends_the_wait_with_its_last_words(health, problem):
    last = {"Status": "unhealthy", "Log": [{"ExitCode": 1, "Output": "curl: (22) 500\n"}]}
    looks = len(health)  # the scripted answers are used up as they are given
    rt, run = stop_first({tuple(QUICK): (0, "c1\trunning\timg\tcore\tFalse\tmyaegee-staging\n", ""),
                          tuple(INSPECT + ["c1"]): health,
                          ("docker", "inspect", "--type", "container", "--format", "{{json .State.Health}}"):
                              (0, json.dumps(last), ""),
                          ("docker", "logs"): (0, "", "boom\n")})
    said = "; its last health check (exit 1): curl: (22) 500; its last log lines:\nboom"
    assert rt.switch(["core"], 5) == problem + said
    made = sum(argv[:len(INSPECT)] == INSPECT for argv in argvs(run))
    # at once: the looks its answers take; in time: one every 0.1 s for the 5 s the switch may take
    assert made == looks if "not healthy" not in problem else 50 <= made <= 52


def test_a_stop_first_switch_without_the_projects_name_finds_its_containers_through_compose():
    rt, run = start_first({tuple(COMPOSE + ["ps", "--all", "--quiet", "--no-trunc", "core"]): (0, "c1\n", ""),
                           tuple(INSPECT + ["c1"]): container("healthy")})
    assert rt.switch(["core"], 30) is None
    assert argvs(run) == [COMPOSE + ["up", "--detach", "--no-deps", "core"], PS_CORE,
                          COMPOSE + ["ps", "--all", "--quiet", "--no-trunc", "core"], INSPECT + ["c1"]]


def test_a_stop_first_switch_that_started_nothing_says_so():
    rt, _run = stop_first({tuple(QUICK): (0, "t1\trunning\timg\ttraefik\tFalse\tmyaegee-staging\n", "")})
    assert rt.switch(["core"], 30) == "docker compose up started no container of core"


def test_start_first_with_the_projects_name_lists_the_containers_by_label_once_before_and_once_after():
    row = "%s\t%s\timg\tcore\tFalse\tmyaegee-staging\n"
    rt, run = stop_first({tuple(QUICK): [(0, row % ("old1", "running") + row % ("exited1", "exited"), ""),
                                         (0, row % ("old1", "running") + row % ("new1", "running"), "")],
                          tuple(INSPECT + ["new1"]): container("healthy"),
                          tuple(INSPECT + ["old1"]): container("unhealthy")})
    assert rt.switch(["core"], 60, {"core": "start-first"}) is None
    assert argvs(run)[:5] == [QUICK, ["docker", "rm", "--force", "exited1"],
                              PROJECT + ["up", "--detach", "--no-deps", "--no-recreate", "--scale", "core=2", "core"],
                              QUICK, INSPECT + ["new1"]]
    assert not any(argv[:2] == ["docker", "compose"] and "ps" in argv for argv in argvs(run))
    assert argvs(run)[-2:] == [["docker", "stop", "old1"], ["docker", "rm", "--force", "old1"]]
