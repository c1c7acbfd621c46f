# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice. Shared by modules (compose pins, version files, release
# history, locks).
"""Atomic file writes that keep the original's owner, group and mode.

``atomic_write(path, data)`` writes ``data`` to a temporary file in the same
directory, flushes and fsyncs it, gives it the original's owner, group and
mode, then renames it over ``path`` and fsyncs the directory. Readers see the
old content or the new content, never a mix; a failure at any step (disk full,
permission denied) leaves the original untouched and removes the temporary
file.

If ``path`` is a symbolic link, the file it points to is replaced and the link
is kept.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import time

DEFAULT_NEW_FILE_MODE = 0o644


class FileWriteError(Exception):
    """A write that did not happen; the original file is unchanged."""


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on dirs
        pass
    finally:
        os.close(fd)


def backup_name(path, now=None):
    """``<path>.<pid>.<YYYY-MM-DD@HH:MM:SS~>``, the naming of Ansible's ``backup_local``."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(now))
    return f"{path}.{os.getpid()}.{stamp}"


def backup_file(path):
    """Copy ``path`` next to itself (content, mode, times, and owner when allowed); return the copy's path.

    The copy is created 0600 and only then given the original's mode, so a
    file with secrets is never readable by others while it is being copied.
    """
    target = os.path.realpath(path)
    dest = backup_name(target)
    created = False
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        created = True
        with os.fdopen(fd, "wb") as copy, open(target, "rb") as original:
            shutil.copyfileobj(original, copy)
        st = os.stat(target)
        try:
            os.chown(dest, st.st_uid, st.st_gid)
        except PermissionError:
            pass  # a backup owned by the caller is still a backup
        shutil.copystat(target, dest)
    except OSError as exc:
        if created:
            try:
                os.unlink(dest)
            except OSError:
                pass
        raise FileWriteError(f"could not back up {path} to {dest}: {exc.strerror or exc}") from None
    return dest


def atomic_write(path, data, backup=False, mode=None):
    """Replace ``path`` with ``data`` (bytes or str, str is written as UTF-8) atomically.

    Owner, group and mode of an existing file are preserved; a new file gets
    ``mode`` (default 0644, set explicitly, not from the umask). With
    ``backup=True`` an existing file is first copied to ``backup_name(path)``.
    Returns the backup's path or None. Raises FileWriteError, leaving the
    original untouched and no temporary file behind.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FileWriteError(f"cannot stat {path}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FileWriteError(f"{path} is not a regular file")

    backup_path = None
    if backup and st is not None:
        backup_path = backup_file(target)

    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as exc:
        raise FileWriteError(
            f"cannot create a temporary file in {directory} to write {path}: {exc.strerror or exc}"
        ) from None
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if st is not None:
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except PermissionError:
                    raise FileWriteError(
                        f"cannot keep owner {st.st_uid}:{st.st_gid} of {path} (running as uid {os.geteuid()}): "
                        "run with become, or fix the owner"
                    ) from None
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            os.chmod(tmp, DEFAULT_NEW_FILE_MODE if mode is None else mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, FileWriteError):
            raise
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            if exc.errno == errno.ENOSPC:
                reason = "no space left on device"
            raise FileWriteError(f"could not write {path} (left unchanged): {reason}") from None
        raise
    _fsync_dir(directory)
    return backup_path


def read_text(path, error=OSError, what="file"):
    """UTF-8 text of ``path``; raises ``error(message)`` for a missing, unreadable or non-UTF-8 file.

    ``what`` names the file in the message ("compose file", "version file").
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory: give the path of the {what} itself") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None
