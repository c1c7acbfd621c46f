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

Service folders that are git submodules (the deploy repo's ``stable`` shape)
are part of the checkout: files modified inside them are judged the same way,
and the enabled ones are brought to the commit the deploy repo records (or the
tip of a followed branch) by ``_submodules``.
"""

from __future__ import annotations

import os
import shlex
import shutil

from ansible_collections.aegee.deploy.plugins.module_utils import _submodules
from ansible_collections.aegee.deploy.plugins.module_utils._git import Git, RepoError
from ansible_collections.aegee.deploy.plugins.module_utils._submodules import compose_source

__all__ = ["Git", "RepoError", "compose_source", "is_checkout", "clone", "exclude_state_dir", "modified_files",
           "classify_changes", "update"]


def is_checkout(root):
    return os.path.isdir(os.path.join(root, ".git"))


def clone(root, url, branch, run, services=None, follow=None):
    """Clone the deploy repo and initialise the enabled submodules (see ``_submodules.plan``).

    Returns ``{"submodules": {folder: {...}}}`` (see ``_submodules.report``; empty in the flat shape). When a
    submodule cannot be initialised, what the clone made is removed again and RepoError names the folder.
    """
    if os.path.exists(root) and os.listdir(root):
        raise RepoError(
            "%s exists and is not a git checkout of the deploy repo: move it away or point aegee_deploy_root "
            "elsewhere; nothing was changed" % root
        )
    existed = os.path.exists(root)
    parent = os.path.dirname(root.rstrip("/")) or "/"
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    rc, out, err = run(["git", "clone", "--quiet", "--branch", branch, url, root], cwd=parent)
    if rc != 0:
        raise RepoError("cannot clone the deploy repo %s (branch %s): %s" % (url, branch, (err or out).strip()))
    git = Git(root, run)
    subs = []
    try:
        subs = _submodules.plan(git, "HEAD", services, follow, fetch=False)
        _submodules.sync(git, subs)
    except RepoError:
        if existed:
            for name in os.listdir(root):
                full = os.path.join(root, name)
                shutil.rmtree(full) if os.path.isdir(full) and not os.path.islink(full) else os.unlink(full)
        else:
            shutil.rmtree(root)
        raise
    return {"submodules": _submodules.report(subs)}


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
    """Tracked files that differ from HEAD (work tree or index), also inside initialised submodules."""
    # no index refresh: reading the status must not write (it works on a full disk, beside a running git)
    _rc, out, _err = git("--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=no",
                         "--ignore-submodules=all")
    files = []
    for item in out.split("\0"):
        if len(item) > 3:
            files.append(item[3:])
    for entry in _submodules.listed(git):
        if _submodules.initialised(git, entry["path"]):
            files.extend("%s/%s" % (entry["path"], path) for path in modified_files(git.sub(entry["path"])))
    return files


def _by_checkout(git, paths):
    """``{folder: [path in that checkout]}``: "" for the deploy repo, else the submodule's folder."""
    groups = {}
    for path in paths:
        folder, rest = git.submodule_of(path) or ("", path)
        groups.setdefault(folder, []).append(rest)
    return groups


def _discard_commands(git, paths):
    commands = []
    for folder, files in _by_checkout(git, paths).items():
        where = os.path.join(git.root, folder) if folder else git.root
        commands.append("`git -C %s checkout -- %s`" % (shlex.quote(where), " ".join(shlex.quote(f) for f in files)))
    return " and ".join(commands)


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


def update(root, branch, render_managed, run, check_mode=False, services=None, follow=None):
    """Bring the checkout to origin/``branch``; returns a dict describing what happened.

    Never leaves a merge conflict: a fast-forward or nothing. The enabled submodules (``services``, ``follow``:
    see ``_submodules.plan``) are brought to their commit too; their network errors stop the update before
    HEAD moves, and anything failing after that is undone. When the deploy repo has submodules, the result
    has ``submodules`` (see ``_submodules.report``) and ``pulled`` is also true when only a submodule moved.
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
            "Commit them to the deploy repo's origin (branch %s) or the service's repository, or discard them on "
            "the host with %s; the tool re-applies its own .env values and pins by itself."
            % (", ".join(foreign), branch, _discard_commands(git, foreign))
        )
    _submodules.refuse_local_commits(git, follow or {})
    result = {"fetched": False, "pulled": False, "restored": ours, "before": None, "after": None}
    _rc, before, _err = git("rev-parse", "HEAD")
    result["before"] = result["after"] = before.strip()
    if not check_mode:
        git("fetch", "--quiet", "--no-recurse-submodules", "origin", branch)  # submodules: _submodules.plan
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
    if behind:
        result["after"] = upstream
    subs = _submodules.plan(git, upstream if behind else result["before"], services, follow, fetch=not check_mode)
    if subs:
        result["submodules"] = _submodules.report(subs)
    if check_mode or not (behind or _submodules.moving(subs)):
        return result
    saved = {}
    for path in ours:
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            saved[path] = handle.read()
    for folder, files in _by_checkout(git, ours).items():
        (git.sub(folder) if folder else git)("checkout", "--", *files)
    merged = False
    try:
        if behind:
            rc, out, err = git("merge", "--ff-only", "--quiet", "refs/remotes/origin/%s" % branch, check=False)
            if rc != 0:
                raise RepoError(
                    "cannot fast-forward %s to origin/%s: %s. The tool's own edits are re-applied; resolve this on "
                    "the host (for example an untracked file in the way) and deploy again"
                    % (root, branch, (err or out).strip())
                )
            merged = True
        _submodules.sync(git, subs)
    except RepoError:
        _submodules.restore(git, subs)
        if merged:
            git("reset", "--quiet", "--keep", result["before"], check=False)
        for path, text in saved.items():  # put the tool's own edits back
            with open(os.path.join(root, path), "w", encoding="utf-8") as handle:
                handle.write(text)
        raise
    result["pulled"] = True
    if subs:
        result["submodules"] = _submodules.report(subs)
    return result
