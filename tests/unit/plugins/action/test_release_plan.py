# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drive the release_plan action's run(): input errors before any registry call, a plan against a real HTTP registry.

The action runs in the controller's process: the fake connection fails the test if it is used.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.aegee.deploy.plugins.action import release_plan
from ansible_collections.aegee.deploy.tests.support import receiver
from ansible_collections.aegee.deploy.tests.unit.plugins.action.action_harness import run_action
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_registry import FakeRegistry

PASSWORD = "Plan-Secret-4b3a2c"


def run_module(args, expect="exit", check_mode=False):
    """The action's result; it failed when ``expect`` is ``fail``, and did not otherwise."""
    result = run_action(release_plan.ActionModule, "aegee.deploy.release_plan", args, check_mode=check_mode)
    assert bool(result.get("failed")) is (expect == "fail"), result
    return result


@pytest.fixture(scope="module")
def dead_address():
    """127.0.0.1:PORT where nothing listens: any registry call would fail with a connection error."""
    return receiver.dead_address()


CATALOGUE = {"core": {"image": "aegee/core"}, "events": {"image": "aegee/events"}}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"services": "core; touch /tmp/pwned"}, "'core; touch /tmp/pwned' is not a service name"),
        ({"services": "$(id)"}, "'$(id)' is not a service name"),
        ({"services": ["../../etc/passwd"]}, "is not a service name"),
        ({"services": "core,,events"}, "has an empty name"),
        ({"services": 5}, "comma separated string or a list"),
        ({"services": "core", "version": "v1.5.0"}, "'v' prefix"),
        ({"services": "core", "version": "1.4.2; touch /tmp/pwned"}, "is not a semantic version"),
        ({"services": "core,events", "version": "1.5.0"}, "needs exactly one service"),
        ({"version": "1.5.0"}, "needs exactly one service"),
        ({"services": "mailer"}, "unknown service 'mailer': the catalogue (aegee_services) has core, events"),
        ({"services": "core", "version": "1.5.0", "promote_from": "staging", "source_state": {}},
         "core 1.5.0 has not been verified on staging (verified there: none)"),
        ({"promote_from": "staging"}, "nothing has been verified on staging yet"),
    ],
)
def test_input_errors_fail_before_any_registry_call(dead_address, extra, message):
    args = {"catalogue": CATALOGUE, "registry": dead_address, "username": "deployer", "password": PASSWORD}
    args.update(extra)
    result = run_module(args, expect="fail")
    assert message in result["msg"]
    assert PASSWORD not in json.dumps(result)


def test_the_dead_address_really_fails(dead_address):
    result = run_module({"catalogue": CATALOGUE, "services": "core", "registry": dead_address, "retries": 0,
                         "timeout": 2, "username": "deployer", "password": PASSWORD}, expect="fail")
    assert PASSWORD not in json.dumps(result)
    assert "core" not in result.get("targets", {})


def test_missing_catalogue_is_refused():
    result = run_module({"services": "core"}, expect="fail")
    assert "catalogue" in result["msg"]


@pytest.fixture(scope="module")
def registry():
    reg = FakeRegistry(auth="basic", users={"deployer": PASSWORD}).start()
    reg.digests = {}
    for repo in ("aegee/core", "aegee/events"):
        for tag in ("1.4.1", "1.4.2", "1.5.0"):
            reg.digests[(repo, tag)] = reg.add(repo, tag)
        reg.alias(repo, "latest", "1.5.0")
    yield reg
    reg.stop()


def test_routine_plan_against_the_registry(registry):
    result = run_module({"catalogue": CATALOGUE, "registry": registry.url, "username": "deployer",
                         "password": PASSWORD})
    assert result["changed"] is False
    assert result["explicit"] is False
    assert result["services"] == ["core", "events"]
    assert result["targets"] == {
        svc: {"version": "1.5.0", "digest": registry.digests[("aegee/%s" % svc, "1.5.0")],
              "source": "latest in the registry"}
        for svc in ("core", "events")
    }
    assert PASSWORD not in json.dumps(result)
    assert "password" not in result
    # one ping; per service its tag list, latest's digest and the newest version's (basic auth: no token)
    assert result["registry_requests"] == {"requests": 7, "tokens": 0, "repositories": 2}


def test_explicit_version_plan(registry):
    result = run_module({"catalogue": CATALOGUE, "services": "core", "version": "1.4.1", "registry": registry.url,
                         "username": "deployer", "password": PASSWORD})
    assert result["explicit"] is True and result["services"] == ["core"]
    assert result["targets"]["core"]["digest"] == registry.digests[("aegee/core", "1.4.1")]


def test_the_plan_names_how_every_service_is_switched(registry):
    catalogue = {"core": dict(CATALOGUE["core"]), "events": dict(CATALOGUE["events"], switch="stop-first")}
    result = run_module({"catalogue": catalogue, "registry": registry.url, "username": "deployer",
                         "password": PASSWORD})
    assert result["switch"] == {"core": "start-first",
                                "events": "stop-first (marked switch: stop-first in the catalogue)"}
    result = run_module({"catalogue": CATALOGUE, "registry": registry.url, "username": "deployer",
                         "password": PASSWORD, "service_ports": {"core": 8084}})
    assert result["switch"] == {"core": "stop-first (it publishes the fixed host port 8084)",
                                "events": "start-first"}


def test_missing_version_names_the_nearest(registry):
    result = run_module({"catalogue": CATALOGUE, "services": "core", "version": "1.4.3", "registry": registry.url,
                         "username": "deployer", "password": PASSWORD}, expect="fail")
    assert "does not exist; nearest existing versions:" in result["msg"] and "1.4.2" in result["msg"]


def test_wrong_password_is_a_clean_failure_without_the_password(registry):
    result = run_module({"catalogue": CATALOGUE, "services": "core", "registry": registry.url, "retries": 0,
                         "username": "deployer", "password": PASSWORD + "-wrong"}, expect="fail")
    assert "401" in result["msg"] or "credentials" in result["msg"] or "auth" in result["msg"].lower()
    assert PASSWORD not in json.dumps(result)


def staging_state():
    return {"current": {"core": {"version": "1.4.2"}},
            "verified": {"core": {"1.4.2": {"digest": "sha256:" + "2" * 64}}}}


def test_forced_promotion_warns(registry):
    state = staging_state()
    result = run_module({"catalogue": CATALOGUE, "services": "core", "version": "1.5.0", "promote_from": "staging",
                         "source_state": state, "force": True, "registry": registry.url, "username": "deployer",
                         "password": PASSWORD})
    assert result["targets"]["core"]["source"] == "forced, not verified on staging"
    assert result["warnings"] == ["core 1.5.0 is not verified on staging; deploying it because force is set"]


def test_promotion_needs_no_registry(dead_address):
    state = staging_state()
    result = run_module({"catalogue": CATALOGUE, "services": "core", "promote_from": "staging",
                         "source_state": state, "registry": dead_address})
    assert result["targets"] == {"core": {"version": "1.4.2", "digest": "sha256:" + "2" * 64,
                                          "source": "verified on staging"}}
    assert result["explicit"] is False


def test_the_registry_options_of_compose_release_are_accepted(registry):
    """registry_username/registry_password (compose_release's older names) are aliases of username/password."""
    result = run_module({"catalogue": CATALOGUE, "services": "core", "version": "1.4.1", "registry": registry.url,
                         "registry_username": "deployer", "registry_password": PASSWORD})
    assert result["targets"]["core"]["digest"] == registry.digests[("aegee/core", "1.4.1")]
    assert PASSWORD not in json.dumps(result)


def test_check_mode_makes_the_same_plan(registry):
    args = {"catalogue": CATALOGUE, "registry": registry.url, "username": "deployer", "password": PASSWORD}
    assert run_module(args, check_mode=True) == run_module(args)


def test_an_unknown_option_is_refused():
    result = run_module({"catalogue": CATALOGUE, "servicez": "core"}, expect="fail")
    assert "Unsupported parameters" in result["msg"] and "servicez" in result["msg"]


def test_without_semver_the_controller_is_told(monkeypatch):
    monkeypatch.setattr(release_plan._semver, "HAS_SEMVER", False)
    result = run_module({"catalogue": CATALOGUE, "services": "core"}, expect="fail")
    assert "semver" in result["msg"] and "controller" in result["msg"]


def test_a_promotion_that_is_a_rollback_names_the_rollback_command(dead_address, monkeypatch):
    monkeypatch.setattr(release_plan.sys, "argv", ["ansible-playbook", "-i", "inv/prod", "pb/deploy.yml", "-l",
                                                   "production", "-e", "service=core", "-e", "version=1.4.2"])
    monkeypatch.setattr(release_plan.context, "CLIARGS", {"subset": "production"})
    staging = {"current": {"core": {"version": "1.5.0"}}, "verified": {"core": {"1.5.0": {}}}}
    result = run_module({"catalogue": CATALOGUE, "services": "core", "version": "1.4.2", "promote_from": "staging",
                         "source_state": staging, "registry": dead_address,
                         "target_states": {"production-1": {"current": {"core": {"version": "1.5.0"}}}}},
                        expect="fail")
    assert "going back to it is a rollback" in result["msg"]
    assert ("Roll back with:\n  ansible-playbook pb/rollback.yml -i inv/prod -l production -e service=core "
            "-e version=1.4.2\n") in result["msg"]
