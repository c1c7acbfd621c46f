# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Version files: detection, reading, formatting-preserving edits."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.aegee.deploy.plugins.module_utils import _version_files as vf

PACKAGE_JSON = (
    '{\n    "name": "core",\n    "version": "1.38.1",\n    "scripts": {"start": "node ."},\n    "z": [1, 2]\n}\n'
)
PACKAGE_LOCK = textwrap.dedent(
    """\
    {
      "name": "core",
      "version": "1.38.1",
      "lockfileVersion": 3,
      "requires": true,
      "packages": {
        "": {
          "name": "core",
          "version": "1.38.1"
        },
        "node_modules/version": {
          "version": "1.38.1"
        }
      }
    }
    """
)
PYPROJECT = textwrap.dedent(
    """\
    # mailer
    [project]
    name = "mailer"   # the name
    version = '0.4.0'  # bumped by CI
    dependencies = [
        "jinja2>=3",
    ]

    [tool.ruff]
    line-length = 120
    """
)
POETRY = '[tool.poetry]\nname = "x"\nversion = "2.1.0"\n\n[tool.poetry.dependencies]\npython = "^3.11"\n'
MIX = textwrap.dedent(
    """\
    defmodule Core.MixProject do
      use Mix.Project

      def project do
        [
          app: :core,
          version: "1.38.1",
          elixir: "~> 1.14",
          deps: deps()
        ]
      end

      defp deps, do: [{:plug, "~> 1.0"}]
    end
    """
)
MIX_ATTR = (
    '@version "0.9.0"\ndefmodule X.MixProject do\n  def project do\n    [app: :x, version: @version]\n  end\nend\n'
)
CHART = 'apiVersion: v2\nname: core\nversion: "1.2.3"  # chart\nappVersion: 1.38.1\n'
SETUP_CFG = "[metadata]\nname = x\nversion = 3.0.0\n\n[options]\nversion = 9.9.9\n"

FILES = [
    ("package.json", PACKAGE_JSON, "1.38.1"),
    ("pyproject.toml", PYPROJECT, "0.4.0"),
    ("pyproject.toml", POETRY, "2.1.0"),
    ("mix.exs", MIX, "1.38.1"),
    ("mix.exs", MIX_ATTR, "0.9.0"),
    ("Chart.yaml", CHART, "1.2.3"),
    ("setup.cfg", SETUP_CFG, "3.0.0"),
    ("VERSION", "1.0.0\n", "1.0.0"),
    ("VERSION", "  2.0.0-rc.1", "2.0.0-rc.1"),
]


@pytest.mark.parametrize("name,text,version", FILES)
def test_read_and_set_changes_only_the_version(tmp_path, name, text, version):
    (tmp_path / name).write_text(text)
    vfile = vf.find_version_file(str(tmp_path))
    assert (vfile.kind, vfile.version, vfile.path) == (name, version, str(tmp_path / name))
    [(path, old, new)] = vfile.plan("7.8.9")
    assert old == text
    a, b = old.splitlines(True), new.splitlines(True)
    assert len(a) == len(b)
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    assert len(diff) == 1
    assert diff[0][1] == diff[0][0].replace(version, "7.8.9", 1)
    (tmp_path / name).write_text(new)
    assert vf.find_version_file(str(tmp_path)).version == "7.8.9"


def test_package_lock_is_updated_too(tmp_path):
    (tmp_path / "package.json").write_text(PACKAGE_JSON)
    (tmp_path / "package-lock.json").write_text(PACKAGE_LOCK)
    vfile = vf.find_version_file(str(tmp_path))
    changes = vfile.plan("1.39.0")
    assert [p for p, _o, _n in changes] == [str(tmp_path / "package.json"), str(tmp_path / "package-lock.json")]
    lock_new = changes[1][2]
    data = json.loads(lock_new)
    assert data["version"] == data["packages"][""]["version"] == "1.39.0"
    assert data["packages"]["node_modules/version"]["version"] == "1.38.1"  # a dependency is not us
    assert lock_new.count("\n") == PACKAGE_LOCK.count("\n") and lock_new.endswith("}\n")


def test_detection_order_and_explicit_file(tmp_path):
    (tmp_path / "VERSION").write_text("9.0.0\n")
    (tmp_path / "package.json").write_text(PACKAGE_JSON)
    assert vf.find_version_file(str(tmp_path)).kind == "package.json"
    assert vf.find_version_file(str(tmp_path), "VERSION").version == "9.0.0"
    assert vf.find_version_file(str(tmp_path / "VERSION")).version == "9.0.0"
    (tmp_path / "release.txt").write_text("4.0.0")
    assert vf.find_version_file(str(tmp_path), "release.txt").kind == "VERSION"


def test_unusable_file_falls_through_to_next(tmp_path):
    (tmp_path / "package.json").write_text('{"name": "no-version"}')
    (tmp_path / "VERSION").write_text("1.2.3\n")
    assert vf.find_version_file(str(tmp_path)).kind == "VERSION"


@pytest.mark.parametrize(
    "files,pattern",
    [
        ({}, r"no version file in .*: looked for package.json, pyproject.toml"),
        ({"package.json": '{"name": "x"}'}, r'package.json has no top-level "version" field'),
        ({"package.json": '{"version": 1}'}, r'"version" is not a string'),
        ({"package.json": "{nope"}, r"is not valid JSON"),
        ({"pyproject.toml": '[project]\nname = "x"\ndynamic = ["version"]\n'}, r"declares the version as dynamic"),
        ({"pyproject.toml": "[project\n"}, r"is not valid TOML"),
        ({"mix.exs": "defmodule X do\nend\n"}, r"has no 'def project'"),
        ({"setup.cfg": "[metadata]\nversion = attr: x.__version__\n"}, r"reads its version from elsewhere"),
        ({"VERSION": "1.0.0\n2.0.0\n"}, r"should contain just the version"),
    ],
)
def test_detection_errors(tmp_path, files, pattern):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(vf.VersionFileError, match=pattern):
        vf.find_version_file(str(tmp_path))


def test_missing_paths(tmp_path):
    with pytest.raises(vf.VersionFileError, match=r"does not exist"):
        vf.find_version_file(str(tmp_path / "nope"))
    with pytest.raises(vf.VersionFileError, match=r"version file .*VERSION does not exist"):
        vf.find_version_file(str(tmp_path), "VERSION")


@pytest.mark.parametrize(
    "current,bump,expected",
    [
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "prerelease", "1.2.4-rc.1"),
        ("1.2.4-rc.1", "prerelease", "1.2.4-rc.2"),
        ("1.2.4-rc.1", "patch", "1.2.4"),
        ("1.3.0-rc.1", "minor", "1.3.0"),
        ("2.0.0-rc.1", "major", "2.0.0"),
        ("1.2.3", None, "1.2.3"),
    ],
)
def test_compute_bump(tmp_path, current, bump, expected):
    (tmp_path / "VERSION").write_text(current + "\n")
    assert vf.compute(vf.find_version_file(str(tmp_path)), bump=bump) == expected


@pytest.mark.parametrize("current", ["v1.2.3", "1.2", "latest"])
def test_non_semver_current_is_refused_but_set_can_fix_it(tmp_path, current):
    (tmp_path / "VERSION").write_text(current + "\n")
    vfile = vf.find_version_file(str(tmp_path))
    with pytest.raises(vf.VersionFileError, match=r"VERSION is not a semantic version"):
        vf.compute(vfile, bump="patch")
    assert vf.compute(vfile, set_to="1.2.3") == "1.2.3"


@pytest.mark.parametrize("value", ["v1.2.3", "1.2", "", "1.2.3 "])
def test_set_refuses_non_semver(tmp_path, value):
    (tmp_path / "VERSION").write_text("1.0.0\n")
    with pytest.raises(vf.VersionFileError, match=r"cannot set the version"):
        vf.compute(vf.find_version_file(str(tmp_path)), set_to=value)


# --------------------------------------------------------------------------- JSON span finder (property)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    st.text(alphabet="0123456789.", min_size=1, max_size=8),
    st.sampled_from([None, 2, 4, "\t"]),
    st.booleans(),
)
def test_json_version_splice_property(doc, version, indent, ensure_ascii):
    doc = dict(doc)
    doc["version"] = "0.0.1"
    text = json.dumps(doc, indent=indent, ensure_ascii=ensure_ascii) + "\n"
    new = vf._json_set(text, "package.json", ("version",), version)
    expected = dict(doc, version=version)
    assert json.loads(new) == expected
    assert len(new.splitlines()) == len(text.splitlines())
