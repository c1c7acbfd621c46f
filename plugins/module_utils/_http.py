# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""``GET`` from the host, as the checks make it: ``http_get(url, timeout) -> (status, body)``.

An answer is an answer whatever its status: a 404 or a 503 comes back as its
status and body (a check that expects ``status: 404`` must see the 404, and a
failing ``/healthcheck`` shows what it said). Only a request that gets no
answer (refused, timed out, unknown host) raises.
"""

from __future__ import annotations

from urllib.error import HTTPError


def http_get(url, timeout):
    """(status, body as text) of ``GET url``; raises only when nothing answered within ``timeout`` seconds."""
    # imported here: it costs a module ~50 ms to start, and a release that checks nothing (a no-op) never asks
    from ansible.module_utils.urls import open_url  # noqa: PLC0415 pylint: disable=import-outside-toplevel

    try:
        resp = open_url(url, method="GET", timeout=timeout, validate_certs=False, follow_redirects="safe")
        return resp.getcode(), resp.read().decode("utf-8", "replace")
    except HTTPError as exc:
        return exc.code, (exc.read() or b"").decode("utf-8", "replace")
