# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles: one shared release step for deploy and rollback, argument specs that match, a README each.

The last two tests run the real deploy and rollback roles with ansible-playbook on the controller (connection
local, a deploy root in a temporary folder): ``compose_release`` then fails at once (there is no deploy repo to
clone), and its failure result shows the arguments the role gave it.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = os.path.join(REPO_ROOT, "roles")
ROLE_NAMES = sorted(os.listdir(ROLES))


def load(*parts):
    with open(os.path.join(ROLES, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def tasks(path):
    """Every task of a tasks file, blocks flattened."""
    found = []
    pending = list(load(*path.split("/")) or [])
    while pending:
        task = pending.pop(0)
        found.append(task)
        for key in ("block", "rescue", "always"):
            pending.extend(task.get(key) or [])
    return found


def options(role):
    """Entry point -> {option: spec} of a role's meta/argument_specs.yml."""
    return {name: spec.get("options") or {} for name, spec in load(role, "meta", "argument_specs.yml")[
        "argument_specs"].items()}


def test_roles_are_the_expected_ones():
    assert ROLE_NAMES == ["_release", "deploy", "rollback", "smoke", "status"]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_role_has_a_readme_naming_its_variables_with_an_example(role):
    path = os.path.join(ROLES, role, "README.md")
    assert os.path.isfile(path), "galaxy-importer refuses a collection with a role without README.md"
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("# aegee.deploy.%s" % role)
    names = {name for entry in options(role).values() for name in entry}
    assert names
    missing = sorted(name for name in names if "`%s`" % name not in text)
    assert missing == [], "README.md of %s does not name %s" % (role, missing)
    assert "## Example" in text and "```yaml" in text


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_argument_spec_defaults_are_the_role_defaults(role):
    defaults = load(role, "defaults", "main.yml") or {}
    specs = options(role)
    for entry, opts in specs.items():
        for name, spec in opts.items():
            if "default" in spec:
                assert defaults.get(name) == spec["default"], "%s %s: %s" % (role, entry, name)
    documented = {name for opts in specs.values() for name in opts}
    assert set(defaults) <= documented, "defaults without an argument spec: %s" % sorted(set(defaults) - documented)


def test_compose_release_is_called_in_one_place():
    calls = []
    for path in glob.glob(os.path.join(ROLES, "*", "tasks", "*.yml")):
        for task in tasks(os.path.relpath(path, ROLES)):
            if "aegee.deploy.compose_release" in task or "compose_release" in task:
                calls.append(os.path.relpath(path, REPO_ROOT))
    assert calls == ["roles/_release/tasks/release.yml"]


def _includes(path, tasks_from):
    return [t for t in tasks(path) if (t.get("ansible.builtin.import_role") or {}).get("name")
            == "aegee.deploy._release" and t["ansible.builtin.import_role"].get("tasks_from") == tasks_from]


@pytest.mark.parametrize("role", ["deploy", "rollback"])
def test_the_internal_steps_are_imported_without_a_second_validation(role):
    for path, tasks_from in (("plan.yml", "check"), ("main.yml", "release"), ("main.yml", "report")):
        (step,) = _includes(role + "/tasks/" + path, tasks_from)
        assert step["ansible.builtin.import_role"]["rolespec_validate"] is False
        assert set(step.get("vars") or {}) <= set(options("_release")[tasks_from])


@pytest.mark.parametrize("role", ["deploy", "rollback"])
def test_the_playbook_validates_the_role_once_with_the_same_spec(role):
    """The plan play validates the entry point ``plan``; the release play imports the role without validation:
    that is only right while the two entry points take the same options, with the same specs."""
    specs = options(role)
    assert specs["plan"] == specs["main"]
    with open(os.path.join(REPO_ROOT, "playbooks", role + ".yml"), encoding="utf-8") as handle:
        plan_play, release_play = yaml.safe_load(handle)
    assert plan_play["vars"] == release_play["vars"]
    (plan,) = [t for t in plan_play["tasks"] if "ansible.builtin.import_role" in t]
    assert plan["ansible.builtin.import_role"] == {"name": "aegee.deploy." + role, "tasks_from": "plan"}
    assert "roles" not in release_play
    (main,) = release_play["tasks"]
    assert main["ansible.builtin.import_role"] == {"name": "aegee.deploy." + role, "rolespec_validate": False}


@pytest.mark.parametrize("role", ["deploy", "rollback"])
def test_deploy_and_rollback_check_and_release_through_the_shared_step(role):
    (check,) = _includes(role + "/tasks/plan.yml", "check")
    (release,) = _includes(role + "/tasks/main.yml", "release")
    specs = options("_release")
    assert set(check["vars"]) <= set(specs["check"])
    assert set(release["vars"]) <= set(specs["release"]), "a variable the release step does not take"
    # the same inputs are checked, the lock's expiry among them
    assert {"services", "version", "force", "lock_wait", "lock_ttl", "break_lock",
            "smoke_timeout"} <= set(check["vars"]["_release_inputs"])
    assert check["vars"]["_release_prefix"] == role + "_"
    for name in ("force", "lock_wait", "lock_ttl", "break_lock", "smoke_timeout"):
        assert release["vars"]["_release_" + name] == "{{ %s_%s }}" % (role, name)


# ------------------------------------------------------------------ the roles, run


INVENTORY = {
    "aegee_services": {"core": {"image": "localhost:5999/aegee/core"},
                       "events": {"image": "localhost:5999/aegee/events"}},
    "aegee_deploy_repo_branch": "stable",
    "aegee_service_ports": {"core": 8080},
    "aegee_extra_checks": [{"name": "db", "command": "true"}],
}


def run_role(base, role, extra):
    """The module arguments the role gave compose_release (it fails: there is no deploy repo)."""
    collections = os.path.join(REPO_ROOT, ".collections")
    tmp_path = base / role
    tmp_path.mkdir()
    inventory = tmp_path / "hosts.yml"
    host = dict(INVENTORY, ansible_connection="local", ansible_python_interpreter=sys.executable,
                aegee_deploy_root=str(base / "srv"), aegee_deploy_repo_url=str(base / "nonexistent.git"))
    inventory.write_text(yaml.safe_dump({"all": {"children": {"staging": {"hosts": {"h1": host}}}}}))
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "roles": ["aegee.deploy." + role]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), CI_JOB_ID="4242", ANSIBLE_NOCOLOR="1")
    env.pop("AEGEE_ACTOR", None)
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), str(play),
            "-e", json.dumps(extra)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    (result,) = [t["hosts"]["h1"] for p in out["plays"] for t in p["tasks"]
                 if "repo_url" in t["hosts"].get("h1", {}).get("invocation", {}).get("module_args", {})]
    assert "cannot clone the deploy repo" in result["msg"]
    return result["invocation"]["module_args"]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    base = tmp_path_factory.mktemp("roles")
    deploy = run_role(base, "deploy", {
        "__deploy_plan": {"targets": {"core": {"version": "1.5.1", "digest": "sha256:" + "a" * 64}}, "explicit": True},
        "deploy_lock_ttl": 120, "deploy_lock_wait": 5})
    rollback = run_role(base, "rollback", {
        "rollback_services": "core, events", "rollback_lock_ttl": 120, "rollback_lock_wait": 5,
        "rollback_reason": "login broken"})
    return deploy, rollback


def test_deploy_and_rollback_give_compose_release_the_same_arguments(both):
    deploy, rollback = both
    own = {"action", "services", "hold_bad", "whole_release", "reason"}
    assert {k: v for k, v in deploy.items() if k not in own} == {k: v for k, v in rollback.items() if k not in own}
    assert deploy["actor"].endswith(" (CI job 4242)") and deploy["lock_ttl"] == 120 and deploy["lock_wait"] == 5
    assert deploy["smoke_urls"] == {"core": "http://127.0.0.1:8080/healthcheck"}
    assert deploy["extra_checks"] == [{"name": "db", "command": "true"}]
    assert (deploy["action"], deploy["hold_bad"], deploy["whole_release"], deploy["reason"]) == (
        "deploy", False, False, None)
    assert deploy["services"] == {"core": {"version": "1.5.1", "digest": "sha256:" + "a" * 64}}


def test_rollback_parses_its_services_in_python_and_keeps_its_own_arguments(both):
    _deploy, rollback = both
    assert rollback["services"] == {"core": {"version": "previous"}, "events": {"version": "previous"}}
    assert (rollback["action"], rollback["whole_release"], rollback["reason"]) == ("rollback", False, "login broken")
