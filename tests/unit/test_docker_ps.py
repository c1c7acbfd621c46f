# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/support/docker_ps.py, the ``docker ps`` reader of the integration and molecule tests, without docker."""

from __future__ import annotations

import json

from ansible_collections.aegee.deploy.tests.support.docker_ps import by_service, labels, ps_argv

CORE = {"ID": "c1", "Image": "localhost:5000/aegee/core:1.5.0@sha256:" + "c" * 64, "State": "running",
        "Labels": "com.docker.compose.project=myaegee-staging,com.docker.compose.service=core,"
                  "org.opencontainers.image.version=1.5.0,aegee.note=a=b"}
EVENTS = {"ID": "e1", "Image": "localhost:5000/aegee/events:1.4.2", "State": "exited",
          "Labels": "com.docker.compose.service=events"}


def test_labels_split_at_the_first_equals_sign():
    assert labels(CORE) == {
        "com.docker.compose.project": "myaegee-staging",
        "com.docker.compose.service": "core",
        "org.opencontainers.image.version": "1.5.0",
        "aegee.note": "a=b",
    }
    assert labels({"Labels": ""}) == {}


def test_by_service_reads_one_json_object_a_line():
    out = "\n".join(json.dumps(c) for c in (CORE, EVENTS)) + "\n"
    assert by_service(out) == {"core": CORE, "events": EVENTS}
    assert by_service("") == {}


def test_ps_argv_lists_the_project_with_or_without_stopped_containers():
    tail = ["--filter", "label=com.docker.compose.project=myaegee-staging", "--format", "{{json .}}"]
    assert ps_argv("myaegee-staging") == ["docker", "ps", "-a"] + tail
    assert ps_argv("myaegee-staging", stopped=False) == ["docker", "ps"] + tail
    assert ps_argv("myaegee-staging", no_trunc=True) == ["docker", "ps", "-a", "--no-trunc"] + tail
