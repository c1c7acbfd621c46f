# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host-side HTTP helper against a real HTTP server on 127.0.0.1: every answer is an answer, 2xx or not."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _http
from ansible_collections.aegee.deploy.plugins.modules import compose_release, release_info

PAGES = {
    "/healthcheck": (200, b'{"success":true,"data":{"version":"1.5.0"}}'),
    "/gone": (404, b"no such page"),
    "/down": (503, b'{"success":false}'),
    "/empty": (204, b""),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the name http.server calls
        status, body = PAGES.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/healthcheck", 200, '{"success":true,"data":{"version":"1.5.0"}}'),
        ("/empty", 204, ""),
        ("/gone", 404, "no such page"),
        ("/down", 503, '{"success":false}'),
    ],
)
def test_every_answer_comes_back_with_its_status_and_body(server, path, status, body):
    assert _http.http_get(server + path, 5) == (status, body)


def test_no_answer_raises():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        with pytest.raises(Exception, match="refused"):
            _http.http_get("http://127.0.0.1:%d/healthcheck" % port, 2)


def test_both_modules_use_the_one_helper():
    assert compose_release.http_get is _http.http_get
    assert release_info.http_get is _http.http_get


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        # the defect: a check that expects a 404 could never pass, the 404 came back as "no answer"
        ({"name": "old API is gone", "url": "/gone", "status": 404}, None),
        ({"name": "old API is gone", "url": "/gone", "status": "404", "contains": "no such"}, None),
        ({"name": "maintenance page", "url": "/down", "status": 503}, None),
        ({"name": "api", "url": "/gone"},
         "extra check 'api' failed: GET {server}/gone answered HTTP 404, expected 2xx"),
        ({"name": "api", "url": "/healthcheck", "status": 404},
         "extra check 'api' failed: GET {server}/healthcheck answered HTTP 200, expected 404"),
    ],
)
def test_extra_url_checks_against_a_real_server(server, check, reason):
    check = dict(check, url=server + check["url"])
    params = {"targets": {"core": {"version": "1.5.0"}}, "smoke_urls": {"core": server + "/healthcheck"},
              "extra_checks": [check], "smoke_timeout": 0}
    result = {"services": {"core": {}}}
    failure = _checks.run_release(params, ["core"], result, _http.http_get, None, None)
    assert failure == (reason.format(server=server) if reason else None)
    assert result["services"]["core"]["smoke"] == "ok"
    assert result["extra_checks"][0]["result"] == ("ok" if reason is None else failure.split(" failed: ", 1)[1])


def test_a_failing_healthcheck_shows_what_it_said(server):
    assert _checks.check_healthcheck(_http.http_get, server + "/down", "1.5.0") == "HTTP 503"
