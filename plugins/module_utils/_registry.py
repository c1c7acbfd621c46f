# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice. Used by aegee.deploy.image_version_info and the roles.
"""A small client for the OCI distribution (Docker registry v2) API.

Why ``ansible.module_utils.urls.open_url`` and not a registry library:

* it ships with ansible-core, so managed hosts and execution environments need
  no third-party package (``requests``, ``docker``, ``oras``…) to run the
  module;
* it already handles what matters here: proxies from the environment, TLS
  verification (``validate_certs``) with the system CA store, timeouts, and
  headers that are not replayed on redirects (we use that for
  ``Authorization``);
* the part of the protocol we need is small (ping, token, tag list, manifest
  HEAD) and worth owning, because the behaviour operators rely on —
  bounded retries, rate limits, messages a person can act on, secrets kept out
  of every message — is exactly what generic clients leave to the caller.

Image references (see ``parse_reference``):

* ``aegee/core`` is Docker Hub: registry ``registry-1.docker.io``,
  repository ``aegee/core``; ``core`` is ``library/core`` there.
* A first path component with a ``.`` or ``:``, or ``localhost``, names the
  registry: ``localhost:5000/aegee/core``,
  ``registry.example.org:5000/team/app``.
* A ``:tag`` or ``@sha256:…`` suffix is split off into ``tag`` / ``digest``
  (never guessed as part of the repository); callers that want a bare
  repository reject it with ``ImageReference.require_repository_only``.

Registry addresses may carry a scheme (``http://…`` / ``https://…``).
Without one, loopback registries (``localhost``, ``127.0.0.0/8``, ``::1``)
are spoken to over plain HTTP, as the Docker engine does, and every other
registry over HTTPS.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import re
import socket
import threading
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit

from ansible_collections.aegee.deploy.plugins.module_utils import _semver

DOCKER_HUB = "registry-1.docker.io"
DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_ACCEPT = f"{MEDIA_OCI_INDEX}, {MEDIA_DOCKER_MANIFEST_LIST}, {MEDIA_DOCKER_MANIFEST}, {MEDIA_OCI_MANIFEST}"

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "aegee.deploy-registry-client"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*\Z")  # \Z: "$" accepts a final newline
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
_HOST_RE = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?\Z")
_CHALLENGE_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def is_valid_tag(text):
    """True if ``text`` can be an image tag (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``)."""
    return isinstance(text, str) and bool(_TAG_RE.match(text))


class RegistryError(Exception):
    """The one error this module raises.

    ``kind`` is a short machine word (``unreachable``, ``timeout``, ``tls``,
    ``auth``, ``denied``, ``not_found``, ``rate_limited``, ``server``,
    ``protocol``, ``reference``); ``status`` the HTTP status if there was one.
    The message is meant for a person and never contains credentials.
    """

    def __init__(self, message, kind="protocol", status=None, url=None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.url = url

    def __str__(self):
        return self.message


# --------------------------------------------------------------------------
# references


class ImageReference:
    """A parsed image reference: registry host, repository, optional tag/digest."""

    __slots__ = ("digest", "original", "registry", "repository", "scheme", "tag")

    def __init__(self, registry, repository, *, tag=None, digest=None, original=None, scheme=None):
        self.scheme = scheme
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.original = original

    @property
    def is_docker_hub(self):
        return self.registry == DOCKER_HUB

    @property
    def registry_address(self):
        """The registry as RegistryClient wants it (keeps an explicit ``http://``/``https://``)."""
        return f"{self.scheme}://{self.registry}" if self.scheme else self.registry

    @property
    def name(self):
        """``registry/repository`` (no tag, no digest)."""
        return f"{self.registry}/{self.repository}"

    def require_repository_only(self, what="image"):
        """Raise RegistryError if the reference carries a tag or a digest."""
        if self.tag or self.digest:
            suffix = (":" + self.tag) if self.tag else ""
            suffix += ("@" + self.digest) if self.digest else ""
            bare = self.repository if self.is_docker_hub else self.name
            raise RegistryError(
                f"{what} {self.original!r} names a tag or digest ({suffix}): give only the repository "
                f"({bare!r}) and ask for the version separately",
                kind="reference",
            )
        return self

    def __repr__(self):
        return (
            f"ImageReference(registry={self.registry!r}, repository={self.repository!r}, "
            f"tag={self.tag!r}, digest={self.digest!r})"
        )

    def __eq__(self, other):
        return isinstance(other, ImageReference) and (
            (self.registry, self.repository, self.tag, self.digest)
            == (other.registry, other.repository, other.tag, other.digest)
        )

    def __hash__(self):
        return hash((self.registry, self.repository, self.tag, self.digest))


def _looks_like_registry(component):
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def normalize_registry(registry):
    """``(scheme_or_None, host[:port])`` of a registry address; Docker Hub aliases collapse.

    Accepts ``host``, ``host:port``, ``http(s)://host[:port]`` and a trailing
    ``/`` or ``/v2/``; anything else is refused with a RegistryError.
    """
    if registry is None:
        return None, DOCKER_HUB
    if not isinstance(registry, str):
        raise RegistryError(
            f"registry must be a registry address such as localhost:5000, got {type(registry).__name__}",
            kind="reference",
        )
    text = registry.strip()
    scheme = None
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text)
    if m:
        scheme = m.group(1).lower()
        text = m.group(2)
        if scheme not in ("http", "https"):
            raise RegistryError(f"registry {registry!r}: only http:// and https:// are supported", kind="reference")
    text = text.rstrip("/")
    if text.endswith("/v2"):
        text = text[: -len("/v2")]
    if not text or not _HOST_RE.match(text):
        raise RegistryError(
            f"registry {registry!r} is not a registry address (expected host, host:port or https://host:port)",
            kind="reference",
        )
    host = text.lower()
    if host in DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
    return scheme, host


def parse_reference(image, default_registry=None):
    """Parse an image reference into an ImageReference.

    The registry named in ``image`` wins over ``default_registry``; without
    either it is Docker Hub. Raises RegistryError (kind ``reference``) with a
    message saying what is wrong.
    """
    if not isinstance(image, str) or not image.strip():
        raise RegistryError(f"image must be a repository such as aegee/core, got {image!r}", kind="reference")
    original = image
    rest = image.strip()
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise RegistryError(
                f"image {original!r}: {digest!r} is not a digest (expected sha256: followed by 64 hex digits)",
                kind="reference",
            )
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise RegistryError(f"image {original!r}: {tag!r} is not a valid tag", kind="reference")
    parts = rest.split("/", 1)
    if len(parts) == 2 and _looks_like_registry(parts[0]):
        registry_part, repository = parts
        try:
            scheme, registry = normalize_registry(registry_part)
        except RegistryError as exc:
            raise RegistryError(f"image {original!r}: {exc}", kind="reference") from None
    else:
        repository = rest
        scheme, registry = normalize_registry(default_registry)
    if registry == DOCKER_HUB and repository and "/" not in repository:
        repository = "library/" + repository
    if not _REPOSITORY_RE.match(repository or ""):
        raise RegistryError(
            f"image {original!r}: {repository!r} is not a valid repository name (lowercase letters, digits and "
            "the separators . _ -, path components joined by /)",
            kind="reference",
        )
    return ImageReference(registry, repository, tag=tag, digest=digest, original=original, scheme=scheme)


def registry_base_url(registry):
    """Base URL (``scheme://host[:port]``) for a registry address (see module docstring for the scheme rule)."""
    scheme, host = normalize_registry(registry)
    if scheme is None:
        scheme = "http" if _is_loopback(host) else "https"
    return f"{scheme}://{host}"


def _is_loopback(hostport):
    host = hostport
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in ("localhost", "::1") or host.startswith("127.")


# --------------------------------------------------------------------------
# headers


def parse_challenge(header):
    """Parse a ``WWW-Authenticate`` header into ``(scheme, {param: value})``.

    Only the first challenge is used (registries send one). Returns
    ``(None, {})`` for an empty header.
    """
    if not header:
        return None, {}
    header = header.strip()
    scheme, _dummy, rest = header.partition(" ")
    params = {}
    for m in _CHALLENGE_PARAM_RE.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def parse_next_link(header, base_url):
    """The absolute URL of ``rel="next"`` in a ``Link`` header, or None."""
    if not header:
        return None
    for m in _LINK_RE.finditer(header):
        target, params = m.group(1), m.group(2)
        for param in params.split(";"):
            key, _dummy, value = param.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').split():
                return urljoin(base_url, target.strip())
    return None


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, parsed.timestamp() - now)


def _error_detail(body, scrub=None):
    """``CODE: message`` from a registry JSON error body, or a short text excerpt.

    ``scrub`` (the client's) removes secrets before the excerpt is cut, so a
    cut can never leave the start of a secret behind.
    """
    if not body:
        return ""
    scrub = scrub or (lambda text: text)
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        text = scrub(body.decode("utf-8", "replace")).strip()
        return text[:200]
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        out = []
        for err in errors[:3]:
            if isinstance(err, dict):
                out.append(": ".join(scrub(str(x)) for x in (err.get("code"), err.get("message")) if x))
        return "; ".join(x for x in out if x)
    if isinstance(data, dict):
        for key in ("details", "message", "error"):
            if isinstance(data.get(key), str):
                return scrub(data[key])[:200]
    return ""


class _Response:
    """What we keep of an HTTP answer: status, headers (case-insensitive), body, final URL."""

    __slots__ = ("body", "headers", "status", "url")

    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    def header(self, name):
        if self.headers is None:
            return None
        return self.headers.get(name)


class _Credentials:
    """Username and password, kept out of repr() and str()."""

    __slots__ = ("_password", "username")

    def __init__(self, username, password):
        self.username = username
        self._password = password

    def basic_header(self):
        raw = ("{}:{}".format(self.username, self._password or "")).encode("utf-8")
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self):
        return [s for s in (self._password,) if s]

    def __repr__(self):
        return f"_Credentials(username={self.username!r}, password=<hidden>)"

    __str__ = __repr__


# --------------------------------------------------------------------------
# client


class _RegistryHttp:
    """HTTP to one registry, the part of the client below the registry API.

    Bounded retries on 429 and 5xx, timeouts and TLS failures said plainly, every
    error status turned into a :class:`RegistryError` of its kind, and no
    credential or token ever in a message.
    """

    def __init__(
        self,
        registry=None,
        *,
        username=None,
        password=None,
        validate_certs=True,
        timeout=30,
        retries=3,
        backoff=1.0,
        max_wait=60.0,
        sleep=None,
    ):
        self.base_url = registry_base_url(registry)
        self.registry = normalize_registry(registry)[1]
        self._creds = _Credentials(username, password) if username else None
        if password and not username:
            raise RegistryError("a password was given without a username", kind="auth")
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep or time.sleep
        self._tokens = {}  # scope -> token (secrets too: scrubbed from messages)
        self.requests = 0  # number of HTTP requests sent (for tests and diagnostics)
        self.token_requests = 0  # of which to the token service
        # lookups may run in threads: one ping, one token per scope, and the counters stay right
        self._lock = threading.Lock()
        self._scope_locks = {}

    # ---------------------------------------------------------------- safety

    def _scrub(self, text):
        """Remove anything secret from a message (defence in depth)."""
        if text is None:
            return text
        text = str(text)
        secrets = list(self._creds.secrets()) if self._creds else []
        if self._creds:
            secrets.append(self._creds.basic_header().split(" ", 1)[1])
        secrets.extend(self._tokens.values())
        secrets = [s for s in secrets if s and len(s) >= 3]
        for secret in secrets:
            text = text.replace(secret, "********")
        if any(secret in text for secret in secrets):
            # the mask itself completed a secret (one made of '*'s): say nothing rather than leak it
            return "(message withheld: it contained a credential)"
        return text

    def _key_lock(self, key):
        """The lock of one thing done once per client (the ping, each scope's token)."""
        with self._lock:
            return self._scope_locks.setdefault(key, threading.Lock())

    def _error(self, message, kind, status=None, url=None):
        return RegistryError(self._scrub(message), kind=kind, status=status, url=self._scrub(url))

    # ------------------------------------------------------------------ http

    def _send_once(self, method, url, headers):
        # imported here: these cost ~90 ms to import, and what only parses references (the controller's input
        # checks, loaded by every task that uses one of this collection's filters) never sends a request
        import ssl  # noqa: PLC0415 pylint: disable=import-outside-toplevel
        from http.client import HTTPException  # noqa: PLC0415 pylint: disable=import-outside-toplevel

        from ansible.module_utils.urls import open_url  # noqa: PLC0415 pylint: disable=import-outside-toplevel

        with self._lock:
            self.requests += 1
        try:
            resp = open_url(
                url,
                method=method,
                headers=headers,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                http_agent=USER_AGENT,
                follow_redirects="safe",
                unredirected_headers=["Authorization"],
                use_netrc=False,
            )
        except HTTPError as e:
            try:
                body = e.read()
            except (OSError, HTTPException):
                body = b""
            return _Response(e.code, e.headers, body, url)
        except (socket.timeout, TimeoutError):
            raise self._timeout_error(method, url) from None
        except URLError as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise self._timeout_error(method, url) from None
            if isinstance(reason, ssl.SSLError) or "CERTIFICATE" in str(reason).upper():
                raise self._tls_error(url, reason) from None
            raise self._error(
                f"registry {self.registry} is unreachable ({method} {url}): {reason}",
                kind="unreachable",
                url=url,
            ) from None
        except ssl.SSLError as e:
            raise self._tls_error(url, e) from None
        except (OSError, HTTPException) as e:
            raise self._error(
                f"registry {self.registry} is unreachable ({method} {url}): {e}",
                kind="unreachable",
                url=url,
            ) from None
        try:
            body = resp.read() if method != "HEAD" else b""
        except (socket.timeout, TimeoutError):
            raise self._timeout_error(method, url) from None
        finally:
            resp.close()
        status = getattr(resp, "status", None) or resp.getcode()
        return _Response(status, resp.headers, body, resp.geturl() or url)

    def _timeout_error(self, method, url):
        return self._error(
            f"registry {self.registry} did not answer within {self.timeout} seconds ({method} {url}); "
            "check that the registry is up, or raise timeout",
            kind="timeout",
            url=url,
        )

    def _tls_error(self, url, reason):
        return self._error(
            f"TLS error talking to registry {self.registry} ({url}): {reason}. If the registry uses a private CA, "
            "install that CA on the host (or set validate_certs=false for a registry you trust); if it speaks plain "
            f"HTTP, write the registry as http://{self.registry}",
            kind="tls",
            url=url,
        )

    def _send(self, method, url, headers):
        """Send with bounded retries on 429/5xx."""
        attempt = 0
        while True:
            resp = self._send_once(method, url, headers)
            if resp.status not in RETRY_STATUSES or attempt >= self.retries:
                return resp
            wait = self.backoff * (2**attempt)
            retry_after = parse_retry_after(resp.header("Retry-After"))
            if retry_after is not None:
                wait = max(wait, retry_after)
            wait = min(wait, self.max_wait)
            self._sleep(wait)
            attempt += 1

    def _raise_for_status(self, resp, method, url, what):
        status = resp.status
        detail = _error_detail(resp.body, self._scrub)
        detail = (f" ({detail})") if detail else ""
        if status == 429:
            raise self._error(
                f"registry {self.registry} is rate limiting requests (HTTP 429) for {what}, still after "
                f"{self.retries} retries{detail}; wait and retry, raise retries, or authenticate for a higher limit",
                kind="rate_limited",
                status=status,
                url=url,
            )
        if status >= 500:
            raise self._error(
                f"registry {self.registry} failed with HTTP {status} for {what}, still after {self.retries} "
                f"retries{detail}; the registry is having problems, try again later",
                kind="server",
                status=status,
                url=url,
            )
        if status == 404:
            raise self._error(
                f"{what}: not found on registry {self.registry} (HTTP 404){detail}; check the image name",
                kind="not_found",
                status=status,
                url=url,
            )
        if status == 401:
            if self._creds:
                msg = (
                    f"registry {self.registry} refused the credentials of user {self._creds.username!r} for {what} "
                    f"(HTTP 401){detail}; check username and password"
                )
            else:
                msg = (
                    f"registry {self.registry} requires authentication for {what} (HTTP 401){detail}; "
                    "give username and password"
                )
            raise self._error(msg, kind="auth", status=status, url=url)
        if status == 403:
            raise self._error(
                f"registry {self.registry} denied access to {what} (HTTP 403){detail}; the user needs pull permission",
                kind="denied",
                status=status,
                url=url,
            )
        raise self._error(
            f"registry {self.registry} answered HTTP {status} to {method} {url}{detail}",
            kind="protocol",
            status=status,
            url=url,
        )


class RegistryClient(_RegistryHttp):
    """Read-only client for one registry.

    ``registry`` is a registry address (``localhost:5000``,
    ``https://registry.example.org``; None = Docker Hub). Authentication is
    discovered from the registry's ``GET /v2/`` challenge:

    * ``Bearer`` — a token is fetched from the challenge's ``realm`` with
      ``service`` and the repository ``scope`` (``repository:NAME:pull``),
      anonymously or with HTTP basic credentials against the realm; the
      answer's ``token`` or ``access_token`` is sent as ``Authorization:
      Bearer …``. Tokens are cached per scope for the life of the client: one
      token request per scope, also when lookups run in threads.
    * ``Basic`` — the credentials are sent with every request.

    Retries: 429 and 5xx answers are retried up to ``retries`` times with
    exponential backoff (``backoff`` * 2^attempt seconds), honouring
    ``Retry-After`` up to ``max_wait`` seconds.
    """

    def __init__(self, registry=None, *, page_size=100, **options):
        super().__init__(registry, **options)
        self.page_size = page_size
        self._challenge = None  # (scheme, params) after ping()

    def __repr__(self):
        return f"RegistryClient(base_url={self.base_url!r}, username={self._creds.username if self._creds else None!r})"

    # ------------------------------------------------------------------ auth

    def ping(self):
        """``GET /v2/``: learn the authentication challenge. Returns the scheme (None, 'bearer', 'basic')."""
        url = self.base_url + "/v2/"
        resp = self._send("GET", url, {})
        if resp.status == 200:
            self._challenge = (None, {})
        elif resp.status == 401:
            scheme, params = parse_challenge(resp.header("WWW-Authenticate"))
            if scheme not in ("bearer", "basic"):
                raise self._error(
                    f"registry {self.registry} asks for an unsupported authentication scheme {scheme!r}",
                    kind="auth",
                    status=401,
                    url=url,
                )
            self._challenge = (scheme, params)
        elif resp.status == 404:
            raise self._error(
                f"{self.base_url} does not speak the registry v2 API (GET /v2/ answered 404); "
                "check the registry address",
                kind="protocol",
                status=404,
                url=url,
            )
        else:
            self._raise_for_status(resp, "GET", url, "the registry API (GET /v2/)")
        return self._challenge[0]

    def _fetch_token(self, params, scope):
        realm = params.get("realm")
        if not realm:
            raise self._error(
                f"registry {self.registry} sent a Bearer challenge without a realm; cannot get a token",
                kind="auth",
            )
        # a second thread asking for the same scope waits for the first one's token
        with self._key_lock("token " + scope):
            if scope in self._tokens:
                return self._tokens[scope]
            return self._new_token(params, scope, realm)

    def _new_token(self, params, scope, realm):
        with self._lock:
            self.token_requests += 1
        query = []
        if params.get("service"):
            query.append(("service", params["service"]))
        if scope:
            query.append(("scope", scope))
        if self._creds:
            query.append(("account", self._creds.username))
        url = realm + ("&" if "?" in realm else "?") + urlencode(query) if query else realm
        headers = {"Accept": "application/json"}
        if self._creds:
            headers["Authorization"] = self._creds.basic_header()
        realm_host = urlsplit(realm).netloc or realm
        resp = self._send("GET", url, headers)
        what = f"a token from {realm_host}"
        if resp.status == 401:
            if self._creds:
                raise self._error(
                    f"token service {realm_host} refused the credentials of user {self._creds.username!r} "
                    "(HTTP 401); check username and password",
                    kind="auth",
                    status=401,
                    url=realm,
                )
            raise self._error(
                f"token service {realm_host} requires credentials for {scope or 'the registry'} (HTTP 401); "
                "give username and password",
                kind="auth",
                status=401,
                url=realm,
            )
        if resp.status != 200:
            self._raise_for_status(resp, "GET", realm, what)
        try:
            data = json.loads(resp.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise self._error(
                f"token service {realm_host} did not answer with JSON; is the realm {realm} right?",
                kind="auth",
                url=realm,
            ) from None
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
        if not token or not isinstance(token, str):
            raise self._error(
                f"token service {realm_host} answered without a token (neither 'token' nor 'access_token')",
                kind="auth",
                url=realm,
            )
        self._tokens[scope] = token
        return token

    def _auth_headers(self, scope):
        if self._challenge is None:
            with self._key_lock("ping"):  # one ping, even from several threads
                if self._challenge is None:
                    self.ping()
        scheme, params = self._challenge
        if scheme == "bearer":
            return {"Authorization": "Bearer " + self._fetch_token(params, scope)}
        if scheme == "basic":
            if not self._creds:
                raise self._error(
                    f"registry {self.registry} requires authentication (HTTP basic); give username and password",
                    kind="auth",
                    status=401,
                )
            return {"Authorization": self._creds.basic_header()}
        return {}

    def _request(self, method, url, repository, accept=None, what=None):
        """Send an authenticated request for ``repository``.

        A 401 carrying a challenge is answered once: a fresh token for the
        challenge's scope (Bearer; covers registries whose ``/v2/`` is open and
        expired tokens), or the credentials (Basic). A second 401 is an error.
        """
        scope = f"repository:{repository}:pull"
        headers = dict(self._auth_headers(scope))
        if accept:
            headers["Accept"] = accept
        resp = self._send(method, url, headers)
        if resp.status != 401:
            return resp
        scheme, params = parse_challenge(resp.header("WWW-Authenticate"))
        if scheme == "bearer" and params.get("realm"):
            new_scope = params.get("scope") or scope
            self._tokens.pop(new_scope, None)
            self._challenge = ("bearer", params)
            headers["Authorization"] = "Bearer " + self._fetch_token(params, new_scope)
            resp = self._send(method, url, headers)
            if resp.status == 401:
                # A token was granted but does not open the repository: on Docker
                # Hub that is how an unknown or private repository looks.
                who = f"user {self._creds.username!r}" if self._creds else "anonymous access"
                detail = _error_detail(resp.body, self._scrub)
                raise self._error(
                    f"registry {self.registry} refused {what or url} (HTTP 401{', ' + detail if detail else ''}): "
                    f"repository {repository} does not exist or {who} has no pull access to it",
                    kind="denied" if self._creds else "auth",
                    status=401,
                    url=url,
                )
        elif scheme == "basic" and self._creds and headers.get("Authorization") != self._creds.basic_header():
            self._challenge = ("basic", params)
            headers["Authorization"] = self._creds.basic_header()
            resp = self._send(method, url, headers)
        return resp

    # ------------------------------------------------------------------- API

    def list_tags(self, repository, max_pages=1000):
        """All tags of ``repository``, in the order the registry lists them (pagination followed)."""
        url = f"{self.base_url}/v2/{repository}/tags/list?{urlencode({'n': self.page_size})}"
        tags = []
        seen = set()
        what = f"tag list of {repository}"
        for _page in range(max_pages):
            if url in seen:
                raise self._error(
                    f"registry {self.registry} sent a pagination loop for {what} ({url} seen twice)",
                    kind="protocol",
                )
            seen.add(url)
            resp = self._request("GET", url, repository, accept="application/json", what=what)
            if resp.status == 404:
                detail = _error_detail(resp.body, self._scrub)
                raise self._error(
                    f"repository {repository} not found on registry {self.registry} "
                    f"(HTTP 404{', ' + detail if detail else ''}); check the image name",
                    kind="not_found",
                    status=404,
                    url=url,
                )
            if resp.status != 200:
                self._raise_for_status(resp, "GET", url, what)
            try:
                data = json.loads(resp.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise self._error(
                    f"registry {self.registry} answered the {what} with something that is not JSON",
                    kind="protocol",
                    url=url,
                ) from None
            page = data.get("tags") if isinstance(data, dict) else None
            if page is None:
                page = []
            if not isinstance(page, list):
                raise self._error(
                    f"registry {self.registry} answered the {what} with 'tags' that is not a list",
                    kind="protocol",
                    url=url,
                )
            tags.extend(t for t in page if isinstance(t, str))
            next_url = parse_next_link(resp.header("Link"), url)
            if not next_url:
                break
            url = next_url
        else:
            raise self._error(
                f"registry {self.registry} returned more than {max_pages} pages for the {what}; giving up",
                kind="protocol",
            )
        # de-duplicate, keeping the registry's order
        out = []
        known = set()
        for t in tags:
            if t not in known:
                known.add(t)
                out.append(t)
        return out

    def manifest_digest(self, repository, reference, missing_ok=False):
        """Digest of the manifest ``reference`` (tag or digest) points to, as the registry would serve it.

        HEAD with an Accept header for Docker v2 manifests, Docker manifest
        lists, OCI manifests and OCI indexes, so multi-arch images give the
        digest of the list/index (what ``docker pull`` records). Uses
        ``Docker-Content-Digest``; when a registry omits it, GETs the manifest
        and hashes the body (sha256). Returns None for an unknown tag when
        ``missing_ok``.
        """
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        what = f"manifest {repository}:{reference}"
        resp = self._request("HEAD", url, repository, accept=MANIFEST_ACCEPT, what=what)
        if resp.status == 405:  # some registries do not allow HEAD on manifests
            resp = self._request("GET", url, repository, accept=MANIFEST_ACCEPT, what=what)
        if resp.status == 404:
            if missing_ok:
                return None
            raise self._error(
                f"{what} not found on registry {self.registry} (HTTP 404); the tag does not exist",
                kind="not_found",
                status=404,
                url=url,
            )
        if resp.status != 200:
            self._raise_for_status(resp, "HEAD", url, what)
        digest = (resp.header("Docker-Content-Digest") or "").strip()
        if digest:
            return digest
        if not resp.body:
            resp = self._request("GET", url, repository, accept=MANIFEST_ACCEPT, what=what)
            if resp.status == 404 and missing_ok:
                return None
            if resp.status != 200:
                self._raise_for_status(resp, "GET", url, what)
        return "sha256:" + hashlib.sha256(resp.body).hexdigest()


# ---------------------------------------------------------------- versions
# Shared by image_version_info and the release planner.


def resolve_latest(client, repository, tags, all_versions, digests):
    """(latest_digest, latest_points_to, latest_message); fills ``digests`` with what it looked up."""
    if "latest" not in tags:
        return None, None, "no latest tag"
    latest_digest = client.manifest_digest(repository, "latest", missing_ok=True)
    if latest_digest is None:
        return None, None, "no latest tag (listed, but the registry has no manifest for it)"
    digests["latest"] = latest_digest
    for version in reversed(all_versions):  # newest first: latest is usually the newest
        digest = client.manifest_digest(repository, version, missing_ok=True)
        digests[version] = digest
        if digest == latest_digest:
            return latest_digest, version, None
    return latest_digest, None, f"latest ({latest_digest}) matches no version tag"


def describe_latest(points_to, latest_version):
    if latest_version is None or points_to == latest_version:
        return f"latest is {points_to} (the newest version)" if latest_version else f"latest is {points_to}"
    if _semver.compare(points_to, latest_version) < 0:
        return f"latest is {points_to}, older than the newest version {latest_version}"
    return f"latest is {points_to}, newer than the newest listed version {latest_version}"


def missing_message(ref, version, tags, nearest, reason=None):
    where = ref.name
    if reason:
        msg = f"cannot resolve version latest of {where}: {reason}"
    else:
        msg = f"version {version} of {where} does not exist"
    if nearest:
        msg += "; nearest existing versions: " + ", ".join(nearest)
    elif tags:
        shown = ", ".join(tags[:10]) + (", …" if len(tags) > 10 else "")
        msg += f"; the repository has no version tags (tags: {shown})"
    else:
        msg += "; the repository has no tags"
    if version[:1] in ("v", "V") and _semver.is_version(version[1:]):
        msg += f" (tags carry versions without a 'v' prefix: try {version[1:]})"
    return msg
