# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``docker ps`` of one compose project, read by service: shared by the integration and molecule tests.

The integration tests run the command here on the testbed's engine; the
molecule tests run it on a testbed host over SSH (testinfra) and only parse
its output here. molecule/conftest.py imports this file by its folder
(``tests/support`` on ``sys.path``, as molecule's verify step has no
``ansible_collections`` path); tests/ imports it as
``ansible_collections.aegee.deploy.tests.support.docker_ps``.
"""

from __future__ import annotations

import json

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
VERSION_LABEL = "org.opencontainers.image.version"


def ps_argv(project, stopped=True, no_trunc=False):
    """The ``docker ps`` argv listing the project's containers (with the stopped ones), one JSON object a line."""
    argv = ["docker", "ps"]
    if stopped:
        argv.append("-a")
    if no_trunc:
        argv.append("--no-trunc")
    return argv + ["--filter", "label=%s=%s" % (PROJECT_LABEL, project), "--format", "{{json .}}"]


def labels(container):
    """A ``docker ps`` entry's labels (one ``k=v,k=v`` string) as a dict."""
    return dict(kv.split("=", 1) for kv in container["Labels"].split(",") if "=" in kv)


def by_service(out):
    """compose service -> its ``docker ps`` entry, from the command's output (one JSON object a line)."""
    found = {}
    for line in out.splitlines():
        container = json.loads(line)
        found[labels(container).get(SERVICE_LABEL)] = container
    return found
