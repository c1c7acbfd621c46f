# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a running release shows while it waits: the lock's ``waiting``, each new one, repeats while it lasts."""

from __future__ import annotations

import json
import threading

import pytest

from ansible_collections.aegee.deploy.plugins.plugin_utils import _progress
from ansible_collections.aegee.deploy.plugins.plugin_utils._progress import Progress, Watcher, waiting

WAIT = "core: waiting up to 90s for the new container 3f2a1b4c5d6e to turn healthy"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (json.dumps({"id": "x", "waiting": WAIT + " (since 2026-12-04T20:00:00Z)"}), WAIT),
        (json.dumps({"id": "x", "waiting": "pulling the images of core"}), "pulling the images of core"),
        (json.dumps({"id": "x"}), None),
        (json.dumps({"id": "x", "waiting": "  "}), None),
        (json.dumps(["not", "a", "lock"]), None),
        ("", None),  # no lock (the release ended, or has not taken it yet)
        ('{"id": "x", "wai', None),  # being rewritten
    ],
)
def test_the_wait_is_read_from_the_lock(text, expected):
    assert waiting(text) == expected


def test_each_new_wait_is_said_once_then_repeated_with_its_seconds_while_it_lasts():
    progress = Progress("staging-1", 0.0)
    assert progress.seen(None, 3.0) is None
    assert progress.seen(WAIT, 3.0) == "staging-1: " + WAIT
    assert progress.seen(WAIT, 5.0) is None
    assert progress.seen(WAIT, 17.9) is None
    assert progress.seen(WAIT, 18.0) == "staging-1: %s (still, 15 s so far)" % WAIT
    assert progress.seen(WAIT, 20.0) is None
    assert progress.seen("core: draining the old container(s) 0b2c4e6f8a1d", 21.0) == (
        "staging-1: core: draining the old container(s) 0b2c4e6f8a1d")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_watcher_reads_the_lock_with_cat_and_says_what_changed(monkeypatch):
    monkeypatch.setattr(_progress, "FIRST", 0.0)
    monkeypatch.setattr(_progress, "EVERY", 0.01)
    said, commands = [], []
    answers = iter([json.dumps({"waiting": "pulling the images of core (since t)"})] * 3 + [json.dumps(
        {"waiting": WAIT + " (since t)"})])
    enough = threading.Event()

    def read(command):
        commands.append(command)
        try:
            return next(answers)
        except StopIteration:
            enough.set()
            return ""

    watcher = Watcher("staging-1", "/srv/my aegee/.aegee/lock", read, said.append, clock=Clock())
    watcher.start()
    assert enough.wait(5)
    watcher.stop()
    assert not watcher.is_alive()
    assert commands[0] == "cat -- '/srv/my aegee/.aegee/lock' 2>/dev/null || true"
    assert said == ["staging-1: pulling the images of core", "staging-1: " + WAIT]


def test_a_watcher_stopped_before_its_first_look_reads_nothing():
    reads = []
    watcher = Watcher("staging-1", "/srv/lock", reads.append, reads.append)
    watcher.start()
    watcher.stop()
    assert reads == [] and not watcher.is_alive()


def test_a_read_that_breaks_stops_nothing(monkeypatch):
    monkeypatch.setattr(_progress, "FIRST", 0.0)
    monkeypatch.setattr(_progress, "EVERY", 0.01)
    calls = threading.Event()

    def read(command):
        calls.set()
        raise OSError("connection reset")

    watcher = Watcher("staging-1", "/srv/lock", read, pytest.fail)
    watcher.start()
    assert calls.wait(5)
    watcher.stop()
    assert not watcher.is_alive()
