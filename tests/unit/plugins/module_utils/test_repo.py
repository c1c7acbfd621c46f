# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The deploy repo checkout, with real git in temporary folders (a bare origin and clones)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _dotenv, _repo
from ansible_collections.aegee.deploy.plugins.module_utils._repo import RepoError
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_run import FakeRun

BRANCH = "stable"
GIT_ID = ["-c", "user.name=Test Author", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]
ENV_TEXT = "ENABLED_SERVICES=core:events\nMYAEGEE_ENV=staging\n"
COMPOSE_TEXT = "services:\n  core:\n    image: localhost:5000/aegee/core:latest\n"


def run(argv, cwd=None, data=None):
    """What AnsibleModule.run_command gives the module_utils: (rc, stdout, stderr) as text."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    proc = subprocess.run(argv, cwd=cwd, input=data, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def git(cwd, *args):
    rc, out, err = run(["git", *GIT_ID, *args], cwd=cwd)
    assert rc == 0, (args, out, err)
    return out.strip()


def commit_file(work, path, text, message="change"):
    full = os.path.join(work, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    git(work, "add", path)
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", BRANCH)
    return git(work, "rev-parse", "HEAD")


def make_origin(base, files):
    """In ``base``: a bare ``origin.git`` on branch stable with ``files`` ({path: text}) committed one by one,
    and the working clone ``seed`` they were pushed from. Returns the bare repo's path."""
    bare = os.path.join(base, "origin.git")
    git(base, "init", "-q", "--bare", "-b", BRANCH, bare)
    seed = os.path.join(base, "seed")
    git(base, "clone", "-q", bare, seed)
    git(seed, "checkout", "-q", "-b", BRANCH)
    for path, text in files.items():
        commit_file(seed, path, text, path)
    return bare


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Made once: a bare origin on branch stable, a working clone (``seed``) to push from, a host checkout."""
    base = str(tmp_path_factory.mktemp("repo-template"))
    bare = make_origin(base, {".env": ENV_TEXT, "core/docker/docker-compose.yml": COMPOSE_TEXT})
    _repo.clone(os.path.join(base, "srv", "deploy"), bare, BRANCH, run)
    return base


@pytest.fixture
def origin(template, tmp_path):
    """A fresh copy of the template for each test (git remotes point into the copy)."""
    work = str(tmp_path / "w")
    shutil.copytree(template, work, symlinks=True)
    bare = os.path.join(work, "origin.git")
    for clone in ("seed", os.path.join("srv", "deploy")):
        git(os.path.join(work, clone), "remote", "set-url", "origin", bare)
    return {"url": bare, "seed": os.path.join(work, "seed"), "host": os.path.join(work, "srv", "deploy")}


@pytest.fixture
def host(origin):
    return origin["host"]


MANAGED = {"CORE_VERSION": "1.5.0@sha256:" + "a" * 64}


def render(path, text):
    """The tool's recorded edits: one .env key."""
    return _dotenv.apply(text, MANAGED) if path == ".env" else text


def read(root, path):
    with open(os.path.join(root, path)) as handle:
        return handle.read()


def write(root, path, text):
    with open(os.path.join(root, path), "w") as handle:
        handle.write(text)


def origin_ref(root):
    return git(root, "rev-parse", "refs/remotes/origin/%s" % BRANCH)


# --------------------------------------------------------------------- clone


def test_clone_into_a_missing_folder(origin, tmp_path):
    root = str(tmp_path / "a" / "b" / "deploy")
    assert not _repo.is_checkout(root)
    _repo.clone(root, origin["url"], BRANCH, run)
    assert _repo.is_checkout(root)
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == BRANCH
    assert read(root, ".env") == ENV_TEXT


def test_clone_into_an_empty_folder(origin, tmp_path):
    root = tmp_path / "deploy"
    root.mkdir()
    _repo.clone(str(root), origin["url"], BRANCH, run)
    assert _repo.is_checkout(str(root))


def test_clone_refuses_a_non_empty_folder_that_is_no_checkout(origin, tmp_path):
    root = tmp_path / "deploy"
    root.mkdir()
    (root / "precious.txt").write_text("keep me")
    with pytest.raises(RepoError) as exc:
        _repo.clone(str(root), origin["url"], BRANCH, run)
    assert str(root) in str(exc.value) and "nothing was changed" in str(exc.value)
    assert os.listdir(root) == ["precious.txt"]
    assert (root / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("branch", [BRANCH, "no-such-branch"])
def test_clone_failure_names_url_and_branch(tmp_path, origin, branch):
    url = origin["url"] if branch != BRANCH else str(tmp_path / "missing.git")
    with pytest.raises(RepoError) as exc:
        _repo.clone(str(tmp_path / "deploy"), url, branch, run)
    assert "cannot clone the deploy repo %s (branch %s)" % (url, branch) in str(exc.value)


# -------------------------------------------------------------------- exclude


def test_exclude_state_dir_is_idempotent_and_hides_the_folder(host):
    os.makedirs(os.path.join(host, ".aegee"))
    write(host, ".aegee/state.json", "{}")
    _repo.exclude_state_dir(host, ".aegee")
    exclude = os.path.join(host, ".git", "info", "exclude")
    once = open(exclude).read()
    _repo.exclude_state_dir(host, ".aegee")
    assert open(exclude).read() == once
    assert once.count("/.aegee/") == 1
    assert git(host, "status", "--porcelain", "--untracked-files=all") == ""


def test_exclude_state_dir_creates_the_info_folder(host):
    info = os.path.join(host, ".git", "info")
    for name in os.listdir(info):
        os.unlink(os.path.join(info, name))
    os.rmdir(info)
    _repo.exclude_state_dir(host, ".aegee")
    assert "/.aegee/" in read(info, "exclude").splitlines()


# --------------------------------------------------------------------- update


def test_update_fast_forwards(origin, host):
    before = git(host, "rev-parse", "HEAD")
    new_head = commit_file(origin["seed"], "core/docker/docker-compose.yml", COMPOSE_TEXT + "    init: true\n")
    result = _repo.update(host, BRANCH, render, run)
    assert result == {"fetched": True, "pulled": True, "restored": [], "before": before, "after": new_head,
                      "behind": 1}
    assert git(host, "rev-parse", "HEAD") == new_head
    assert "init: true" in read(host, "core/docker/docker-compose.yml")


def test_update_when_up_to_date(host):
    head = git(host, "rev-parse", "HEAD")
    result = _repo.update(host, BRANCH, render, run)
    assert result == {"fetched": True, "pulled": False, "restored": [], "before": head, "after": head, "behind": 0}


def test_the_tools_own_edits_are_ours_and_restored_before_the_pull(origin, host):
    write(host, ".env", render(".env", ENV_TEXT))
    ours, foreign = _repo.classify_changes(_repo.Git(host, run), render)
    assert (ours, foreign) == ([".env"], [])
    new_env = ENV_TEXT.replace("staging", "production")
    new_head = commit_file(origin["seed"], ".env", new_env)
    result = _repo.update(host, BRANCH, render, run)
    assert result["restored"] == [".env"] and result["pulled"] and result["after"] == new_head
    # the pull applied cleanly; the caller re-applies its edits on the new text
    assert read(host, ".env") == new_env


def test_the_tools_own_edits_stay_when_nothing_is_pulled(host):
    edited = render(".env", ENV_TEXT)
    write(host, ".env", edited)
    result = _repo.update(host, BRANCH, render, run)
    assert result["restored"] == [".env"] and not result["pulled"]
    assert read(host, ".env") == edited


def test_a_hand_edit_is_refused_with_the_exact_command(origin, host):
    before = git(host, "rev-parse", "HEAD")
    commit_file(origin["seed"], ".env", ENV_TEXT + "NEW=1\n")
    hand = COMPOSE_TEXT.replace("latest", "1.0.0")
    write(host, "core/docker/docker-compose.yml", hand)
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run)
    msg = str(exc.value)
    assert "core/docker/docker-compose.yml" in msg
    assert "`git -C %s checkout -- core/docker/docker-compose.yml`" % host in msg
    assert "Nothing was changed" in msg
    # nothing changed: not even a fetch
    assert git(host, "rev-parse", "HEAD") == before
    assert origin_ref(host) == before
    assert read(host, "core/docker/docker-compose.yml") == hand


def test_a_hand_edit_on_top_of_the_tools_edit_is_foreign(host):
    write(host, ".env", render(".env", ENV_TEXT) + "BY_HAND=1\n")
    with pytest.raises(RepoError, match=r"checkout -- \.env`"):
        _repo.update(host, BRANCH, render, run)
    assert "BY_HAND=1" in read(host, ".env")


def test_several_hand_edits_and_a_deleted_file_are_all_named(host):
    write(host, ".env", "ENABLED_SERVICES=core\n")
    os.unlink(os.path.join(host, "core/docker/docker-compose.yml"))
    ours, foreign = _repo.classify_changes(_repo.Git(host, run), render)
    assert ours == [] and sorted(foreign) == [".env", "core/docker/docker-compose.yml"]
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run)
    assert "checkout -- .env core/docker/docker-compose.yml`" in str(exc.value)


def test_a_staged_hand_edit_is_foreign_too(host):
    write(host, ".env", ENV_TEXT + "X=1\n")
    git(host, "add", ".env")
    assert _repo.modified_files(_repo.Git(host, run)) == [".env"]
    with pytest.raises(RepoError, match=r"\.env"):
        _repo.update(host, BRANCH, render, run)


def test_a_local_commit_is_refused_naming_reset_keep(host):
    write(host, "notes.txt", "x\n")
    git(host, "add", "notes.txt")
    git(host, "commit", "-q", "-m", "local")
    head = git(host, "rev-parse", "HEAD")
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run)
    msg = str(exc.value)
    assert "1 local commit(s)" in msg
    assert "`git -C %s reset --keep origin/%s`" % (host, BRANCH) in msg
    assert git(host, "rev-parse", "HEAD") == head


def test_wrong_branch_is_refused(host):
    git(host, "checkout", "-q", "-b", "hotfix")
    with pytest.raises(RepoError) as exc:
        _repo.update(host, BRANCH, render, run)
    msg = str(exc.value)
    assert "'hotfix'" in msg and "`git -C %s checkout %s`" % (host, BRANCH) in msg
    assert git(host, "rev-parse", "--abbrev-ref", "HEAD") == "hotfix"


def test_origin_without_the_branch(host):
    git(host, "checkout", "-q", "-b", "other")
    with pytest.raises(RepoError, match="git fetch"):
        _repo.update(host, "other", render, run)


def test_check_mode_does_not_fetch(origin, host):
    head = git(host, "rev-parse", "HEAD")
    commit_file(origin["seed"], ".env", ENV_TEXT + "A=1\n")
    result = _repo.update(host, BRANCH, render, run, check_mode=True)
    assert result["fetched"] is False and result["pulled"] is False
    assert origin_ref(host) == head  # the remote-tracking ref was not moved
    assert git(host, "rev-parse", "HEAD") == head


def test_check_mode_reports_behind_from_the_last_fetch(origin, host):
    head = git(host, "rev-parse", "HEAD")
    first = commit_file(origin["seed"], ".env", ENV_TEXT + "A=1\n")
    git(host, "fetch", "-q", "origin", BRANCH)
    commit_file(origin["seed"], ".env", ENV_TEXT + "A=2\n")
    write(host, ".env", render(".env", ENV_TEXT))
    result = _repo.update(host, BRANCH, render, run, check_mode=True)
    assert result["behind"] == 1 and result["after"] == first and result["before"] == head
    assert result["restored"] == [".env"]
    assert origin_ref(host) == first
    assert git(host, "rev-parse", "HEAD") == head
    assert read(host, ".env") == render(".env", ENV_TEXT)  # check mode restores nothing


def test_failed_fast_forward_keeps_the_tools_edits(origin, host):
    edited = render(".env", ENV_TEXT)
    write(host, ".env", edited)
    commit_file(origin["seed"], "mailer/docker/docker-compose.yml", "services: {}\n")
    os.makedirs(os.path.join(host, "mailer", "docker"))
    write(host, "mailer/docker/docker-compose.yml", "untracked, in the way\n")
    head = git(host, "rev-parse", "HEAD")
    with pytest.raises(RepoError, match="cannot fast-forward") as exc:
        _repo.update(host, BRANCH, render, run)
    assert "re-applied" in str(exc.value)
    assert git(host, "rev-parse", "HEAD") == head
    # the message says the tool's own edits are re-applied: they must be there
    assert read(host, ".env") == edited


def test_git_error_names_the_command():
    failing = FakeRun(default=(128, "", "fatal: not a git repository\n"))
    with pytest.raises(RepoError, match=r"git rev-parse --abbrev-ref HEAD failed in /nowhere: fatal: not a git"):
        _repo.update("/nowhere", BRANCH, render, failing)


def test_show_head(host):
    g = _repo.Git(host, run)
    assert g.show_head(".env") == ENV_TEXT
    assert g.show_head("missing.txt") is None


def test_modified_files_with_odd_names(origin, host):
    commit_file(origin["seed"], "dir with space/file \"q\".yml", "a\n")
    _repo.update(host, BRANCH, render, run)
    write(host, "dir with space/file \"q\".yml", "b\n")
    assert _repo.modified_files(_repo.Git(host, run)) == ['dir with space/file "q".yml']


def test_any_of_several_renderings_is_the_tools_own(host):
    """A release that died after writing its pins: its rendering is accepted beside the recorded one."""
    pending = COMPOSE_TEXT.replace("latest", "1.0.0")
    write(host, "core/docker/docker-compose.yml", pending)
    ours, foreign = _repo.classify_changes(_repo.Git(host, run), lambda path, text: [text + "#x\n", pending])
    assert (ours, foreign) == (["core/docker/docker-compose.yml"], [])
    ours, foreign = _repo.classify_changes(_repo.Git(host, run), lambda path, text: [text + "#x\n"])
    assert (ours, foreign) == ([], ["core/docker/docker-compose.yml"])
