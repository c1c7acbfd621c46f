# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The files a release edits: rendered from the committed text plus the tool's edits."""

from __future__ import annotations

import os

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils._release_files import locate_services, render
from ansible_collections.aegee.deploy.plugins.module_utils._status import read_pins

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "compose", "core-docker-compose.yml")
DIGEST = "sha256:" + "c" * 64


def compose_text():
    with open(FIXTURE) as handle:
        return handle.read()


# -------------------------------------------------------------------- render


def test_render_env_applies_the_managed_values():
    text = "ENABLED_SERVICES=core\nMYAEGEE_ENV=staging\n"
    managed = {"env": {"MYAEGEE_ENV": "production", "NEW": "x y"}, "pins": {}}
    assert render(".env", text, managed) == "ENABLED_SERVICES=core\nMYAEGEE_ENV=production\nNEW='x y'\n"


@pytest.mark.parametrize("managed", [{}, {"env": {}}, {"env": None, "pins": None}])
def test_render_without_edits_is_the_text(managed):
    assert render(".env", "A=1\n", managed) == "A=1\n"
    assert render("core/docker/docker-compose.yml", "services: {}\n", managed) == "services: {}\n"


def test_render_none_is_none():
    assert render(".env", None, {"env": {"A": "1"}}) is None


def test_render_pins_only_the_services_of_that_file():
    text = compose_text()
    managed = {"env": {"A": "1"}, "pins": {
        "core": {"file": "core/docker/docker-compose.yml", "value": "localhost:5000/aegee/core:1.5.0@" + DIGEST},
        "events": {"file": "events/docker/docker-compose.yml", "value": "aegee/events:1.4.2"},
    }}
    out = render("core/docker/docker-compose.yml", text, managed)
    assert out == text.replace("localhost:5000/aegee/core:latest", "localhost:5000/aegee/core:1.5.0@" + DIGEST)
    assert render("events/docker/docker-compose.yml", "services:\n  events:\n    image: aegee/events:1.0.0\n",
                  managed) == "services:\n  events:\n    image: aegee/events:1.4.2\n"
    assert render("other.yml", text, managed) == text


def test_render_is_stable():
    managed = {"pins": {"core": {"file": "c.yml", "value": "localhost:5000/aegee/core:1.5.0@" + DIGEST}}}
    once = render("c.yml", compose_text(), managed)
    assert render("c.yml", once, managed) == once


# ----------------------------------------------------------- locate_services

OVERRIDE = "services:\n  core:\n    image: localhost:5000/aegee/core:override\n"


@pytest.mark.parametrize(
    ("files", "where"),
    [
        (["a.yml", "b.yml"], {"core": "b.yml", "events": "a.yml"}),  # Compose merges: the last image wins
        (["b.yml", "a.yml"], {"core": "a.yml", "events": "a.yml"}),
        (["a.yml", "env.yml"], {"core": "a.yml", "events": "a.yml"}),  # an override without image
        (["base.yml", "a.yml"], {"core": "a.yml", "events": "a.yml"}),
    ],
)
def test_the_release_pins_the_file_whose_image_compose_uses_and_the_status_reads_it(tmp_path, files, where):
    texts = {
        "a.yml": "services:\n  core:\n    image: aegee/core:1.0.0\n  events:\n    image: aegee/events:1.0.0\n",
        "b.yml": OVERRIDE,
        "env.yml": "services:\n  core:\n    environment:\n      A: '1'\n",
        "base.yml": "networks: {}\n",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    assert locate_services(str(tmp_path), files) == where
    pins, warnings = read_pins(str(tmp_path), files, {})
    assert {svc: pin["file"] for svc, pin in pins.items()} == where and warnings == []
