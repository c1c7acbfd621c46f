"""deploy scenario: staging after the routine deploy and the CI deploy of core 1.5.1."""

from __future__ import annotations

import os

from conftest import GATEWAY, SERVICES, assert_runs


def test_every_service_runs_its_pinned_version(node):
    assert_runs(node, {svc: "1.5.1" if svc == "core" else "1.5.0" for svc in SERVICES})


def test_compose_files_pin_every_image_by_digest(node):
    for service in SERVICES:
        for value in node.image_lines(service):
            assert "@sha256:" in value and ":latest" not in value, value


def test_history_records_the_fresh_deploy_the_no_op_and_the_ci_deploy(node):
    history = node.history()
    results = [e["result"] for e in history]
    # converge, idempotence (the --check run records nothing), CI deploy
    assert results == ["success", "unchanged", "success"], results
    fresh, _noop, ci = history
    assert fresh["action"] == "deploy" and fresh["environment"] == "staging"
    assert sorted(fresh["services"]) == sorted(SERVICES)
    for service in SERVICES:
        entry = fresh["services"][service]
        assert entry["from"] is None and entry["to"] == "1.5.0" and entry["digest"].startswith("sha256:")
    assert sorted(ci["services"]) == ["core"]
    assert ci["services"]["core"]["from"] == "1.5.0" and ci["services"]["core"]["to"] == "1.5.1"
    assert ci["recreated"] == ["core"]
    assert all(e["actor"] for e in history)


def test_the_ci_deploy_touched_only_core(node):
    saved = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ids-before-ci-%s.txt" % node.name)
    with open(saved) as handle:
        before = dict(line.split("=", 1) for line in handle.read().split())
    after = {svc: c["ID"] for svc, c in node.all_containers().items()}
    # the gateway too: the first deploy started it, the CI deploy left it alone
    assert sorted(before) == sorted([*SERVICES, GATEWAY])
    assert after["core"] != before["core"]
    assert {s: i for s, i in after.items() if s != "core"} == {s: i for s, i in before.items() if s != "core"}


def test_state_marks_the_versions_verified(node):
    state = node.state()
    assert state["current"]["core"]["version"] == "1.5.1"
    for service in SERVICES:
        assert "1.5.0" in state["verified"][service]


def test_production_is_untouched(other):
    for name in ("production-1", "production-2"):
        prod = other(name)
        assert prod.containers() == {}
        assert not prod.host.file(prod.root).exists
