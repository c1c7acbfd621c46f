# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Pin the image of a service in a Docker Compose file, changing nothing else.

How the edit is made, and why it is safe:

1. The file is parsed with ruamel.yaml's round-trip composer, which gives
   every scalar its exact position (index, line, column) and quoting style.
2. The service's ``image`` scalar is located; the new value is rendered in
   the same quoting style and spliced into the original text at that
   position. Nothing else is re-serialised, so comments, key order, quoting,
   indentation (whatever it is), anchors, aliases, flow sequences, ``${VAR}``
   interpolation, line endings and a trailing newline are kept byte for byte.
3. The result is parsed again and compared node by node with the original:
   it must be the same YAML tree (tags, values, styles, anchors) except the
   pinned image values, which must read back exactly as intended, and only
   the lines of those values may differ. Otherwise the edit is refused.

Works with ruamel.yaml 0.17.21 (Debian 12's python3-ruamel.yaml) and newer.
"""

from __future__ import annotations

import re
import traceback

from ansible_collections.aegee.deploy.plugins.module_utils._fileio import read_text

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    HAS_RUAMEL = True
    RUAMEL_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised on hosts without ruamel.yaml
    HAS_RUAMEL = False
    RUAMEL_IMPORT_ERROR = traceback.format_exc()

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}\Z")
STR_TAG = "tag:yaml.org,2002:str"
# YAML tags that ask a (Python) loader to build objects or run code: a compose file never needs them
_PYTHON_TAGS = ("tag:yaml.org,2002:python/", "!python/", "!!python/")
MAX_DEPTH = 100  # compose files nest a few levels; deeper is not a compose file (and would exhaust the stack)
# A release reads the same few files over and over (pins of the old and the new edits, each edit read back
# to verify it): the trees of the texts parsed last, by text. Nothing changes a tree once built.
PARSED_KEEP = 32
_PARSED = {}
_PROPERTIES_RE = re.compile(r"(?:[&!][^\s]*\s+)*")


class ComposeError(Exception):
    """Anything that stops a pin; the message says what to do. The file is untouched."""


# --------------------------------------------------------------------------- validators


def validate_tag(tag):
    """Raise ComposeError unless ``tag`` is a valid Docker tag."""
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        raise ComposeError(
            f"{tag!r} is not a valid Docker tag: a tag is 1 to 128 characters from letters, digits, '_', '.' and '-', "
            "and must not start with '.' or '-' (for example 1.4.2 or latest)"
        )
    return tag


def validate_digest(digest):
    """Raise ComposeError unless ``digest`` is ``sha256:`` followed by 64 lowercase hex digits."""
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise ComposeError(
            f"{digest!r} is not a valid image digest: expected 'sha256:' followed by 64 lowercase hexadecimal digits "
            "(as printed by 'docker buildx imagetools inspect' or the registry's Docker-Content-Digest header)"
        )
    return digest


# --------------------------------------------------------------------------- image references


def _interpolations(text):
    """Spans and variable names of ``${...}`` / ``$VAR`` in ``text`` (``$$`` is a literal ``$``)."""
    spans = []
    i = 0
    n = len(text)
    while i < n:
        if text[i] != "$":
            i += 1
            continue
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth = 0
            j = i
            while j < n:
                if text.startswith("${", j):
                    depth += 1
                    j += 2
                    continue
                if text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            end = min(j + 1, n)
            name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i + 2:end])
            spans.append((i, end, name.group(0) if name else text[i + 2:end - 1]))
            i = end
            continue
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:])
        if m:
            spans.append((i, i + m.end(), m.group(1)))
            i += m.end()
            continue
        i += 1
    return spans


class ImageRef:
    """An image reference as written in a compose file: ``repository[:tag][@digest]``.

    ``repository`` keeps the text as written (registry host and port
    included, ``${VAR}`` allowed there). ``variables`` maps each part
    (``repository``, ``tag``, ``digest``) to the variable names used in it.
    """

    def __init__(self, text):
        self.text = text
        spans = _interpolations(text)
        masked = list(text)
        for start, end, _name in spans:
            for k in range(start, end):
                masked[k] = "\0"
        masked = "".join(masked)
        self.whole_variable = bool(spans) and spans[0][0] == 0 and spans[0][1] == len(text) and len(spans) == 1
        at = masked.find("@")
        name_part, self.digest = (text, None) if at < 0 else (text[:at], text[at + 1:])
        masked_name = masked if at < 0 else masked[:at]
        slash = masked_name.rfind("/")
        colon = masked_name.find(":", slash + 1)
        if colon < 0:
            self.repository, self.tag = name_part, None
        else:
            self.repository, self.tag = name_part[:colon], name_part[colon + 1:]
        bounds = {"repository": (0, len(self.repository))}
        if self.tag is not None:
            bounds["tag"] = (len(self.repository) + 1, len(name_part))
        if self.digest is not None:
            bounds["digest"] = (at + 1, len(text))
        self.variables = {}
        for start, end, name in spans:
            for part, (lo, hi) in bounds.items():
                if start < hi and end > lo:
                    self.variables.setdefault(part, []).append(name)

    def with_pin(self, tag=None, digest=None):
        """The reference text with ``tag`` and/or ``digest``; an old digest is dropped unless given again."""
        value = self.repository
        if tag is not None:
            value += ":" + tag
        if digest is not None:
            value += "@" + digest
        return value

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"ImageRef({self.text!r})"


def normalize_repository(repository):
    """Canonical form for comparing repositories: ``nginx`` == ``docker.io/library/nginx``."""
    repo = repository.strip()
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path = first.lower(), rest
    else:
        domain, path = "docker.io", repo
    if domain in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    return domain + "/" + path


# --------------------------------------------------------------------------- parsing


def _tag(node):
    tag = node.tag
    return getattr(tag, "value", tag)


def _yaml_problem(exc):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return problem


def compose_tree(text, name="the compose file"):
    """The YAML node tree of ``text`` (round-trip composer); ComposeError if it is not YAML.

    Only nodes are built, never objects, so nothing in the text can run; a
    Python tag (``!!python/object/apply:...``) is refused all the same, and
    so is nesting deeper than MAX_DEPTH.
    """
    if not HAS_RUAMEL:
        raise ComposeError("the Python package ruamel.yaml is required (Debian: python3-ruamel.yaml)")
    root = _PARSED.get(text)
    if root is not None:
        return root
    try:
        root = YAML(typ="rt").compose(text)
    except (YAMLError, MarkedYAMLError) as exc:
        raise ComposeError(f"{name} is not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ComposeError(f"{name} is not a compose file: it is nested more than {MAX_DEPTH} levels deep") from None
    _check_nodes(root, name)
    if root is not None:
        if len(_PARSED) >= PARSED_KEEP:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[text] = root
    return root


def _check_nodes(root, name):
    """Refuse Python tags and nesting deeper than MAX_DEPTH (walked without recursion)."""
    seen = set()
    stack = [(root, 0)] if root is not None else []
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        tag = str(_tag(node) or "")
        if tag.startswith(_PYTHON_TAGS):
            shown = tag.replace("tag:yaml.org,2002:", "!!", 1)
            raise ComposeError(
                f"{name}, line {node.start_mark.line + 1}: the YAML tag {shown} asks for a Python object; a compose "
                "file never needs one, so the file is refused (nothing in it was run)"
            )
        if depth > MAX_DEPTH:
            raise ComposeError(f"{name} is not a compose file: it is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def _mapping_get(node, key):
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None, None


def services_node(root, name="the compose file"):
    if not isinstance(root, MappingNode):
        raise ComposeError(f"{name} is not a compose file: its top level is not a mapping with a 'services:' key")
    _key, services = _mapping_get(root, "services")
    if services is None:
        raise ComposeError(f"{name} is not a compose file: it has no top-level 'services:' mapping")
    if isinstance(services, ScalarNode) and _tag(services).endswith(":null"):
        raise ComposeError(f"{name} defines no services: 'services:' is empty")
    if not isinstance(services, MappingNode):
        raise ComposeError(f"{name} is not a compose file: 'services:' is not a mapping of service names")
    return services


def service_names(services):
    return [k.value for k, _v in services.value if isinstance(k, ScalarNode) and k.value != "<<"]


def image_sources(documents):
    """Which file's ``image:`` Compose uses for each service of a project made of several files.

    ``documents``: ``(name, text)`` in the project's order (``text`` None for a file that could not be
    read: skipped). Compose merges the files and a later ``image:`` overrides an earlier one, so the
    image of a service comes from the last file that sets it, or, if none does, the service belongs to
    the first file that defines it. Returns ``({service: {"file": name, "image": value or None}},
    warnings)``: a file that is not a compose file is skipped with a warning, one without
    ``services:`` (a base file with networks and anchors only) silently.
    """
    sources, warnings = {}, []
    for name, text in documents:
        if text is None:
            continue
        try:
            root = compose_tree(text, name)
            if isinstance(root, MappingNode) and _mapping_get(root, "services")[1] is None:
                continue
            services = services_node(root, name)
        except ComposeError as exc:
            warnings.append(str(exc))
            continue
        for key, node in services.value:
            svc = getattr(key, "value", None)
            if not isinstance(svc, str) or svc == "<<" or not isinstance(node, MappingNode):
                continue
            entry = sources.setdefault(svc, {"file": name, "image": None})
            for k, v in node.value:
                if getattr(k, "value", None) == "image" and isinstance(v, ScalarNode):
                    entry.update(file=name, image=v.value)
    return sources, warnings


def _count_refs(root):
    counts = {}

    def walk(node):
        counts[id(node)] = counts.get(id(node), 0) + 1
        if counts[id(node)] > 1:
            return
        if isinstance(node, MappingNode):
            for k, v in node.value:
                walk(k)
                walk(v)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                walk(item)

    walk(root)
    return counts


class _Located:
    """Where one service's image scalar is in the text."""

    def __init__(self, service, node, start, end, style):
        self.service = service
        self.node = node
        self.start = start  # index of the scalar's first character (after any &anchor / !tag)
        self.end = end
        self.style = style
        self.value = node.value
        self.line = node.start_mark.line


def locate_image(text, services, service, refs, name="the compose file"):
    """Locate the ``image`` scalar of ``service``; ComposeError explains why it cannot be pinned."""
    svc = None
    for key_node, value_node in services.value:
        if isinstance(key_node, ScalarNode) and key_node.value == service:
            svc = value_node
            break
    if svc is None:
        known = service_names(services)
        raise ComposeError(
            f"service {service!r} is not defined in {name}; known services: {', '.join(known) if known else '(none)'}"
        )
    if not isinstance(svc, MappingNode):
        raise ComposeError(f"service {service!r} in {name} is not a mapping")
    if refs.get(id(svc), 0) > 1:
        raise ComposeError(
            f"service {service!r} in {name} is anchored as &{svc.anchor} and reused through aliases elsewhere: "
            "pinning its image would change those too; write the other services out in full"
        )
    key_node, node = _mapping_get(svc, "image")
    if node is None:
        _mk, merged = _mapping_get(svc, "<<")
        if merged is not None:
            sources = merged.value if isinstance(merged, SequenceNode) else [merged]
            for src in sources:
                if isinstance(src, MappingNode) and _mapping_get(src, "image")[1] is not None:
                    raise ComposeError(
                        f"service {service!r} in {name} gets its image through the merge key '<<' "
                        f"(anchor &{src.anchor}, line {src.start_mark.line + 1}): pinning it there would change "
                        "every service that merges it; give the service its own 'image:' line"
                    )
        if _mapping_get(svc, "build")[1] is not None:
            raise ComposeError(
                f"service {service!r} in {name} has no 'image:': it is built from 'build:' "
                f"(line {_mapping_get(svc, 'build')[0].start_mark.line + 1}), so there is no image to pin; "
                "add 'image: <repository>:<tag>' to the service if it should run a registry image"
            )
        raise ComposeError(f"service {service!r} in {name} has no 'image:' key")
    line = node.start_mark.line + 1
    if not isinstance(node, ScalarNode):
        raise ComposeError(f"the image of service {service!r} in {name} (line {line}) is not a string")
    if node.start_mark.index < key_node.end_mark.index:
        raise ComposeError(
            f"the image of service {service!r} in {name} (line {key_node.start_mark.line + 1}) is a YAML alias of "
            f"&{node.anchor} defined on line {line}: pinning it would change every user of that anchor; "
            "write the image on the service itself"
        )
    if refs.get(id(node), 0) > 1:
        raise ComposeError(
            f"the image of service {service!r} in {name} (line {line}) is anchored as &{node.anchor} and reused "
            "through aliases elsewhere: pinning it would change those too; write the image on each service itself"
        )
    if node.style in ("|", ">") or node.start_mark.line != node.end_mark.line:
        raise ComposeError(
            f"the image of service {service!r} in {name} (line {line}) spans several lines; write it on one line"
        )
    if _tag(node) != STR_TAG or not node.value:
        raise ComposeError(f"the image of service {service!r} in {name} (line {line}) is empty or not a string")
    raw = text[node.start_mark.index:node.end_mark.index]
    props = _PROPERTIES_RE.match(raw)
    start = node.start_mark.index + (props.end() if props else 0)
    return _Located(service, node, start, node.end_mark.index, node.style)


def check_pinnable(located, name="the compose file"):
    """The ImageRef of a located image, or ComposeError if it is written through variables."""
    ref = ImageRef(located.value)
    line = located.line + 1
    if ref.whole_variable:
        var = ref.variables["repository"][0]
        raise ComposeError(
            f"the image of service {located.service!r} in {name} (line {line}) is the variable ${{{var}}}: its value "
            f"is set in .env or the environment, not in this file; pin it there ({var}=<repository>:<tag>), "
            "or write the image here"
        )
    for part in ("tag", "digest"):
        if part in ref.variables:
            names = ", ".join(f"${{{v}}}" for v in ref.variables[part])
            raise ComposeError(
                f"the image of service {located.service!r} in {name} (line {line}) is {located.value!r}: its {part} "
                f"comes from {names}, set in .env or the environment; set that variable instead, or write a literal "
                f"{part} in the file"
            )
    if not ref.repository:
        raise ComposeError(
            f"the image of service {located.service!r} in {name} (line {line}) has no repository: {ref.text!r}"
        )
    return ref


# --------------------------------------------------------------------------- rendering and verification


def _render(value, style):
    if style == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return value


def _same_tree(old, new, skip_old, seen):
    """True if two node trees are equal (tag, value, style, anchors), skipping nodes in ``skip_old``."""
    if id(old) in seen:
        return seen[id(old)] is new
    seen[id(old)] = new
    if type(old) is not type(new) or _tag(old) != _tag(new) or old.anchor != new.anchor:
        return False
    if isinstance(old, ScalarNode):
        if id(old) in skip_old:
            return True
        return old.value == new.value and old.style == new.style
    if getattr(old, "flow_style", None) != getattr(new, "flow_style", None) or len(old.value) != len(new.value):
        return False
    if isinstance(old, MappingNode):
        return all(
            _same_tree(ok, nk, skip_old, seen) and _same_tree(ov, nv, skip_old, seen)
            for (ok, ov), (nk, nv) in zip(old.value, new.value)
        )
    return all(_same_tree(o, n, skip_old, seen) for o, n in zip(old.value, new.value))


def _verify(old_text, new_text, old_root, edits, name):
    """Refuse (ComposeError) unless new_text differs from old_text only in the pinned image values."""
    new_root = compose_tree(new_text, name)
    new_services = services_node(new_root, name)
    new_refs = _count_refs(new_root)
    for loc, new_value in edits:
        got = locate_image(new_text, new_services, loc.service, new_refs, name)
        if got.value != new_value or _tag(got.node) != STR_TAG:
            raise ComposeError(
                f"refusing to write {name}: the new image of {loc.service!r} would read back as {got.value!r}, "
                f"not {new_value!r}"
            )
    if not _same_tree(old_root, new_root, {id(loc.node) for loc, _v in edits}, {}):
        raise ComposeError(f"refusing to write {name}: the edit would change more than the image value")
    old_lines = old_text.splitlines(True)
    new_lines = new_text.splitlines(True)
    allowed = {loc.line for loc, _v in edits}
    if len(old_lines) != len(new_lines) or any(
        a != b and i not in allowed for i, (a, b) in enumerate(zip(old_lines, new_lines))
    ):
        raise ComposeError(f"refusing to write {name}: the edit would change lines other than the image line")


# --------------------------------------------------------------------------- the pin


class PinResult:
    def __init__(self, before_text, after_text, pins):
        self.before_text = before_text
        self.after_text = after_text
        self.pins = pins  # list of dicts: service, before, after, changed, line

    @property
    def changed(self):
        return self.before_text != self.after_text

    @property
    def services(self):
        return [p["service"] for p in self.pins]


def select_services(text, root, services, *, service=None, image=None, name="the compose file"):
    """Locations of the image scalars to pin, chosen by service name or by image repository."""
    refs = _count_refs(root)
    if service is not None:
        return [locate_image(text, services, service, refs, name)]
    if image is None:
        raise ComposeError("choose the service to pin by service name or by image repository")
    wanted = ImageRef(image)
    if wanted.tag is not None or wanted.digest is not None or not wanted.repository:
        raise ComposeError(
            f"image={image!r} must be a repository without tag or digest (for example aegee/core or "
            "localhost:5000/aegee/core); give the tag and digest as separate options"
        )
    key = normalize_repository(wanted.repository)
    found, skipped = [], []
    for svc_name in service_names(services):
        _k, svc = _mapping_get(services, svc_name)
        if not isinstance(svc, MappingNode):
            continue
        _ik, node = _mapping_get(svc, "image")
        if not isinstance(node, ScalarNode) or _tag(node) != STR_TAG:
            continue
        ref = ImageRef(node.value)
        if ref.variables.get("repository"):
            skipped.append(f"{svc_name} ({node.value})")
            continue
        if normalize_repository(ref.repository) == key:
            found.append(svc_name)
    if not found:
        msg = f"no service in {name} uses the image repository {image!r}"
        if skipped:
            msg += "; not compared because their repository is a variable: " + ", ".join(skipped)
        raise ComposeError(msg)
    return [locate_image(text, services, svc_name, refs, name) for svc_name in found]


def pin_text(text, *, service=None, image=None, tag=None, digest=None, name="the compose file"):
    """Pin images in ``text`` (a compose document); return a PinResult. Pure: nothing is written.

    Give ``tag`` and/or ``digest``; an existing digest is dropped unless
    ``digest`` is given. With ``image`` every service using that repository is
    pinned.
    """
    if tag is None and digest is None:
        raise ComposeError("give a tag, a digest, or both")
    if tag is not None:
        validate_tag(tag)
    if digest is not None:
        validate_digest(digest)
    root = compose_tree(text, name)
    services = services_node(root, name)
    located = select_services(text, root, services, service=service, image=image, name=name)
    edits, pins = [], []
    for loc in located:
        ref = check_pinnable(loc, name)
        new_value = ref.with_pin(tag=tag, digest=digest)
        pins.append(
            {
                "service": loc.service,
                "before": loc.value,
                "after": new_value,
                "changed": new_value != loc.value,
                "line": loc.line + 1,
            }
        )
        if new_value != loc.value:
            edits.append((loc, new_value))
    if not edits:
        return PinResult(text, text, pins)
    new_text = _splice(text, edits, style_override=None)
    try:
        _verify(text, new_text, root, edits, name)
    except ComposeError:
        # A plain scalar that would read back differently (never for valid
        # references, but be sure): fall back to double quotes for plain ones.
        new_text = _splice(text, edits, style_override='"')
        _verify(text, new_text, root, edits, name)
    return PinResult(text, new_text, pins)


def _splice(text, edits, style_override=None):
    out = text
    for loc, new_value in sorted(edits, key=lambda e: e[0].start, reverse=True):
        style = loc.style if loc.style in ('"', "'") or style_override is None else style_override
        out = out[:loc.start] + _render(new_value, style) + out[loc.end:]
    return out


def read_compose(path):
    """Text of the compose file at ``path``; ComposeError for a missing or unreadable file."""
    return read_text(path, ComposeError, "compose file")


def pin_file(path, *, service=None, image=None, tag=None, digest=None):
    """Read ``path`` and compute the pin (nothing is written); return a PinResult."""
    return pin_text(read_compose(path), service=service, image=image, tag=tag, digest=digest, name=path)
