"""failure scenario: staging after the broken events 1.6.0 failed to deploy."""

from __future__ import annotations

from conftest import SERVICES, assert_runs


def test_events_stays_on_the_previous_version_and_healthy(node):
    assert_runs(node, {svc: "1.5.0" for svc in SERVICES})


def test_history_records_the_failed_and_restored_release_with_evidence(node):
    history = node.history()
    results = [e["result"] for e in history]
    # routine deploy, the broken deploy, then the idempotence run of the routine deploy
    assert results == ["success", "failed-restored", "unchanged"], results
    failed = history[1]
    assert sorted(failed["services"]) == ["events"]
    assert failed["services"]["events"]["from"] == "1.5.0" and failed["services"]["events"]["to"] == "1.6.0"
    assert "unhealthy" in failed["failure"]
    assert "docker compose ps" in failed["evidence"] and "health log" in failed["evidence"]
    assert failed["recreated"] == ["events"]


def test_the_broken_version_is_never_recorded_as_current_or_verified(node):
    state = node.state()
    assert state["current"]["events"]["version"] == "1.5.0"
    assert "1.6.0" not in state["verified"].get("events", {})
