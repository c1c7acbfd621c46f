# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The deploy repo in its submodule shape, with real git in temporary folders.

The origin is what testbed/make-submodule-origin.sh builds from testbed/deploy-repo/: one bare repository per
service folder, and a bare deploy repo whose service folders are submodules. The host checkout enables two of
the four services (core, events), so frontend and mailer stay uninitialised.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _dotenv, _repo, _submodules
from ansible_collections.aegee.deploy.plugins.module_utils._repo import RepoError
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_repo import (
    BRANCH, GIT_ID, git, read, run, write)

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "testbed", "make-submodule-origin.sh")
DEPLOY_REPO = os.path.join(os.path.dirname(SCRIPT), "deploy-repo")
ENABLED = ["core", "events"]
CORE = "core/docker/docker-compose.yml"
LATEST = "image: localhost:5000/aegee/core:latest"
PINNED = "image: localhost:5000/aegee/core:1.5.0@sha256:" + "a" * 64
# The service repositories are folders on disk: since git 2.38.1 (CVE-2022-39253) git clones submodules from
# local paths only with protocol.file.allow=always. Set for these tests' git processes only, through the
# environment that run() and git() pass on; hosts fetch service repos over SSH or HTTPS.
FILE_ALLOWED = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.file.allow", "GIT_CONFIG_VALUE_0": "always"}


def render(path, text):
    """The tool's recorded edits: the core image pin, inside the core submodule."""
    return text.replace(LATEST, PINNED) if path == CORE else text


def make_origin(dest, url_base=None):
    subprocess.run(["bash", SCRIPT, dest] + ([url_base] if url_base else []), check=True, capture_output=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Made once: the origin (relative submodule URLs, so that a copy works) and a host checkout."""
    base = str(tmp_path_factory.mktemp("submodule-template"))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FILE_ALLOWED.items():
            mp.setenv(key, value)
        make_origin(os.path.join(base, "origin"), "../services")
        _repo.clone(os.path.join(base, "srv", "deploy"), os.path.join(base, "origin", "myaegee.git"), BRANCH, run,
                    services=ENABLED)
    return base


@pytest.fixture(autouse=True)
def file_protocol(monkeypatch):
    for key, value in FILE_ALLOWED.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def origin(template, tmp_path):
    """A fresh copy of the template; the host's remotes (deploy repo and submodules) point into the copy."""
    work = str(tmp_path / "w")
    shutil.copytree(template, work, symlinks=True)
    host = os.path.join(work, "srv", "deploy")
    git(host, "remote", "set-url", "origin", os.path.join(work, "origin", "myaegee.git"))
    for folder in ENABLED:
        url = service_url(work, folder)
        git(host, "config", "submodule.%s.url" % folder, url)
        git(os.path.join(host, folder), "remote", "set-url", "origin", url)
    return {"base": work, "url": os.path.join(work, "origin", "myaegee.git"), "host": host}


@pytest.fixture
def host(origin):
    return origin["host"]


def service_url(base, folder):
    return os.path.join(base, "origin", "services", "%s.git" % folder)


def push_service(origin, folder, path, text, branch="master"):
    """A commit in the service repository (``folder``.git); returns its id."""
    seed = os.path.join(origin["base"], "seed-" + folder)
    if not os.path.isdir(seed):
        git(origin["base"], "clone", "-q", service_url(origin["base"], folder), seed)
    git(seed, "checkout", "-q", "-B", branch)
    full = os.path.join(seed, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    write(seed, path, text)
    git(seed, "add", path)
    git(seed, "commit", "-q", "-m", "%s: %s" % (folder, path))
    git(seed, "push", "-q", "origin", branch)
    return git(seed, "rev-parse", "HEAD")


def bump(origin, folder, commit, extra=None):
    """The deploy repo records ``folder`` at ``commit`` (and optionally commits ``extra`` files)."""
    seed = os.path.join(origin["base"], "seed-deploy")
    if not os.path.isdir(seed):
        git(origin["base"], "clone", "-q", "-b", BRANCH, origin["url"], seed)  # submodules not needed
    git(seed, "pull", "-q", "origin", BRANCH)
    git(seed, "update-index", "--cacheinfo", "160000,%s,%s" % (commit, folder))
    for path, text in (extra or {}).items():
        write(seed, path, text)
        git(seed, "add", path)
    git(seed, "commit", "-q", "-m", "bump %s" % folder)
    git(seed, "push", "-q", "origin", BRANCH)
    return git(seed, "rev-parse", "HEAD")


def head(root, folder=""):
    return git(os.path.join(root, folder), "rev-parse", "HEAD")


def recorded(root, folder):
    return git(root, "rev-parse", "HEAD:%s" % folder)


def upstream_text(path):
    with open(os.path.join(DEPLOY_REPO, path)) as handle:
        return handle.read()


def shell(command):
    """Run the `command` a message names, as the operator would."""
    argv = shlex.split(command)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (argv, proc.stderr)


# ---------------------------------------------------------------- the script


def test_the_script_builds_the_submodule_shape(tmp_path):
    dest = str(tmp_path / "o")
    make_origin(dest)
    folders = sorted(name for name in os.listdir(DEPLOY_REPO)
                     if os.path.isdir(os.path.join(DEPLOY_REPO, name, "docker")) and name != "gateways")
    assert folders == ["core", "events", "frontend", "mailer"]
    for folder in folders:
        bare = os.path.join(dest, "services", folder + ".git")
        assert git(bare, "show", "master:docker/docker-compose.yml") == upstream_text(
            "%s/docker/docker-compose.yml" % folder).strip()
    deploy = os.path.join(dest, "myaegee.git")
    tree = git(deploy, "ls-tree", "stable")
    for folder in folders:
        assert "160000 commit" in [line.split("\t")[0].rsplit(" ", 1)[0] for line in tree.splitlines()
                                   if line.endswith("\t" + folder)]
    assert "\t.env" in tree and "\tbase-docker-compose.yml" in tree
    # the gateway (Traefik) is the deploy repo's own folder, not a submodule
    assert [line.split(" ")[1] for line in tree.splitlines() if line.endswith("\tgateways")] == ["tree"]
    assert "url = %s/services/core.git" % dest in git(deploy, "show", "stable:.gitmodules")
    proc = subprocess.run(["bash", SCRIPT, dest], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "not empty" in proc.stderr


# --------------------------------------------------------------------- clone


def test_clone_initialises_only_the_enabled_submodules(origin, tmp_path):
    root = str(tmp_path / "deploy")
    result = _repo.clone(root, origin["url"], BRANCH, run, services=ENABLED)
    assert read(root, CORE) == upstream_text(CORE)
    assert read(root, "events/docker/docker-compose.yml") == upstream_text("events/docker/docker-compose.yml")
    assert os.listdir(os.path.join(root, "frontend")) == [] and os.listdir(os.path.join(root, "mailer")) == []
    assert sorted(result["submodules"]) == ENABLED
    core = result["submodules"]["core"]
    assert core["commit"] == core["recorded"] == recorded(root, "core") == head(root, "core")
    assert core["url"] == service_url(origin["base"], "core") and core["changed"] and core["branch"] is None
    assert _repo.modified_files(_repo.Git(root, run)) == []


def test_clone_is_shallow_where_the_url_allows(tmp_path):
    dest = str(tmp_path / "o")
    make_origin(dest, "file://%s/services" % dest)
    push = os.path.join(dest, "seed")
    git(dest, "clone", "-q", os.path.join(dest, "services", "core.git"), push)
    write(push, "NEWS", "x\n")
    git(push, "add", "NEWS")
    git(push, "commit", "-q", "-m", "news")
    git(push, "push", "-q", "origin", "master")
    root = str(tmp_path / "deploy")
    _repo.clone(root, os.path.join(dest, "myaegee.git"), BRANCH, run, services=["core"])
    assert git(os.path.join(root, "core"), "rev-parse", "--is-shallow-repository") == "true"
    assert git(os.path.join(root, "core"), "rev-list", "--count", "HEAD") == "1"


def test_clone_asks_a_callable_for_the_enabled_services(origin, tmp_path):
    seen = []

    def enabled(show):
        seen.append(show(".env"))
        return _dotenv.parse(seen[-1])["ENABLED_SERVICES"].split(":")

    root = str(tmp_path / "deploy")
    result = _repo.clone(root, origin["url"], BRANCH, run, services=enabled)
    assert seen == [upstream_text(".env")]
    assert sorted(result["submodules"]) == ["core", "events", "frontend", "mailer"]


def test_clone_without_services_initialises_every_submodule(origin, tmp_path):
    result = _repo.clone(str(tmp_path / "deploy"), origin["url"], BRANCH, run)
    assert len(result["submodules"]) == 4


def test_clone_of_the_flat_shape_reports_no_submodules(tmp_path):
    bare = str(tmp_path / "flat.git")
    git(str(tmp_path), "init", "-q", "--bare", "-b", BRANCH, bare)
    seed = str(tmp_path / "seed")
    git(str(tmp_path), "clone", "-q", bare, seed)
    git(seed, "checkout", "-q", "-b", BRANCH)
    write(seed, ".env", "ENABLED_SERVICES=core\n")
    git(seed, "add", ".env")
    git(seed, "commit", "-q", "-m", "env")
    git(seed, "push", "-q", "origin", BRANCH)
    assert _repo.clone(str(tmp_path / "deploy"), bare, BRANCH, run, services=["core"]) == {"submodules": {}}


def test_clone_with_an_unreachable_submodule_names_it_and_leaves_nothing(origin, tmp_path):
    url = service_url(origin["base"], "events")
    shutil.move(url, url + ".gone")
    root = str(tmp_path / "deploy")
    with pytest.raises(RepoError) as exc:
        _repo.clone(root, origin["url"], BRANCH, run, services=ENABLED)
    msg = str(exc.value)
    assert "service folder events" in msg and url in msg and "deploy key" in msg
    assert not os.path.exists(root)


# -------------------------------------------------------------------- update


def test_a_second_update_is_a_no_op(host):
    before = {folder: head(host, folder) for folder in ENABLED}
    result = _repo.update(host, BRANCH, render, run, services=ENABLED)
    assert result["pulled"] is False and result["behind"] == 0 and result["restored"] == []
    assert sorted(result["submodules"]) == ENABLED
    assert not any(sub["changed"] for sub in result["submodules"].values())
    assert {folder: head(host, folder) for folder in ENABLED} == before
    assert os.listdir(os.path.join(host, "mailer")) == []


def test_an_upstream_change_reaches_the_checkout_and_the_pins_stay_the_tools(origin, host):
    g = _repo.Git(host, run)
    write(host, CORE, render(CORE, read(host, CORE)))  # the tool's pin, inside the submodule
    assert _repo.modified_files(g) == [CORE]
    assert _repo.classify_changes(g, render) == ([CORE], [])
    new_text = upstream_text(CORE).replace("init: true", "init: true\n        read_only: true")
    commit = push_service(origin, "core", "docker/docker-compose.yml", new_text)
    bump(origin, "core", commit)
    result = _repo.update(host, BRANCH, render, run, services=ENABLED)
    assert result["pulled"] and result["restored"] == [CORE]
    assert result["submodules"]["core"]["commit"] == commit == head(host, "core")
    assert result["submodules"]["core"]["changed"] and not result["submodules"]["events"]["changed"]
    assert read(host, CORE) == new_text  # set aside: the caller re-applies the pins on the new text
    assert g.show_head(CORE) == new_text
    write(host, CORE, render(CORE, g.show_head(CORE)))
    assert PINNED in read(host, CORE) and "read_only: true" in read(host, CORE)
    again = _repo.update(host, BRANCH, render, run, services=ENABLED)
    assert again["pulled"] is False and again["restored"] == [CORE]
    assert PINNED in read(host, CORE)


def test_check_mode_reports_a_bumped_pointer_and_moves_nothing(origin, host):
    before, core_before = head(host), head(host, "core")
    commit = push_service(origin, "core", "NEWS", "c\n")
    bumped = bump(origin, "core", commit)
    git(host, "fetch", "-q", "--no-recurse-submodules", "origin", BRANCH)  # what an earlier run fetched
    result = _repo.update(host, BRANCH, render, run, check_mode=True, services=ENABLED)
    assert result["behind"] == 1 and result["after"] == bumped and result["pulled"] is False
    assert result["submodules"]["core"] == {
        "url": service_url(origin["base"], "core"), "recorded": commit, "branch": None, "before": core_before,
        "commit": commit, "changed": True}
    assert not result["submodules"]["events"]["changed"]
    assert head(host) == before and head(host, "core") == core_before
    assert run(["git", "cat-file", "-e", commit], cwd=os.path.join(host, "core"))[0] != 0  # nothing fetched


def test_show_head_reads_inside_the_submodule(host):
    g = _repo.Git(host, run)
    write(host, CORE, "edited\n")
    assert g.show_head(CORE) == upstream_text(CORE)
    assert g.show_head("mailer/docker/docker-compose.yml") is None  # not initialised
    assert g.show_head(".env") == upstream_text(".env")


def test_a_hand_edit_inside_a_submodule_is_refused_with_a_command_that_works(origin, host):
    before = head(host)
    bump(origin, "core", push_service(origin, "core", "NEWS", "x\n"))
    write(host, CORE, upstream_text(CORE).replace("restart: on-failure", "restart: always"))
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED)
    msg = str(exc.value)
    command = "git -C %s checkout -- docker/docker-compose.yml" % os.path.join(host, "core")
    assert CORE in msg and "`%s`" % command in msg and "Nothing was changed" in msg
    assert head(host) == before and git(host, "rev-parse", "origin/" + BRANCH) == before
    assert "restart: always" in read(host, CORE)
    shell(command)
    result = _repo.update(host, BRANCH, render, run, services=ENABLED)
    assert result["pulled"] and read(host, CORE) == upstream_text(CORE)


def test_hand_edits_in_the_deploy_repo_and_a_submodule_get_one_command_each(host):
    write(host, ".env", "X=1\n")
    write(host, "events/docker/docker-compose.yml", "services: {}\n")
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED)
    msg = str(exc.value)
    assert "`git -C %s checkout -- .env` and `git -C %s checkout -- docker/docker-compose.yml`" % (
        host, os.path.join(host, "events")) in msg


def test_a_local_commit_inside_a_submodule_is_refused_with_a_command_that_drops_it(origin, host):
    core = os.path.join(host, "core")
    write(host, CORE, render(CORE, read(host, CORE)))
    write(core, "NOTES", "mine\n")
    git(core, "add", "NOTES")
    git(core, *GIT_ID, "commit", "-q", "-m", "local")
    local = head(host, "core")
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED)
    msg = str(exc.value)
    command = "git -C %s reset --keep %s" % (core, recorded(host, "core"))
    assert "core has 1 local commit(s)" in msg and service_url(origin["base"], "core") in msg
    assert "`%s`" % command in msg and "Nothing was changed" in msg
    assert head(host, "core") == local
    shell(command)
    assert not os.path.exists(os.path.join(core, "NOTES"))
    result = _repo.update(host, BRANCH, render, run, services=ENABLED)
    assert result["restored"] == [CORE] and PINNED in read(host, CORE)  # the pin survived the drop


def test_following_a_branch_takes_its_tip(origin, host):
    pinned_at = recorded(host, "core")
    tip = push_service(origin, "core", "docker/docker-compose.yml", upstream_text(CORE) + "# tip\n")
    write(host, CORE, render(CORE, read(host, CORE)))
    result = _repo.update(host, BRANCH, render, run, services=ENABLED, follow={"core": "master"})
    core = result["submodules"]["core"]
    assert result["pulled"] and core["commit"] == tip == head(host, "core") and core["branch"] == "master"
    assert core["recorded"] == pinned_at and core["before"] == pinned_at
    assert read(host, CORE).endswith("# tip\n")
    # the superproject sees core at another commit than recorded: not a change of anybody's
    assert _repo.modified_files(_repo.Git(host, run)) == []
    again = _repo.update(host, BRANCH, render, run, services=ENABLED, follow={"core": "master"})
    assert again["pulled"] is False and not again["submodules"]["core"]["changed"]
    # check mode reports the last fetched tip, fetches nothing
    later = push_service(origin, "core", "NEWS", "y\n")
    checked = _repo.update(host, BRANCH, render, run, check_mode=True, services=ENABLED, follow={"core": "master"})
    assert checked["submodules"]["core"]["commit"] == tip and head(host, "core") == tip
    assert later != tip


def test_following_a_branch_from_a_fresh_clone(origin, tmp_path):
    tip = push_service(origin, "core", "NEWS", "z\n", branch="develop")
    root = str(tmp_path / "deploy")
    result = _repo.clone(root, origin["url"], BRANCH, run, services=["core"], follow={"core": "develop"})
    assert result["submodules"]["core"]["commit"] == tip == head(root, "core")
    assert read(root, "core/NEWS") == "z\n"


def test_an_unreachable_submodule_stops_the_update_before_head_moves(origin, host):
    before = head(host)
    write(host, CORE, render(CORE, read(host, CORE)))
    bump(origin, "events", push_service(origin, "events", "NEWS", "x\n"))
    url = service_url(origin["base"], "events")
    shutil.move(url, url + ".gone")
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED)
    msg = str(exc.value)
    assert "service folder events" in msg and url in msg and "Nothing was changed" in msg
    assert head(host) == before and PINNED in read(host, CORE)


def test_a_recorded_commit_that_does_not_exist_stops_the_update_before_head_moves(origin, host):
    before, core_before = head(host), head(host, "core")
    write(host, CORE, render(CORE, read(host, CORE)))
    bump(origin, "core", "1" * 40)
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED)
    msg = str(exc.value)
    assert "service folder core" in msg and "1" * 40 in msg and service_url(origin["base"], "core") in msg
    assert head(host) == before and head(host, "core") == core_before and PINNED in read(host, CORE)


def test_a_newly_enabled_submodule_at_a_missing_commit_is_undone(origin, host):
    """frontend is not initialised yet: its clone can only fail after HEAD moved, and is undone."""
    before = head(host)
    write(host, CORE, render(CORE, read(host, CORE)))
    bump(origin, "frontend", "2" * 40, extra={"NEWS": "frontend enabled\n"})
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED + ["frontend"])
    msg = str(exc.value)
    assert "service folder frontend" in msg and "2" * 40 in msg and service_url(origin["base"], "frontend") in msg
    assert head(host) == before and not os.path.exists(os.path.join(host, "NEWS"))
    assert os.listdir(os.path.join(host, "frontend")) == []
    assert PINNED in read(host, CORE)
    assert _repo.modified_files(_repo.Git(host, run)) == [CORE]


def test_following_a_folder_that_is_no_submodule_is_refused(origin, host, tmp_path):
    with pytest.raises(RepoError, match=r"base-docker-compose.yml: not git submodules .*nothing was changed"):
        _repo.update(host, BRANCH, render, run, services=ENABLED, follow={"base-docker-compose.yml": "master"})
    root = str(tmp_path / "deploy")
    with pytest.raises(RepoError, match="gateways: not git submodules"):
        _repo.clone(root, origin["url"], BRANCH, run, services=ENABLED, follow={"gateways": "master"})
    assert not os.path.exists(root)


def test_a_local_commit_on_a_followed_branch_is_dropped_back_to_the_tip_the_tool_took(origin, host):
    tip = push_service(origin, "core", "NEWS", "t\n")
    _repo.update(host, BRANCH, render, run, services=ENABLED, follow={"core": "master"})
    core = os.path.join(host, "core")
    write(core, "NOTES", "mine\n")
    git(core, "add", "NOTES")
    git(core, *GIT_ID, "commit", "-q", "-m", "local")
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run, services=ENABLED, follow={"core": "master"})
    command = "git -C %s reset --keep %s" % (core, tip)
    assert "`%s`" % command in str(exc.value)
    shell(command)
    assert head(host, "core") == tip
    assert _repo.update(host, BRANCH, render, run, services=ENABLED, follow={"core": "master"})["pulled"] is False


def test_a_newly_enabled_submodule_is_initialised_by_the_update(host):
    result = _repo.update(host, BRANCH, render, run, services=ENABLED + ["mailer"])
    assert result["pulled"] and result["behind"] == 0 and result["submodules"]["mailer"]["changed"]
    assert read(host, "mailer/docker/docker-compose.yml") == upstream_text("mailer/docker/docker-compose.yml")


# ------------------------------------------------------------ compose source


def test_compose_source_of_a_file_in_a_submodule_and_of_a_flat_file(origin, host):
    g = _repo.Git(host, run)
    source = _repo.compose_source(g, CORE)
    assert source == {"submodule": "core", "url": service_url(origin["base"], "core"),
                      "commit": head(host, "core"),
                      "blob": git(os.path.join(host, "core"), "rev-parse", "HEAD:docker/docker-compose.yml")}
    flat = _repo.compose_source(g, "base-docker-compose.yml")
    assert flat["submodule"] is None and flat["commit"] == head(host) and flat["url"] == origin["url"]
    assert flat["blob"] == git(host, "rev-parse", "HEAD:base-docker-compose.yml")
    assert _repo.compose_source(g, "missing.yml")["blob"] is None


def test_listed_reads_the_submodules_of_a_commit(host):
    subs = _submodules.listed(_repo.Git(host, run))
    assert [(s["name"], s["path"], s["url"]) for s in subs] == [
        (f, f, "../services/%s.git" % f) for f in ("core", "events", "frontend", "mailer")]
    assert all(len(s["recorded"]) == 40 for s in subs)
