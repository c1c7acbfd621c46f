# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's release state: O_EXCL lock, append-only history, atomic state file."""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _state
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, LockHeld, StateError, empty_state

INFO = {"id": "run-1", "owner": "alice", "controller": "laptop", "pid": 4242, "targets": "core=1.5.0"}


@pytest.fixture
def hs(tmp_path):
    return HostState(str(tmp_path / ".aegee"))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------- lock


def test_acquire_writes_the_lock_with_owner_and_expiry(hs):
    lock = hs.acquire(INFO, ttl=60)
    on_disk = json.loads(open(hs.lock_path).read())
    assert on_disk == lock
    assert on_disk["owner"] == "alice" and on_disk["id"] == "run-1"
    assert 59 <= on_disk["expires_ts"] - on_disk["time_ts"] <= 61
    assert on_disk["time"].endswith("Z")
    held = hs.read_lock()
    assert held["stale"] is False


def test_second_acquire_raises_lock_held_naming_the_owner(hs, tmp_path):
    hs.acquire(INFO, ttl=60)
    other = HostState(hs.dir)
    with pytest.raises(LockHeld) as exc:
        other.acquire(dict(INFO, id="run-2", owner="bob"), ttl=60)
    msg = str(exc.value)
    assert "alice" in msg and "laptop" in msg and "run-1" in msg and "core=1.5.0" in msg
    assert "its process %d on this host is still running" % os.getpid() in msg
    assert "lock_wait" in msg
    assert exc.value.holder["id"] == "run-1"
    # the first holder's lock is untouched
    assert json.loads(open(hs.lock_path).read())["id"] == "run-1"


def test_lock_is_exclusive_across_threads(tmp_path):
    directory = str(tmp_path / ".aegee")
    winners, losers = [], []
    barrier = threading.Barrier(8)

    def contender(n):
        barrier.wait()
        try:
            HostState(directory).acquire(dict(INFO, id="run-%d" % n), ttl=60)
            winners.append(n)
        except LockHeld:
            losers.append(n)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 7


def test_wait_succeeds_once_the_holder_releases(hs):
    hs.acquire(INFO, ttl=60)
    timer = threading.Timer(0.3, hs.release, args=("run-1",))
    timer.start()
    try:
        start = time.time()
        lock = HostState(hs.dir).acquire(dict(INFO, id="run-2", owner="bob"), ttl=60, wait=5, poll=0.05)
        assert 0.2 <= time.time() - start < 3
    finally:
        timer.join()
    assert lock["owner"] == "bob"
    assert json.loads(open(hs.lock_path).read())["id"] == "run-2"


def test_wait_gives_up_at_the_deadline(hs):
    hs.acquire(INFO, ttl=60)
    start = time.time()
    with pytest.raises(LockHeld, match="alice"):
        HostState(hs.dir).acquire(dict(INFO, id="run-2"), ttl=60, wait=0.3, poll=0.05)
    assert 0.25 <= time.time() - start < 2


def write_stale_lock(hs, **extra):
    hs.ensure_dir()
    lock = dict(INFO, time="2020-01-01T00:00:00Z", expires="2020-01-01T00:15:00Z", expires_ts=1577837700.0)
    lock.update(extra)
    with open(hs.lock_path, "w") as handle:
        json.dump(lock, handle)


def test_stale_lock_is_refused_and_says_break_lock(hs):
    write_stale_lock(hs)
    assert hs.read_lock()["stale"] is True
    with pytest.raises(LockHeld) as exc:
        hs.acquire(dict(INFO, id="run-2"), ttl=60)
    msg = str(exc.value)
    assert "stale" in msg and "break_lock=true" in msg and "alice" in msg
    assert os.path.exists(hs.lock_path)


def test_break_stale_breaks_it_and_warns(hs):
    write_stale_lock(hs)
    lock = hs.acquire(dict(INFO, id="run-2", owner="bob"), ttl=60, break_stale=True)
    assert lock["id"] == "run-2"
    assert json.loads(open(hs.lock_path).read())["id"] == "run-2"
    assert len(hs.warnings) == 1
    assert "broke the stale lock" in hs.warnings[0] and "alice" in hs.warnings[0]


def test_break_stale_does_not_break_a_live_lock(hs):
    hs.acquire(INFO, ttl=60)
    with pytest.raises(LockHeld):
        HostState(hs.dir).acquire(dict(INFO, id="run-2"), ttl=60, break_stale=True)
    assert json.loads(open(hs.lock_path).read())["id"] == "run-1"


def test_unreadable_lock_is_reported_as_unknown_owner(hs):
    hs.ensure_dir()
    with open(hs.lock_path, "w") as handle:
        handle.write("{not json")
    os.utime(hs.lock_path, (time.time() - 3600, time.time() - 3600))  # left there long ago
    held = hs.read_lock()
    assert "unreadable" in held["owner"] and held["stale"] is True
    with pytest.raises(LockHeld, match="unreadable lock file"):
        hs.acquire(INFO, ttl=60)


def test_a_lock_being_written_is_not_broken_as_stale(hs):
    # another run's acquire between its O_EXCL create and its write: the file is empty
    hs.ensure_dir()
    open(hs.lock_path, "w").close()
    assert hs.read_lock()["stale"] is False
    with pytest.raises(LockHeld, match="another deploy holds the lock"):
        hs.acquire(dict(INFO, id="run-2"), ttl=60, break_stale=True)
    assert os.path.exists(hs.lock_path) and hs.warnings == []


def test_lock_with_an_unreadable_expiry_is_stale(hs):
    write_stale_lock(hs, expires_ts="soon")
    assert hs.read_lock()["stale"] is True
    with pytest.raises(LockHeld, match="break_lock=true"):
        hs.acquire(dict(INFO, id="run-2"), ttl=60)


def test_release_with_our_token_removes_it(hs):
    hs.acquire(INFO, ttl=60)
    assert hs.release("run-1") is True
    assert not os.path.exists(hs.lock_path)
    assert hs.release("run-1") is False  # nothing left to release
    assert hs.warnings == []


def test_release_with_a_foreign_token_leaves_it_and_warns(hs):
    hs.acquire(INFO, ttl=60)
    assert hs.release("someone-else") is False
    assert json.loads(open(hs.lock_path).read())["id"] == "run-1"
    assert len(hs.warnings) == 1 and "not ours" in hs.warnings[0] and "alice" in hs.warnings[0]


def test_release_without_token(hs):
    hs.acquire(INFO, ttl=60)
    assert hs.release() is True
    assert not os.path.exists(hs.lock_path)
    assert hs.release() is False


def _dead_pid():
    proc = __import__("subprocess").Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_lock_whose_process_is_gone_is_stale_at_once(hs):
    hs.acquire(INFO, ttl=3600)
    lock = json.loads(open(hs.lock_path).read())
    assert lock["host_pid"] == os.getpid() and lock["boot_id"] and lock["host_pid_start"]
    assert hs.read_lock()["alive"] is True and hs.read_lock()["stale"] is False
    lock["host_pid"] = _dead_pid()
    open(hs.lock_path, "w").write(json.dumps(lock))
    held = hs.read_lock()
    assert held["alive"] is False and held["stale"] is True
    gone = "stale lock.*process %d on this host is gone.*break_lock=true" % lock["host_pid"]
    with pytest.raises(LockHeld, match=gone):
        HostState(hs.dir).acquire(dict(INFO, id="run-2"), ttl=60)
    # the documented option takes it over
    HostState(hs.dir).acquire(dict(INFO, id="run-2"), ttl=60, break_stale=True)
    assert json.loads(open(hs.lock_path).read())["id"] == "run-2"


def test_a_lock_from_before_a_reboot_is_stale_and_a_reused_pid_does_not_keep_it(hs):
    hs.acquire(INFO, ttl=3600)
    lock = json.loads(open(hs.lock_path).read())
    open(hs.lock_path, "w").write(json.dumps(dict(lock, boot_id="another-boot")))
    assert hs.read_lock()["stale"] is True
    # same pid, other start time: the pid was reused by another process
    open(hs.lock_path, "w").write(json.dumps(dict(lock, host_pid_start=lock["host_pid_start"] - 1)))
    assert hs.read_lock()["alive"] is False


def test_a_lock_without_a_checkable_process_goes_stale_by_expiry(hs):
    now = time.time()
    hs.ensure_dir()
    open(hs.lock_path, "w").write(json.dumps({"owner": "old", "expires_ts": now + 60}))
    assert hs.read_lock()["alive"] is None and hs.read_lock()["stale"] is False
    open(hs.lock_path, "w").write(json.dumps({"owner": "old", "expires_ts": now - 1}))
    assert hs.read_lock()["stale"] is True


@pytest.mark.parametrize(
    ("lock", "expected"),
    [
        ({"owner": "a", "controller": "c", "id": "r1", "time": "t", "targets": "core=1", "expires": "e"},
         "a (controller c, run r1) since t, for core=1; expires e"),
        ({"owner": "a", "action": "rollback"}, "a (controller ?, run ?) since ?, for rollback; expires ?"),
        ({}, "? (controller ?, run ?) since ?, for ?; expires ?"),
        ({"owner": "a", "alive": True, "host_pid": 7}, "a (controller ?, run ?) since ?, for ?; "
         "its process 7 on this host is still running"),
        ({"owner": "a", "alive": False, "host_pid": 7}, "a (controller ?, run ?) since ?, for ?; "
         "its process 7 on this host is gone"),
        ({"owner": "a", "alive": True, "host_pid": 7, "waiting": "core: waiting up to 210s for the new container "
          "0b2c to turn healthy (since t2)"}, "a (controller ?, run ?) since ?, for ?; its process 7 on this host is "
         "still running; now: core: waiting up to 210s for the new container 0b2c to turn healthy (since t2)"),
    ],
)
def test_describe_lock(lock, expected):
    assert HostState.describe_lock(lock) == expected


# ------------------------------------------------------------------- modes


def test_modes_dir_0700_files_0600(tmp_path):
    old_umask = os.umask(0o022)
    try:
        hs = HostState(str(tmp_path / ".aegee"))
        hs.acquire(INFO, ttl=60)
        hs.append_history({"id": "x"})
        hs.write_state(empty_state())
    finally:
        os.umask(old_umask)
    assert mode(hs.dir) == 0o700
    for path in (hs.lock_path, hs.history_path, hs.state_path):
        assert mode(path) == 0o600, path


def test_ensure_dir_tightens_an_existing_folder(tmp_path):
    folder = tmp_path / ".aegee"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # noqa: S103
    HostState(str(folder)).ensure_dir()
    assert mode(folder) == 0o700


def test_ensure_dir_error_is_a_state_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError, match="cannot create the release state folder"):
        HostState(str(blocker / ".aegee")).ensure_dir()


# ----------------------------------------------------------------- history


def test_history_append_and_read_in_order(hs):
    assert hs.read_history() == []
    for n in range(3):
        hs.append_history({"id": "r%d" % n, "services": {"core": {"to": "1.%d.0" % n}}})
    assert [e["id"] for e in hs.read_history()] == ["r0", "r1", "r2"]
    lines = open(hs.history_path, "rb").read().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4  # one JSON object per line, newline-terminated
    assert hs.warnings == []


def test_corrupt_and_truncated_lines_are_skipped_with_a_warning(hs):
    hs.append_history({"id": "a"})
    with open(hs.history_path, "ab") as handle:
        handle.write(b"this is not json\n[1, 2]\n\xff\xfe\n\n")
    hs.append_history({"id": "b"})
    with open(hs.history_path, "ab") as handle:
        handle.write(b'{"id": "trunc')  # crash mid-write
    entries = hs.read_history()
    assert [e["id"] for e in entries] == ["a", "b"]
    # four bad lines: the first three named, then a count
    assert len(hs.warnings) == 4
    assert all("corrupt or truncated" in w for w in hs.warnings[:3])
    assert ["line 2 " in hs.warnings[0], "line 3 " in hs.warnings[1], "line 4 " in hs.warnings[2]] == [True] * 3
    assert "4 corrupt lines" in hs.warnings[3]


def test_many_corrupt_lines_get_a_summary(hs):
    hs.ensure_dir()
    with open(hs.history_path, "wb") as handle:
        handle.write(b"x\n" * 5 + b'{"id": "ok"}\n')
    assert [e["id"] for e in hs.read_history()] == ["ok"]
    assert len(hs.warnings) == 4
    assert "5 corrupt lines" in hs.warnings[-1]


def test_a_truncated_last_line_does_not_glue_onto_the_next_append(hs):
    hs.append_history({"id": "a"})
    with open(hs.history_path, "ab") as handle:
        handle.write(b'{"id": "half')
    hs.append_history({"id": "b"})
    assert [e["id"] for e in hs.read_history()] == ["a", "b"]
    assert open(hs.history_path, "rb").read().endswith(b'{"id": "half\n{"id":"b"}\n')


def test_history_on_an_empty_file(hs):
    hs.ensure_dir()
    open(hs.history_path, "wb").close()
    hs.append_history({"id": "a"})
    assert open(hs.history_path, "rb").read() == b'{"id":"a"}\n'


def test_history_read_error_is_a_state_error(hs):
    hs.ensure_dir()
    os.mkdir(hs.history_path)  # a directory where the file should be
    with pytest.raises(StateError, match="cannot read the release history"):
        hs.read_history()
    with pytest.raises(StateError, match="cannot record the release"):
        hs.append_history({"id": "a"})


# ------------------------------------------------------------------- state


def test_missing_state_is_empty(hs):
    assert hs.read_state() == empty_state()
    assert hs.warnings == []


def test_write_then_read_state(hs):
    state = empty_state()
    state["current"]["core"] = {"version": "1.5.0"}
    state["managed"]["env"]["CORE_VERSION"] = "1.5.0"
    hs.write_state(state)
    assert hs.read_state() == state
    assert open(hs.state_path).read().endswith("}\n")


def test_old_state_gets_the_missing_keys(hs):
    hs.ensure_dir()
    with open(hs.state_path, "w") as handle:
        json.dump({"format": 1, "managed": {}, "current": {"core": {"version": "1.4.2"}}}, handle)
    state = hs.read_state()
    assert state["managed"] == {"env": {}, "pins": {}}
    assert state["verified"] == {} and state["bad"] == {}
    assert state["current"]["core"]["version"] == "1.4.2"


@pytest.mark.parametrize("content", ["{broken", "[1, 2]", "", "null", '"text"', "\xff"])
def test_corrupt_state_reads_as_empty_with_a_warning(hs, content):
    hs.ensure_dir()
    with open(hs.state_path, "w", encoding="latin-1") as handle:
        handle.write(content)
    assert hs.read_state() == empty_state()
    assert len(hs.warnings) == 1
    assert "unreadable" in hs.warnings[0] and hs.state_path in hs.warnings[0] and "history is kept" in hs.warnings[0]


@pytest.mark.parametrize("key", ["managed", "current", "verified", "bad"])
@pytest.mark.parametrize("value", [None, [], "x"])
def test_state_with_a_key_of_the_wrong_shape(hs, key, value):
    hs.ensure_dir()
    with open(hs.state_path, "w") as handle:
        json.dump({"format": 1, key: value, "current": {"core": {"version": "1.4.2"}}} if key != "current"
                  else {"format": 1, key: value}, handle)
    state = hs.read_state()
    assert state[key] == empty_state()[key]
    assert state["managed"] == {"env": {}, "pins": {}}
    assert len(hs.warnings) == 1 and repr(key) in hs.warnings[0]


def test_state_with_managed_parts_of_the_wrong_shape(hs):
    hs.ensure_dir()
    with open(hs.state_path, "w") as handle:
        json.dump({"managed": {"env": None, "pins": {"core": {"file": "f", "value": "v"}}}}, handle)
    assert hs.read_state()["managed"] == {"env": {}, "pins": {"core": {"file": "f", "value": "v"}}}


def test_write_state_is_atomic(hs, monkeypatch):
    first = empty_state()
    first["current"]["core"] = {"version": "1.4.2"}
    hs.write_state(first)
    before = open(hs.state_path).read()

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    second = empty_state()
    second["current"]["core"] = {"version": "1.5.0"}
    with pytest.raises(StateError, match="no space left on device"):
        hs.write_state(second)
    monkeypatch.undo()
    assert open(hs.state_path).read() == before
    assert sorted(os.listdir(hs.dir)) == ["state.json"]  # no temporary file left behind


def test_write_state_replaces_by_rename(hs):
    hs.write_state(empty_state())
    inode = os.stat(hs.state_path).st_ino
    hs.write_state(dict(empty_state(), current={"core": {"version": "1.5.0"}}))
    assert os.stat(hs.state_path).st_ino != inode
    assert mode(hs.state_path) == 0o600


def test_now_iso():
    assert _state.now_iso(0) == "1970-01-01T00:00:00Z"
    assert _state.now_iso(1700000000.9) == "2023-11-14T22:13:20Z"


def test_annotate_lock_adds_to_our_lock_in_place(hs):
    hs.acquire(INFO, ttl=60)
    inode = os.stat(hs.lock_path).st_ino
    hs.annotate_lock("run-1", pending={"pins": {"core": {"file": "f", "value": "x"}}})
    lock = json.loads(open(hs.lock_path).read())
    assert lock["pending"]["pins"]["core"]["value"] == "x" and lock["owner"] == "alice"
    assert "stale" not in lock and "alive" not in lock
    assert os.stat(hs.lock_path).st_ino == inode  # no temporary file: works on a full disk
    with pytest.raises(StateError, match="not ours"):
        hs.annotate_lock("run-2", pending={})


def test_loose_modes_of_existing_files_are_tightened(hs):
    hs.ensure_dir()
    for path in (hs.history_path, hs.state_path):
        with open(path, "w") as handle:
            handle.write("{}\n" if path == hs.state_path else "")
        os.chmod(path, 0o666)  # noqa: S103 - the loose mode under test
    hs.append_history({"id": "x"})
    hs.write_state(empty_state())
    assert mode(hs.history_path) == 0o600 and mode(hs.state_path) == 0o600
