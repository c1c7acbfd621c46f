# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Security rows of the reliability report: parsers, files, secrets, SSH host keys, no_log.

Each test is one row (section "security"); what it records with
``reliability.did`` is taken from the run itself.
"""

from __future__ import annotations

import ast
import base64
import configparser
import errno
import json
import os
import re
import stat
import subprocess
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.aegee.deploy.plugins.module_utils import _compose, _fileio, _registry
from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState, empty_state
from ansible_collections.aegee.deploy.plugins.action import release_plan
from ansible_collections.aegee.deploy.plugins.modules import compose_release, image_version_info
from ansible_collections.aegee.deploy.tests.unit.plugins.modules.module_harness import argument_spec_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THIS_FILE = os.path.relpath(os.path.abspath(__file__), REPO)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def repo_files():
    """Files git knows in the checkout (tracked and new, not ignored), as paths relative to the repo."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return sorted(p for p in out.split("\0") if p and os.path.isfile(os.path.join(REPO, p)))


# --------------------------------------------------------------------------- S1 YAML


PYTHON_TAG_DOCS = {
    "command": 'services:\n  core:\n    image: a/b:1\n    command: !!python/object/apply:os.system ["touch %s"]\n',
    "image": 'services:\n  core:\n    image: !!python/object/apply:os.system ["touch %s"]\n',
    "top level": '!!python/object/apply:os.system ["touch %s"]\n',
    "in a flow mapping": 'services: {core: {image: a/b:1, x: !!python/object/new:os.system ["touch %s"]}}\n',
    "name tag": "x: !!python/name:os.system\nservices:\n  core:\n    image: a/b:1  # %s\n",
    "local python tag": 'services:\n  core:\n    image: a/b:1\n    labels: !python/object:os.system ["touch %s"]\n',
}

UNSAFE_CALLS = {"unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}
SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def _dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return inner + "." + node.attr if inner else node.attr
    return ""


def unsafe_yaml_calls(source):
    """(line, text) of every YAML call in ``source`` that could build arbitrary objects."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        last = name.rsplit(".", 1)[-1]
        receiver = name.rsplit(".", 1)[0] if "." in name else ""
        loader = keywords.get("Loader")
        if last in UNSAFE_CALLS and receiver.endswith("yaml"):
            found.append((node.lineno, name))
        elif last in ("load", "load_all") and receiver.endswith("yaml"):
            if loader is None or _dotted(loader).rsplit(".", 1)[-1] not in SAFE_LOADERS:
                found.append((node.lineno, name + "(" + (_dotted(loader) if loader is not None else "no Loader") + ")"))
        elif loader is not None and _dotted(loader).rsplit(".", 1)[-1] not in SAFE_LOADERS:
            found.append((node.lineno, "%s(Loader=%s)" % (name, _dotted(loader))))
        if last == "YAML":
            typ = keywords.get("typ")
            values = [typ] if not isinstance(typ, (ast.List, ast.Tuple)) else list(typ.elts)
            for value in values:
                if isinstance(value, ast.Constant) and value.value in ("unsafe", "full"):
                    found.append((node.lineno, "YAML(typ=%r)" % value.value))
    return found


def yaml_entry_points(source):
    """How ``source`` calls a YAML library: ``YAML(typ='rt')``, ``yaml.safe_load``..."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        name = _dotted(node.func) if isinstance(node, ast.Call) else ""
        if name.rsplit(".", 1)[-1] == "YAML":
            found.add("YAML(%s)" % ", ".join("%s=%s" % (k.arg, ast.unparse(k.value)) for k in node.keywords))
        elif re.search(r"(^|\.)yaml\.\w+$", name):
            found.add(name)
    return sorted(found)


@pytest.mark.reliability("security", "S1", "YAML is loaded safely: Python tags are refused and nothing runs")
def test_yaml_is_loaded_safely(reliability, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    canary = tmp_path / "pwned"
    for case, doc in PYTHON_TAG_DOCS.items():
        text = doc % canary
        for call in (lambda t: _compose.pin_text(t, service="core", tag="2"), _compose.compose_tree):
            with pytest.raises(
                _compose.ComposeError,
                match=r"asks for a Python object; a compose file never needs "
                r"one, so the file is refused \(nothing in it was run\)",
            ):
                call(text)
        compose = tmp_path / "docker-compose.yml"
        compose.write_text(text)
        with pytest.raises(_compose.ComposeError) as exc:
            _compose.pin_file("docker-compose.yml", service="core", tag="2")
        assert compose.read_text() == text
        if case in ("command", "name tag"):
            reliability.did("pin_file on a compose file with a %s: ComposeError: %s" % (case, exc.value))
    assert not canary.exists()
    reliability.checked(
        "%d compose files with !!python/object/apply, /object/new, /name and a local !python tag (in "
        "a command, the image, the top level, a flow mapping) refused by pin_text, compose_tree and "
        "pin_file with that message; the file is unchanged; the canary file was never created" % len(PYTHON_TAG_DOCS)
    )

    # the scanner finds what it should (so a clean result below means something)
    bad = (
        "import yaml\nfrom ruamel.yaml import YAML\nyaml.load(t)\nyaml.load(t, Loader=yaml.Loader)\n"
        "yaml.unsafe_load(t)\nyaml.full_load(t)\nYAML(typ='unsafe').load(t)\nruamel.yaml.load(t)\n"
        "yaml.load_all(t, Loader=yaml.FullLoader)\nYAML(typ=['unsafe'])\n"
    )
    good = (
        "yaml.safe_load(t)\nyaml.load(t, Loader=yaml.SafeLoader)\nyaml.load(t, Loader=CSafeLoader)\n"
        "YAML(typ='rt').compose(t)\nYAML(typ='safe', pure=True).load(t)\nYAML().load(t)\n"
    )
    assert len(unsafe_yaml_calls(bad)) == 8
    assert unsafe_yaml_calls(good) == []
    sources = [p for p in repo_files() if p.endswith(".py") and p.startswith(("plugins/", "roles/"))]
    entry_points = []
    for path in sources:
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            source = handle.read()
        assert unsafe_yaml_calls(source) == [], path
        entry_points += ["%s: %s" % (path, call) for call in yaml_entry_points(source)]
    assert entry_points  # the compose parser is found
    reliability.did("YAML parsing in plugins/: " + "; ".join(entry_points))
    reliability.checked(
        "an AST scan of the %d Python files under plugins/ and roles/ finds no yaml.load without a "
        "safe Loader, no unsafe_load/full_load and no ruamel YAML(typ='unsafe'/'full'); the scan "
        "flags all 8 unsafe forms in a control sample" % len(sources)
    )


# --------------------------------------------------------------------------- S2 atomic_write


class _Umask:
    def __init__(self, mask):
        self.mask = mask

    def __enter__(self):
        self.old = os.umask(self.mask)

    def __exit__(self, *exc):
        os.umask(self.old)


def _owned(path, uid, gid, mode):
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _spy_mode(copyfileobj, modes):
    def spy(source, dest, *args, **kwargs):
        modes.append(stat.S_IMODE(os.fstat(dest.fileno()).st_mode))
        return copyfileobj(source, dest, *args, **kwargs)

    return spy


def _fail_with(errnum):
    def boom(*_args, **_kwargs):
        raise OSError(errnum, os.strerror(errnum))

    return boom


@pytest.mark.reliability(
    "security",
    "S2",
    "Compose and .env files keep owner, group and mode; a failed write leaves the file and no temporary file",
)
@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_atomic_write_keeps_owner_group_mode(reliability, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compose = tmp_path / "docker-compose.yml"
    env = tmp_path / ".env"
    with _Umask(0):
        compose.write_text("services: {}\n")
        _owned(compose, 1234, 1234, 0o640)
        env.write_text("SECRET=x\n")
        _owned(env, 1234, 1234, 0o600)
        copying = []  # the mode of the backup while its content is being copied
        with monkeypatch.context() as patched:
            patched.setattr(_fileio.shutil, "copyfileobj", _spy_mode(_fileio.shutil.copyfileobj, copying))
            backup = _fileio.atomic_write(str(compose), "services: {core: {image: a/b:1}}\n", backup=True)
        _fileio.atomic_write(str(env), "SECRET=y\n")
        _fileio.atomic_write(str(tmp_path / "new.yml"), "x: 1\n")
    for path, mode in ((compose, 0o640), (env, 0o600), (backup, 0o640)):
        st_ = os.stat(path)
        assert (st_.st_uid, st_.st_gid, stat.S_IMODE(st_.st_mode)) == (1234, 1234, mode), path
    assert compose.read_text() == "services: {core: {image: a/b:1}}\n" and env.read_text() == "SECRET=y\n"
    assert mode_of(tmp_path / "new.yml") == 0o644
    assert copying == [0o600]
    reliability.checked(
        "under umask 0, a compose file 1234:1234 0640 and a .env 1234:1234 0600 rewritten by root "
        "keep owner, group and mode; the backup copy has the same, and is 0600 while its content is copied; "
        "a new file gets 0644"
    )

    before = sorted(os.listdir(tmp_path))
    for step, errnum in (
        ("write", errno.ENOSPC),
        ("fsync", errno.EIO),
        ("chown", errno.EPERM),
        ("chmod", errno.EPERM),
        ("replace", errno.ENOSPC),
    ):
        with monkeypatch.context() as patched, pytest.raises(_fileio.FileWriteError) as exc:
            patched.setattr(_fileio.os, step, _fail_with(errnum))
            _fileio.atomic_write("docker-compose.yml", "half of a new file")
        st_ = os.stat(compose)
        assert compose.read_text() == "services: {core: {image: a/b:1}}\n", step
        assert (st_.st_uid, st_.st_gid, stat.S_IMODE(st_.st_mode)) == (1234, 1234, 0o640), step
        assert sorted(os.listdir(tmp_path)) == before, step
        if step in ("write", "chown"):
            reliability.did("%s failing (%s): FileWriteError: %s" % (step, errno.errorcode[errnum], exc.value))
    reliability.checked(
        "write, fsync, chown, chmod or rename failing: FileWriteError, the file keeps its content, "
        "owner and mode, and no temporary file is left in the folder"
    )


# --------------------------------------------------------------------------- S3 release state


@pytest.mark.reliability(
    "security", "S3", "Release history, state and lock are private to the deploy user, even with umask 0"
)
def test_release_state_is_private(reliability, tmp_path):
    with _Umask(0):
        hs = HostState(str(tmp_path / "srv" / ".aegee"))
        lock = hs.acquire({"id": "run-1", "owner": "alice", "controller": "laptop", "pid": os.getpid()}, ttl=60)
        hs.annotate_lock(lock["id"], phase="writing")
        hs.append_history({"id": "run-1", "result": "ok"})
        hs.append_history({"id": "run-2", "result": "ok"})
        hs.write_state(empty_state())
        modes = {
            name: mode_of(path)
            for name, path in (
                ("folder", hs.dir),
                ("lock", hs.lock_path),
                ("history", hs.history_path),
                ("state", hs.state_path),
            )
        }
        hs.release(lock["id"])

        # a folder somebody left open is closed again; files already in it are reported as found
        loose = tmp_path / "loose" / ".aegee"
        loose.mkdir(parents=True)
        os.chmod(loose, 0o777)  # noqa: S103 - the point of the test
        for name in ("history.jsonl", "state.json"):
            (loose / name).write_text("")
            os.chmod(loose / name, 0o666)  # noqa: S103
        other = HostState(str(loose))
        other.append_history({"id": "run-3"})
        other.write_state(empty_state())
    assert modes == {"folder": 0o700, "lock": 0o600, "history": 0o600, "state": 0o600}
    reliability.did(
        "under umask 0: folder %04o, lock %04o, history.jsonl %04o, state.json %04o"
        % tuple(modes[k] for k in ("folder", "lock", "history", "state"))
    )
    reliability.checked(
        "the state folder is 0700 and the lock, history and state files 0600 (no group or other "
        "access at all) when created under umask 0, including the lock rewritten in place"
    )
    assert mode_of(loose) == 0o700
    kept = {name: mode_of(loose / name) for name in ("history.jsonl", "state.json")}
    assert kept == {"history.jsonl": 0o600, "state.json": 0o600}
    reliability.did(
        "an existing .aegee folder of mode 0777 was set to 0700, and its history.jsonl and state.json of mode "
        "0666 to 0600 when written"
    )
    reliability.checked(
        "a state folder left 0777 is tightened to 0700 and loose files in it to 0600, so no other user can "
        "reach or change them"
    )


# --------------------------------------------------------------------------- S4 registry secrets


class _EchoRegistry:
    """A hostile registry: it answers every credential with an error that repeats it (plain and base64)."""

    def __init__(self):
        self.status, self.shape, self.pad, self.auth = 401, "json", 0, "basic"
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for the ACK

            def log_message(self, *args):
                pass

            def _answer(self, status, body, headers=None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                header = self.headers.get("Authorization") or ""
                if not header.startswith("Basic "):
                    challenge = (
                        'Basic realm="echo"'
                        if registry.auth == "basic"
                        else 'Bearer realm="http://%s/token",service="echo"' % registry.address
                    )
                    return self._answer(401, b"{}", {"WWW-Authenticate": challenge})
                password = base64.b64decode(header[6:]).decode("utf-8").partition(":")[2]
                said = "x" * registry.pad + "wrong password %s (header %s)" % (password, header)
                if registry.shape == "json":
                    body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": said}]})
                elif registry.shape == "details":
                    body = json.dumps({"details": said})
                else:
                    body = said
                return self._answer(registry.status, body.encode("utf-8"), {"Content-Type": "application/json"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


PASSWORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=8, max_size=40
)


def _failure_texts(registry, password):
    """The error of a registry client with ``password``, its Basic credentials, and every text it shows."""
    client = _registry.RegistryClient(registry.address, username="deployer", password=password, retries=0, timeout=5)
    basic = client._creds.basic_header().split(" ", 1)[1]
    with pytest.raises(_registry.RegistryError) as exc:
        client.list_tags("aegee/core")
    err = exc.value
    return err, basic, [
        str(err),
        repr(err),
        repr(err.args),
        repr(vars(err)),
        repr(client),
        str(client._creds),
        "".join(traceback.format_exception(type(err), err, err.__traceback__)),
    ]


@pytest.mark.reliability(
    "security",
    "S4",
    "The registry password never appears in an error, a repr or a traceback, even when the registry echoes it back",
)
def test_registry_password_never_in_errors(reliability):
    seen = {"passwords": 0, "kinds": set()}
    with _EchoRegistry() as registry:
        # 50: each example is two real HTTP requests, and every one builds an SSL context (25 ms)
        @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            password=PASSWORDS,
            status=st.sampled_from([401, 403, 404, 500, 418]),
            shape=st.sampled_from(["json", "details", "text"]),
            pad=st.integers(0, 220),
            auth=st.sampled_from(["basic", "bearer"]),
        )
        def never_shown(password, status, shape, pad, auth):
            registry.status, registry.shape, registry.pad, registry.auth = status, shape, pad, auth
            # a password that is a word the tool prints anyway ("password", the user name, a string constant
            # hypothesis takes from the code) is no leak: the same failure with another password shows it too
            assume(not any(password in text for text in _failure_texts(registry, "\u2603" * 8)[2]))
            err, basic, texts = _failure_texts(registry, password)
            for text in texts:
                assert password not in text
                assert basic not in text
                # where the echo was kept (maybe cut short), only the mask follows: not even the start of a secret
                for echoed in re.findall(r"(?:wrong password |header Basic )(\S*)", text):
                    rest = echoed.lstrip("*")
                    assert rest == "" or rest[0] in ")'\";,\\", text
            seen["passwords"] += 1
            seen["kinds"].add(err.kind)

        never_shown()
        registry.status, registry.shape, registry.pad, registry.auth = 401, "text", 0, "basic"
        client = _registry.RegistryClient(registry.address, username="deployer", password="hunter2-S3cret", retries=0)
        with pytest.raises(_registry.RegistryError) as exc:
            client.list_tags("aegee/core")
        reliability.did(
            "a registry answering 401 with the password and the Authorization header in its error "
            "text: RegistryError: %s" % exc.value
        )
    with pytest.raises(_registry.RegistryError) as exc:
        _registry.RegistryClient("localhost:5000", password="hunter2-S3cret")
    assert "hunter2" not in str(exc.value)
    reliability.checked(
        "%d generated passwords (any Unicode, 8-40 characters) echoed by the registry in JSON or text "
        "errors cut at any point, basic and bearer auth, HTTP 401/403/404/418/500 (%s): neither the "
        "password nor its base64 form is in any message, repr, args or traceback"
        % (seen["passwords"], "/".join(sorted(seen["kinds"])))
    )


# --------------------------------------------------------------------------- S5 SSH host keys

_DISABLED = re.compile(
    r"StrictHostKeyChecking[\"' ]*[= ][\"' ]*(no|off|false|accept-new)\b"
    r"|UserKnownHostsFile[\"' ]*[= ][\"' ]*/dev/null"
    r"|host_key_checking[\"' ]*[=:][\"' ]*(false|no|off|0)\b",
    re.IGNORECASE,
)


@pytest.mark.reliability("security", "S5", "SSH host key checking stays on: inventories, ansible.cfg, the whole repo")
def test_ssh_host_key_checking_stays_on(reliability):
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO, "ansible.cfg"))
    assert config.getboolean("defaults", "host_key_checking") is True
    assert not _DISABLED.search(config.get("ssh_connection", "ssh_args", fallback=""))
    reliability.checked("ansible.cfg: host_key_checking = true; its ssh_args do not turn checking off")

    inventories = {}
    for name, path in (
        ("example", "inventories/example/group_vars/all/main.yml"),
        ("testbed", "inventories/testbed/group_vars/all.yml"),
        ("molecule", "molecule/inventory/group_vars/all.yml"),
    ):
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            args = yaml.safe_load(handle)["ansible_ssh_common_args"]
        assert re.search(r"(^|\s)-o\s*StrictHostKeyChecking=yes(\s|$)", args), path
        known = re.search(r"-o\s*UserKnownHostsFile=(.+?)(?=\s+-o|\s*$)", args)
        assert known and known.group(1) != "/dev/null", path
        inventories[name] = known.group(1)
    assert os.path.isfile(os.path.join(REPO, "inventories", "example", "known_hosts"))
    reliability.did(
        "ansible_ssh_common_args: StrictHostKeyChecking=yes with UserKnownHostsFile "
        + ", ".join("%s=%s" % item for item in sorted(inventories.items()))
    )
    reliability.checked(
        "the example, testbed and molecule inventories check host keys against a known_hosts file "
        "(StrictHostKeyChecking=yes); inventories/example/known_hosts exists"
    )

    allowed, offending, scanned = [], [], 0
    for path in repo_files():
        # this file names what it looks for; docs/reliability.md is this test's own report, quoted from a run
        if path in (THIS_FILE, "docs/reliability.md"):
            continue
        try:
            with open(os.path.join(REPO, path), encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except UnicodeDecodeError:
            continue
        scanned += 1
        for number, line in enumerate(lines, 1):
            m = _DISABLED.search(line)
            if m and re.search(r"\bnever\b", line[: m.start()], re.IGNORECASE):
                allowed.append("%s:%d" % (path, number))  # a rule that forbids it ("never StrictHostKeyChecking=no")
            elif m:
                offending.append("%s:%d: %s" % (path, number, line.strip()))
    assert offending == []
    assert _DISABLED.search("ssh -o StrictHostKeyChecking=no") and _DISABLED.search("host_key_checking = False")
    reliability.checked(
        "none of the %d text files in the repo sets StrictHostKeyChecking=no/off/accept-new, "
        "UserKnownHostsFile=/dev/null or host_key_checking=false (mentions only as a rule: %s)"
        % (scanned, ", ".join(allowed) or "none")
    )


# --------------------------------------------------------------------------- S6 no_log


def secret_options(spec, prefix=""):
    """(name, no_log) of every option, suboptions included, whose name or alias says it holds a secret."""
    out = []
    for name, option in spec.items():
        for known_as in [name, *option.get("aliases", [])]:
            if re.search(r"password|passwd|token|secret", known_as):
                out.append((prefix + known_as, option.get("no_log") is True))
        if isinstance(option.get("options"), dict):
            out += secret_options(option["options"], prefix + name + ".")
    return out


@pytest.mark.reliability("security", "S6", "Modules mark the registry password no_log and never print it")
def test_secret_options_are_no_log(reliability, monkeypatch, capsys):
    expected = {"image_version_info": "password", "release_plan": "password", "compose_release": "registry_password"}
    specs = {"image_version_info": argument_spec_of(image_version_info, monkeypatch),
             # an action plugin: its argument spec, not a module's main()
             "release_plan": release_plan.argument_spec(),
             "compose_release": argument_spec_of(compose_release, monkeypatch)}
    found = {}
    for name, spec in specs.items():
        secrets = secret_options(spec)
        assert (expected[name], True) in secrets, name
        assert all(no_log for _option, no_log in secrets), (name, secrets)
        found[name] = ", ".join(option for option, _no_log in secrets)
    reliability.checked(
        "argument_spec of image_version_info, release_plan and compose_release: every option or alias named "
        "like a password, token or secret has no_log=True (%s)"
        % "; ".join("%s: %s" % item for item in sorted(found.items()))
    )

    password = "hunter2-S3cret-%d" % os.getpid()
    with _EchoRegistry() as registry:
        args = {
            "image": "aegee/core",
            "registry": registry.address,
            "username": "deployer",
            "password": password,
            "retries": 0,
            "timeout": 5,
        }
        with patch_module_args(args), pytest.raises(SystemExit):
            image_version_info.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    assert result["failed"] is True
    assert password not in out
    reliability.did("image_version_info against a registry that echoes the password: failed with %r" % result["msg"])
    reliability.checked("the module's whole JSON output (msg, invocation) does not contain the password")
