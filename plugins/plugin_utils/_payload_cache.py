# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""A module's AnsiballZ payload, kept from one run to the next.

Before a module runs on a host, Ansible builds its payload: it parses the
module and every module_util it imports (about 90 files for compose_release)
to find what to zip. It keeps the result in a cache of its own, but that cache
lives in a directory of the ``ansible-playbook`` process (``ansible-local-*``)
and goes with it: every run builds the payload again (0.25-0.3 s on the
testbed, a tenth of a no-op deploy).

``PayloadCache`` keeps a copy of that cache entry next to Ansible's local
temporary directory, under a key of everything the payload is made of: the
Ansible version and the text of the module and of every module_util of this
collection. Before the module runs, ``restore`` puts the kept copy where
Ansible looks for it (so Ansible reads it instead of building); after the
run, ``keep`` copies the entry Ansible used when there is none for that key.
A change to any of those files (or another Ansible) is another key: nothing
stale is ever sent. Every copy is written to a temporary name and renamed, so
a parallel worker never reads half a file; any error turns the cache off for
that run (the payload is built as before), never fails the task. The
directory is the user's own (mode 0700), and is not used when it is not.
"""

from __future__ import annotations

import hashlib
import os
import shutil

import ansible

from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write

__all__ = ["FileWriteError", "PayloadCache", "fingerprint"]

KEEP = 4  # keys kept (the newest); an older one is removed when a new one is written
DIRNAME = "aegee-ansiballz"


def fingerprint(module_path, utils_dir):
    """sha256 of the Ansible version, the module and every ``*.py`` of ``utils_dir`` (names and text)."""
    digest = hashlib.sha256(("ansible-core %s\n" % ansible.__version__).encode())
    paths = [module_path] + sorted(
        os.path.join(utils_dir, name) for name in os.listdir(utils_dir) if name.endswith(".py"))
    for path in paths:
        with open(path, "rb") as handle:
            text = handle.read()
        digest.update(b"%s %d\n" % (os.path.basename(path).encode(), len(text)))
        digest.update(text)
    return digest.hexdigest()


def _private(path):
    """True when ``path`` is a directory of this user that nobody else can write."""
    info = os.lstat(path)
    return os.path.isdir(path) and not os.path.islink(path) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def _copy(src, dst_dir):
    """Copy ``src`` into ``dst_dir`` under its name, atomically (``_fileio.atomic_write``), mode 0600."""
    with open(src, "rb") as handle:
        data = handle.read()
    atomic_write(os.path.join(dst_dir, os.path.basename(src)), data, mode=0o600)


class PayloadCache:
    """The kept payloads of module ``fqn`` (``ansible_collections.<ns>.<name>.plugins.modules.<module>``)."""

    def __init__(self, fqn, key, local_tmp):
        self.fqn, self.key = fqn, key
        self.ansible_dir = os.path.join(local_tmp, "ansiballz_cache")  # where Ansible looks (its process's dir)
        self.root = os.path.join(os.path.dirname(local_tmp), DIRNAME)  # next to the configured local_tmp
        self.kept = os.path.join(self.root, key)

    def _entries(self, directory):
        if not os.path.isdir(directory):
            return []
        return sorted(name for name in os.listdir(directory)
                      if name.startswith(self.fqn + "-") and not name.endswith(".lock"))

    def restore(self):
        """Put the kept payloads of this key where Ansible looks; the names put there."""
        if not os.path.isdir(self.kept) or not _private(self.root) or not _private(self.kept):
            return []
        os.makedirs(self.ansible_dir, mode=0o700, exist_ok=True)
        have = set(self._entries(self.ansible_dir))
        put = []
        for name in self._entries(self.kept):
            if name not in have:
                _copy(os.path.join(self.kept, name), self.ansible_dir)
                put.append(name)
        return put

    def keep(self):
        """Copy the payloads Ansible built for this module under this key (those not kept yet); the names kept."""
        built = self._entries(self.ansible_dir)
        if not built:
            return []
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        if not _private(self.root):
            return []
        fresh = not os.path.isdir(self.kept)
        os.makedirs(self.kept, mode=0o700, exist_ok=True)
        have = set(self._entries(self.kept))
        kept = []
        for name in built:
            if name not in have:
                _copy(os.path.join(self.ansible_dir, name), self.kept)
                kept.append(name)
        if fresh:
            self.prune()
        return kept

    def prune(self):
        """Remove all but the ``KEEP`` newest keys."""
        keys = [os.path.join(self.root, name) for name in os.listdir(self.root)
                if os.path.isdir(os.path.join(self.root, name)) and not name.startswith(".")]
        keys.sort(key=os.path.getmtime, reverse=True)
        for old in keys[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
