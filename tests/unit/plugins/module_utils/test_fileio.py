# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Atomic writes: owner/mode kept, failures leave the original and no temp file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _fileio
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write


def listing(directory):
    return sorted(os.listdir(directory))


def test_replaces_content_and_keeps_mode(tmp_path):
    target = tmp_path / "docker-compose.yml"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o640)
    assert atomic_write(str(target), b"new\n") is None
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert listing(tmp_path) == ["docker-compose.yml"]


def test_str_is_written_as_utf8(tmp_path):
    target = tmp_path / "f"
    atomic_write(str(target), "é\n")
    assert target.read_bytes() == "é\n".encode()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_keeps_owner_and_group(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    os.chown(target, 1234, 4321)
    os.chmod(target, 0o600)
    atomic_write(str(target), b"new")
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 4321, 0o600)


def test_symlink_target_is_replaced_and_link_kept(tmp_path):
    real = tmp_path / "real.yml"
    real.write_bytes(b"old")
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    atomic_write(str(link), b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_backup(tmp_path):
    target = tmp_path / "f.yml"
    target.write_bytes(b"old")
    os.chmod(target, 0o604)
    backup = atomic_write(str(target), b"new", backup=True)
    assert backup and os.path.dirname(backup) == str(tmp_path)
    assert os.path.basename(backup).startswith("f.yml.%d." % os.getpid())
    with open(backup, "rb") as handle:
        assert handle.read() == b"old"
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o604
    assert target.read_bytes() == b"new"


def test_no_backup_for_a_new_file(tmp_path):
    assert atomic_write(str(tmp_path / "new"), b"x", backup=True) is None
    assert listing(tmp_path) == ["new"]


@pytest.mark.parametrize("failing", ["write", "fsync", "replace", "chmod"])
def test_failure_leaves_original_and_no_temp_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "f"
    target.write_bytes(b"original")

    def boom(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_fileio.os, failing, boom)
    with pytest.raises(FileWriteError, match=r"could not write .*f \(left unchanged\): no space left on device"):
        atomic_write(str(target), b"new content" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"original"
    assert listing(tmp_path) == ["f"]


def test_unwritable_directory(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"original")

    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_fileio.tempfile, "mkstemp", refuse)
    with pytest.raises(FileWriteError, match=r"cannot create a temporary file in .*: Permission denied"):
        atomic_write(str(target), b"new")
    assert target.read_bytes() == b"original"


def test_owner_that_cannot_be_kept_is_an_error(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"original")
    monkeypatch.setattr(_fileio.os, "geteuid", lambda: 99999)

    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(_fileio.os, "chown", refuse)
    with pytest.raises(FileWriteError, match=r"cannot keep owner"):
        atomic_write(str(target), b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"original"
    assert listing(tmp_path) == ["f"]


def test_refuses_non_regular_file(tmp_path):
    with pytest.raises(FileWriteError, match=r"not a regular file"):
        atomic_write(str(tmp_path), b"x")


def test_real_full_disk():
    """/dev/full-like failure on a real filesystem, when a tiny tmpfs can be mounted (root, not in every container)."""
    import shutil
    import subprocess
    import tempfile

    mountpoint = tempfile.mkdtemp()
    try:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mountpoint], capture_output=True, check=False
        )
        if proc.returncode != 0:
            pytest.skip("cannot mount a small tmpfs here: " + proc.stderr.decode(errors="replace").strip())
        try:
            target = os.path.join(mountpoint, "docker-compose.yml")
            with open(target, "wb") as handle:
                handle.write(b"original\n")
            with pytest.raises(FileWriteError, match=r"no space left on device"):
                atomic_write(target, b"x" * (256 * 1024))
            with open(target, "rb") as handle:
                assert handle.read() == b"original\n"
            assert os.listdir(mountpoint) == ["docker-compose.yml"]
        finally:
            subprocess.run(["umount", mountpoint], check=False)
    finally:
        shutil.rmtree(mountpoint, ignore_errors=True)
