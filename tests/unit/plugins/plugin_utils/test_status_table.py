# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The status report on the controller: rows and table from the hosts' release_info results (and the filters)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.aegee.deploy.plugins.filter import status as status_filters
from ansible_collections.aegee.deploy.plugins.plugin_utils import _status_table
# the hosts' side (collect, and the root fixture in conftest.py) makes the release_info results these tests read
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_status import (
    D_CORE_OLD,
    REG,
    SERVICE,
    URLS,
    FakeHttp,
    collect,
    hc,
    healthy_docker,
    write,
)


def _host(name, env, info, promote_from=None):
    return {"host": name, "environment": env, "promote_from": promote_from, "info": info}


def test_rows_and_table(root):
    staging = collect(root, healthy_docker(), FakeHttp({URLS["core"]: hc("1.5.0"), URLS["events"]: hc("1.4.2")}))
    edited = "%s/core:1.4.2@%s" % (REG, D_CORE_OLD)
    write(os.path.join(root, "core/docker/docker-compose.yml"), SERVICE.format(svc="core", image=edited))
    prod = collect(root, healthy_docker())
    registry = {"core": {"latest_version": "1.6.0", "latest_points_to": "1.5.0"},
                "events": {"failed": True, "msg": "registry down"}}
    hosts = [
        _host("production-1", "production", prod, promote_from="staging"),
        _host("staging-1", "staging", staging),
        _host("production-2", "production", {"unreachable": True, "msg": "ssh: connection refused"},
              promote_from="staging"),
    ]
    rows = status_filters.status_rows(hosts, registry)
    by = {(r["host"], r["service"]): r for r in rows}
    assert [r["host"] for r in rows] == ["production-1", "production-1", "production-2", "staging-1", "staging-1"]
    core = by[("staging-1", "core")]
    assert core["running"] == "1.5.0@" + "c" * 12
    assert core["state"] == "running/healthy" and core["healthcheck"] == "1.5.0"
    assert core["pinned"] == "1.5.0@" + "c" * 12
    assert core["newest"] == "1.6.0(latest=1.5.0)" and core["update_available"] is True
    assert core["verified"] == "yes" and core["drift"] == [] and core["problem"] is False
    assert by[("staging-1", "events")]["held"] == "bad:1.5.0"
    assert by[("staging-1", "events")]["newest"] == "?"
    pcore = by[("production-1", "core")]
    assert pcore["verified"] == "staging:yes"  # staging verified 1.5.0 with this digest
    assert pcore["drift"] and pcore["problem"] is True
    assert pcore["healthcheck"] == "-"  # no URL given
    down = by[("production-2", "-")]
    assert down["problem"] and "ssh: connection refused" in down["drift"][0]

    lines = status_filters.status_table(rows)
    assert lines[0].split() == ["ENV", "HOST", "SERVICE", "RUNNING", "STATE", "HEALTHCHECK", "PINNED", "SOURCE",
                                "NEWEST", "VERIFIED", "HELD/BAD", "DRIFT"]
    staging_core = next(line for line in lines if line.startswith("staging") and " core " in line)
    assert "1.5.0@cccccccccccc" in staging_core and staging_core.rstrip().endswith("ok")
    assert any(line.split()[:3] == ["production", "production-1", "core"] and "DRIFT(2)" in line for line in lines)
    assert any("production-1 core: " in line and "edited by hand" in line for line in lines)


def test_rows_verified_unknown_when_source_not_in_play(root):
    prod = collect(root, healthy_docker())
    rows = _status_table.rows([_host("production-1", "production", prod, promote_from="staging")])
    assert {r["verified"] for r in rows} == {"staging:?"}


def test_rows_running_a_bad_version(root):
    info = collect(root, healthy_docker())
    info["services"]["core"]["bad"] = {"1.5.0": {"reason": "x"}}
    row = next(r for r in _status_table.rows([_host("s", "staging", info)]) if r["service"] == "core")
    assert row["held"] == "RUNS-BAD:1.5.0"


def test_filters_reject_wrong_input():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError):
        status_filters.status_rows("staging-1")
    with pytest.raises(AnsibleFilterError):
        status_filters.status_rows([{"info": {}}])
    with pytest.raises(AnsibleFilterError):
        status_filters.status_table({"a": 1})


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ({"submodule": "core", "url": "u", "commit": "4f1c0d9e8a7b" + "0" * 28, "blob": "b"}, "core@4f1c0d9e"),
        ({"submodule": None, "url": "u", "commit": "9a0e11c2b3d4" + "0" * 28, "blob": "b"}, "repo@9a0e11c2"),
        ({"submodule": "core", "commit": None}, "-"),
        (None, "-"),
    ],
)
def test_the_compose_source_column(root, source, text):
    info = collect(root, healthy_docker())
    info["services"]["core"]["source"] = source
    rows = _status_table.rows([_host("staging-1", "staging", info)])
    core = next(r for r in rows if r["service"] == "core")
    assert core["source"] == text and core["source_info"] == source
    line = next(ln for ln in _status_table.table(rows) if " core " in ln)
    assert line.split()[7] == text  # the SOURCE column, after PINNED
