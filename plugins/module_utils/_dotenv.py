# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Read and set keys of a Compose ``.env`` file, keeping every other line.

Only ``KEY=value`` lines are understood; comments, blank lines, order and
unknown syntax are kept byte for byte. A key that is set is rewritten in
place (its first occurrence; later duplicates are removed so Compose and
``make`` agree), a missing key is appended.
"""

from __future__ import annotations

import re

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LINE_RE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


class DotenvError(ValueError):
    pass


def _unquote(raw):
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    # an unquoted value ends at an inline comment
    return re.split(r"\s+#", value, maxsplit=1)[0]


def parse(text):
    """The ``KEY -> value`` mapping of a ``.env`` text (last one wins, as in Compose)."""
    values = {}
    for line in text.splitlines():
        m = _LINE_RE.match(line)
        if m and not line.lstrip().startswith("#"):
            values[m.group(1)] = _unquote(m.group(2))
    return values


def check_value(key, value):
    if not KEY_RE.match(key or ""):
        raise DotenvError("%r is not a valid .env key (letters, digits and _ only, not starting with a digit)" % key)
    if not isinstance(value, str):
        raise DotenvError(".env value of %s must be a string" % key)
    if "\n" in value or "\r" in value or "\0" in value:
        raise DotenvError(".env value of %s contains a line break or NUL: not allowed" % key)


def _render(value):
    if value == "" or re.search(r"[\s#'\"$\\`]", value):
        if "'" not in value:
            return "'%s'" % value
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value


def apply(text, settings):
    """Return ``text`` with every ``KEY=value`` of ``settings`` set."""
    for key, value in settings.items():
        check_value(key, value)
    lines = text.splitlines(True)
    done = set()
    out = []
    for line in lines:
        m = _LINE_RE.match(line.rstrip("\r\n"))
        key = m.group(1) if m and not line.lstrip().startswith("#") else None
        if key in settings:
            if key in done:
                continue
            done.add(key)
            if _unquote(m.group(2)) == settings[key]:
                out.append(line)
            else:
                ending = "\n" if line.endswith("\n") else ""
                out.append("%s=%s%s" % (key, _render(settings[key]), ending))
            continue
        out.append(line)
    missing = [k for k in settings if k not in done]
    if missing:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        for key in missing:
            out.append("%s=%s\n" % (key, _render(settings[key])))
    return "".join(out)
