# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drive compose_pin's main(): results, check mode, diff, backup, failures leave the file alone."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.aegee.deploy.plugins.modules import compose_pin
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import run_main

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "compose", "core-docker-compose.yml")
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def compose(tmp_path):
    path = tmp_path / "docker-compose.yml"
    shutil.copyfile(FIXTURE, path)
    os.chmod(path, 0o640)
    return path


def run(args, expect="exit"):
    return run_main(compose_pin.main, args, expect)


def test_pin_then_idempotent(compose):
    original = compose.read_text()
    result = run({"path": str(compose), "service": "core", "tag": "1.4.2", "_ansible_diff": True})
    assert result["changed"] is True
    assert result["before"] == "localhost:5000/aegee/core:latest"
    assert result["after"] == "localhost:5000/aegee/core:1.4.2"
    assert result["services"] == ["core"]
    assert result["diff"]["before"] == original
    assert result["diff"]["after"] == compose.read_text()
    assert "backup_file" not in result
    assert oct(os.stat(compose).st_mode & 0o777) == "0o640"
    again = run({"path": str(compose), "service": "core", "tag": "1.4.2"})
    assert again["changed"] is False
    assert again["before"] == again["after"] == "localhost:5000/aegee/core:1.4.2"


def test_check_mode_writes_nothing(compose):
    original = compose.read_bytes()
    result = run(
        {"path": str(compose), "service": "core", "tag": "1.4.2", "digest": DIGEST, "_ansible_check_mode": True}
    )
    assert result["changed"] is True
    assert result["after"] == "localhost:5000/aegee/core:1.4.2@" + DIGEST
    assert compose.read_bytes() == original
    assert os.listdir(compose.parent) == ["docker-compose.yml"]


def test_backup(compose):
    original = compose.read_bytes()
    result = run({"path": str(compose), "image": "localhost:5000/aegee/core", "tag": "2.0.0", "backup": True})
    with open(result["backup_file"], "rb") as handle:
        assert handle.read() == original
    assert result["pins"][0]["line"] == 14


@pytest.mark.parametrize(
    "args,pattern",
    [
        ({"service": "nope", "tag": "1"}, r"known services: core, postgres-core"),
        ({"service": "core", "tag": "1.4.2!"}, r"not a valid Docker tag"),
        ({"service": "core", "digest": "sha256:xyz"}, r"not a valid image digest"),
        ({"image": "aegee/events", "tag": "1"}, r"no service in .* uses the image repository 'aegee/events'"),
    ],
)
def test_bad_input_fails_and_leaves_file(compose, args, pattern):
    original = compose.read_bytes()
    result = run(dict(args, path=str(compose)), expect="fail")
    assert pytest.importorskip("re").search(pattern, result["msg"])
    assert compose.read_bytes() == original


@pytest.mark.parametrize(
    "args,pattern",
    [
        ({"tag": "1"}, r"one of the following is required: service, image"),
        ({"service": "core"}, r"one of the following is required: tag, digest"),
        ({"service": "core", "image": "x", "tag": "1"}, r"parameters are mutually exclusive: service\|image"),
    ],
)
def test_option_relations(compose, args, pattern):
    result = run(dict(args, path=str(compose)), expect="fail")
    assert pytest.importorskip("re").search(pattern, result["msg"])


def test_missing_file(tmp_path):
    result = run({"path": str(tmp_path / "nope.yml"), "service": "core", "tag": "1"}, expect="fail")
    assert result["msg"] == f"compose file {tmp_path / 'nope.yml'} does not exist"


def test_write_failure_is_reported_and_file_untouched(compose, monkeypatch):
    from ansible_collections.aegee.deploy.plugins.module_utils import _fileio

    original = compose.read_bytes()

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_fileio.os, "fsync", full)
    result = run({"path": str(compose), "service": "core", "tag": "1"}, expect="fail")
    assert "no space left on device" in result["msg"]
    assert result["changed"] is False
    monkeypatch.undo()
    assert compose.read_bytes() == original
    assert os.listdir(compose.parent) == ["docker-compose.yml"]
