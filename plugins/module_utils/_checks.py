# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The checks, as one table of kinds (``KINDS``), each with its validation and its runner.

* ``healthcheck``: ``GET`` a service's ``/healthcheck``; passes on 2xx with ``success: true`` and, when the
  answer has a ``data.version``, the check's ``version``. Retried until the context's deadline.
* ``url``: ``GET`` a URL; passes on the expected ``status`` (a number, default ``2xx``) with ``contains`` (a
  text) in the answer. Retried for ``timeout`` seconds.
* ``command``: a command run on the host (a list of arguments, or a string for ``/bin/sh -c``); passes on exit 0.
* ``browser``: a page loaded in headless Chromium (``_browser``); passes when it loads without an error and its
  ``selector`` element contains ``expect``.
* ``scenarios``: the browser scenarios (pytest + Playwright files, ``_scenarios``) run against the gateway;
  passes when every selected scenario passes (a pass on the retry is flaky, and passes). Its report (what ran,
  the evidence folder) goes into the context's ``reports``.

A kind's ``validate(check)`` is pure and returns the problems (the callers name the check); its
``run(check, ctx)`` returns None when the check passes, else the reason. ``Context`` is all a runner reaches:
``http_get(url, timeout) -> (status, body)``, ``run(argv) -> (rc, out, err)``, the time the checks may take, the
release state folder (for the browser script).

Who uses the table: the release gate of deploy and rollback (``run_release``), the status read and the smoke
role (``read_healthchecks``, through ``release_info``; the smoke role's verdict is ``smoke_problems``), and the
inventory checks on the controller, before any host is contacted (``inventory_problems``, through
``plugin_utils._inputs.check_inventory``). A new kind is one validator, one runner and one row of ``KINDS``; its
inventory form goes into ``extra_kind`` and ``EXTRA_KEYS``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import namedtuple
from collections.abc import Mapping

from ansible_collections.aegee.deploy.plugins.module_utils import _browser, _policy, _scenarios

HTTP_TIMEOUT = 5  # seconds for one request of a release check
URL_RE = re.compile(r"^https?://[^\s/]+(/\S*)?$")
STATUS_RE = re.compile(r"^[1-5][0-9][0-9]$")
EXTRA_KEYS = {"url": ("name", "url", "status", "contains"), "command": ("name", "command")}
BROWSER_KEYS = ("url", "selector", "expect")


class Context:
    """What a check runs with. ``timeout``: seconds the checks may take (the deadline starts now)."""

    def __init__(self, http_get=None, run=None, timeout=30, state_dir=None, browser_python=None,
                 browser_executable=None, clock=None, sleep=None, run_id=None):
        self.http_get, self.run = http_get, run
        self.run_id = run_id or "checks"
        self.reports = {}
        self.timeout = float(timeout)
        self.state_dir = state_dir
        self.browser_python = browser_python or "python3"
        self.browser_executable = browser_executable or "/usr/bin/chromium"
        self.clock, self.sleep = clock or time.time, sleep or time.sleep
        self.deadline = self.clock() + self.timeout

    def poll(self, attempt, deadline):
        """``attempt()`` until it returns None or ``deadline`` has passed; its last answer."""
        while True:
            reason = attempt()
            if reason is None or self.clock() >= deadline:
                return reason
            self.sleep(0.5)


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _type(value):
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a " + type(value).__name__


def _text(check, key, what):
    """[problem] when ``check[key]`` is given and is not a non-empty text."""
    value = check.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        return ["%s %s is not %s" % (key, _shown(value), what)]
    return []


def _string(check, key):
    """[problem] when ``check[key]`` is given and is not a string (the empty one included)."""
    value = check.get(key)
    return [] if value is None or isinstance(value, str) else ["%s %s is not a text" % (key, _shown(value))]


def _url(check):
    url = check.get("url")
    if url is None:
        return ["has no url: give one such as http://127.0.0.1:8080/"]
    if isinstance(url, str) and URL_RE.match(url):
        return []
    return ["url %s is not an http:// or https:// URL" % _shown(url)]


# ------------------------------------------------------------- healthcheck
def healthcheck(http_get, url, timeout):
    """What ``GET url`` says: status, success, version, error. The body is parsed as JSON whatever its type.

    Apps answer ``{"success": true, "data": {"name": ..., "version": ...}}``, static containers
    ``{"success": true}`` (busybox httpd serves it as text).
    """
    info = {"url": url, "status": None, "success": None, "version": None, "error": None}
    try:
        status, body = http_get(url, timeout)
    except Exception as exc:  # noqa: BLE001 - any transport error means: no answer
        info["error"] = "no answer (%s)" % exc
        return info
    info["status"] = status
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        data = None
    if not isinstance(data, dict):
        info["error"] = "HTTP %s, the body is not a JSON object: %r" % (status, (body or "")[:120])
        return info
    info["success"] = data.get("success")
    payload = data.get("data")
    if isinstance(payload, dict) and payload.get("version") is not None:
        info["version"] = str(payload["version"])
    if not 200 <= int(status or 0) < 300:
        info["error"] = "HTTP %s" % status
    elif data.get("success") is not True:
        info["error"] = "success is not true"
    return info


def check_healthcheck(http_get, url, version, timeout=HTTP_TIMEOUT):
    """None if ``url`` answers 2xx with success true (and data.version == version), else why not."""
    info = healthcheck(http_get, url, timeout)
    if info["error"]:
        return info["error"]
    if version and info["version"] is not None and info["version"] != version:
        return "it runs version %s, not %s" % (info["version"], version)
    return None


def read_healthchecks(http_get, urls, timeout):
    """``healthcheck`` of every URL at the same time (a service that does not answer costs one timeout)."""
    results = {}

    def one(svc, url):
        results[svc] = healthcheck(http_get, url, timeout)

    threads = [threading.Thread(target=one, args=(svc, url)) for svc, url in sorted(urls.items()) if url]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    for svc, url in urls.items():
        if url and svc not in results:
            results[svc] = {"url": url, "status": None, "success": None, "version": None,
                            "error": "no answer within %ss" % timeout}
    return results


def smoke_problems(info, services, require_pinned_version=True):
    """What the smoke role finds in a host's ``release_info`` result ``info`` for ``services``, one problem each:
    no container, a container that is not running and healthy, a ``/healthcheck`` that failed, or (with
    ``require_pinned_version``) one that answers another version than the pin. [] when all is well."""
    problems = []
    for name in services:
        svc = (info.get("services") or {}).get(name)
        container = svc.get("container") if isinstance(svc, Mapping) else None
        if container is None:
            problems.append("%s: no container" % name)
            continue
        if container.get("state") != "running" or container.get("health") not in (None, "healthy"):
            problems.append("%s: container %s" % (name, container.get("status")))
        found, pinned = svc.get("healthcheck_version"), svc.get("pinned_version")
        if svc.get("healthcheck") is not None and svc["healthcheck"].get("error") is not None:
            problems.append("%s: GET %s: %s" % (name, svc["healthcheck"].get("url"), svc["healthcheck"]["error"]))
        elif require_pinned_version and found and pinned and found != pinned:
            problems.append("%s: answers %s, pinned %s" % (name, found, pinned))
    return problems


def _validate_healthcheck(check):
    return _url(check) + _text(check, "version", "a version")


def _run_healthcheck(check, ctx):
    return ctx.poll(lambda: check_healthcheck(ctx.http_get, check["url"], check.get("version")), ctx.deadline)


# --------------------------------------------------------------------- url
def _status_ok(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 100 <= value <= 599
    return isinstance(value, str) and (value == "2xx" or STATUS_RE.match(value) is not None)


def _validate_url(check):
    problems = _url(check)
    if check.get("status") is not None and not _status_ok(check["status"]):
        problems.append("status %s is not an HTTP status: give a number such as 404, or 2xx" % _shown(check["status"]))
    return problems + _string(check, "contains")


def _get_url(check, ctx):
    want = str(check.get("status") or "2xx")
    try:
        status, body = ctx.http_get(check["url"], HTTP_TIMEOUT)
        ok_status = str(status) == want or (want == "2xx" and 200 <= status < 300)
        if not ok_status:
            return "GET %s answered HTTP %s, expected %s" % (check["url"], status, want)
        if check.get("contains") and check["contains"] not in body:
            return "GET %s: %r not in the answer" % (check["url"], check["contains"])
        return None
    except Exception as exc:  # noqa: BLE001 - any transport error is a failed check
        return "GET %s: no answer (%s)" % (check["url"], exc)


def _run_url(check, ctx):
    return ctx.poll(lambda: _get_url(check, ctx), ctx.clock() + ctx.timeout)


# ----------------------------------------------------------------- command
def _validate_command(check):
    command = check.get("command")
    if isinstance(command, str) and command.strip():
        return []
    if isinstance(command, (list, tuple)) and command and all(isinstance(a, str) and a for a in command):
        return []
    return ["command %s is not a command: give a list of arguments, or a string for /bin/sh -c" % _shown(command)]


def _run_command(check, ctx):
    argv = check["command"]
    rc, out, err = ctx.run(list(argv) if isinstance(argv, (list, tuple)) else ["/bin/sh", "-c", argv])
    return None if rc == 0 else "exit %s: %s" % (rc, (err or out).strip()[-500:])


# ----------------------------------------------------------------- browser
def _validate_browser(check):
    return _url(check) + _text(check, "selector", "a CSS selector such as #app") + _string(check, "expect")


def _run_browser(check, ctx):
    spec = {
        "url": check["url"],
        "selector": check.get("selector") or "body",
        "expect": (check.get("expect") or "").replace("{version}", check.get("version") or ""),
        "executable": ctx.browser_executable,
        "timeout_ms": int(ctx.timeout * 1000),
    }
    return _browser.run_check(ctx.run, ctx.state_dir, ctx.browser_python, spec)


# --------------------------------------------------------------- scenarios
def _whole(value):
    """``value`` as a whole number (``-e`` gives texts such as ``"30"``), else None."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(check, key, low, high):
    value = check.get(key)
    if value is None or (_whole(value) is not None and low <= _whole(value) <= high):
        return []
    return ["%s %s is not a whole number of seconds from %d to %d" % (key, _shown(value), low, high)]


def _validate_scenarios(check):
    problems = ["scenarios " + p for p in _scenarios.file_problems(check.get("files"))]
    problems += _string(check, "markers") + _seconds(check, "timeout", 1, 3600)
    problems += _seconds(check, "suite_timeout", 1, 86400)
    if check.get("base_url") is not None:
        problems += ["base_url: " + p for p in _url({"url": check["base_url"]})]
    if check.get("retries") is not None and _whole(check["retries"]) not in (0, 1):
        problems.append("retries %s is not 0 or 1" % _shown(check.get("retries")))
    if check.get("account") is not None and not isinstance(check["account"], Mapping):
        problems.append("account is %s, not a mapping with username and password" % _type(check["account"]))
    return problems


def scenario_check(params):
    """The ``scenarios`` check of a module's parameters (``_args.scenario_spec``)."""
    return {"kind": "scenarios", "files": params.get("scenarios"), "markers": params.get("scenario_markers"),
            "base_url": params.get("scenario_base_url"), "account": params.get("scenario_account"),
            "timeout": params.get("scenario_timeout"), "suite_timeout": params.get("scenario_suite_timeout"),
            "retries": params.get("scenario_retries", 1)}


def _run_scenarios(check, ctx):
    spec = dict(check, python=ctx.browser_python, executable=ctx.browser_executable)
    report, problem = _scenarios.run_suite(ctx.run, ctx.state_dir, ctx.run_id, spec)
    ctx.reports["scenarios"] = report
    return problem


Kind = namedtuple("Kind", "validate run")
KINDS = {
    "healthcheck": Kind(_validate_healthcheck, _run_healthcheck),
    "url": Kind(_validate_url, _run_url),
    "command": Kind(_validate_command, _run_command),
    "browser": Kind(_validate_browser, _run_browser),
    "scenarios": Kind(_validate_scenarios, _run_scenarios),
}


# ------------------------------------------------------- the inventory form
def extra_kind(check):
    """(kind, None) of an extra check (``url`` or ``command``), or (None, the problem)."""
    has = [key for key in ("url", "command") if check.get(key) not in (None, "", [])]
    if len(has) == 1:
        return has[0], None
    if has:
        return None, "has both url and command: give one of them (two checks for both)"
    return None, "has neither url nor command: give a url to GET from the host, or a command to run on it"


def _unknown(check, known):
    unknown = sorted(str(key) for key in check if key not in known)
    return ["unknown keys %s (use %s)" % (", ".join(unknown), ", ".join(known))] if unknown else []


def _extra_problems(check):
    """The problems of one extra check, in the inventory form (a name, and a url or a command)."""
    if not isinstance(check, Mapping):
        return ["is %s, not a check (a name, and a url or a command)" % _type(check)]
    problems = _text(check, "name", "a text")
    kind, problem = extra_kind(check)
    if problem:
        return problems + [problem]
    return problems + _unknown(check, EXTRA_KEYS[kind]) + KINDS[kind].validate(check)


def _extra_label(what, index, check):
    name = check.get("name") if isinstance(check, Mapping) else None
    return '%s[%d] "%s"' % (what, index, name[:60]) if isinstance(name, str) and name.strip() else \
        "%s[%d]" % (what, index)


def extra_check_problems(value, what="aegee_extra_checks"):
    """The problems of a list of extra checks, each naming the check (``aegee_extra_checks[2] "api": ...``)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        return ["%s must be a list of checks (each a name, and a url or a command), got %s" % (what, _type(value))]
    return ["%s: %s" % (_extra_label(what, i, check), problem)
            for i, check in enumerate(value) for problem in _extra_problems(check)]


def _browser_problems(check):
    if not isinstance(check, Mapping):
        return ["is %s, not a browser check (url, selector, expect)" % _type(check)]
    return _unknown(check, BROWSER_KEYS) + KINDS["browser"].validate(check)


def browser_check_problems(value, python=None, catalogue=None, what="aegee_browser_checks",
                           python_what="aegee_browser_python"):
    """The problems of the browser checks (service -> {url, selector, expect}) and of the Python they need.

    ``catalogue``: the service catalogue (a mapping), whose services alone may have a browser check.
    """
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        return ["%s must be a mapping of service name to {url, selector, expect}, got %s" % (what, _type(value))]
    problems = []
    for svc in sorted(value, key=str):
        if isinstance(catalogue, Mapping) and svc not in catalogue:
            problems.append("%s %s: unknown service %s: the catalogue (aegee_services) has %s"
                            % (what, svc, _shown(svc), ", ".join(sorted(map(str, catalogue))) or "no services"))
        problems += ["%s %s: %s" % (what, svc, problem) for problem in _browser_problems(value[svc])]
    if python is None and value:
        problems.append("%s is not set: the browser check of %s needs a Python with Playwright on the host, "
                        "such as /opt/playwright/bin/python" % (python_what, ", ".join(sorted(map(str, value)))))
    elif python is not None and (not isinstance(python, str) or not python.strip() or python != python.strip()
                                 or any(ord(c) < 32 for c in python)):
        problems.append("%s must be the path (or command) of a Python with Playwright on the host, got %s"
                        % (python_what, _shown(python)))
    return problems


def inventory_problems(hostvars, skip=()):
    """The problems of one host's checks: ``aegee_extra_checks``, ``aegee_browser_checks`` and
    ``aegee_browser_python`` (against its ``aegee_services``). ``skip``: variables whose problem is said already."""
    def get(name):
        return None if name in skip else hostvars.get(name)

    # a Python that is set but cannot be read is not "not set" as well
    python = "python3" if "aegee_browser_python" in skip else get("aegee_browser_python")
    return (extra_check_problems(get("aegee_extra_checks"))
            + browser_check_problems(get("aegee_browser_checks"), python, get("aegee_services")))


# -------------------------------------------------------- the release gate
def release_checks(params, services):
    """The checks of a release of ``services`` (compose_release's parameters), in the order they run: each
    service's ``/healthcheck``, each service's browser check, the extra checks of the inventory, then the browser
    scenarios (``scenarios``: their files; ``scenario_*``: how they run).

    Each is a check of its kind plus ``report`` (``smoke``, ``browser``, ``extra`` or ``scenarios``), ``service``
    or ``name``, and ``problems`` (a malformed check fails with them instead of running).
    """
    targets = params.get("targets") or {}

    def version(svc):
        return targets[svc]["version"] if svc in targets else None

    checks = []
    urls = params.get("smoke_urls") or {}
    for svc in services:
        if urls.get(svc):
            check = {"kind": "healthcheck", "url": urls[svc], "version": version(svc)}
            checks.append(dict(check, report="smoke", service=svc, problems=_validate_healthcheck(check)))
    browser = params.get("browser_checks") or {}
    for svc in services:
        if browser.get(svc):
            given = browser[svc] if isinstance(browser[svc], Mapping) else {}
            check = dict(given, kind="browser", version=version(svc) or "")
            checks.append(dict(check, report="browser", service=svc, problems=_browser_problems(browser[svc])))
    for number, entry in enumerate(params.get("extra_checks") or [], 1):
        given = entry if isinstance(entry, Mapping) else {}
        kind, _problem = extra_kind(given)
        checks.append(dict(given, kind=kind, report="extra", name=given.get("name") or "check %d" % number,
                           problems=_extra_problems(entry)))
    if params.get("scenarios"):
        check = scenario_check(params)
        checks.append(dict(check, report="scenarios", name="browser scenarios", problems=_validate_scenarios(check)))
    return checks


def container_probe(params, config, http_get):
    """``probe(svc, ip)`` for a start-first switch: the new container's own ``/healthcheck`` (its address on the
    project network and the port it listens on, ``_policy.service_port``) answers the target version; None or
    why not. Only services with a ``smoke_urls`` entry are probed (the others have no ``/healthcheck``)."""
    targets, urls = params.get("targets") or {}, params.get("smoke_urls") or {}

    def probe(svc, ip):
        if not urls.get(svc):
            return None
        port = _policy.service_port(((config or {}).get("services") or {}).get(svc) or {})
        version = targets[svc]["version"] if svc in targets else None
        url = "http://%s:%d/healthcheck" % (ip, port)
        problem = check_healthcheck(http_get, url, version)
        return None if problem is None else "GET %s: %s" % (url, problem)

    return probe


FAILURE = {
    "smoke": lambda check, reason: "%s: GET %s: %s" % (check["service"], check["url"], reason),
    "browser": lambda check, reason: "%s: %s" % (check["service"], reason),
    "extra": lambda check, reason: "extra check %r failed: %s" % (check["name"], reason),
    "scenarios": lambda check, reason: reason,
}


def run_release(params, services, result, http_get, run_command, state_dir):
    """Run the release checks of ``services`` in order, stopping at the first failure: None when all pass,
    else the failure. Fills ``result["services"][svc]["smoke"]`` and ``["browser"]`` (``ok`` or the reason),
    ``result["extra_checks"]`` (a list of {name, result}), once the per-service checks passed, and
    ``result["scenarios"]`` (``_scenarios.run_suite``'s report) when the scenarios ran."""
    ctx = Context(http_get, run_command, params.get("smoke_timeout", 30), state_dir=state_dir,
                  browser_python=params.get("browser_python"), browser_executable=params.get("browser_executable"),
                  run_id=params.get("run_id"))
    for check in release_checks(params, services):
        reason = "; ".join(check["problems"]) or KINDS[check["kind"]].run(check, ctx)
        if check["report"] == "scenarios":
            result["scenarios"] = ctx.reports.get("scenarios") or {"result": "failed", "problems": check["problems"]}
        elif check["report"] == "extra":
            result.setdefault("extra_checks", []).append({"name": check["name"], "result": reason or "ok"})
        else:
            result["services"][check["service"]][check["report"]] = reason or "ok"
        if reason:
            return FAILURE[check["report"]](check, reason)
    result.setdefault("extra_checks", [])
    return None
