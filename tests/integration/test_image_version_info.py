# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""aegee.deploy.image_version_info against real registries, run through Ansible.

1. The testbed's registry (Debian ``docker-registry``, htpasswd auth on
   127.0.0.1:5000).
2. A second instance of the same registry binary on another loopback port,
   configured for *token* auth, reading the testbed's storage in read-only
   mode, with a small token issuer written here (http.server in a thread) that
   checks basic credentials and signs RS256 JWTs carrying an ``x5c`` chain.
   The registry validates those tokens itself against the ``rootcertbundle``;
   a test proves that forged tokens are refused.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import TESTBED_ROOT, run

REGISTRY_BIN = "/usr/bin/docker-registry"
SERVICE = "aegee-token-test"
ISSUER = "aegee-test-issuer"
EXPECTED_TAGS = {"1.4.1", "1.4.2", "1.5.0", "latest"}


def run_module(args, *extra, check=True):
    """``ansible localhost -m aegee.deploy.image_version_info -a JSON``; returns (proc, result dict)."""
    proc = run(
        ["ansible", "localhost", "-m", "aegee.deploy.image_version_info", "-a", json.dumps(args), *extra],
        check=False,
        env=None,
    )
    if check and proc.returncode != 0:
        raise AssertionError("module failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
    return proc, parse_result(proc.stdout)


def parse_result(stdout):
    """The module result from ``ansible localhost`` output (yaml callback format configured in ansible.cfg)."""
    import yaml  # ansible-core depends on PyYAML

    start = stdout.find("localhost | ")
    assert start >= 0, stdout
    body = stdout[start:].split("=>", 1)[1]
    return yaml.safe_load(body)


def assert_secret_absent(proc, secret):
    assert secret not in proc.stdout, "password leaked to stdout"
    assert secret not in proc.stderr, "password leaked to stderr"


# --------------------------------------------------------------------------
# 1. the testbed registry (htpasswd)


@pytest.mark.parametrize("service", ["core", "events", "mailer", "frontend"])
def test_versions_and_latest_on_testbed_registry(testbed, service):
    proc, result = run_module(
        {
            "image": "aegee/%s" % service,
            "registry": testbed["registry"],
            "username": testbed["username"],
            "password": testbed["password"],
        }
    )
    assert result["changed"] is False
    assert EXPECTED_TAGS <= set(result["tags"])
    assert result["versions"][:3] == ["1.4.1", "1.4.2", "1.5.0"]
    if service == "events":
        assert "1.6.0" in result["versions"]
    assert result["latest_points_to"] == "1.5.0"
    assert result["latest_digest"].startswith("sha256:")
    assert_secret_absent(proc, testbed["password"])


def test_key_value_form_and_vvv_never_print_the_password(testbed):
    # the exact command operators type; -vvv shows module args and the full result
    args = "image=aegee/core registry=localhost:5000 username=deployer password=%s version=1.4.2" % (
        testbed["password"],
    )
    proc = run(["ansible", "localhost", "-m", "aegee.deploy.image_version_info", "-a", args, "-vvv"], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = parse_result(proc.stdout)
    assert result["exists"] is True
    assert result["digest"].startswith("sha256:")
    assert "1.5.0" == result["latest_points_to"]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout or "password" not in proc.stdout
    assert_secret_absent(proc, testbed["password"])


def test_image_reference_names_the_registry(testbed):
    proc, result = run_module(
        {
            "image": "localhost:5000/aegee/core",
            "username": "deployer",
            "password": testbed["password"],
            "version": "latest",
        }
    )
    assert result["version"] == "1.5.0"
    assert result["digest"] == result["latest_digest"]
    assert_secret_absent(proc, testbed["password"])


def test_latest_digest_is_what_the_registry_serves(testbed):
    _proc, result = run_module(
        {
            "image": "aegee/core",
            "registry": "localhost:5000",
            "username": "deployer",
            "password": testbed["password"],
            "version": "1.5.0",
        }
    )
    # ask the registry directly, with the same Accept the engine sends
    req = urllib.request.Request(
        "http://127.0.0.1:5000/v2/aegee/core/manifests/latest",
        method="HEAD",
        headers={
            "Authorization": "Basic " + base64.b64encode(("deployer:%s" % testbed["password"]).encode()).decode(),
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
            "application/vnd.docker.distribution.manifest.list.v2+json, "
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        },
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback
        assert resp.headers["Docker-Content-Digest"] == result["latest_digest"] == result["digest"]


def test_wrong_password_is_a_clear_error(testbed):
    wrong = "Wr0ng-" + secrets.token_hex(6)
    proc, result = run_module(
        {"image": "aegee/core", "registry": "localhost:5000", "username": "deployer", "password": wrong},
        "-vvv",
        check=False,
    )
    assert proc.returncode != 0
    assert "refused the credentials of user 'deployer'" in result["msg"]
    assert "check username and password" in result["msg"]
    assert_secret_absent(proc, wrong)
    assert_secret_absent(proc, testbed["password"])


def test_missing_credentials_is_a_clear_error(testbed):
    proc, result = run_module({"image": "aegee/core", "registry": "localhost:5000"}, check=False)
    assert proc.returncode != 0
    assert "requires authentication" in result["msg"]
    assert "give username and password" in result["msg"]


def test_missing_version_names_nearest(testbed):
    proc, result = run_module(
        {
            "image": "aegee/core",
            "registry": "localhost:5000",
            "username": "deployer",
            "password": testbed["password"],
            "version": "1.4.3",
        },
        check=False,
    )
    assert proc.returncode != 0
    assert result["msg"].startswith("version 1.4.3 of localhost:5000/aegee/core does not exist")
    assert "1.4.2" in result["msg"] and "1.5.0" in result["msg"]
    assert_secret_absent(proc, testbed["password"])


def test_unknown_repository(testbed):
    proc, result = run_module(
        {"image": "aegee/nope", "registry": "localhost:5000", "username": "deployer", "password": testbed["password"]},
        check=False,
    )
    assert proc.returncode != 0
    assert "repository aegee/nope not found on registry localhost:5000" in result["msg"]


def test_check_mode(testbed):
    proc, result = run_module(
        {"image": "aegee/core", "registry": "localhost:5000", "username": "deployer", "password": testbed["password"]},
        "--check",
    )
    assert result["changed"] is False
    assert result["latest_points_to"] == "1.5.0"


# --------------------------------------------------------------------------
# 2. the same registry binary with token auth, and a token issuer of ours


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    """An RSA key with a self-signed certificate (the registry's rootcertbundle trusts the certificate)."""

    def __init__(self, common_name):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_der_b64 = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode("ascii")

    def jwt(self, claims, header_extra=None):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]}
        header.update(header_extra or {})
        signing_input = "%s.%s" % (
            _b64url(json.dumps(header, separators=(",", ":")).encode()),
            _b64url(json.dumps(claims, separators=(",", ":")).encode()),
        )
        signature = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)


def claims_for(subject, access, audience=SERVICE, issuer=ISSUER, lifetime=300):
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": now + lifetime,
        "nbf": now - 10,
        "iat": now,
        "jti": secrets.token_hex(8),
        "access": access,
    }


class TokenIssuer:
    """``GET /token?service=…&scope=repository:NAME:pull`` with optional basic credentials.

    Policy: ``deployer`` with the right password may pull everything;
    anonymous callers may pull everything except ``aegee/mailer`` (a
    "private" repository); wrong credentials get 401.
    """

    PRIVATE = ("aegee/mailer",)

    def __init__(self, key, users):
        self.key = key
        self.users = users
        self.requests = []  # (query, user or None, answered status)
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                status, body = issuer.answer(self.path, self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="aegee-test-issuer"')
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/token" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, path, authorization):
        parsed = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        user = None
        if parsed.path != "/token":
            self.requests.append((query, None, 404))
            return 404, {"details": "not found"}
        if authorization:
            if not authorization.startswith("Basic "):
                self.requests.append((query, None, 401))
                return 401, {"details": "basic credentials expected"}
            name, _sep, password = base64.b64decode(authorization[6:]).decode().partition(":")
            if self.users.get(name) != password:
                self.requests.append((query, name, 401))
                return 401, {"details": "incorrect username or password"}
            user = name
        if query.get("service") != SERVICE:
            self.requests.append((query, user, 400))
            return 400, {"details": "unknown service"}
        access = []
        scope = query.get("scope")
        if scope:
            kind, name, actions = scope.split(":", 2)
            allowed = [a for a in actions.split(",") if a == "pull"]
            if kind == "repository" and allowed and (user or name not in self.PRIVATE):
                access.append({"type": "repository", "name": name, "actions": allowed})
        self.requests.append((query, user, 200))
        token = self.key.jwt(claims_for(user or "", access))
        # Docker Hub answers both keys; the client must cope with either
        return 200, {"token": token, "access_token": token, "expires_in": 300}

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def token_registry(testbed, tmp_path_factory):
    """A second docker-registry (token auth, read-only view of the testbed's storage) and its issuer."""
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.fail("%s is missing: the testbed installs the Debian package docker-registry" % REGISTRY_BIN)
    tmp = tmp_path_factory.mktemp("token-registry")
    key = SigningKey("aegee test token issuer")
    (tmp / "rootcerts.pem").write_bytes(key.cert_pem)
    issuer = TokenIssuer(key, {testbed["username"]: testbed["password"]}).start()
    port = _free_port()
    config = tmp / "config.yml"
    data_dir = os.path.join(TESTBED_ROOT, "registry", "data")
    config.write_text(
        "\n".join(
            [
                "version: 0.1",
                "log:",
                "  level: info",
                "storage:",
                "  filesystem:",
                "    rootdirectory: %s" % data_dir,
                "  maintenance:",
                "    readonly:",
                "      enabled: true",  # never write into the testbed's storage
                "    uploadpurging:",
                "      enabled: false",  # and never purge the testbed registry's uploads
                "http:",
                "  addr: 127.0.0.1:%d" % port,
                "  secret: %s" % secrets.token_hex(16),
                "auth:",
                "  token:",
                "    realm: %s" % issuer.url,
                "    service: %s" % SERVICE,
                "    issuer: %s" % ISSUER,
                "    rootcertbundle: %s" % (tmp / "rootcerts.pem"),
                "",
            ]
        )
    )
    log = open(tmp / "registry.log", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/v2/", timeout=1)  # noqa: S310 - loopback
        except urllib.error.HTTPError as e:
            if e.code == 401:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            issuer.stop()
            pytest.fail("token registry did not start:\n" + (tmp / "registry.log").read_text()[-3000:])
        time.sleep(0.1)
    yield {"address": "127.0.0.1:%d" % port, "url": base, "issuer": issuer, "key": key, "log": tmp / "registry.log"}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    issuer.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def _get(url, token=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, None


def test_token_registry_challenges_with_our_realm(token_registry):
    status, headers, _body = _get(token_registry["url"] + "/v2/aegee/core/tags/list")
    assert status == 401
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'realm="%s"' % token_registry["issuer"].url in challenge
    assert 'service="%s"' % SERVICE in challenge
    assert 'scope="repository:aegee/core:pull"' in challenge


def test_token_registry_validates_tokens(token_registry):
    url = token_registry["url"] + "/v2/aegee/core/tags/list"
    access = [{"type": "repository", "name": "aegee/core", "actions": ["pull"]}]
    good = token_registry["key"].jwt(claims_for("deployer", access))
    status, _headers, body = _get(url, good)
    assert status == 200
    assert EXPECTED_TAGS <= set(body["tags"])

    forger = SigningKey("not trusted")
    forged = [
        ("garbage", "not-a-jwt"),
        ("signed by an untrusted key", forger.jwt(claims_for("deployer", access))),
        ("wrong audience", token_registry["key"].jwt(claims_for("deployer", access, audience="elsewhere"))),
        ("wrong issuer", token_registry["key"].jwt(claims_for("deployer", access, issuer="mallory"))),
        ("expired", token_registry["key"].jwt(claims_for("deployer", access, lifetime=-3600))),
        (
            "no access to this repository",
            token_registry["key"].jwt(claims_for("deployer", [dict(access[0], name="aegee/events")])),
        ),
        (
            "tampered claims",
            good.split(".")[0]
            + "."
            + _b64url(json.dumps(claims_for("deployer", [dict(access[0], name="aegee/core")])).encode())
            + "."
            + good.split(".")[2],
        ),
    ]
    for what, token in forged:
        status = _get(url, token)[0]
        assert status == 401, "registry accepted a token: %s" % what
    # and it refused them for the right reasons (its own log says why)
    log = token_registry["log"].read_text()
    for reason in (
        "certificate signed by unknown authority",
        "token intended for another audience",
        "token from untrusted issuer",
        "token not to be used after",
        "invalid RS256 signature",
    ):
        assert reason in log, reason


def test_token_flow_anonymous(token_registry):
    issuer = token_registry["issuer"]
    before = len(issuer.requests)
    proc, result = run_module({"image": "aegee/core", "registry": token_registry["address"], "version": "latest"})
    assert EXPECTED_TAGS <= set(result["tags"])
    assert result["versions"][:3] == ["1.4.1", "1.4.2", "1.5.0"]
    assert result["latest_points_to"] == "1.5.0"
    assert result["version"] == "1.5.0"
    new = issuer.requests[before:]
    assert new == [({"service": SERVICE, "scope": "repository:aegee/core:pull"}, None, 200)]


def test_token_flow_with_credentials(token_registry, testbed):
    issuer = token_registry["issuer"]
    before = len(issuer.requests)
    proc, result = run_module(
        {
            "image": "aegee/mailer",
            "registry": token_registry["address"],
            "username": testbed["username"],
            "password": testbed["password"],
        },
        "-vvv",
    )
    assert result["latest_points_to"] == "1.5.0"
    query, user, status = issuer.requests[before]
    assert (user, status) == ("deployer", 200)
    assert query["scope"] == "repository:aegee/mailer:pull"
    assert query["account"] == "deployer"
    assert_secret_absent(proc, testbed["password"])


def test_token_flow_same_digests_as_htpasswd_registry(token_registry, testbed):
    _p, via_token = run_module({"image": "aegee/events", "registry": token_registry["address"], "version": "1.6.0"})
    _p, via_basic = run_module(
        {
            "image": "aegee/events",
            "registry": "localhost:5000",
            "username": "deployer",
            "password": testbed["password"],
            "version": "1.6.0",
        }
    )
    assert via_token["digest"] == via_basic["digest"]
    assert via_token["latest_digest"] == via_basic["latest_digest"]
    assert via_token["versions"] == via_basic["versions"]


def test_token_flow_wrong_password(token_registry, testbed):
    wrong = "Nope-" + secrets.token_hex(6)
    proc, result = run_module(
        {"image": "aegee/core", "registry": token_registry["address"], "username": "deployer", "password": wrong},
        "-vvv",
        check=False,
    )
    assert proc.returncode != 0
    assert "token service 127.0.0.1:" in result["msg"]
    assert "refused the credentials of user 'deployer'" in result["msg"]
    assert_secret_absent(proc, wrong)


def test_token_flow_anonymous_on_private_repository(token_registry):
    proc, result = run_module({"image": "aegee/mailer", "registry": token_registry["address"]}, check=False)
    assert proc.returncode != 0
    assert "repository aegee/mailer does not exist or anonymous access has no pull access" in result["msg"]
