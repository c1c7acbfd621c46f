# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The deploy repo checkout on a host, updated without ever conflicting with
the tool's own edits.

The tool edits tracked files (``.env`` values, image pins). Before a pull,
every locally modified file is compared with what the tool's recorded edits
would make of the committed version: if they are equal, the change is the
tool's own and the file is restored to the commit (the edits are applied
again after the pull); if not, somebody changed it by hand, and the update
stops before touching anything, naming the files and what to do.
"""

from __future__ import annotations

import os


class RepoError(Exception):
    pass


class Git:
    """git in one checkout, through a ``run(argv, cwd=None, data=None) -> (rc, out, err)`` callable."""

    def __init__(self, root, run):
        self.root = root
        self._run = run

    def __call__(self, *args, check=True, cwd=None):
        rc, out, err = self._run(["git", *args], cwd=cwd or self.root)
        if check and rc != 0:
            raise RepoError("git %s failed in %s: %s" % (" ".join(args), cwd or self.root, (err or out).strip()))
        return rc, out, err

    def show_head(self, path):
        rc, out, _err = self("show", "HEAD:%s" % path, check=False)
        return out if rc == 0 else None


def is_checkout(root):
    return os.path.isdir(os.path.join(root, ".git"))


def clone(root, url, branch, run):
    if os.path.exists(root) and os.listdir(root):
        raise RepoError(
            "%s exists and is not a git checkout of the deploy repo: move it away or point aegee_deploy_root "
            "elsewhere; nothing was changed" % root
        )
    parent = os.path.dirname(root.rstrip("/")) or "/"
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    rc, out, err = run(["git", "clone", "--quiet", "--branch", branch, url, root], cwd=parent)
    if rc != 0:
        raise RepoError("cannot clone the deploy repo %s (branch %s): %s" % (url, branch, (err or out).strip()))


def exclude_state_dir(root, name):
    """Keep the tool's state folder out of git status (``.git/info/exclude``)."""
    path = os.path.join(root, ".git", "info", "exclude")
    line = "/%s/" % name
    try:
        with open(path) as handle:
            if line in handle.read().splitlines():
                return
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as handle:
        handle.write("\n# release state of aegee.deploy\n%s\n" % line)


def modified_files(git):
    """Tracked files that differ from HEAD (work tree or index)."""
    # no index refresh: reading the status must not write (it works on a full disk, beside a running git)
    _rc, out, _err = git("--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=no")
    files = []
    for item in out.split("\0"):
        if len(item) > 3:
            files.append(item[3:])
    return files


def classify_changes(git, render_managed):
    """Split local modifications into the tool's own and somebody else's.

    ``render_managed(path, committed_text)`` returns what the tool's recorded
    edits make of the committed text (or the text unchanged if it manages
    nothing in that file), or a list of such texts when more than one is the
    tool's (a release that died between writing its pins and recording them).
    """
    ours, foreign = [], []
    for path in modified_files(git):
        committed = git.show_head(path)
        try:
            with open(os.path.join(git.root, path), encoding="utf-8") as handle:
                current = handle.read()
        except (OSError, UnicodeDecodeError):
            foreign.append(path)
            continue
        rendered = render_managed(path, committed) if committed is not None else None
        candidates = rendered if isinstance(rendered, list) else [rendered]
        if committed is not None and current in candidates and current != committed:
            ours.append(path)
        else:
            foreign.append(path)
    return ours, foreign


def update(root, branch, render_managed, run, check_mode=False):
    """Bring the checkout to origin/``branch``; returns a dict describing what happened.

    Never leaves a merge conflict: a fast-forward or nothing.
    """
    git = Git(root, run)
    _rc, head_branch, _err = git("rev-parse", "--abbrev-ref", "HEAD")
    head_branch = head_branch.strip()
    if head_branch != branch:
        raise RepoError(
            "the checkout %s is on branch %r, not %r: run `git -C %s checkout %s` on the host (or set "
            "aegee_deploy_repo_branch); nothing was changed" % (root, head_branch, branch, root, branch)
        )
    ours, foreign = classify_changes(git, render_managed)
    if foreign:
        raise RepoError(
            "the deploy repo on this host has local changes that are not the tool's: %s. Nothing was changed. "
            "Commit them to the deploy repo's origin (branch %s), or discard them on the host with "
            "`git -C %s checkout -- %s`; the tool re-applies its own .env values and pins by itself."
            % (", ".join(foreign), branch, root, " ".join(foreign))
        )
    result = {"fetched": False, "pulled": False, "restored": ours, "before": None, "after": None}
    _rc, before, _err = git("rev-parse", "HEAD")
    result["before"] = result["after"] = before.strip()
    if not check_mode:
        git("fetch", "--quiet", "origin", branch)
        result["fetched"] = True
    rc, upstream, _err = git("rev-parse", "--verify", "--quiet", "refs/remotes/origin/%s" % branch, check=False)
    if rc != 0:
        raise RepoError("origin has no branch %r: check aegee_deploy_repo_branch" % branch)
    upstream = upstream.strip()
    _rc, ahead, _err = git("rev-list", "--count", "refs/remotes/origin/%s..HEAD" % branch)
    _rc, behind, _err = git("rev-list", "--count", "HEAD..refs/remotes/origin/%s" % branch)
    ahead, behind = int(ahead.strip() or 0), int(behind.strip() or 0)
    if ahead:
        raise RepoError(
            "the deploy repo on this host has %d local commit(s) that origin/%s does not have. Nothing was changed. "
            "Push them to origin (then deploy again), or drop them on the host with "
            "`git -C %s reset --keep origin/%s`." % (ahead, branch, root, branch)
        )
    result["behind"] = behind
    if behind and not check_mode:
        saved = {}
        for path in ours:
            with open(os.path.join(root, path), encoding="utf-8") as handle:
                saved[path] = handle.read()
        if ours:
            git("checkout", "--", *ours)
        rc, out, err = git("merge", "--ff-only", "--quiet", "refs/remotes/origin/%s" % branch, check=False)
        if rc != 0:
            for path, text in saved.items():  # nothing was pulled: put the tool's own edits back
                with open(os.path.join(root, path), "w", encoding="utf-8") as handle:
                    handle.write(text)
            raise RepoError(
                "cannot fast-forward %s to origin/%s: %s. The tool's own edits are re-applied; resolve this on "
                "the host (for example an untracked file in the way) and deploy again"
                % (root, branch, (err or out).strip())
            )
        result["pulled"] = True
        result["after"] = upstream
    elif behind:
        result["after"] = upstream
    return result
