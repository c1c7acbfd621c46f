# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Driving a module's ``main()`` in-process: exit_json/fail_json raise, warnings are recorded.

``conftest.py`` beside this file applies ``patch_exits`` to every module test.
"""

from __future__ import annotations

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

WARNINGS = []


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def patch_exits(monkeypatch):
    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.update(msg=msg, failed=True)
        raise FailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    # module.warn() goes to the controller's display once controller code is
    # imported in this process (other tests do): record the calls themselves
    WARNINGS.clear()
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: WARNINGS.append(warning))


def run_main(main, args, expect="exit"):
    """Run ``main()`` with ``args``; return the result dict of exit_json (or fail_json with expect='fail')."""
    with patch_module_args(args):
        with pytest.raises(ExitJson if expect == "exit" else FailJson) as exc:
            main()
    return exc.value.args[0]


class _Captured(Exception):
    pass


def argument_spec_of(module, monkeypatch):
    """The argument_spec ``module.main()`` gives AnsibleModule (captured, main() stops there)."""
    captured = {}

    def recorder(*args, **kwargs):
        captured.update(kwargs.get("argument_spec") or args[0])
        raise _Captured

    with monkeypatch.context() as patched, pytest.raises(_Captured):
        patched.setattr(module, "AnsibleModule", recorder)
        module.main()
    return captured
