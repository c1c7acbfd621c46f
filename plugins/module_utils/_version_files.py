# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Read and change a service's own version in the file that carries it.

Supported files, detected in this order in a service checkout:

``package.json``
    top-level ``"version"``; ``package-lock.json`` next to it is updated too
    (top-level ``version`` and ``packages[""].version``).
``pyproject.toml``
    ``[project].version`` or ``[tool.poetry].version``; written with tomlkit.
``mix.exs``
    ``version: "1.2.3"`` in ``def project`` (or the ``@version`` attribute it
    refers to).
``Chart.yaml``
    top-level ``version:``.
``setup.cfg``
    ``version =`` in ``[metadata]``.
``VERSION``
    the whole file is the version (any other file name given explicitly is
    read the same way).

Edits replace the version text in place (tomlkit for TOML), so indentation,
key order, quoting, comments and trailing newlines survive; every edit is
parsed back and checked before it is returned.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.aegee.deploy.plugins.module_utils import _semver
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import read_text

try:
    import tomlkit

    HAS_TOMLKIT = True
except ImportError:  # pragma: no cover - hosts without tomlkit
    tomlkit = None
    HAS_TOMLKIT = False

try:
    import tomllib  # Python 3.11+
except ImportError:  # pragma: no cover - older Pythons
    tomllib = None

DETECT_ORDER = ("package.json", "pyproject.toml", "mix.exs", "Chart.yaml", "setup.cfg", "VERSION")


class VersionFileError(Exception):
    """The version cannot be read or written; the message says why and what to do."""


# --------------------------------------------------------------------------- JSON (text-preserving)

_JSON_WS = " \t\r\n"
_JSON_SCALAR = re.compile(r"[^,\]\}\s]+")


def _ws(text, i):
    while i < len(text) and text[i] in _JSON_WS:
        i += 1
    return i


def _json_string_end(text, i):
    i += 1
    while text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _json_value(text, i, path):
    """Parse the JSON value at ``i``; return (end, span of the value at ``path`` inside it or None)."""
    c = text[i]
    if c == '"':
        return _json_string_end(text, i), None
    if c not in "{[":
        return _JSON_SCALAR.match(text, i).end(), None
    close = "}" if c == "{" else "]"
    i = _ws(text, i + 1)
    found = None
    if text[i] == close:
        return i + 1, None
    while True:
        if c == "{":
            key_end = _json_string_end(text, i)
            key = json.loads(text[i:key_end])
            i = _ws(text, _ws(text, key_end) + 1)  # skip ':'
            if path and key == path[0]:
                start = i
                i, sub = _json_value(text, i, path[1:])
                found = (start, i) if len(path) == 1 else sub
            else:
                i, _sub = _json_value(text, i, ())
        else:
            i, _sub = _json_value(text, i, ())
        i = _ws(text, i)
        if text[i] == ",":
            i = _ws(text, i + 1)
            continue
        return i + 1, found


def json_span(text, path):
    """(start, end) of the value at key ``path`` in valid JSON ``text``, or None."""
    return _json_value(text, _ws(text, 0), tuple(path))[1]


def _json_load(text, name):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise VersionFileError(f"{name} is not valid JSON: {exc}") from None


def _json_get(data, path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _json_set(text, name, path, value):
    span = json_span(text, path)
    new_text = text[:span[0]] + json.dumps(value, ensure_ascii=False) + text[span[1]:]
    expected = _json_load(text, name)
    target = expected
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    if _json_load(new_text, name) != expected:  # pragma: no cover - defensive
        raise VersionFileError(f"refusing to write {name}: the edit would change more than the version")
    return new_text


# --------------------------------------------------------------------------- handlers


class _Handler:
    kind = None

    def read(self, text, name):
        raise NotImplementedError

    def write(self, text, name, new_version):
        raise NotImplementedError


class _PackageJson(_Handler):
    kind = "package.json"

    def read(self, text, name):
        data = _json_load(text, name)
        version = _json_get(data, ("version",)) if isinstance(data, dict) else None
        if version is None:
            raise VersionFileError(f'{name} has no top-level "version" field')
        if not isinstance(version, str):
            raise VersionFileError(f'{name}: "version" is not a string: {version!r}')
        return version

    def write(self, text, name, new_version):
        return _json_set(text, name, ("version",), new_version)


class _PackageLock(_Handler):
    kind = "package-lock.json"
    paths = (("version",), ("packages", "", "version"))

    def read(self, text, name):
        data = _json_load(text, name)
        return _json_get(data, ("version",))

    def write(self, text, name, new_version):
        data = _json_load(text, name)
        for path in self.paths:
            if isinstance(_json_get(data, path), str):
                text = _json_set(text, name, path, new_version)
        return text


class _Pyproject(_Handler):
    kind = "pyproject.toml"

    @staticmethod
    def _table(doc, name):
        project = doc.get("project")
        if isinstance(project, dict) and "version" in project:
            return project, "[project]"
        poetry = doc.get("tool", {}).get("poetry") if isinstance(doc.get("tool"), dict) else None
        if isinstance(poetry, dict) and "version" in poetry:
            return poetry, "[tool.poetry]"
        if isinstance(project, dict) and "version" in (project.get("dynamic") or []):
            raise VersionFileError(
                f"{name} declares the version as dynamic ([project].dynamic): it is computed by the build backend "
                "(for example from git tags), not written in the file; set it there, or use a VERSION file"
            )
        raise VersionFileError(f"{name} has no [project].version or [tool.poetry].version")

    def _parse(self, text, name):
        if HAS_TOMLKIT:
            try:
                return tomlkit.parse(text)
            except Exception as exc:  # noqa: BLE001 - tomlkit raises several error types
                raise VersionFileError(f"{name} is not valid TOML: {exc}") from None
        if tomllib is None:
            raise VersionFileError(
                f"reading {name} needs the Python package tomlkit (pip install tomlkit) on this host"
            )
        try:
            return tomllib.loads(text)
        except ValueError as exc:
            raise VersionFileError(f"{name} is not valid TOML: {exc}") from None

    def read(self, text, name):
        table, where = self._table(self._parse(text, name), name)
        version = table["version"]
        if not isinstance(version, str):
            raise VersionFileError(f"{name}: {where} version is not a string")
        return str(version)

    def write(self, text, name, new_version):
        if not HAS_TOMLKIT:
            raise VersionFileError(
                f"changing {name} needs the Python package tomlkit on this host "
                "(Debian: python3-tomlkit; pip: tomlkit); it keeps the file's formatting"
            )
        doc = self._parse(text, name)
        table, _where = self._table(doc, name)
        old = table["version"]
        # keep the quoting: 'literal' strings stay literal
        literal = getattr(getattr(old, "type", None), "name", "") == "SLL"
        try:
            table["version"] = tomlkit.string(new_version, literal=literal)
        except TypeError:  # pragma: no cover - tomlkit older than 0.11 has no literal=
            table["version"] = new_version
        new_text = tomlkit.dumps(doc)
        if self.read(new_text, name) != new_version:  # pragma: no cover - defensive
            raise VersionFileError(f"refusing to write {name}: the version would not read back")
        return new_text


class _SpanHandler(_Handler):
    """A handler whose version is one span of the text, found by ``_span(text, name) -> (start, end)``."""

    def _span(self, text, name):
        raise NotImplementedError

    def read(self, text, name):
        s, e = self._span(text, name)
        return text[s:e]

    def write(self, text, name, new_version):
        s, e = self._span(text, name)
        return text[:s] + new_version + text[e:]


class _MixExs(_SpanHandler):
    kind = "mix.exs"
    _project = re.compile(r"^\s*def\s+project\b", re.M)
    _version = re.compile(r"\bversion:\s*(?:\"([^\"]*)\"|@(\w+))")

    def _span(self, text, name):
        m = self._project.search(text)
        if not m:
            raise VersionFileError(f"{name} has no 'def project' (not a Mix project file?)")
        v = self._version.search(text, m.end())
        if not v:
            raise VersionFileError(f'{name}: no version: "..." in def project')
        if v.group(1) is not None:
            return v.start(1), v.end(1)
        attr = re.search(r"^\s*@%s\s+\"([^\"]*)\"" % re.escape(v.group(2)), text, re.M)
        if not attr:
            raise VersionFileError(f"{name}: def project uses @{v.group(2)} but no '@{v.group(2)} \"...\"' is set")
        return attr.start(1), attr.end(1)


class _ChartYaml(_SpanHandler):
    kind = "Chart.yaml"
    _re = re.compile(r"^version:[ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s#'\"]+))", re.M)

    def _span(self, text, name):
        m = self._re.search(text)
        if not m:
            raise VersionFileError(f"{name} has no top-level 'version:'")
        group = next(g for g in (1, 2, 3) if m.group(g) is not None)
        return m.start(group), m.end(group)


class _SetupCfg(_SpanHandler):
    kind = "setup.cfg"

    def _span(self, text, name):
        section = re.search(r"^\[metadata\][ \t]*$", text, re.M)
        if not section:
            raise VersionFileError(f"{name} has no [metadata] section")
        end = re.search(r"^\[", text[section.end():], re.M)
        stop = section.end() + end.start() if end else len(text)
        m = re.compile(r"^version[ \t]*[=:][ \t]*(\S[^\n]*?)[ \t]*$", re.M).search(text, section.end(), stop)
        if not m:
            raise VersionFileError(f"{name} has no version in [metadata]")
        if m.group(1).startswith(("attr:", "file:")):
            raise VersionFileError(
                f"{name} reads its version from elsewhere ({m.group(1)}): change it there, or point O(file) at it"
            )
        return m.start(1), m.end(1)


class _PlainText(_SpanHandler):
    kind = "VERSION"
    _re = re.compile(r"\s*(\S+)\s*\Z")

    def _span(self, text, name):
        m = self._re.match(text)
        if not m:
            raise VersionFileError(f"{name} should contain just the version (for example 1.4.2), found {text!r}")
        return m.start(1), m.end(1)


HANDLERS = {
    "package.json": _PackageJson(),
    "pyproject.toml": _Pyproject(),
    "mix.exs": _MixExs(),
    "Chart.yaml": _ChartYaml(),
    "setup.cfg": _SetupCfg(),
    "VERSION": _PlainText(),
}


# --------------------------------------------------------------------------- public API


def _read_text(path):
    return read_text(path, VersionFileError, "version file")


class VersionFile:
    """A version file that has been read: ``path``, ``kind``, ``version``."""

    def __init__(self, path, kind):
        self.path = path
        self.kind = kind
        self.handler = HANDLERS[kind]
        self.text = _read_text(path)
        self.version = self.handler.read(self.text, path)

    def companions(self):
        """Files updated together with this one (``package-lock.json`` next to ``package.json``)."""
        if self.kind != "package.json":
            return []
        lock = os.path.join(os.path.dirname(self.path), "package-lock.json")
        return [lock] if os.path.isfile(lock) else []

    def plan(self, new_version):
        """List of (path, old_text, new_text) for every file to change (unchanged ones left out)."""
        changes = []
        new_text = self.handler.write(self.text, self.path, new_version)
        if new_text != self.text:
            changes.append((self.path, self.text, new_text))
        for lock in self.companions():
            text = _read_text(lock)
            new_lock = _PackageLock().write(text, lock, new_version)
            if new_lock != text:
                changes.append((lock, text, new_lock))
        return changes


def kind_of(filename):
    base = os.path.basename(filename)
    return base if base in HANDLERS else "VERSION"


def find_version_file(path, file=None):
    """The VersionFile for ``path`` (a checkout directory or a file); ``file`` forces one (name or relative path)."""
    if file:
        target = file if os.path.isabs(file) else os.path.join(path, file)
        if not os.path.isfile(target):
            raise VersionFileError(f"version file {target} does not exist")
        return VersionFile(target, kind_of(target))
    if os.path.isfile(path):
        return VersionFile(path, kind_of(path))
    if not os.path.isdir(path):
        raise VersionFileError(f"{path} does not exist (give a service checkout directory or a version file)")
    problems = []
    for name in DETECT_ORDER:
        candidate = os.path.join(path, name)
        if not os.path.isfile(candidate):
            continue
        try:
            return VersionFile(candidate, name)
        except VersionFileError as exc:
            problems.append(str(exc))
    if problems:
        raise VersionFileError(f"no usable version file in {path}: " + "; ".join(problems))
    raise VersionFileError(
        f"no version file in {path}: looked for {', '.join(DETECT_ORDER)}; "
        "give the file explicitly with the file option if it has another name"
    )


def require_semver(version, where, what="version"):
    try:
        _semver.parse(version)
    except _semver.VersionError as exc:
        raise VersionFileError(f"the {what} in {where} is not a semantic version: {exc}") from None
    return version


def compute(vfile, bump=None, set_to=None, prerelease_token="rc"):
    """The new version for ``vfile`` (bump or set), validated; equal to the current one when nothing changes."""
    if set_to is not None:
        try:
            _semver.parse(set_to)
        except _semver.VersionError as exc:
            raise VersionFileError(f"cannot set the version: {exc}") from None
        return set_to
    require_semver(vfile.version, vfile.path)
    if bump is None:
        return vfile.version
    try:
        return _semver.next_version(vfile.version, bump, prerelease_token=prerelease_token)
    except _semver.VersionError as exc:
        raise VersionFileError(str(exc)) from None
