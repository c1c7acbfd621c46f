"""rollback scenario: production after rolling core back to 1.4.2, then a routine deploy."""

from __future__ import annotations

from conftest import SERVICES, assert_runs

REASON = "molecule: core 1.5.0 breaks logins"


def test_core_is_rolled_back_the_rest_keeps_its_version(node):
    assert_runs(node, {svc: "1.4.2" if svc == "core" else "1.5.0" for svc in SERVICES})


def test_the_version_left_is_marked_bad_with_the_reason(node):
    bad = node.state()["bad"]
    assert sorted(bad) == ["core"]
    assert sorted(bad["core"]) == ["1.5.0"]
    assert bad["core"]["1.5.0"]["reason"] == REASON


def test_history_records_the_rollback_and_the_held_routine_deploy(node):
    history = node.history()
    rollbacks = [e for e in history if e["action"] == "rollback"]
    first = rollbacks[0]
    assert first["result"] == "success" and first["reason"] == REASON
    assert first["services"]["core"]["from"] == "1.5.0" and first["services"]["core"]["to"] == "1.4.2"
    assert first["recreated"] == ["core"]
    # idempotence: the second rollback run recreated nothing
    assert all(e["recreated"] == [] for e in rollbacks[1:])
    # the routine deploy afterwards (side effect) touched nothing: core is held
    last = history[-1]
    assert last["action"] == "deploy" and last["recreated"] == [], last


def test_staging_is_untouched(other):
    staging = other("staging-1")
    assert all(e["action"] == "deploy" for e in staging.history())
    assert_runs(staging, {svc: "1.5.0" for svc in SERVICES})
