# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""git in one checkout (the deploy repo or one of its submodules), through the module's ``run``."""

from __future__ import annotations

import contextlib
import os

# what git says to these never changes while no other git command runs: the text of an object, what a name
# resolves to, a blob's config, a tree's listing, a count of commits; the worktree is not read (``status`` is
# not here: the release edits files)
READ_ONLY = frozenset(("show", "rev-parse", "ls-tree", "rev-list"))
_MEMO = []  # [{(cwd, args): (rc, out, err)}] while ``remembered()`` is in effect


class RepoError(Exception):
    pass


@contextlib.contextmanager
def remembered():
    """Within it, a read-only git command asked again with the same arguments in the same checkout is answered
    from memory, until any other git command runs (it may move HEAD, fetch, change the config: all is forgotten).
    A release asks the same few things many times (HEAD, the committed .env and compose files)."""
    outer = bool(_MEMO)
    if not outer:
        _MEMO.append({})
    try:
        yield
    finally:
        if not outer:
            _MEMO.clear()


def _read_only(args):
    return args[0] in READ_ONLY or (args[0] == "config" and args[1:2] in (["--blob"], ["--get"]))


class Git:
    """git in one checkout, through a ``run(argv, cwd=None, data=None) -> (rc, out, err)`` callable."""

    def __init__(self, root, run):
        self.root = root
        self._run = run

    def __call__(self, *args, check=True, cwd=None):
        cwd = cwd or self.root
        if _MEMO:
            memo, key = _MEMO[0], (cwd, args)
            if _read_only(list(args)):
                if key not in memo:
                    memo[key] = self._run(["git", *args], cwd=cwd)
                rc, out, err = memo[key]
            else:
                memo.clear()
                rc, out, err = self._run(["git", *args], cwd=cwd)
        else:
            rc, out, err = self._run(["git", *args], cwd=cwd)
        if check and rc != 0:
            raise RepoError("git %s failed in %s: %s" % (" ".join(args), cwd, (err or out).strip()))
        return rc, out, err

    def sub(self, folder):
        """git in the submodule checked out at ``folder`` (relative to this checkout)."""
        return Git(os.path.join(self.root, folder), self._run)

    def submodule_of(self, path):
        """``(folder, rest)`` when ``path`` lies inside an initialised submodule, else None."""
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if os.path.exists(os.path.join(self.root, folder, ".git")):
                return folder, "/".join(parts[i:])
        return None

    def show_head(self, path):
        """The text of ``path`` committed at HEAD; inside a submodule, at the submodule's HEAD."""
        inside = self.submodule_of(path)
        if inside:
            return self.sub(inside[0]).show_head(inside[1])
        rc, out, _err = self("show", "HEAD:%s" % path, check=False)
        return out if rc == 0 else None
