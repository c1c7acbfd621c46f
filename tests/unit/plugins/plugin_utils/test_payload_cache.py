"""plugin_utils._payload_cache: compose_release's AnsiballZ payload kept between runs, under a key of its files."""

from __future__ import annotations

import ast
import os

import pytest

from ansible_collections.aegee.deploy.plugins.plugin_utils import _payload_cache
from ansible_collections.aegee.deploy.plugins.plugin_utils._payload_cache import PayloadCache, fingerprint

FQN = "ansible_collections.aegee.deploy.plugins.modules.compose_release"
ENTRY = FQN + "-ZIP_DEFLATED-none"
OURS = "ansible_collections.aegee.deploy."


@pytest.fixture
def sources(tmp_path):
    utils = tmp_path / "module_utils"
    utils.mkdir()
    (utils / "_a.py").write_text("A = 1\n")
    (utils / "_b.py").write_text("B = 2\n")
    (utils / "README.txt").write_text("not code\n")
    module = tmp_path / "compose_release.py"
    module.write_text("print('hi')\n")
    return str(module), str(utils)


def run_dir(tmp_path, name):
    """An ``ansible-local-*`` directory of one run, in a private local_tmp."""
    local = tmp_path / "local"
    local.mkdir(mode=0o700, exist_ok=True)
    path = local / name
    path.mkdir()
    return str(path)


def built(local_tmp, name=ENTRY, data=b"payload"):
    cache = os.path.join(local_tmp, "ansiballz_cache")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, name), "wb") as handle:
        handle.write(data)


def test_fingerprint_follows_every_source_file(sources):
    module, utils = sources
    first = fingerprint(module, utils)
    assert fingerprint(module, utils) == first
    with open(os.path.join(utils, "README.txt"), "w") as handle:
        handle.write("other\n")  # not a Python file: not in the payload
    assert fingerprint(module, utils) == first
    with open(os.path.join(utils, "_b.py"), "w") as handle:
        handle.write("B = 3\n")
    second = fingerprint(module, utils)
    assert second != first
    with open(os.path.join(utils, "_c.py"), "w") as handle:
        handle.write("")
    third = fingerprint(module, utils)
    assert third != second
    with open(module, "w") as handle:
        handle.write("print('ho')\n")
    assert fingerprint(module, utils) != third


def test_fingerprint_follows_the_ansible_version(sources, monkeypatch):
    first = fingerprint(*sources)
    monkeypatch.setattr(_payload_cache.ansible, "__version__", "9.99.0")
    assert fingerprint(*sources) != first


def test_kept_then_restored_in_the_next_run(tmp_path):
    one = run_dir(tmp_path, "ansible-local-1")
    built(one)
    built(one, ENTRY + ".lock", b"")  # Ansible's lock: never kept
    built(one, "ansible_collections.other.plugins.modules.x-ZIP_DEFLATED-none")  # another module: not ours
    assert PayloadCache(FQN, "k1", one).keep() == [ENTRY]
    kept_dir = tmp_path / "local" / "aegee-ansiballz"
    assert oct(kept_dir.stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in (kept_dir / "k1").iterdir()] == [ENTRY]
    assert PayloadCache(FQN, "k1", one).keep() == []  # kept already

    two = run_dir(tmp_path, "ansible-local-2")
    assert PayloadCache(FQN, "k1", two).restore() == [ENTRY]
    with open(os.path.join(two, "ansiballz_cache", ENTRY), "rb") as handle:
        assert handle.read() == b"payload"
    assert os.listdir(os.path.join(two, "ansiballz_cache")) == [ENTRY]  # no temporary file left
    assert oct(os.stat(os.path.join(two, "ansiballz_cache", ENTRY)).st_mode & 0o777) == "0o600"
    assert PayloadCache(FQN, "k1", two).restore() == []  # there already


def test_another_key_restores_nothing(tmp_path):
    one = run_dir(tmp_path, "ansible-local-1")
    built(one)
    PayloadCache(FQN, "k1", one).keep()
    two = run_dir(tmp_path, "ansible-local-2")
    assert PayloadCache(FQN, "k2", two).restore() == []
    assert not os.path.exists(os.path.join(two, "ansiballz_cache", ENTRY))


def test_restore_never_replaces_what_ansible_built(tmp_path):
    one = run_dir(tmp_path, "ansible-local-1")
    built(one, data=b"old")
    PayloadCache(FQN, "k1", one).keep()
    two = run_dir(tmp_path, "ansible-local-2")
    built(two, data=b"new")
    assert PayloadCache(FQN, "k1", two).restore() == []
    with open(os.path.join(two, "ansiballz_cache", ENTRY), "rb") as handle:
        assert handle.read() == b"new"


def test_a_directory_others_can_write_is_not_used(tmp_path):
    one = run_dir(tmp_path, "ansible-local-1")
    built(one)
    PayloadCache(FQN, "k1", one).keep()
    kept_dir = tmp_path / "local" / "aegee-ansiballz"
    kept_dir.chmod(0o777)
    two = run_dir(tmp_path, "ansible-local-2")
    assert PayloadCache(FQN, "k1", two).restore() == []
    built(two)
    assert PayloadCache(FQN, "k2", two).keep() == []
    kept_dir.chmod(0o700)
    (kept_dir / "k1").chmod(0o777)
    assert PayloadCache(FQN, "k1", run_dir(tmp_path, "ansible-local-3")).restore() == []


def test_nothing_built_nothing_kept(tmp_path):
    one = run_dir(tmp_path, "ansible-local-1")
    assert PayloadCache(FQN, "k1", one).keep() == []
    assert not (tmp_path / "local" / "aegee-ansiballz").exists()


def test_only_the_newest_keys_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(_payload_cache, "KEEP", 2)
    root = tmp_path / "local" / "aegee-ansiballz"
    for i in range(4):
        local = run_dir(tmp_path, "ansible-local-%d" % i)
        built(local)
        PayloadCache(FQN, "k%d" % i, local).keep()
        os.utime(root / ("k%d" % i), (1000 + i, 1000 + i))
    local = run_dir(tmp_path, "ansible-local-9")
    built(local)
    PayloadCache(FQN, "k9", local).keep()
    assert sorted(p.name for p in root.iterdir()) == ["k3", "k9"]


def test_the_key_covers_every_file_the_payload_can_hold():
    """The key is the Ansible version and this collection's module and module_utils: right only while they import
    no module_util of another collection (its update would not change the key)."""
    plugins = os.path.dirname(os.path.dirname(_payload_cache.__file__))
    paths = [os.path.join(plugins, "modules", "compose_release.py")] + [
        os.path.join(plugins, "module_utils", name) for name in os.listdir(os.path.join(plugins, "module_utils"))
        if name.endswith(".py")]
    foreign = []
    for path in paths:
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            foreign += ["%s: %s" % (os.path.basename(path), n) for n in names
                        if n.startswith("ansible_collections.") and not n.startswith(OURS)]
    assert foreign == []
