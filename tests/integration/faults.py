"""Real faults for the testbed: each is a context manager that breaks something and puts it back.

Used by the fault matrix (test_faults.py) and the soak (tests/soak). Nothing
is simulated inside the tool: the registry process really stops, a proxy in
front of it really answers 429/503, sshd really dies, the deploy root really
runs out of space.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from conftest import TESTBED_ROOT, run

RUN = os.path.join(TESTBED_ROOT, "run")
LOGS = os.path.join(TESTBED_ROOT, "log")
REGISTRY_CONFIG = os.path.join(TESTBED_ROOT, "registry", "config.yml")
REGISTRY_ADDR = ("127.0.0.1", 5000)
BACKEND_ADDR = ("127.0.0.1", 5002)


def _port_open(addr):
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(addr) == 0


def wait_until(predicate, what, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def _read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _kill(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, TypeError):
        pass


def _alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child that died (a zombie still answers kill 0)
    except (ChildProcessError, TypeError):
        pass
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, TypeError):
        return False
    return True


def children(pid):
    """All descendants of ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


# ----------------------------------------------------------------- registry
def stop_registry():
    pid = _read_pid(os.path.join(RUN, "registry.pid"))
    _kill(pid)
    wait_until(lambda: not _alive(pid) and not _port_open(REGISTRY_ADDR), "the registry to stop")


def start_registry(addr=REGISTRY_ADDR, pidfile="registry.pid"):
    env = dict(os.environ, REGISTRY_HTTP_ADDR="%s:%d" % addr)
    with open(os.path.join(LOGS, "registry.log"), "ab") as log:
        proc = subprocess.Popen(["docker-registry", "serve", REGISTRY_CONFIG], env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(RUN, pidfile), "w") as handle:
        handle.write(str(proc.pid))
    wait_until(lambda: _port_open(addr), "the registry on %s:%d" % addr)
    return proc


@contextlib.contextmanager
def registry_down():
    """The registry process is stopped for the block, then started again."""
    stop_registry()
    try:
        yield
    finally:
        start_registry()


class _Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _proxy_handler(fault):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _forward(self):
            with fault.lock:
                fault.requests.append((self.command, self.path))
                failing = self.path.startswith("/v2/") and fault.failed < fault.failures and fault.matches(self.path)
                if failing:
                    fault.failed += 1
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if failing:
                payload = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected fault"}]}'
                self.send_response(fault.status)
                if fault.retry_after is not None:
                    self.send_header("Retry-After", str(fault.retry_after))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection(*BACKEND_ADDR, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    return Handler


class Flaky:
    """What the flaky registry did: every request, and how many it failed."""

    def __init__(self, failures, status, retry_after, matches):
        self.failures, self.status, self.retry_after = failures, status, retry_after
        self.matches = matches or (lambda _path: True)
        self.failed = 0
        self.requests = []
        self.lock = threading.Lock()


@contextlib.contextmanager
def registry_flaky(failures, status=503, retry_after=None, matches=None):
    """The registry answers ``status`` to its first ``failures`` /v2/ requests (that ``matches``), then serves.

    The real registry moves to another port for the block; a proxy on its
    address injects the answers, so the plan and every host's Docker engine
    see the same flaky registry.
    """
    fault = Flaky(failures, status, retry_after, matches)
    stop_registry()
    backend = start_registry(BACKEND_ADDR, pidfile="registry-backend.pid")
    server = _Proxy(REGISTRY_ADDR, _proxy_handler(fault))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fault
    finally:
        server.shutdown()
        server.server_close()
        _kill(backend.pid)
        backend.wait(timeout=30)
        os.unlink(os.path.join(RUN, "registry-backend.pid"))
        start_registry()


def delete_from_registry(testbed, service, version):
    """Delete ``service:version`` (its manifest) from the registry, as a retention policy would."""
    auth = ["-u", "%s:%s" % (testbed["username"], testbed["password"])]
    base = "http://127.0.0.1:5000/v2/aegee/%s" % service
    accept = ("application/vnd.docker.distribution.manifest.v2+json,"
              "application/vnd.oci.image.manifest.v1+json")
    head = run(["curl", "-sfI", *auth, "-H", "Accept: " + accept, "%s/manifests/%s" % (base, version)]).stdout
    digest = [line.split(":", 1)[1].strip() for line in head.splitlines()
              if line.lower().startswith("docker-content-digest:")][0]
    run(["curl", "-sf", "-X", "DELETE", *auth, "%s/manifests/%s" % (base, digest)])
    return digest


def delete_layer_data(testbed, service, version):
    """Remove the data of ``service:version``'s top layer from the registry's storage: the manifest stays."""
    auth = ["-u", "%s:%s" % (testbed["username"], testbed["password"])]
    manifest = run(["curl", "-sf", *auth, "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                    "http://127.0.0.1:5000/v2/aegee/%s/manifests/%s" % (service, version)]).stdout
    layer = json.loads(manifest)["layers"][-1]["digest"]
    hexdigest = layer.split(":", 1)[1]
    data = os.path.join(TESTBED_ROOT, "registry", "data", "docker", "registry", "v2", "blobs", "sha256",
                        hexdigest[:2], hexdigest, "data")
    os.unlink(data)
    return layer


def remove_image(ref_or_id):
    """Remove an image reference from the engine, even if a container runs it (the container keeps running)."""
    return run(["docker", "rmi", "-f", ref_or_id], check=False)


# ---------------------------------------------------------------------- sshd
def sshd_pidfile(host):
    return os.path.join(RUN, "sshd-%s.pid" % host)


def kill_sshd(host):
    """Kill ``host``'s sshd and every session it has open (SIGKILL: the connection drops, nothing is said)."""
    pid = _read_pid(sshd_pidfile(host))
    sessions = [p for p in children(pid) if _comm(p) == "sshd"] if pid else []
    for p in [pid, *sessions]:
        _kill(p, signal.SIGKILL)
    return sessions


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def start_sshd(host):
    config = os.path.join(TESTBED_ROOT, "hosts", host, "sshd_config")
    run(["/usr/sbin/sshd", "-f", config, "-E", os.path.join(LOGS, "sshd-%s.log" % host)])
    wait_until(lambda: _alive(_read_pid(sshd_pidfile(host))), "sshd of " + host)


# -------------------------------------------------------------------- disk
@contextlib.contextmanager
def disk_full(path, spare_pages=1):
    """``path`` (a deploy root) on a tmpfs that is full but for ``spare_pages`` pages, for the block.

    The folder is copied onto a tmpfs mounted over it; afterwards the tool's
    record (``.aegee``) is copied back, so what it wrote stays, and the mount
    goes away.
    """
    mnt = path.rstrip("/") + ".tmpfs"
    os.makedirs(mnt, exist_ok=True)
    used = int(run(["du", "-sk", path]).stdout.split()[0])
    run(["mount", "-t", "tmpfs", "-o", "size=%dk" % (used * 2 + 4096), "tmpfs", mnt])
    try:
        run(["cp", "-a", path + "/.", mnt])
        run(["mount", "--bind", mnt, path])
        try:
            filler = os.path.join(mnt, ".filler")
            with open(filler, "wb") as handle:
                chunk = b"\0" * 65536
                try:
                    while True:
                        handle.write(chunk)
                        handle.flush()
                except OSError:
                    pass
            # give back exactly spare_pages pages
            page = os.sysconf("SC_PAGE_SIZE")
            size = os.path.getsize(filler)
            os.truncate(filler, max(0, size - spare_pages * page - (size % page)))
            yield mnt
        finally:
            run(["umount", path])
    finally:
        state = os.path.join(mnt, ".aegee")
        if os.path.isdir(state):
            shutil.copytree(state, os.path.join(path, ".aegee"), dirs_exist_ok=True)
        run(["umount", mnt], check=False)
        os.rmdir(mnt)
