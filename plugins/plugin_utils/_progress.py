# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What a running release waits for, shown on the controller while it waits.

A release writes what it waits for into its lock (``waiting``: "core: waiting
up to 90s for the new container 3f2a... to turn healthy (since <ISO time>)").
While ``compose_release`` runs on a host, ``Watcher`` reads that lock every
few seconds through the task's own connection and says each new wait, and
again every ``REPEAT`` seconds while it lasts, with the seconds it has taken.
A release that ends within the first ``FIRST`` seconds shows nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time

# seconds before the first look (a quick release says nothing), between looks, between repeats of one wait
FIRST, EVERY, REPEAT = 3.0, 2.0, 15.0
SINCE = re.compile(r"^(?P<text>.*) \(since [^()]+\)$")


def waiting(lock_text):
    """The ``waiting`` sentence of a lock file's text, without its "(since ...)"; None if there is none."""
    try:
        lock = json.loads(lock_text)
    except ValueError:
        return None  # absent, or being rewritten: the next look reads it
    text = lock.get("waiting") if isinstance(lock, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    match = SINCE.match(text)
    return match.group("text") if match else text


class Progress:
    """Which lines to show, given what the lock said at which time (no I/O: the watcher feeds it)."""

    def __init__(self, host, start):
        self.host, self.start = host, start
        self.last, self.since, self.said = None, start, start

    def seen(self, text, now):
        """The line to show for ``text`` read at ``now``, or None."""
        if text is None:
            return None
        if text != self.last:
            self.last, self.since, self.said = text, now, now
            return "%s: %s" % (self.host, text)
        if now - self.said >= REPEAT:
            self.said = now
            return "%s: %s (still, %d s so far)" % (self.host, text, now - self.since)
        return None


class Watcher(threading.Thread):
    """Reads ``lock_path`` through ``read(command)`` (stdout text) and gives ``say`` each line to show."""

    def __init__(self, host, lock_path, read, say, clock=time.monotonic):
        super().__init__(name="aegee-progress-%s" % host, daemon=True)
        self.command = "cat -- %s 2>/dev/null || true" % shlex.quote(lock_path)
        self.read, self.say, self.clock = read, say, clock
        self.progress = Progress(host, clock())
        self.done = threading.Event()

    def run(self):
        if self.done.wait(FIRST):
            return
        while not self.done.is_set():
            try:
                line = self.progress.seen(waiting(self.read(self.command)), self.clock())
            except Exception:  # noqa: BLE001 - a window on the run: whatever breaks it stops nothing
                line = None
            if line and not self.done.is_set():
                self.say(line)
            self.done.wait(EVERY)

    def stop(self):
        self.done.set()
        self.join(EVERY + 5)
