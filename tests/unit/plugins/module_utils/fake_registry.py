# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small but real HTTP registry (OCI distribution API subset) for unit tests.

It runs ``http.server`` in a thread on 127.0.0.1 and speaks the parts of the
protocol the client uses, with switches for the awkward cases: basic or bearer
auth (with a token endpoint on the same server), pagination with relative or
absolute ``Link`` headers, manifests of the four media types with ``Accept``
negotiation, a missing ``Docker-Content-Digest``, scripted failures (429 with
``Retry-After``, 5xx), and slow answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def manifest(media_type=DOCKER_MANIFEST, seed="x"):
    """A manifest body of ``media_type``; ``seed`` makes different images differ."""
    if media_type in (DOCKER_LIST, OCI_INDEX):
        doc = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    "mediaType": DOCKER_MANIFEST if media_type == DOCKER_LIST else OCI_MANIFEST,
                    "digest": "sha256:" + hashlib.sha256(("%s-%s" % (seed, arch)).encode()).hexdigest(),
                    "size": 100,
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for arch in ("amd64", "arm64")
            ],
        }
    else:
        doc = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 10,
                "digest": "sha256:" + hashlib.sha256(seed.encode()).hexdigest(),
            },
            "layers": [],
        }
    return media_type, json.dumps(doc, indent=3).encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """Clients that give up (timeout tests) are expected; no tracebacks on stderr."""


def digest_of(body):
    return "sha256:" + hashlib.sha256(body).hexdigest()


class FakeRegistry:
    """State and switches; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(
        self,
        auth=None,
        *,
        users=None,
        anonymous_pull=True,
        answer_key="token",
        link_style="relative",
        send_digest=True,
        allow_head=True,
    ):
        self.auth = auth  # None, "basic", "bearer"
        self.users = dict(users or {})
        self.anonymous_pull = anonymous_pull
        self.answer_key = answer_key  # "token" or "access_token"
        self.link_style = link_style  # "relative", "absolute", "quoted-params"
        self.send_digest = send_digest
        self.allow_head = allow_head
        self.repos = {}  # name -> {tag: (media_type, body)}
        self.failures = {}  # path prefix -> list of (status, headers) to answer before the real thing
        self.fail_forever = {}  # path prefix -> status
        self.delay = 0.0
        self.tokens = {}  # token -> (user, set(scopes))
        self.log = []  # (method, path, headers dict)
        self.token_requests = []  # (query dict, user or None)
        self.in_flight = self.most_in_flight = 0  # requests being answered now, and the most at once
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.address = "127.0.0.1:%d" % self.port
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-registry", daemon=True
        )

    # ---------------------------------------------------------------- setup

    def add(self, repo, tag, media_type=DOCKER_MANIFEST, seed=None):
        mt, body = manifest(media_type, seed if seed is not None else "%s:%s" % (repo, tag))
        self.repos.setdefault(repo, {})[tag] = (mt, body)
        return digest_of(body)

    def alias(self, repo, tag, to_tag):
        self.repos[repo][tag] = self.repos[repo][to_tag]
        return digest_of(self.repos[repo][tag][1])

    def fail(self, path_prefix, *answers):
        """Answer the next requests under ``path_prefix`` with ``answers`` (status or (status, headers))."""
        self.failures.setdefault(path_prefix, []).extend(a if isinstance(a, tuple) else (a, {}) for a in answers)

    def requests(self, method=None, prefix=""):
        return [r for r in self.log if (method is None or r[0] == method) and r[1].startswith(prefix)]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------- handler

    def _handler_class(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status, headers=None, body=b"", head=False):
                self.send_response(status)
                headers = dict(headers or {})
                headers.setdefault("Content-Length", str(len(body)))
                headers.setdefault("Docker-Distribution-API-Version", "registry/2.0")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if not head and body:
                    self.wfile.write(body)

            def _json(self, status, data, headers=None, head=False):
                h = {"Content-Type": "application/json"}
                h.update(headers or {})
                self._send(status, h, json.dumps(data).encode(), head=head)

            def _error(self, status, code, message, headers=None, head=False):
                self._json(status, {"errors": [{"code": code, "message": message}]}, headers, head=head)

            def do_GET(self):  # noqa: N802
                self._dispatch("GET")

            def do_HEAD(self):  # noqa: N802
                self._dispatch("HEAD")

            def _basic_user(self):
                auth = self.headers.get("Authorization") or ""
                if not auth.startswith("Basic "):
                    return None, False
                try:
                    user, _sep, pw = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    return None, True
                if registry.users.get(user) == pw:
                    return user, True
                return None, True

            def _dispatch(self, method):
                with registry._lock:
                    registry.in_flight += 1
                    registry.most_in_flight = max(registry.most_in_flight, registry.in_flight)
                try:
                    self._answer(method)
                finally:
                    with registry._lock:
                        registry.in_flight -= 1

            def _answer(self, method):
                path = urlsplit(self.path).path
                with registry._lock:
                    registry.log.append((method, self.path, dict(self.headers.items())))
                if registry.delay:
                    time.sleep(registry.delay)
                head = method == "HEAD"
                for prefix, status in registry.fail_forever.items():
                    if path.startswith(prefix):
                        return self._error(status, "UNAVAILABLE", "failing on purpose", head=head)
                for prefix, queue in registry.failures.items():
                    if path.startswith(prefix) and queue:
                        with registry._lock:
                            status, headers = queue.pop(0)
                        return self._error(
                            status,
                            "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE",
                            "scripted failure",
                            headers,
                            head=head,
                        )
                if path == "/token":
                    return self._token()
                if not path.startswith("/v2/"):
                    return self._send(404, head=head)
                scope = None
                name = None
                rest = path[len("/v2/") :]
                for marker in ("/tags/list", "/manifests/"):
                    if marker in rest:
                        name = rest.partition(marker)[0]
                        scope = "repository:%s:pull" % name
                        break
                if not self._authorized(scope, head):
                    return None
                if path == "/v2/":
                    return self._json(200, {}, head=head)
                if rest.endswith("/tags/list"):
                    return self._tags(name, head)
                if "/manifests/" in rest:
                    if head and not registry.allow_head:
                        return self._send(405, head=True)
                    return self._manifest(name, rest.partition("/manifests/")[2], head)
                return self._error(404, "NOT_FOUND", "unknown path", head=head)

            def _challenge(self, scope, error=None):
                if registry.auth == "basic":
                    return 'Basic realm="fake-registry"'
                value = 'Bearer realm="%s/token",service="fake-registry"' % registry.url
                if scope:
                    value += ',scope="%s"' % scope
                if error:
                    value += ',error="%s"' % error
                return value

            def _authorized(self, scope, head):
                if registry.auth is None:
                    return True
                auth = self.headers.get("Authorization") or ""
                if registry.auth == "basic":
                    user, _sent = self._basic_user()
                    if user:
                        return True
                elif auth.startswith("Bearer "):
                    grant = registry.tokens.get(auth[7:])
                    if grant is not None and (scope is None or scope in grant[1]):
                        return True
                    return self._unauthorized(scope, head, "insufficient scope", "insufficient_scope")
                return self._unauthorized(scope, head, "authentication required")

            def _unauthorized(self, scope, head, message, error=None):
                challenge = {"WWW-Authenticate": self._challenge(scope, error)}
                self._error(401, "UNAUTHORIZED", message, challenge, head=head)
                return False

            def _token(self):
                query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                user, sent = self._basic_user()
                registry.token_requests.append((query, user))
                if sent and not user:
                    return self._json(
                        401,
                        {"details": "incorrect username or password"},
                        {"WWW-Authenticate": 'Basic realm="fake-token"'},
                    )
                if not user and not registry.anonymous_pull:
                    return self._json(
                        401,
                        {"details": "access to the resource requires authentication"},
                        {"WWW-Authenticate": 'Basic realm="fake-token"'},
                    )
                if query.get("service") != "fake-registry":
                    return self._json(400, {"details": "wrong service"})
                scopes = set()
                scope = query.get("scope")
                if scope:
                    name = scope.split(":")[1]
                    if name in registry.repos:  # unknown repos get a token without access (Docker Hub does so)
                        scopes.add(scope)
                token = secrets.token_hex(16)
                registry.tokens[token] = (user, scopes)
                return self._json(200, {registry.answer_key: token, "expires_in": 300})

            def _tags(self, name, head):
                if name not in registry.repos:
                    return self._error(404, "NAME_UNKNOWN", "repository name not known to registry", head=head)
                tags = sorted(registry.repos[name])
                query = parse_qs(urlsplit(self.path).query)
                n = int(query.get("n", ["1000"])[0])
                last = query.get("last", [None])[0]
                if last is not None:
                    tags = [t for t in tags if t > last]
                page, more = tags[:n], len(tags) > n
                headers = {}
                if more:
                    target = "/v2/%s/tags/list?n=%d&last=%s" % (name, n, page[-1])
                    if registry.link_style == "absolute":
                        headers["Link"] = '<%s%s>; rel="next"' % (registry.url, target)
                    elif registry.link_style == "quoted-params":
                        headers["Link"] = '<%s>; type="application/json"; rel=next' % target
                    else:
                        headers["Link"] = '<%s>; rel="next"' % target
                return self._json(200, {"name": name, "tags": page}, headers, head=head)

            def _manifest(self, name, ref, head):
                repo = registry.repos.get(name)
                if repo is None:
                    return self._error(404, "NAME_UNKNOWN", "repository name not known to registry", head=head)
                if ref.startswith("sha256:"):
                    found = [m for m in repo.values() if digest_of(m[1]) == ref]
                    item = found[0] if found else None
                else:
                    item = repo.get(ref)
                if item is None:
                    return self._error(404, "MANIFEST_UNKNOWN", "manifest unknown", head=head)
                media_type, body = item
                accept = [a.split(";")[0].strip() for a in (self.headers.get("Accept") or "").split(",")]
                if media_type not in accept:
                    # the real registry cannot down-convert lists/indexes: answer "unknown" like it does
                    return self._error(404, "MANIFEST_UNKNOWN", "manifest unknown for Accept", head=head)
                headers = {"Content-Type": media_type}
                if registry.send_digest:
                    headers["Docker-Content-Digest"] = digest_of(body)
                return self._send(200, headers, body, head=head)

        return Handler
