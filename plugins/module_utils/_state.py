# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What a host remembers about its releases: lock, history and state.

Everything lives in one folder per deploy root (default ``<root>/.aegee``,
git-ignored through ``.git/info/exclude``), mode 0700, files 0600:

``lock``           JSON: owner, controller, time, expires, targets, and the
                   holding process on this host (pid, its start time, boot
                   id). Made with O_CREAT|O_EXCL, so two deploys never both
                   hold it. A lock whose process is gone (killed, host
                   rebooted) is stale at once; one whose process cannot be
                   checked is stale when it expires.
``history.jsonl``  one JSON object per release, appended; a corrupt or
                   truncated line is reported and skipped, the rest is kept.
``state.json``     the tool's own edits to re-apply after every pull (.env
                   values, image pins), the current release, the versions
                   verified in this environment and the versions marked bad.
                   Written atomically.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import time

from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write

STATE_VERSION = 1
# seconds an unreadable lock file counts as held (being written) before it is stale
UNREADABLE_LOCK_GRACE = 60


class StateError(Exception):
    """A problem with the host's release state, said so a person can act on it."""


class LockHeld(StateError):
    def __init__(self, msg, holder):
        super().__init__(msg)
        self.holder = holder


def now_iso(ts=None):
    ts = time.time() if ts is None else ts
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return None


def process_start(pid):
    """The start time of process ``pid`` (clock ticks since boot), or None if it does not exist or is unknown."""
    try:
        with open("/proc/%d/stat" % int(pid)) as handle:
            stat = handle.read()
    except (OSError, ValueError, TypeError):
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def holder():
    """This process, as a lock records it."""
    pid = os.getpid()
    return {"host_pid": pid, "host_pid_start": process_start(pid), "boot_id": boot_id()}


def holder_alive(lock):
    """True/False if the process holding ``lock`` runs/is gone on this host; None if that cannot be told."""
    pid, start, boot = lock.get("host_pid"), lock.get("host_pid_start"), lock.get("boot_id")
    if not pid or start is None or not boot:
        return None
    here = boot_id()
    if here is None or not os.path.isdir("/proc/self"):
        return None
    if here != boot:
        return False  # the host rebooted since
    return process_start(pid) == start


def empty_state():
    return {
        "format": STATE_VERSION,
        "managed": {"env": {}, "pins": {}},
        "current": {},
        "verified": {},
        "bad": {},
    }


class HostState:
    def __init__(self, state_dir):
        self.dir = state_dir
        self.lock_path = os.path.join(state_dir, "lock")
        self.history_path = os.path.join(state_dir, "history.jsonl")
        self.state_path = os.path.join(state_dir, "state.json")
        self.warnings = []
        self.broken = None  # the stale lock acquire() broke, if it did

    # ----------------------------------------------------------------- setup
    def ensure_dir(self):
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            os.chmod(self.dir, 0o700)
        except OSError as exc:
            raise StateError("cannot create the release state folder %s: %s" % (self.dir, exc.strerror)) from None

    # ------------------------------------------------------------------ lock
    def read_lock(self):
        try:
            with open(self.lock_path) as handle:
                raw = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError("cannot read the lock %s: %s" % (self.lock_path, exc.strerror)) from None
        try:
            lock = json.loads(raw)
            if not isinstance(lock, dict):
                raise ValueError
        except ValueError:
            # empty or partial: possibly another run between its O_EXCL create and its write, so it is only
            # stale once it has been unreadable for a while (not at once, or break_stale would break it)
            try:
                since = os.stat(self.lock_path).st_mtime
            except OSError:
                since = 0
            lock = {"owner": "unknown (unreadable lock file)", "expires_ts": since + UNREADABLE_LOCK_GRACE}
        try:
            expires = float(lock.get("expires_ts", 0))
        except (TypeError, ValueError):
            expires = 0.0  # an expiry nobody can read has passed
        alive = holder_alive(lock)
        lock["alive"] = alive
        lock["stale"] = (alive is False) or (alive is None and expires < time.time())
        return lock

    @staticmethod
    def describe_lock(lock):
        if lock.get("alive") is True:
            process = "its process %s on this host is still running" % lock.get("host_pid")
        elif lock.get("alive") is False:
            process = "its process %s on this host is gone" % lock.get("host_pid")
        else:
            process = "expires %s" % lock.get("expires", "?")
        return "%s (controller %s, run %s) since %s, for %s; %s" % (
            lock.get("owner", "?"),
            lock.get("controller") or "?",
            lock.get("id", "?"),
            lock.get("time", "?"),
            lock.get("targets") or lock.get("action", "?"),
            process,
        ) + ("; now: %s" % lock["waiting"] if lock.get("waiting") else "")

    def acquire(self, info, ttl, wait=0, break_stale=False, poll=0.5):
        """Take the lock or raise LockHeld naming the holder; returns the lock written."""
        self.ensure_dir()
        deadline = time.time() + max(0, wait)
        while True:
            now = time.time()
            lock = dict(info, time=now_iso(now), time_ts=now, expires=now_iso(now + ttl), expires_ts=now + ttl,
                        **holder())
            try:
                fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                held = self.read_lock()
                if held is None:
                    continue  # released between our open and read
                if held["stale"] and break_stale:
                    self.warnings.append("broke the stale lock held by " + self.describe_lock(held))
                    self.broken = held
                    self._remove_lock()
                    continue
                if time.time() >= deadline:
                    if held["stale"]:
                        raise LockHeld(
                            "a stale lock is left on this host by %s: the run that took it did not finish. "
                            "Check that no deploy is running, then rerun with -e break_lock=true "
                            "(module option break_stale_lock)" % self.describe_lock(held),
                            held,
                        ) from None
                    raise LockHeld(
                        "another deploy holds the lock on this host: %s. Wait for it to finish, or raise the wait "
                        "with -e lock_wait=SECONDS" % self.describe_lock(held),
                        held,
                    ) from None
                time.sleep(poll)
                continue
            except OSError as exc:
                raise StateError("cannot create the lock %s: %s" % (self.lock_path, exc.strerror)) from None
            try:
                os.write(fd, json.dumps(lock, sort_keys=True).encode("utf-8"))
                os.fsync(fd)
            except OSError as exc:
                os.close(fd)
                self._remove_lock()
                raise StateError("cannot write the lock %s: %s" % (self.lock_path, exc.strerror)) from None
            os.close(fd)
            return lock

    def annotate_lock(self, token, **extra):
        """Add ``extra`` to our lock (``token`` = its id), in place: what a run about to write records first."""
        held = self.read_lock()
        if not held or held.get("id") != token:
            raise StateError("the lock %s is not ours any more; stopped before changing anything" % self.lock_path)
        for key in ("stale", "alive"):
            held.pop(key, None)
        held.update(extra)
        data = json.dumps(held, sort_keys=True).encode("utf-8")
        try:
            # rewritten in place (no temporary file): it must work on a disk with no page to spare
            fd = os.open(self.lock_path, os.O_WRONLY)
            try:
                os.write(fd, data)
                os.ftruncate(fd, len(data))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
            raise StateError("cannot update the lock %s: %s" % (self.lock_path, reason)) from None

    def release(self, token=None):
        """Remove the lock if it is ours (``token`` = the ``id`` we wrote)."""
        held = self.read_lock()
        if held is None:
            return False
        if token is not None and held.get("id") != token:
            self.warnings.append("the lock was not ours any more (now held by %s); left it" % self.describe_lock(held))
            return False
        self._remove_lock()
        return True

    def _remove_lock(self):
        try:
            os.unlink(self.lock_path)
        except FileNotFoundError:
            pass

    # --------------------------------------------------------------- history
    def read_history(self):
        """All valid entries, oldest first; corrupt lines are reported in warnings."""
        try:
            with open(self.history_path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StateError("cannot read the release history %s: %s" % (self.history_path, exc.strerror)) from None
        entries, bad = [], 0
        for number, line in enumerate(raw.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line.decode("utf-8"))
                if not isinstance(entry, dict):
                    raise ValueError
            except ValueError:
                bad += 1
                if bad <= 3:
                    self.warnings.append(
                        "release history %s: line %d is corrupt or truncated and was skipped; the other entries "
                        "are kept" % (self.history_path, number)
                    )
                continue
            entries.append(entry)
        if bad > 3:
            self.warnings.append("release history: %d corrupt lines skipped in all" % bad)
        return entries

    def append_history(self, entry):
        self.ensure_dir()
        line = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
        try:
            # a truncated last line (crash mid-write) must not glue onto ours
            prefix = b""
            try:
                with open(self.history_path, "rb") as handle:
                    handle.seek(0, os.SEEK_END)
                    if handle.tell() > 0:
                        handle.seek(-1, os.SEEK_END)
                        if handle.read(1) != b"\n":
                            prefix = b"\n"
                            self.warnings.append(
                                "release history %s: its last line is corrupt or truncated (a run died while "
                                "writing it) and was skipped; the other entries are kept" % self.history_path
                            )
            except FileNotFoundError:
                pass
            fd = os.open(self.history_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)  # an existing file with a looser mode is tightened
                os.write(fd, prefix + line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
            raise StateError("cannot record the release in %s: %s" % (self.history_path, reason)) from None

    # ----------------------------------------------------------------- state
    def read_state(self):
        try:
            with open(self.state_path) as handle:
                data = json.load(handle)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            return empty_state()
        except (ValueError, OSError) as exc:
            self.warnings.append(
                "release state %s is unreadable (%s): starting from an empty state; the history is kept"
                % (self.state_path, exc)
            )
            return empty_state()
        base = empty_state()
        for key, value in data.items():
            if key in base and isinstance(base[key], dict) and not isinstance(value, dict):
                self.warnings.append("release state %s: %r is not a mapping (%r); starting it empty"
                                     % (self.state_path, key, value))
                continue
            base[key] = value
        for key in ("env", "pins"):
            if not isinstance(base["managed"].get(key), dict):
                base["managed"][key] = {}
        return base

    def write_state(self, state):
        self.ensure_dir()
        try:
            atomic_write(self.state_path, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o600)
            os.chmod(self.state_path, 0o600)  # atomic_write keeps an existing file's mode: never a loose one here
        except FileWriteError as exc:
            raise StateError(str(exc)) from None
        except OSError as exc:
            raise StateError("cannot set the mode of %s: %s" % (self.state_path, exc.strerror)) from None
