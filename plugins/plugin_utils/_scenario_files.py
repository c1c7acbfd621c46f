# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The browser scenarios on the controller: read, checked, sent with the release.

``aegee_browser_scenarios`` names a folder on the controller (the deploy repo's browser test folder in a checkout,
or a folder beside the inventory), or one scenario file. ``read`` returns its files (relative path -> text) and
the problems that stop a run before any host is contacted: a folder or file that does not exist, no
``test_*.py`` scenario, a Python file that does not compile (named with its line), a file that is not UTF-8 text,
more than ``_scenarios.MAX_BYTES`` in all. ``inventory_problems`` checks the other ``aegee_browser_*`` settings
of the scenarios. The host side (writing and running them) is ``module_utils/_scenarios``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible_collections.aegee.deploy.plugins.module_utils import _checks, _scenarios

TEXT_SUFFIXES = (".py", ".ini", ".cfg", ".toml", ".json", ".txt", ".csv", ".yml", ".yaml", ".html", ".md")
SKIP = ("__pycache__", ".pytest_cache")


def _files_of(path):
    """(relative path, absolute path) of the files to send: a folder's text files, or one file and its conftest."""
    if os.path.isfile(path):
        folder = os.path.dirname(path)
        names = [os.path.basename(path)] + (["conftest.py"] if os.path.isfile(os.path.join(folder, "conftest.py"))
                                            and os.path.basename(path) != "conftest.py" else [])
        return [(name, os.path.join(folder, name)) for name in names]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP)
        for name in sorted(filenames):
            if name.endswith(TEXT_SUFFIXES) and not name.startswith("."):
                full = os.path.join(dirpath, name)
                found.append((os.path.relpath(full, path).replace(os.sep, "/"), full))
    return found


def read(path, what="aegee_browser_scenarios"):
    """(files, problems) of the scenarios at ``path`` on the controller."""
    if not isinstance(path, str) or not path.strip():
        return {}, ["%s must be the path of a folder of browser scenarios on the controller, such as "
                    "tests/browser in a checkout of the deploy repo, got %s" % (what, _checks._shown(path))]
    if not os.path.exists(path):
        return {}, ["%s: %s does not exist on the controller: name the folder of the browser scenarios (test_*.py "
                    "files), or one scenario file" % (what, path)]
    files, problems = {}, []
    for rel, full in _files_of(path):
        try:
            with open(full, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append("%s: %s cannot be read as UTF-8 text (%s)" % (what, full, exc))
            continue
        if rel.endswith(".py"):
            try:
                compile(text, full, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                where = full
                if getattr(exc, "lineno", None):
                    where = "%s line %s" % (full, exc.lineno)
                problems.append("%s: %s does not compile: %s" % (what, where, getattr(exc, "msg", None) or exc))
        files[rel] = text
    if not problems:
        problems = ["%s: %s %s" % (what, path, problem) for problem in _scenarios.file_problems(files)]
    return files, problems


def _account_problems(value):
    if not isinstance(value, Mapping):
        return ["must be a mapping with username and password (from vault), got %s" % _checks._type(value)]
    bad = [key for key in ("username", "password") if not isinstance(value.get(key), str) or not value.get(key)]
    unknown = sorted(str(k) for k in value if k not in ("username", "password"))
    return (["has no %s: give it as a text (the password from vault)" % " or ".join(bad)] if bad else []) + \
        (["has unknown keys %s (use username, password)" % ", ".join(unknown)] if unknown else [])


def inventory_problems(hostvars):
    """The problems of one host's scenario settings (``aegee_browser_*``), the folder's own included."""
    path = hostvars.get("aegee_browser_scenarios")
    if path is None or path == "":
        return []
    problems = read(path)[1]
    check = {"markers": hostvars.get("aegee_browser_markers"), "timeout": hostvars.get("aegee_browser_timeout"),
             "suite_timeout": hostvars.get("aegee_browser_suite_timeout"),
             "retries": hostvars.get("aegee_browser_retries")}
    names = {"markers": "aegee_browser_markers", "timeout": "aegee_browser_timeout",
             "suite_timeout": "aegee_browser_suite_timeout", "retries": "aegee_browser_retries"}
    for problem in _checks.KINDS["scenarios"].validate(dict(check, files={"test_.py": ""})):
        key = problem.split(" ", 1)[0]
        problems.append("%s %s" % (names.get(key, key), problem.split(" ", 1)[1] if key in names else problem))
    base = hostvars.get("aegee_browser_base_url")
    if base is None:
        problems.append("aegee_browser_base_url is not set: the browser scenarios need the URL users reach the "
                        "services at (the gateway), as the host reaches it, such as http://127.0.0.1:8088")
    elif not (isinstance(base, str) and _checks.URL_RE.match(base)):
        problems.append("aegee_browser_base_url %s is not an http:// or https:// URL" % _checks._shown(base))
    if hostvars.get("aegee_browser_account") is not None:
        problems += ["aegee_browser_account " + p for p in _account_problems(hostvars["aegee_browser_account"])]
    if hostvars.get("aegee_browser_python") is None:
        problems.append("aegee_browser_python is not set: the browser scenarios need a Python with pytest and "
                        "Playwright on the host, such as /opt/playwright/bin/python")
    return problems
