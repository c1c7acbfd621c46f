"""promote scenario: production after `deploy.yml -l production` while core's latest is 1.5.1."""

from __future__ import annotations

from conftest import SERVICES, assert_runs


def test_production_runs_what_staging_verified_not_latest(node, other):
    assert_runs(node, {svc: "1.5.0" for svc in SERVICES})
    staging = other("staging-1")
    for service in SERVICES:
        # the same digest, pinned the same way
        assert node.pinned(service) == staging.pinned(service)


def test_digests_are_the_ones_staging_recorded(node, other):
    verified = other("staging-1").state()["verified"]
    for service, current in node.state()["current"].items():
        assert current["digest"] == verified[service][current["version"]]["digest"]


def test_history_records_the_promotion_then_a_no_op(node):
    history = node.history()
    assert [e["result"] for e in history] == ["success", "unchanged"]
    promotion = history[0]
    assert promotion["environment"] == "production" and promotion["action"] == "deploy"
    assert {svc: e["to"] for svc, e in promotion["services"].items()} == {svc: "1.5.0" for svc in SERVICES}
    assert sorted(promotion["recreated"]) == sorted(SERVICES)
    assert history[1]["recreated"] == []


def test_staging_is_untouched_by_the_promotion(other):
    staging = other("staging-1")
    assert [e["result"] for e in staging.history()] == ["success"]
    assert_runs(staging, {svc: "1.5.0" for svc in SERVICES})
