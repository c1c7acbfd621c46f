# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""A service's ``GET /healthcheck``, as the release gate and the status report read it.

Apps answer ``{"success": true, "data": {"name": ..., "version": ...}}``,
static containers ``{"success": true}``; the body is parsed as JSON whatever
its content type (busybox httpd serves it as text).
"""

from __future__ import annotations

import json


def healthcheck(http_get, url, timeout):
    """What ``GET url`` says: status, success, version, error. The body is parsed as JSON whatever its type."""
    info = {"url": url, "status": None, "success": None, "version": None, "error": None}
    try:
        status, body = http_get(url, timeout)
    except Exception as exc:  # noqa: BLE001 - any transport error means: no answer
        info["error"] = "no answer (%s)" % exc
        return info
    info["status"] = status
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        data = None
    if not isinstance(data, dict):
        info["error"] = "HTTP %s, the body is not a JSON object: %r" % (status, (body or "")[:120])
        return info
    info["success"] = data.get("success")
    payload = data.get("data")
    if isinstance(payload, dict) and payload.get("version") is not None:
        info["version"] = str(payload["version"])
    if not 200 <= int(status or 0) < 300:
        info["error"] = "HTTP %s" % status
    elif data.get("success") is not True:
        info["error"] = "success is not true"
    return info
