# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""healthcheck_urls: published ports to /healthcheck URLs."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.filter.healthcheck_urls import FilterModule, healthcheck_urls


@pytest.mark.parametrize(
    ("ports", "kwargs", "expected"),
    [
        (None, {}, {}),
        ({}, {}, {}),
        ({"core": 8084}, {}, {"core": "http://127.0.0.1:8084/healthcheck"}),
        ({"core": "8084", "events": 8085}, {},
         {"core": "http://127.0.0.1:8084/healthcheck", "events": "http://127.0.0.1:8085/healthcheck"}),
        ({"core": 1}, {}, {"core": "http://127.0.0.1:1/healthcheck"}),
        ({"core": 65535}, {}, {"core": "http://127.0.0.1:65535/healthcheck"}),
        ({"core": 8084}, {"address": "127.0.0.2"}, {"core": "http://127.0.0.2:8084/healthcheck"}),
        ({"core": 8084}, {"address": "::1"}, {"core": "http://[::1]:8084/healthcheck"}),
        ({"core": 8084}, {"address": "2001:db8::7"}, {"core": "http://[2001:db8::7]:8084/healthcheck"}),
        ({"core": 8084}, {"address": "[::1]"}, {"core": "http://[::1]:8084/healthcheck"}),
        ({"core": 8084}, {"address": "staging.example.org", "scheme": "https", "path": "/api/health"},
         {"core": "https://staging.example.org:8084/api/health"}),
        ({1: 80}, {}, {"1": "http://127.0.0.1:80/healthcheck"}),
    ],
)
def test_healthcheck_urls(ports, kwargs, expected):
    assert healthcheck_urls(ports, **kwargs) == expected


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        ({"core": "http"}, "port of core is not a number: 'http'"),
        ({"core": ""}, "port of core is not a number: ''"),
        ({"core": None}, "port of core is not a number: None"),
        ({"core": "80.5"}, "port of core is not a number"),
        ({"core": 0}, "port of core is out of range: 0"),
        ({"core": -1}, "port of core is out of range: -1"),
        ({"core": 65536}, "port of core is out of range: 65536"),
        ({"core": "99999"}, "port of core is out of range: '99999'"),
        (["core"], "expects a mapping of service to port, got list"),
        ("core:80", "expects a mapping of service to port, got str"),
    ],
)
def test_bad_ports(ports, message):
    with pytest.raises(AnsibleFilterError) as exc:
        healthcheck_urls(ports)
    assert message in str(exc.value)


def test_registered():
    assert FilterModule().filters()["healthcheck_urls"] is healthcheck_urls
