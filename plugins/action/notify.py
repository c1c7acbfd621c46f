# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``notify`` action: tell the run's notification targets how the release went, never failing it.

Slack and Mattermost through community.general's modules, Matrix and the
generic webhook through ansible.builtin.uri (Matrix's module needs a Python
library that is no longer maintained: see docs/operations.md), each run as a
module from here with a short timeout. A target that fails is a warning naming
its type and name, never its URL or token. The documentation is
``plugins/modules/notify.py``.
"""

from __future__ import annotations

import uuid

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.aegee.deploy.plugins.plugin_utils import _notify


def argument_spec():
    """The options of ``notify`` (documented in ``plugins/modules/notify.py``)."""
    return dict(
        targets=dict(type="list", elements="raw", default=[]),
        records=dict(type="list", elements="dict", required=True),
        status_url=dict(type="str"),
        timeout=dict(type="int", default=5),
    )


def module_call(target, text, payload, timeout):
    """``(module name, its arguments)`` that send ``text`` (``payload`` for a webhook) to ``target``."""
    kind = target["type"]
    if kind == "slack":
        args = {"token": target["token"], "msg": text, "username": target.get("username") or "aegee.deploy"}
        if target.get("channel"):
            args["channel"] = target["channel"]
        return "community.general.slack", args
    if kind == "mattermost":
        args = {"url": target["url"].rstrip("/"), "api_key": target["token"], "text": text,
                "username": target.get("username") or "aegee.deploy"}
        if target.get("channel"):
            args["channel"] = target["channel"]
        return "community.general.mattermost", args
    if kind == "matrix":
        url = "%s/_matrix/client/v3/rooms/%s/send/m.room.message/%s" % (
            target["url"].rstrip("/"), target["room"].replace("!", "%21").replace(":", "%3A"), uuid.uuid4().hex)
        return "ansible.builtin.uri", {"url": url, "method": "PUT", "body_format": "json", "timeout": timeout,
                                       "headers": {"Authorization": "Bearer %s" % target["token"]},
                                       "body": {"msgtype": "m.text", "body": text}}
    headers = dict(target.get("headers") or {})
    if target.get("token"):
        headers["Authorization"] = "Bearer %s" % target["token"]
    return "ansible.builtin.uri", {"url": target["url"], "method": "POST", "body_format": "json", "body": payload,
                                   "timeout": timeout, "headers": headers, "status_code": [200, 201, 202, 204]}


def describe(target, n):
    return "%s target %s" % (target.get("type"), target.get("name") or "#%d" % n)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # a run in check mode sends nothing (it has no events)
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # not used
        try:
            _validation, args = self.validate_argument_spec(argument_spec=argument_spec())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=exc.message)
            return result
        warnings = []
        problems = _notify.target_problems(args["targets"])
        if problems:
            result.update(changed=False, sent=[], warnings=["notifications not sent: %s" % "; ".join(problems)])
            return result
        found = _notify.events(args["records"])
        text, payload = _notify.message(args["records"], args["status_url"])
        sent = []
        for n, target in enumerate(args["targets"]):
            if not _notify.wanted(target, found):
                continue
            name, margs = module_call(target, text, payload, args["timeout"])
            try:
                out = self._execute_module(module_name=name, module_args=margs, task_vars=task_vars)
            except Exception as exc:  # pylint: disable=broad-except  # a notification never fails the release
                out = {"failed": True, "msg": type(exc).__name__}
            if out.get("failed"):
                status = out.get("status") or out.get("status_code") or ""
                why = " (unreachable)" if str(status) == "-1" else " (HTTP %s)" % status if status else ""
                warnings.append("could not notify %s%s: the release is not affected" % (describe(target, n), why))
            else:
                sent.append(describe(target, n))
        result.update(changed=False, sent=sent, events=found)
        if warnings:
            result["warnings"] = warnings
        return result
