# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release's decisions (``_policy``), table by table: plain data in, plain data out; no process, no file."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils._policy import (
    definition_note,
    Refused,
    check_targets,
    failure_message,
    history_entry,
    image_of,
    lock_services,
    one_each,
    plan_rollback,
    previous_version,
    recorded_state,
    release_source,
    running_versions,
    service_port,
    services_to_up,
    switch_modes,
    unrestored_state,
)
from ansible_collections.aegee.deploy.plugins.module_utils._state import empty_state

NOW = "2024-06-01T12:00:00Z"
D1, D2, D5 = ("sha256:" + c * 64 for c in "125")
BAD_INFO = {"time": "2024-05-01T10:00:00Z", "by": "alice", "reason": "500 on login"}
WHY = "rolled back 2024-05-01T10:00:00Z by alice: 500 on login"


def host(current=None, bad=None, verified=None):
    """A host state: ``current`` {svc: version}, ``bad`` {svc: [versions]}, ``verified`` {svc: {version: digest}}."""
    state = empty_state()
    state["current"] = {s: {"version": v} for s, v in (current or {}).items()}
    state["bad"] = {s: {v: dict(BAD_INFO) for v in vs} for s, vs in (bad or {}).items()}
    state["verified"] = {s: {v: {"digest": d} for v, d in vs.items()} for s, vs in (verified or {}).items()}
    return state


def targets(**versions):
    return {s: {"version": v} for s, v in versions.items()}


# ----------------------------------------------------------- previous_version


def entry(result, **services):
    return {"result": result, "services": {s: {"to": v} for s, v in services.items()}}


HISTORY = [
    entry("success", core="1.4.1", events="1.4.1"),
    entry("success", core="1.4.2"),
    entry("unchanged", core="1.4.2"),
    entry("failed-restored", core="1.6.0"),
    entry("failed-restore-failed", core="1.6.1"),
    entry("success", core="1.5.0"),
]


@pytest.mark.parametrize(
    ("history", "svc", "current", "bad", "expected"),
    [
        (HISTORY, "core", "1.5.0", {}, "1.4.2"),
        (HISTORY, "core", "1.5.0", {"1.4.2": {}}, "1.4.1"),
        (HISTORY, "core", "1.5.0", {"1.4.2": {}, "1.4.1": {}}, None),
        (HISTORY, "events", "1.4.1", {}, None),
        (HISTORY, "events", None, {}, "1.4.1"),
        (HISTORY, "mailer", None, {}, None),
        ([], "core", "1.5.0", {}, None),
        # a rollback to 1.4.1 then 1.5.1: previous of 1.5.1 is 1.4.1, the version it replaced
        ([entry("success", core="1.4.1"), entry("success", core="1.5.0"), entry("success", core="1.4.1"),
          entry("success", core="1.5.1")], "core", "1.5.1", {}, "1.4.1"),
        # failed releases never count
        ([entry("success", core="1.4.1"), entry("failed-restored", core="1.5.0")], "core", "1.4.1", {}, None),
        # entries without services or versions are ignored
        ([{"result": "success"}, {"result": "success", "services": {"core": {}}}, entry("success", core="1.0.0")],
         "core", "2.0.0", {}, "1.0.0"),
    ],
)
def test_previous_version(history, svc, current, bad, expected):
    assert previous_version(history, svc, current, bad) == expected


# -------------------------------------------------------------- check_targets


@pytest.mark.parametrize(
    ("given", "state", "flags", "kept", "held", "warnings"),
    [
        # nothing bad: everything passes, nothing said
        (targets(core="1.5.0"), host(), {}, targets(core="1.5.0"), {}, []),
        # a newer version than the bad one passes
        (targets(core="1.5.1"), host({"core": "1.4.2"}, {"core": ["1.5.0"]}), {}, targets(core="1.5.1"), {}, []),
        # a version bad for another service only
        (targets(core="1.5.0"), host(bad={"events": ["1.5.0"]}), {}, targets(core="1.5.0"), {}, []),
        # hold_bad drops the bad target and says what it keeps
        (targets(core="1.5.0", events="1.5.0"), host({"core": "1.4.2"}, {"core": ["1.5.0"]}), {"hold_bad": True},
         targets(events="1.5.0"), {"core": {"version": "1.5.0", "reason": WHY, "keeps": "1.4.2"}},
         ["core is held at 1.4.2: 1.5.0 is marked bad on this host (%s); a newer version releases the hold" % WHY]),
        # held while nothing runs yet
        (targets(core="1.5.0"), host(bad={"core": ["1.5.0"]}), {"hold_bad": True}, {},
         {"core": {"version": "1.5.0", "reason": WHY, "keeps": None}},
         ["core is held at its current version: 1.5.0 is marked bad on this host (%s); a newer version releases "
          "the hold" % WHY]),
        # force wins over hold_bad
        (targets(core="1.5.0"), host({"core": "1.4.2"}, {"core": ["1.5.0"]}), {"force": True, "hold_bad": True},
         targets(core="1.5.0"), {},
         ["core 1.5.0 is marked bad (%s); deploying it anyway because force is set" % WHY]),
    ],
)
def test_check_targets(given, state, flags, kept, held, warnings):
    before = copy.deepcopy((given, state))
    assert check_targets(given, state, **flags) == (kept, held, warnings)
    assert (given, state) == before  # nothing given is changed


@pytest.mark.parametrize(
    ("given", "state", "message"),
    [
        (targets(core="1.5.0"), host({"core": "1.4.2"}, {"core": ["1.5.0"]}),
         "core 1.5.0 is marked bad on this host (%s); deploy a newer version, or force it with -e force=true" % WHY),
        (targets(core="latest"), host(), "core: 'latest' is not a semantic version"),
        (targets(core="v1.5.0"), host(), "core: 'v1.5.0' is not a semantic version"),
        (targets(core="previous"), host(), "core: 'previous' is not a semantic version"),
    ],
)
def test_check_targets_refuses(given, state, message):
    with pytest.raises(Refused) as exc:
        check_targets(given, state)
    assert str(exc.value) == message


# -------------------------------------------------------------- plan_rollback

ROLLBACK_HOST = host({"core": "1.5.0"}, verified={"core": {"1.4.2": D2, "1.4.1": D1}})
ROLLBACK_HISTORY = [entry("success", core="1.4.1"), entry("success", core="1.4.2"), entry("success", core="1.5.0")]


@pytest.mark.parametrize(
    ("given", "state", "history", "options", "resolved", "mark"),
    [
        # previous: from the history, with the digest verified here; the version left is marked bad
        (targets(core="previous"), ROLLBACK_HOST, ROLLBACK_HISTORY, {},
         {"core": {"version": "1.4.2", "digest": D2}}, {"core": "1.5.0"}),
        # bad versions are skipped
        (targets(core="previous"), host({"core": "1.5.0"}, {"core": ["1.4.2"]}, {"core": {"1.4.1": D1}}),
         ROLLBACK_HISTORY, {}, {"core": {"version": "1.4.1", "digest": D1}}, {"core": "1.5.0"}),
        # a named version keeps its own digest, an explicit mark is kept
        ({"core": {"version": "1.4.1", "digest": D5}}, ROLLBACK_HOST, [], {"mark_bad": {"core": "1.4.9"}},
         {"core": {"version": "1.4.1", "digest": D5}}, {"core": "1.4.9"}),
        # a version never verified here has no digest
        (targets(core="1.3.0"), ROLLBACK_HOST, [], {}, {"core": {"version": "1.3.0", "digest": None}},
         {"core": "1.5.0"}),
        # back to the current version: nothing is left behind
        (targets(core="1.5.0"), ROLLBACK_HOST, [], {}, {"core": {"version": "1.5.0", "digest": None}}, {}),
        # nothing runs: nothing to mark
        (targets(core="1.4.2"), host(verified={"core": {"1.4.2": D2}}), [], {},
         {"core": {"version": "1.4.2", "digest": D2}}, {}),
        # whole release: a service without an earlier good release is left out
        (targets(core="previous", events="previous"),
         host({"core": "1.5.0", "events": "1.4.1"}, verified={"core": {"1.4.2": D2}}),
         ROLLBACK_HISTORY + [entry("success", events="1.4.1")], {"whole_release": True},
         {"core": {"version": "1.4.2", "digest": D2}}, {"core": "1.5.0"}),
    ],
)
def test_plan_rollback(given, state, history, options, resolved, mark):
    before = copy.deepcopy(given)
    assert plan_rollback(given, state, history, **options) == (resolved, mark)
    assert given == before


@pytest.mark.parametrize(
    ("given", "history", "options", "message"),
    [
        (targets(core="previous"), [entry("success", core="1.5.0")], {},
         "core: the history of this host has no earlier good release than 1.5.0 to roll back to; name the version "
         "with -e version=X.Y.Z"),
        (targets(events="previous"), [], {},
         "events: the history of this host has no earlier good release than the current one to roll back to; name "
         "the version with -e version=X.Y.Z"),
        (targets(core="previous"), [], {"whole_release": True},
         "nothing to roll back: the history of this host has no earlier good release"),
    ],
)
def test_plan_rollback_refuses(given, history, options, message):
    with pytest.raises(Refused) as exc:
        plan_rollback(given, ROLLBACK_HOST, history, **options)
    assert str(exc.value) == message


# ------------------------------------------------------------ services_to_up

IMG = "localhost:5000/aegee/core:1.5.0"
OLD_IMG = "localhost:5000/aegee/core:1.4.2"


def ps(image=IMG, state="running"):
    return {"Service": "core", "Image": image, "State": state}


@pytest.mark.parametrize(
    ("containers", "wanted", "changed", "to_up"),
    [
        ({"core": ps()}, {"core": IMG}, set(), []),  # runs what is wanted, file unchanged
        ({}, {"core": IMG}, set(), ["core"]),  # no container
        ({"core": ps(state="exited")}, {"core": IMG}, set(), ["core"]),  # not running
        ({"core": ps(OLD_IMG)}, {"core": IMG}, set(), ["core"]),  # another image
        ({"core": ps()}, {"core": IMG}, {"core"}, ["core"]),  # its compose file changes
        ({"core": ps(OLD_IMG)}, {"core": None}, set(), []),  # nothing pinned: the image is not compared
        ({"core": ps()}, {"core": IMG}, {"events"}, []),  # another service's file changes
    ],
)
def test_services_to_up(containers, wanted, changed, to_up):
    assert services_to_up(targets(core="1.5.0"), containers, wanted, changed) == (to_up, [])


@pytest.mark.parametrize(
    ("quick", "found"),
    [
        ([ps()], {"core": ps()}),
        ([ps(), dict(ps(), Service="events")], {"core": ps(), "events": dict(ps(), Service="events")}),
        ([ps(state="exited")], {"core": ps(state="exited")}),  # what it is: services_to_up brings it up
        (None, None),  # the runtime cannot read it that way
        ([], None),  # nothing at all (a first release, or a label the project does not carry): Compose says
        ([ps(), ps(OLD_IMG)], None),  # two containers of the service (a switch left one?)
    ],
    ids=["one", "others-listed", "exited", "cannot-tell", "none", "two"],
)
def test_one_each_reads_the_containers_by_label_only_when_sure(quick, found):
    assert one_each(quick) == found
    if found is not None and found["core"]["State"] == "running":  # what the full path decides from the same
        assert services_to_up(targets(core="1.5.0"), found, {"core": IMG}, set()) == ([], [])


def test_services_to_up_after_a_broken_lock_brings_every_target_up_and_names_the_others():
    running = {s: dict(ps(), Service=s) for s in ("a", "b", "c")}
    to_up, warnings = services_to_up(targets(a="1", b="1", c="1"), running, {"a": IMG, "b": OLD_IMG, "c": IMG},
                                     set(), recovered={"targets": "a=1, d=2, e=3"})
    assert to_up == ["b", "a", "c"]  # the ones that change first, as the recreate order always was
    assert warnings == ["the interrupted run was also releasing d, e: check them (status.yml) or deploy them again"]


@pytest.mark.parametrize(
    ("lock_targets", "services"),
    [("core=1.5.0, events=1.5.0", ["core", "events"]), ("", []), (None, []), ("core", []), ("core=1=2", ["core"])],
)
def test_lock_services(lock_targets, services):
    assert lock_services(lock_targets) == services


# ----------------------------------------------------------- running_versions

NEW = {"pins": {"core": {"file": "c.yml", "value": IMG}}}
OLD = {"pins": {"core": {"file": "c.yml", "value": OLD_IMG}}}


@pytest.mark.parametrize(
    ("images", "was", "running"),
    [
        ({"core": IMG}, "1.4.2", "1.5.0"),
        ({"core": OLD_IMG}, "1.4.2", "1.4.2"),
        ({"core": OLD_IMG}, None, "previous"),
        ({"core": "other:1"}, "1.4.2", "unknown (other:1)"),
        ({"core": None}, "1.4.2", "unknown (None)"),
        ({}, "1.4.2", None),
    ],
)
def test_running_versions(images, was, running):
    assert running_versions(["core"], images, targets(core="1.5.0"), NEW, OLD, {"core": was}) == {"core": running}


@pytest.mark.parametrize(("svc", "managed", "image"), [("core", NEW, IMG), ("events", NEW, None), ("core", {}, None)])
def test_image_of(svc, managed, image):
    assert image_of(svc, managed) == image


# ------------------------------------------------------------ recorded_state

RECORD = {"run_id": "r9", "now": NOW, "actor": "bob"}


def recorded(state, result="success", given=None, managed=None, **options):
    return recorded_state(state, result, given or {"core": {"version": "1.5.0", "digest": D5}}, managed or NEW,
                          **dict(RECORD, **options))


@pytest.mark.parametrize("result", ["failed-unchanged", "failed-restored", "failed-restore-failed"])
def test_a_failed_release_changes_no_state(result):
    state = host({"core": "1.4.2"}, {"core": ["1.4.9"]}, {"core": {"1.4.2": D2}})
    assert recorded(state, result) == (state, [])


@pytest.mark.parametrize("result", ["success", "unchanged"])
def test_a_good_release_is_current_and_verified(result):
    state = host({"core": "1.4.2"}, verified={"core": {"1.4.2": D2}})
    before = copy.deepcopy(state)
    after, warnings = recorded(state, result)
    assert state == before and warnings == []
    assert after["managed"] == NEW
    assert after["current"]["core"] == {"version": "1.5.0", "digest": D5, "image": IMG, "time": NOW, "release": "r9"}
    assert after["verified"]["core"] == {"1.4.2": {"digest": D2},
                                         "1.5.0": {"digest": D5, "time": NOW, "release": "r9"}}


@pytest.mark.parametrize(
    ("bad", "action", "still_bad", "warnings"),
    [
        # a newer version releases the holds on older bad ones, not on newer or odd ones
        (["1.4.9", "1.6.0", "nightly"], "deploy", {"1.6.0", "nightly"},
         ["core 1.5.0 released the hold on bad version 1.4.9"]),
        (["1.4.9", "1.4.8"], "deploy", None,
         ["core 1.5.0 released the hold on bad version 1.4.8", "core 1.5.0 released the hold on bad version 1.4.9"]),
        # a rollback releases nothing
        (["1.4.9"], "rollback", {"1.4.9"}, []),
        # the same version stays held (only force deploys it)
        (["1.5.0"], "deploy", {"1.5.0"}, []),
    ],
)
def test_holds_released_by_a_newer_version(bad, action, still_bad, warnings):
    after, said = recorded(host(bad={"core": bad}), action=action)
    assert (set(after["bad"]["core"]) if "core" in after["bad"] else None) == still_bad
    assert sorted(said) == warnings


def test_mark_bad_marks_and_unverifies():
    state = host({"core": "1.5.0"}, verified={"core": {"1.5.0": D5, "1.4.2": D2}})
    after, _warnings = recorded(state, given={"core": {"version": "1.4.2", "digest": D2}}, managed=OLD,
                                action="rollback", reason="500 on login", mark_bad={"core": "1.5.0", "events": None})
    assert after["bad"] == {"core": {"1.5.0": {"time": NOW, "by": "bob", "reason": "500 on login", "release": "r9"}}}
    assert sorted(after["verified"]["core"]) == ["1.4.2"]
    assert after["current"]["core"]["version"] == "1.4.2"


def test_mark_bad_without_reason_or_actor():
    after, _warnings = recorded(host(), action="rollback", actor=None, mark_bad={"core": "1.4.0"})
    assert after["bad"]["core"]["1.4.0"] == {"time": NOW, "by": "unknown", "reason": "rolled back", "release": "r9"}


def test_unrestored_state_follows_what_runs_and_marks_it_bad():
    state = host({"core": "1.4.2"})
    after = unrestored_state(state, ["core"], {"core": {"version": "1.5.0", "digest": D5}}, NEW, run_id="r9",
                             now=NOW, actor=None)
    assert state == host({"core": "1.4.2"})
    assert after["managed"] == NEW
    assert after["current"]["core"] == {"version": "1.5.0", "digest": D5, "image": IMG, "time": NOW, "release": "r9",
                                        "failed": True}
    assert after["bad"]["core"]["1.5.0"] == {
        "time": NOW, "by": "unknown", "release": "r9",
        "reason": "failed its checks and the previous version could not be restored"}


# ------------------------------------------------------------- history_entry

SERVICES = {"core": {"from": "1.4.2", "to": "1.5.0", "digest": D5, "image": IMG, "changed": True,
                     "container_image": OLD_IMG, "smoke": "ok"}}


@pytest.mark.parametrize(
    ("params", "details", "extra"),
    [
        ({}, {}, {}),
        ({"actor": "bob", "controller": "ci", "action": "rollback", "environment": "staging", "reason": "r"}, {},
         {"actor": "bob", "controller": "ci", "action": "rollback", "environment": "staging", "reason": "r"}),
        ({}, {"failure": "f", "restore_error": "e", "running": {"core": None}, "recovered_lock": {"id": "x"}},
         {"failure": "f", "restore_error": "e", "running": {"core": None}, "recovered_lock": {"id": "x"}}),
        ({}, {"evidence": "e" * 9000}, {"evidence": "e" * 8000}),
        ({}, {"failure": "", "evidence": None, "running": {}}, {"running": {}}),
    ],
)
def test_history_entry(params, details, extra):
    expected = {"id": "r9", "started": "t0", "time": NOW, "actor": "unknown", "controller": "", "action": "deploy",
                "environment": "", "result": "success", "recreated": ["core"], "repo": {"before": "a", "after": "b"},
                "services": {"core": {"from": "1.4.2", "to": "1.5.0", "digest": D5, "image": IMG, "changed": True}}}
    expected.update(extra)
    entry_ = history_entry(params, SERVICES, "success", run_id="r9", started="t0", now=NOW, recreated=["core"],
                           repo={"before": "a", "after": "b", "pulled": True}, **details)
    assert entry_ == expected


# ----------------------------------------------------------- failure_message

FAILED = "deploy of core 1.4.2 -> 1.5.0 failed: boom. "


@pytest.mark.parametrize(
    ("services", "restore_error", "running", "restored", "message"),
    [
        (SERVICES, None, None, True, FAILED + "The previous version was restored and is healthy."),
        (SERVICES, None, None, False,
         FAILED + "Nothing of it ran before this deploy; its new containers were removed."),
        ({"core": {"to": "1.5.0"}}, None, None, False,
         "deploy of core (none) -> 1.5.0 failed: boom. Nothing of it ran before this deploy; its new containers were "
         "removed."),
        (SERVICES, "it broke", {"core": "1.5.0"}, True,
         FAILED + "RESTORE FAILED: it broke. Running now: core 1.5.0. The host needs attention now: deploy a version "
         "that works (-e service=... -e version=...)."),
        (SERVICES, "it broke", {"core": None}, True, FAILED + "RESTORE FAILED: it broke. Running now: core nothing. "
         "The host needs attention now: deploy a version that works (-e service=... -e version=...)."),
    ],
)
def test_failure_message(services, restore_error, running, restored, message):
    assert failure_message(services, ["core"], "boom", restore_error, running, restored) == message


# ------------------------------------------------------------- switch modes

HC = {"test": ["CMD", "curl", "-f", "http://localhost/healthcheck"]}
PORT = {"target": 80, "published": "8084", "host_ip": "127.0.0.1", "mode": "ingress", "protocol": "tcp"}


@pytest.mark.parametrize(
    ("config", "asked", "mode", "reason"),
    [
        ({"expose": ["80"], "healthcheck": HC}, None, "start-first", "the new container starts beside the old one"),
        ({"expose": ["80"], "healthcheck": HC}, "start-first", "start-first",
         "the new container starts beside the old one"),
        ({"ports": [{"target": 80}], "healthcheck": HC}, None, "start-first",
         "the new container starts beside the old one"),
        ({"ports": [PORT], "healthcheck": HC}, None, "stop-first",
         "it publishes the fixed host port(s) 127.0.0.1:8084: requests fail while it restarts"),
        ({"ports": ["8084:80"], "healthcheck": HC}, None, "stop-first",
         "it publishes the fixed host port(s) 8084: requests fail while it restarts"),
        ({"container_name": "db", "healthcheck": HC}, None, "stop-first",
         "it sets container_name db: requests fail while it restarts"),
        ({"expose": ["80"], "healthcheck": HC}, "stop-first", "stop-first",
         "marked switch: stop-first in the catalogue"),
        ({"ports": [PORT], "healthcheck": HC}, "stop-first", "stop-first",
         "marked switch: stop-first in the catalogue"),
    ],
)
def test_switch_mode_is_start_first_unless_it_cannot_work(config, asked, mode, reason):
    catalogue = {"core": {"image": "x", "switch": asked}} if asked else {"core": {"image": "x"}}
    modes, warnings = switch_modes(["core"], {"core": config}, catalogue)
    assert modes == {"core": {"mode": mode, "reason": reason}} and warnings == []


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ({"ports": [PORT]}, "it publishes the fixed host port(s) 127.0.0.1:8084"),
        ({"container_name": "core"}, "it sets container_name core"),
        ({"container_name": "core", "ports": ["8084:80"]},
         "it publishes the fixed host port(s) 8084 and it sets container_name core"),
    ],
)
def test_start_first_asked_where_it_cannot_work_is_refused_naming_service_and_reason(config, why):
    with pytest.raises(Refused) as exc:
        switch_modes(["events", "core"], {"core": config, "events": {}}, {"core": {"switch": "start-first"}})
    assert str(exc.value) == ("core: the catalogue asks for switch: start-first, but %s, so two containers of it "
                              "cannot run side by side; remove that from its compose file or drop the switch "
                              "setting. Nothing was changed" % why)


def test_an_unknown_switch_mode_is_refused():
    with pytest.raises(Refused, match="^core: switch 'rolling' in the catalogue \\(aegee_services\\) is neither "
                                      "start-first nor stop-first$"):
        switch_modes(["core"], {"core": {}}, {"core": {"switch": "rolling"}})


@pytest.mark.parametrize("healthcheck", [None, {"disable": True}, {"test": ["NONE"]}])
def test_a_service_without_a_healthcheck_is_warned_about(healthcheck):
    config = {"expose": ["80"]} if healthcheck is None else {"expose": ["80"], "healthcheck": healthcheck}
    modes, warnings = switch_modes(["mailer"], {"mailer": config})
    assert modes["mailer"]["mode"] == "start-first"
    assert warnings == ["mailer has no healthcheck: the proxy routes requests to its new container as soon as it "
                        "starts, before it is ready, and the old one cannot be drained"]


@pytest.mark.parametrize(
    ("config", "port"),
    [
        ({"expose": ["8084"], "ports": [PORT]}, 8084),
        ({"expose": ["8084/tcp"]}, 8084),
        ({"labels": {"traefik.http.services.core.loadbalancer.server.port": "8080"}}, 8080),
        ({"labels": ["traefik.enable=true", "traefik.http.services.core.loadbalancer.server.port=8081"]}, 8081),
        ({"ports": [PORT]}, 80),
        ({}, 80),
    ],
)
def test_service_port_is_where_the_container_itself_listens(config, port):
    assert service_port(config) == port


# ------------------------------------------------------------- compose source

SRC_OLD = {"submodule": "core", "url": "u", "commit": "a" * 40, "blob": "1" * 40}
SRC_NEW = {"submodule": "core", "url": "u", "commit": "b" * 40, "blob": "2" * 40}
SRC_FLAT = {"submodule": None, "url": "u", "commit": "c" * 40, "blob": "1" * 40}


def test_history_entry_and_state_keep_each_services_compose_source():
    services = {"core": dict(SERVICES["core"], source=SRC_NEW), "events": {"to": "1.0.0"}}
    entry_ = history_entry({}, services, "success", run_id="r9", started="t0", now=NOW, recreated=[])
    assert entry_["services"]["core"]["source"] == SRC_NEW and "source" not in entry_["services"]["events"]
    after, _warnings = recorded(host({"core": "1.4.2"}), sources={"core": SRC_NEW})
    assert after["current"]["core"]["source"] == SRC_NEW
    assert "source" not in recorded(host({"core": "1.4.2"}), sources={"core": None})[0]["current"]["core"]


def released(result, version, source, action="deploy"):
    return {"result": result, "action": action, "services": {"core": {"to": version, "source": source}}}


@pytest.mark.parametrize(
    ("history", "version", "expected"),
    [
        ([released("success", "1.4.2", SRC_OLD), released("success", "1.5.0", SRC_NEW)], "1.4.2", SRC_OLD),
        # the newest good release of that version counts, a failed one does not
        ([released("success", "1.4.2", SRC_OLD), released("unchanged", "1.4.2", SRC_FLAT),
          released("failed-restored", "1.4.2", SRC_NEW)], "1.4.2", SRC_FLAT),
        # an older release recorded no source
        ([{"result": "success", "services": {"core": {"to": "1.4.2"}}}], "1.4.2", None),
        ([released("success", "1.5.0", SRC_NEW)], "1.4.2", None),
        ([], "1.4.2", None),
    ],
)
def test_release_source(history, version, expected):
    assert release_source(history, "core", version) == expected


@pytest.mark.parametrize(
    ("then", "now", "changed", "says"),
    [
        (SRC_OLD, SRC_NEW, True, "core: the compose definition changed since 1.4.2 was released (submodule core at "
                                 "aaaaaaaaaaaa then, submodule core at bbbbbbbbbbbb now): the image is rolled back, "
                                 "the compose definition stays the current one"),
        # another commit, the same compose file: unchanged
        (SRC_OLD, dict(SRC_NEW, blob=SRC_OLD["blob"]), False,
         "core: the compose definition is the one 1.4.2 was released with (submodule core at bbbbbbbbbbbb)"),
        # a flat deploy repo
        (SRC_FLAT, dict(SRC_FLAT, commit="d" * 40, blob="3" * 40), True, "(deploy repo at cccccccccccc then, "
                                                                         "deploy repo at dddddddddddd now)"),
        (None, SRC_NEW, None, "core: the compose definition 1.4.2 was released with is not recorded; the image is "
                              "rolled back, the compose definition is the current one (submodule core at "
                              "bbbbbbbbbbbb)"),
        (dict(SRC_OLD, blob=None), SRC_NEW, None, "is not recorded"),
        (SRC_OLD, None, None, "core: the current compose file is not committed, so whether it changed since 1.4.2 was "
                              "released is unknown"),
        (SRC_OLD, dict(SRC_NEW, blob=None), None, "the current compose file is not committed"),
    ],
)
def test_definition_note(then, now, changed, says):
    note, found = definition_note("core", "1.4.2", then, now)
    assert found is changed and says in note
