# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release transaction on a deploy repo in its submodule shape: real git, the fake runtime.

The origin is what testbed/make-submodule-origin.sh builds (a bare repository per service folder, a bare deploy
repo on ``stable`` whose service folders are submodules); the host enables core and events (its ``env``), so
frontend and mailer stay uninitialised. The runtime is test_release_transaction's fake: it runs what the compose
files on disk say and records every call, so "no container was touched" is "the runtime saw nothing".
"""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils._repo import RepoError
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_release_transaction import (
    REPO,
    Docker,
    history,
    read,
    release,
    state,
)
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_repo import git, write
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_repo_submodules import (
    CORE,
    FILE_ALLOWED,
    bump,
    make_origin,
    push_service,
    service_url,
    shell,
    upstream_text,
)

ENV = {"ENABLED_SERVICES": "core:events"}
TARGETS = ("core", "events")
TOUCHING = ("pull", "switch", "restore", "remove")


@pytest.fixture(autouse=True)
def file_protocol(monkeypatch):
    """The service repositories are folders on disk: git clones those as submodules only when allowed."""
    for key, value in FILE_ALLOWED.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Made once: the origin, with relative submodule URLs so that a copy works; no host checkout yet."""
    base = str(tmp_path_factory.mktemp("release-submodules"))
    make_origin(os.path.join(base, "origin"), "../services")
    return base


@pytest.fixture
def origin(template, tmp_path):
    work = str(tmp_path / "w")
    shutil.copytree(template, work, symlinks=True)
    return {"base": work, "url": os.path.join(work, "origin", "myaegee.git"),
            "host": os.path.join(work, "srv", "deploy")}


def deploy(origin, docker, version="1.5.0", services=TARGETS, **params):
    """One release of ``services`` at ``version`` on the host, from the submodule-shaped origin."""
    params.setdefault("env", ENV)
    return release(origin["host"], docker, version, services=services, repo_url=origin["url"], **params).execute()


@pytest.fixture
def deployed(origin):
    """The host after a first deploy of core and events 1.5.0; the runtime's calls forgotten."""
    docker = Docker()
    deploy(origin, docker)
    docker.calls.clear()
    return docker


def head(origin, folder=""):
    return git(os.path.join(origin["host"], folder), "rev-parse", "HEAD")


def source_of(origin, folder):
    sub = os.path.join(origin["host"], folder)
    return {"submodule": folder, "url": service_url(origin["base"], folder), "commit": head(origin, folder),
            "blob": git(sub, "rev-parse", "HEAD:docker/docker-compose.yml")}


def pin(svc, version="1.5.0"):
    return "image: %s%s:%s" % (REPO, svc, version)


# ------------------------------------------------------------------ deploy


def test_the_first_deploy_from_nothing_clones_the_enabled_submodules_and_pins_inside_them(origin):
    docker = Docker()
    result = deploy(origin, docker)
    root = origin["host"]
    assert result["cloned"] is True and result["changed"] is True
    assert sorted(result["submodules"]) == ["core", "events"]
    for folder, report in result["submodules"].items():
        assert report["changed"] is True and report["commit"] == report["recorded"] == head(origin, folder)
    assert os.listdir(os.path.join(root, "frontend")) == [] and os.listdir(os.path.join(root, "mailer")) == []
    assert pin("core") in read(root, CORE) and pin("events") in read(root, "events/docker/docker-compose.yml")
    assert docker.runs() == {"core": REPO + "core:1.5.0", "events": REPO + "events:1.5.0"}
    entry = history(root)[-1]
    assert entry["result"] == "success"
    for svc in TARGETS:
        assert entry["services"][svc]["source"] == source_of(origin, svc) == result["services"][svc]["source"]
        assert state(root)["current"][svc]["source"] == source_of(origin, svc)


def test_a_second_deploy_is_a_no_op(origin, deployed):
    result = deploy(origin, deployed)
    assert result["changed"] is False and result["recreate"] == [] and result["diff"] == []
    assert deployed.calls == [("ps",)]
    assert not any(report["changed"] for report in result["submodules"].values())
    assert history(origin["host"])[-1]["result"] == "unchanged"


def test_an_upstream_compose_change_reaches_the_host_with_the_pins_reapplied(origin, deployed):
    root = origin["host"]
    before = head(origin, "core")
    changed_text = upstream_text(CORE).replace("init: true", "init: true\n        read_only: true")
    commit = push_service(origin, "core", "docker/docker-compose.yml", changed_text)
    bump(origin, "core", commit)
    result = deploy(origin, deployed)
    assert result["changed"] is True and result["repo"]["pulled"] is True
    # the tool's own edits, set aside for the update: its .env values and the pins inside both submodules
    assert sorted(result["repo"]["restored"]) == [".env", CORE, "events/docker/docker-compose.yml"]
    assert result["submodules"]["core"] == {"url": service_url(origin["base"], "core"), "recorded": commit,
                                            "branch": None, "before": before, "commit": commit, "changed": True}
    assert result["submodules"]["events"]["changed"] is False
    text = read(root, CORE)
    assert "read_only: true" in text and pin("core") in text  # the new definition, pinned again
    # core's compose file changed: core is recreated; events' file is pinned again as it was: events keeps running
    assert ("switch", ["core"], 42) in deployed.calls and sorted(result["recreate"]) == ["core"]
    assert deployed.runs()["core"] == REPO + "core:1.5.0"
    assert history(root)[-1]["services"]["core"]["source"]["commit"] == commit
    assert deploy(origin, deployed)["changed"] is False


def test_check_mode_counts_a_submodule_that_would_move_and_moves_nothing(origin, deployed):
    root = origin["host"]
    first = head(origin, "core")
    bump(origin, "core", push_service(origin, "core", "NEWS", "news\n"))
    deploy(origin, deployed)
    # somebody puts core back at its older commit by hand (the tool's pin discarded with it)
    git(os.path.join(root, "core"), "checkout", "-q", "--", "docker/docker-compose.yml")
    git(os.path.join(root, "core"), "checkout", "-q", "--detach", first)
    deployed.calls.clear()
    checked = release(root, deployed, "1.5.0", services=TARGETS, repo_url=origin["url"], env=ENV)
    checked.check_mode = True
    result = checked.execute()
    assert result["changed"] is True and result["repo"]["behind"] == 0
    assert result["submodules"]["core"]["changed"] is True and result["submodules"]["core"]["before"] == first
    assert head(origin, "core") == first and not any(call[0] in TOUCHING for call in deployed.calls)


def test_following_a_branch_takes_its_tip_and_records_it(origin, deployed):
    tip = push_service(origin, "core", "docker/docker-compose.yml", upstream_text(CORE) + "# the tip\n")
    result = deploy(origin, deployed, follow_branches={"core": "master"})
    assert result["submodules"]["core"]["commit"] == tip == head(origin, "core")
    assert read(origin["host"], CORE).endswith("# the tip\n") and pin("core") in read(origin["host"], CORE)
    assert history(origin["host"])[-1]["services"]["core"]["source"]["commit"] == tip
    assert deploy(origin, deployed, follow_branches={"core": "master"})["changed"] is False


# --------------------------------------------------------------- hand edits


def test_a_hand_edit_inside_a_submodule_is_refused_with_a_command_that_works(origin, deployed):
    root = origin["host"]
    write(root, CORE, read(root, CORE).replace("restart: on-failure", "restart: always"))
    with pytest.raises(RepoError) as exc:
        deploy(origin, deployed)
    command = "git -C %s checkout -- docker/docker-compose.yml" % os.path.join(root, "core")
    assert CORE in str(exc.value) and "`%s`" % command in str(exc.value)
    assert deployed.calls == []  # refused before the runtime was asked anything
    shell(command)
    result = deploy(origin, deployed)
    assert result["changed"] is True and pin("core") in read(root, CORE)
    assert "restart: on-failure" in read(root, CORE)
    assert deploy(origin, deployed)["changed"] is False


# ---------------------------------------------------------------- bad input


def unreachable(origin):
    """events moved upstream, and its repository cannot be fetched any more; returns the service and URL."""
    bump(origin, "events", push_service(origin, "events", "NEWS", "x\n"))
    url = service_url(origin["base"], "events")
    shutil.move(url, url + ".gone")
    return "events", url


def missing_commit(origin):
    """The deploy repo records core at a commit its repository does not have."""
    bump(origin, "core", "1" * 40)
    return "core", "1" * 40


@pytest.mark.parametrize("breaks", [unreachable, missing_commit], ids=["unreachable-url", "missing-commit"])
def test_a_bad_submodule_stops_the_deploy_before_any_container_is_touched(origin, deployed, breaks):
    root = origin["host"]
    before, pinned = head(origin), read(root, CORE)
    folder, named = breaks(origin)
    with pytest.raises(RepoError) as exc:
        deploy(origin, deployed)
    msg = str(exc.value)
    assert "service folder %s" % folder in msg and named in msg and "Nothing was changed" in msg
    assert deployed.calls == []  # the runtime saw nothing: no pull, no switch
    assert head(origin) == before and read(root, CORE) == pinned
    assert history(root)[-1]["result"] == "success"  # nothing recorded, no lock left
    assert not os.path.exists(os.path.join(root, ".aegee", "lock"))


@pytest.mark.parametrize("breaks", [unreachable, missing_commit], ids=["unreachable-url", "missing-commit"])
def test_a_bad_submodule_stops_the_first_deploy_and_leaves_nothing(origin, breaks):
    if breaks is unreachable:
        url = service_url(origin["base"], "events")
        shutil.move(url, url + ".gone")
        folder, named = "events", url
    else:
        folder, named = breaks(origin)
    docker = Docker()
    with pytest.raises(RepoError) as exc:
        deploy(origin, docker)
    assert "service folder %s" % folder in str(exc.value) and named in str(exc.value)
    assert docker.calls == [] and not os.path.exists(origin["host"])


# ----------------------------------------------------------------- rollback


@pytest.mark.parametrize("upstream_change", [True, False], ids=["definition-changed", "definition-same"])
def test_a_rollback_pins_the_image_and_says_whether_the_compose_definition_changed(origin, upstream_change):
    root, docker = origin["host"], Docker()
    deploy(origin, docker, "1.4.2")
    then = source_of(origin, "core")
    deploy(origin, docker, "1.5.0")
    if upstream_change:
        changed_text = upstream_text(CORE).replace("init: true", "init: true\n        read_only: true")
        bump(origin, "core", push_service(origin, "core", "docker/docker-compose.yml", changed_text))
    else:  # the service repo moves, its compose file does not
        bump(origin, "core", push_service(origin, "core", "NEWS", "n\n"))
    deploy(origin, docker, "1.5.0")
    result = deploy(origin, docker, "1.4.2", services=("core",), action="rollback")
    now = source_of(origin, "core")
    assert now["commit"] != then["commit"]
    assert pin("core", "1.4.2") in read(root, CORE) and docker.runs()["core"] == REPO + "core:1.4.2"
    assert result["services"]["core"]["definition_changed"] is upstream_change
    if upstream_change:
        assert result["msg"].startswith("core: the compose definition changed since 1.4.2 was released (submodule "
                                        "core at %s then, submodule core at %s now)" % (then["commit"][:12],
                                                                                        now["commit"][:12]))
        assert result["msg"] in result["warnings"] and "read_only: true" in read(root, CORE)
    else:
        assert result["msg"] == ("core: the compose definition is the one 1.4.2 was released with (submodule core at "
                                 "%s)" % now["commit"][:12])
        assert result["msg"] not in result["warnings"]
    assert history(root)[-1]["action"] == "rollback" and history(root)[-1]["services"]["core"]["source"] == now
