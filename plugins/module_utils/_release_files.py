# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The deploy repo files a release edits: ``.env`` values and image pins.

They are always rendered from the committed text (``git show HEAD:path``)
plus the tool's recorded edits (``managed``: ``{"env": {KEY: value},
"pins": {service: {"file", "value"}}}``), so "old" and "new" are both exact,
and a later ``git pull`` can always tell the tool's edits from somebody
else's.
"""

from __future__ import annotations

import os

from ansible_collections.aegee.deploy.plugins.module_utils import _compose, _dotenv
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write

ENV_FILE = ".env"


def read(root, path):
    """The text of ``path`` (relative to ``root``), None if it does not exist."""
    try:
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def render(path, text, managed):
    """``text`` of ``path`` with the tool's managed edits applied."""
    if text is None:
        return None
    if path == ENV_FILE:
        env = managed.get("env") or {}
        return _dotenv.apply(text, env) if env else text
    for service, pin in sorted((managed.get("pins") or {}).items()):
        if pin.get("file") != path:
            continue
        ref = _compose.ImageRef(pin["value"])
        text = _compose.pin_text(text, service=service, tag=ref.tag, digest=ref.digest, name=path).after_text
    return text


def enabled_folders(env, files=None):
    """``services(show)`` for ``_repo.clone``/``update``: the service folders of the commit about to be checked out.

    ``show(path)`` is a file's text at that commit: with ``files`` given, their first folders; else the
    ``ENABLED_SERVICES`` of its ``.env`` with the host's ``env`` values applied (they may change in the same pull).
    """

    def folders(show):
        if files:
            return sorted({f.split("/", 1)[0] for f in files if "/" in f})
        values = _dotenv.parse(render(ENV_FILE, show(ENV_FILE) or "", {"env": env}))
        return [s for s in (values.get("ENABLED_SERVICES") or "").split(":") if s]

    return folders


def locate_services(root, files):
    """``{service: file}``: the compose file whose ``image:`` Compose uses for each service (the one to pin)."""
    sources, _problems = _compose.image_sources([(f, read(root, f) or "") for f in files])
    return {svc: src["file"] for svc, src in sources.items()}


def pin_targets(git, root, where, targets, env, pins):
    """The tool's edits: the ``env`` values, and ``pins`` with every target pinned in its file ``where[svc]``."""
    new = {"env": env, "pins": dict(pins or {})}
    for svc, target in targets.items():
        head = git.show_head(where[svc]) or read(root, where[svc])
        pinned = _compose.pin_text(head, service=svc, tag=target["version"], digest=target.get("digest"),
                                   name=where[svc])
        new["pins"][svc] = {"file": where[svc], "value": pinned.pins[0]["after"]}
    return new


def texts(git, root, old, new):
    """``(current, old_texts, new_texts)`` of ``.env`` and every file either edits pin in.

    ``current`` is what is on disk now; the others are the committed text with each set of edits.
    """
    paths = sorted({ENV_FILE} | {pin["file"] for pin in new["pins"].values()}
                   | {pin["file"] for pin in (old.get("pins") or {}).values()})
    current, old_texts, new_texts = {}, {}, {}
    for path in paths:
        head = git.show_head(path)
        if head is None:
            head = read(root, path)
        current[path] = read(root, path)
        old_texts[path] = render(path, head, old)
        new_texts[path] = render(path, head, new)
    return current, old_texts, new_texts


def write(root, texts_by_path, paths, quiet=False):
    """Write ``texts_by_path`` of ``paths`` atomically (None: leave the file); ``quiet`` ignores write errors."""
    for path in paths:
        if texts_by_path.get(path) is None:
            continue
        try:
            atomic_write(os.path.join(root, path), texts_by_path[path])
        except FileWriteError:
            if not quiet:
                raise
