# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Release's input checks and rollback planning, with a fake ``run``."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils._release import Release, ReleaseError
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, empty_state
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_run import FakeRun


def entry(result, **services):
    return {"result": result, "services": {s: {"to": v} for s, v in services.items()}}


# ------------------------------------------------------------ Release (unit)


def make_release(tmp_path, **params):
    base = {"root": str(tmp_path / "deploy"), "repo_url": "/nowhere.git", "branch": "stable", "targets": {}}
    base.update(params)
    run = FakeRun()
    release = Release(base, run, http_get=None)
    release.fake_run = run
    return release


def bad_state(svc="core", version="1.5.0"):
    state = empty_state()
    state["current"][svc] = {"version": "1.4.2"}
    state["bad"][svc] = {version: {"time": "2024-05-01T10:00:00Z", "by": "alice", "reason": "500 on login"}}
    return state


REASON = "rolled back 2024-05-01T10:00:00Z by alice: 500 on login"


def test_bad_version_without_hold_or_force_is_refused_with_the_reason(tmp_path):
    rel = make_release(tmp_path, targets={"core": {"version": "1.5.0"}})
    with pytest.raises(ReleaseError) as exc:
        rel._check_inputs(bad_state())
    assert str(exc.value) == ("core 1.5.0 is marked bad on this host (%s); deploy a newer version, or force it with "
                              "-e force=true" % REASON)


def test_hold_bad_drops_the_target_and_warns(tmp_path):
    rel = make_release(tmp_path, hold_bad=True, targets={"core": {"version": "1.5.0"}, "events": {"version": "1.5.0"}})
    rel._check_inputs(bad_state())
    assert rel.p["targets"] == {"events": {"version": "1.5.0"}}
    assert rel.result["held"] == {"core": {"version": "1.5.0", "reason": REASON, "keeps": "1.4.2"}}
    assert rel.result["warnings"] == [
        "core is held at 1.4.2: 1.5.0 is marked bad on this host (%s); a newer version releases the hold" % REASON
    ]


def test_hold_bad_for_a_service_that_runs_nothing_yet(tmp_path):
    state = bad_state()
    state["current"] = {}
    rel = make_release(tmp_path, hold_bad=True, targets={"core": {"version": "1.5.0"}})
    rel._check_inputs(state)
    assert rel.p["targets"] == {} and rel.result["held"]["core"]["keeps"] is None
    assert "held at its current version" in rel.result["warnings"][0]


def test_force_deploys_a_bad_version_with_a_warning(tmp_path):
    rel = make_release(tmp_path, force=True, hold_bad=True, targets={"core": {"version": "1.5.0"}})
    rel._check_inputs(bad_state())
    assert rel.p["targets"] == {"core": {"version": "1.5.0"}}
    assert rel.result["held"] == {}
    assert rel.result["warnings"] == [
        "core 1.5.0 is marked bad (%s); deploying it anyway because force is set" % REASON
    ]


def test_a_newer_version_than_the_bad_one_passes(tmp_path):
    rel = make_release(tmp_path, targets={"core": {"version": "1.5.1"}})
    rel._check_inputs(bad_state())
    assert rel.p["targets"] == {"core": {"version": "1.5.1"}} and rel.result["warnings"] == []


@pytest.mark.parametrize("version", ["latest", "v1.5.0", "1.5", "previous"])
def test_targets_must_be_versions(tmp_path, version):
    rel = make_release(tmp_path, targets={"core": {"version": version}})
    with pytest.raises(ReleaseError, match="core: %r is not a semantic version" % version):
        rel._check_inputs(empty_state())


# ---------------------------------------------------------- rollback planning


def rollback_release(tmp_path, history, **params):
    rel = make_release(tmp_path, action="rollback", **params)
    for item in history:
        rel.state.append_history(item)
    return rel


def rollback_state():
    state = empty_state()
    state["current"]["core"] = {"version": "1.5.0", "digest": "sha256:" + "5" * 64}
    state["verified"]["core"] = {"1.4.2": {"digest": "sha256:" + "2" * 64}, "1.4.1": {"digest": "sha256:" + "1" * 64}}
    return state


HISTORY_ROLLBACK = [entry("success", core="1.4.1"), entry("success", core="1.4.2"), entry("success", core="1.5.0")]


def test_rollback_to_previous_resolves_from_the_history_and_marks_the_version_left(tmp_path):
    rel = rollback_release(tmp_path, HISTORY_ROLLBACK, targets={"core": {"version": "previous"}})
    rel._check_inputs(rollback_state())
    assert rel.p["targets"] == {"core": {"version": "1.4.2", "digest": "sha256:" + "2" * 64}}
    assert rel.p["mark_bad"] == {"core": "1.5.0"}


def test_rollback_skips_bad_versions(tmp_path):
    state = rollback_state()
    state["bad"]["core"] = {"1.4.2": {"time": "t", "by": "b", "reason": "r"}}
    rel = rollback_release(tmp_path, HISTORY_ROLLBACK, targets={"core": {"version": "previous"}})
    rel._check_inputs(state)
    assert rel.p["targets"]["core"] == {"version": "1.4.1", "digest": "sha256:" + "1" * 64}


def test_rollback_to_a_named_version_keeps_its_digest_and_an_explicit_mark(tmp_path):
    rel = rollback_release(tmp_path, [], targets={"core": {"version": "1.4.1", "digest": "sha256:" + "f" * 64}},
                           mark_bad={"core": "1.4.9"})
    rel._check_inputs(rollback_state())
    assert rel.p["targets"]["core"]["digest"] == "sha256:" + "f" * 64
    assert rel.p["mark_bad"] == {"core": "1.4.9"}


def test_rollback_to_an_unverified_version_has_no_digest(tmp_path):
    rel = rollback_release(tmp_path, [], targets={"core": {"version": "1.3.0"}})
    rel._check_inputs(rollback_state())
    assert rel.p["targets"]["core"] == {"version": "1.3.0", "digest": None}
    assert rel.p["mark_bad"] == {"core": "1.5.0"}


def test_rollback_to_the_current_version_marks_nothing(tmp_path):
    rel = rollback_release(tmp_path, [], targets={"core": {"version": "1.5.0"}})
    rel._check_inputs(rollback_state())
    assert rel.p["mark_bad"] == {}


def test_rollback_without_an_earlier_release_names_the_fix(tmp_path):
    rel = rollback_release(tmp_path, [entry("success", core="1.5.0")], targets={"core": {"version": "previous"}})
    with pytest.raises(ReleaseError) as exc:
        rel._check_inputs(rollback_state())
    assert str(exc.value) == ("core: the history of this host has no earlier good release than 1.5.0 to roll back "
                              "to; name the version with -e version=X.Y.Z")


def test_whole_release_rollback_skips_services_without_an_earlier_release(tmp_path):
    state = rollback_state()
    state["current"]["events"] = {"version": "1.4.1"}
    rel = rollback_release(tmp_path, HISTORY_ROLLBACK + [entry("success", events="1.4.1")], whole_release=True,
                           targets={"core": {"version": "previous"}, "events": {"version": "previous"}})
    rel._check_inputs(state)
    assert sorted(rel.p["targets"]) == ["core"]
    assert rel.p["mark_bad"] == {"core": "1.5.0"}


def test_whole_release_rollback_with_nothing_to_roll_back(tmp_path):
    rel = rollback_release(tmp_path, [], whole_release=True, targets={"core": {"version": "previous"}})
    with pytest.raises(ReleaseError, match="nothing to roll back"):
        rel._check_inputs(rollback_state())


def test_rollback_reads_a_history_with_corrupt_lines(tmp_path):
    rel = rollback_release(tmp_path, HISTORY_ROLLBACK, targets={"core": {"version": "previous"}})
    with open(rel.state.history_path, "ab") as handle:
        handle.write(b'{"result": "succ')
    rel._check_inputs(rollback_state())
    assert rel.p["targets"]["core"]["version"] == "1.4.2"
    assert any("corrupt or truncated" in w for w in rel.result["warnings"])


def test_rollback_previous_that_is_marked_bad_is_not_chosen_twice(tmp_path):
    # 1.4.2 bad and 1.4.1 the only other: previous gives 1.4.1, _check_inputs accepts it
    state = rollback_state()
    state["bad"]["core"] = {"1.4.2": {}}
    rel = rollback_release(tmp_path, HISTORY_ROLLBACK, targets={"core": {"version": "previous"}})
    rel._check_inputs(copy.deepcopy(state))
    assert rel.p["targets"]["core"]["version"] == "1.4.1"


# ------------------------------------------------------------- check mode


def test_check_mode_on_a_missing_checkout_runs_nothing(tmp_path):
    params = {"root": str(tmp_path / "deploy"), "repo_url": "/origin.git", "branch": "stable", "targets": {}}
    run = FakeRun()
    result = Release(params, run, http_get=None, check_mode=True).execute()
    assert result["changed"] is True and result["msg"] == "would clone /origin.git into %s" % params["root"]
    assert run.calls == [] and not os.path.exists(params["root"])


def test_state_dir_is_under_the_root(tmp_path):
    rel = make_release(tmp_path, root=str(tmp_path / "deploy") + "/")
    assert rel.root == str(tmp_path / "deploy")
    assert rel.state.dir == os.path.join(rel.root, ".aegee")
    assert isinstance(rel.state, HostState)
    assert make_release(tmp_path, state_dir="state").state.dir == os.path.join(str(tmp_path / "deploy"), "state")
