"""module_utils._git: git in one checkout; within ``remembered()``, read-only questions asked once."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils._git import Git, RepoError, remembered

IDENT = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]


class Counting:
    """A ``run`` that runs the real git and counts what it ran."""

    def __init__(self):
        self.ran = []

    def __call__(self, argv, cwd=None, data=None):
        self.ran.append(argv[1:])
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "stable", str(root)], check=True)
    (root / ".env").write_text("A=1\n")
    subprocess.run(["git", "-C", str(root), *IDENT, "add", "."], check=True)
    subprocess.run(["git", "-C", str(root), *IDENT, "commit", "-qm", "one"], check=True)
    return root


def commit(root, text):
    (root / ".env").write_text(text)
    subprocess.run(["git", "-C", str(root), *IDENT, "commit", "-qam", "next"], check=True)


def test_without_memory_every_question_runs(repo):
    run = Counting()
    git = Git(str(repo), run)
    assert git.show_head(".env") == git.show_head(".env") == "A=1\n"
    assert run.ran == [["show", "HEAD:.env"], ["show", "HEAD:.env"]]


def test_within_memory_a_question_is_asked_once_until_another_command_runs(repo):
    run = Counting()
    git = Git(str(repo), run)
    with remembered():
        assert git.show_head(".env") == "A=1\n"
        head = git("rev-parse", "HEAD")[1]
        assert git.show_head(".env") == "A=1\n" and git("rev-parse", "HEAD")[1] == head
        assert run.ran == [["show", "HEAD:.env"], ["rev-parse", "HEAD"]]
        # any other command may move HEAD: everything is asked again after it
        git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "x")
        commit(repo, "A=2\n")  # (outside git's memory: a test's own commit; the next command forgets anyway)
        git("status", "--porcelain")
        assert git.show_head(".env") == "A=2\n"
        assert git("rev-parse", "HEAD")[1] != head
    assert run.ran.count(["show", "HEAD:.env"]) == 2


def test_the_same_question_in_another_checkout_is_another_question(repo, tmp_path):
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(repo), str(other)], check=True)
    commit(other, "A=3\n")
    run = Counting()
    with remembered():
        assert Git(str(repo), run).show_head(".env") == "A=1\n"
        assert Git(str(other), run).show_head(".env") == "A=3\n"


def test_a_failed_question_still_fails_from_memory(repo):
    run = Counting()
    git = Git(str(repo), run)
    with remembered():
        assert git.show_head("missing") is None
        assert git.show_head("missing") is None
        with pytest.raises(RepoError, match="git show HEAD:missing failed"):
            git("show", "HEAD:missing")
    assert run.ran == [["show", "HEAD:missing"]]


def test_memory_ends_with_its_scope(repo):
    run = Counting()
    git = Git(str(repo), run)
    with remembered():
        git("rev-parse", "HEAD")
        with remembered():  # nested: the same memory
            git("rev-parse", "HEAD")
    git("rev-parse", "HEAD")
    assert run.ran == [["rev-parse", "HEAD"], ["rev-parse", "HEAD"]]


def test_config_blob_and_get_are_remembered_other_config_is_not(repo):
    run = Counting()
    git = Git(str(repo), run)
    with remembered():
        git("config", "--get", "core.bare", check=False)
        git("config", "--get", "core.bare", check=False)
        git("config", "aegee.test", "yes")  # writes: forgets
        assert git("config", "--get", "aegee.test")[1].strip() == "yes"
    assert run.ran == [["config", "--get", "core.bare"], ["config", "aegee.test", "yes"],
                       ["config", "--get", "aegee.test"]]
