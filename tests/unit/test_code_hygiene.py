# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What reading plugins/ must not find: code only tests keep alive, a class over 300 lines, an ``except None``,
pointers to files that do not exist."""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGINS = os.path.join(REPO, "plugins")
SHARED = ("module_utils", "plugin_utils")  # private code other plugins import


def sources():
    for folder, _dirs, names in sorted(os.walk(PLUGINS)):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as handle:
                    yield os.path.relpath(path, REPO), handle.read()


def definitions(tree):
    """Names of the top-level functions and classes, and of the methods (dunders aside)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not (item.name.startswith("__") and item.name.endswith("__")):
                    yield item.name


def test_no_shared_code_that_only_tests_use():
    used, defined = set(), []
    for path, text in sources():
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.rsplit(".", 1)[-1])
        if path.split(os.sep)[1] in SHARED:
            defined += ["%s: %s" % (path, name) for name in definitions(tree)]
    assert [d for d in defined if d.rsplit(": ", 1)[1] not in used] == []


MAX_CLASS_LINES = 300


def test_no_class_over_300_lines():
    """A class longer than that does more than one job: split it."""
    long = []
    for path, text in sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                long.append("%s: %s (%d lines)" % (path, node.name, node.end_lineno - node.lineno + 1))
    assert long == []


def test_no_import_fallback_that_an_except_clause_would_catch_as_none():
    """``except ImportError: X = None`` and then ``except X:`` is ``except None``: a TypeError when it matters."""
    found = []
    for path, text in sources():
        tree = ast.parse(text)
        nones = set()
        for handler in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)):
            if isinstance(handler.type, ast.Name) and handler.type.id in ("ImportError", "ModuleNotFoundError"):
                for node in ast.walk(handler):
                    if isinstance(node, ast.Assign) and getattr(node.value, "value", False) is None:
                        nones.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for handler in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)):
            caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            found += ["%s:%d except %s" % (path, handler.lineno, c.id) for c in caught
                      if isinstance(c, ast.Name) and c.id in nones]
    assert found == []


# a document of this repository, or a path inside it (host-side paths such as package.json are not ours)
POINTER = re.compile(r"(?<![\w./:@-])((?:plugins|roles|playbooks|docs|tests|testbed)/[\w./-]*\w|[\w-]+\.md)\b")


def prose(text):
    """The comments and docstrings of a Python file."""
    out = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node):
            out.append(ast.get_docstring(node))
    return out


@pytest.mark.parametrize("path", [path for path, _text in sources()])
def test_files_named_in_comments_exist(path):
    here = os.path.dirname(os.path.join(REPO, path))
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        text = handle.read()
    missing = []
    for words in prose(text):
        for name in POINTER.findall(re.sub(r"\w+://\S+", "", words)):
            if not any(os.path.exists(os.path.join(base, name)) for base in (REPO, here, os.path.join(REPO, "docs"))):
                missing.append(name)
    assert missing == []
