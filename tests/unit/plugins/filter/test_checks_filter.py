# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smoke_problems: the smoke role's verdict (the logic is _checks.smoke_problems, tested there)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.aegee.deploy.plugins.filter.checks import FilterModule, smoke_problems

INFO = {"services": {"core": {"container": {"state": "running", "health": "healthy", "status": "Up"},
                              "healthcheck": {"url": "http://h/healthcheck", "error": None, "version": "1.4.2"},
                              "healthcheck_version": "1.4.2", "pinned_version": "1.5.0"}}}


def test_registered():
    assert FilterModule().filters() == {"smoke_problems": smoke_problems}


@pytest.mark.parametrize(("require", "problems"), [(True, ["core: answers 1.4.2, pinned 1.5.0"]), ("yes", [
    "core: answers 1.4.2, pinned 1.5.0"]), (False, []), ("false", [])])
def test_smoke_problems(require, problems):
    assert smoke_problems(INFO, ["core"], require) == problems


@pytest.mark.parametrize(
    ("info", "services", "require", "message"),
    [
        ("core", ["core"], True, "expects the registered result of aegee.deploy.release_info"),
        (INFO, "core", True, "services must be a list of service names"),
        (INFO, ["core"], "maybe", "require_pinned_version must be a boolean"),
    ],
)
def test_misuse(info, services, require, message):
    with pytest.raises(AnsibleFilterError, match=message):
        smoke_problems(info, services, require)
