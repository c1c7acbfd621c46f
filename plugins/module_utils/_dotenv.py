# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
r"""Read and set keys of a Compose ``.env`` file, keeping every other line.

Only ``KEY=value`` lines are understood; comments, blank lines, order and
unknown syntax are kept byte for byte. A key that is set is rewritten in
place (its first occurrence; later duplicates are removed so Compose and
``make`` agree), a missing key is appended.

Values are read the way Docker Compose v2 reads them, except that variable
references (``$VAR``, ``${VAR}``) are returned as written, not expanded:

* unquoted: up to an inline `` #`` comment, ``$$`` is a literal ``$``;
* ``'single'``: as written (a ``\'`` inside is a ``'``);
* ``"double"``: ``\\``, ``\"``, ``\$`` and ``$$`` stand for ``\``, ``"``
  and ``$``; ``\n``, ``\t`` and the other C escapes for those characters.

Values are written so that Compose reads back exactly the value given:
plain when nothing in it is special, else in single quotes, else (a value
with a ``'`` or ending in ``\``) in double quotes with ``\``, ``"`` and
``$`` escaped (``$`` as ``$$``, so Compose does not interpolate it).
"""

from __future__ import annotations

import re

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: "$" would accept a trailing newline
_LINE_RE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


class DotenvError(ValueError):
    pass


# Compose's escapes in double quotes (compose-go dotenv expandEscapes), and its "$$" for a literal "$"
_DOUBLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "$": "$", '"': '"', "\\": "\\"}
_DOUBLE_RE = re.compile(r'\\([abfnrtv$"\\])|\$\$')


def _closing_quote(value):
    """Index of the quote that closes the one ``value`` starts with (``\\`` escapes the next character), or -1."""
    quote, pos = value[0], 1
    while pos < len(value):
        if value[pos] == "\\":
            pos += 2
            continue
        if value[pos] == quote:
            return pos
        pos += 1
    return -1


def _unescape_double(inner):
    return _DOUBLE_RE.sub(lambda m: _DOUBLE_ESCAPES[m.group(1)] if m.group(1) else "$", inner)


def _unescape_single(inner):
    # Compose keeps a backslash in single quotes, except the one that escapes a quote
    return re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) == "'" else m.group(0), inner)


def _unquote(raw):
    value = raw.strip()
    if value[:1] in ("'", '"'):
        end = _closing_quote(value)
        rest = value[end + 1:] if end > 0 else None
        # a quoted value, alone or followed by an inline comment
        if rest is not None and (not rest or re.match(r"\s+#", rest)):
            inner = value[1:end]
            return _unescape_single(inner) if value[0] == "'" else _unescape_double(inner)
        if len(value) >= 2 and value[0] == value[-1]:
            return value[1:-1]
    # an unquoted value ends at an inline comment; "$$" is a literal "$"
    return re.split(r"\s+#", value, maxsplit=1)[0].replace("$$", "$")


def _lines(text, keepends=False):
    """Lines split on ``\\n`` only, as Compose reads a .env file (str.splitlines also breaks on \\x85, \\u2028...)."""
    lines = re.findall(r"[^\n]*\n|[^\n]+", text)
    return lines if keepends else [line.rstrip("\n") for line in lines]


def parse(text):
    """The ``KEY -> value`` mapping of a ``.env`` text (last one wins, as in Compose)."""
    values = {}
    for line in _lines(text):
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
    """``value`` as Compose reads it back exactly (see the module docstring)."""
    if value == "" or re.search(r"[\s#'\"$\\`]", value):
        # in single quotes a backslash before the closing quote would escape it
        if "'" not in value and not value.endswith("\\"):
            return "'%s'" % value
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return value


def apply(text, settings):
    """Return ``text`` with every ``KEY=value`` of ``settings`` set."""
    for key, value in settings.items():
        check_value(key, value)
    lines = _lines(text, keepends=True)
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
