# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The table of check kinds: each kind's validation and runner, the release gate's order, with fakes at the
boundary (``http_get``, ``run``, the clock)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _browser, _checks
from ansible_collections.aegee.deploy.plugins.module_utils._checks import (
    KINDS,
    Context,
    browser_check_problems,
    check_healthcheck,
    extra_check_problems,
    healthcheck,
    inventory_problems,
    read_healthchecks,
    release_checks,
    run_release,
)
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_run import FakeRun

HC = "http://127.0.0.1:8084/healthcheck"


def hc(version=None, success=True):
    body = {"success": success}
    if version:
        body["data"] = {"version": version}
    return json.dumps(body)


def answer(status, body):
    return lambda url, timeout: (status, body)


class FakeHttp:
    """Answers each URL from a list (the last one repeats); an exception in the list is raised."""

    def __init__(self, answers):
        self.answers = {url: list(given) for url, given in answers.items()}
        self.calls = []

    def __call__(self, url, timeout):
        self.calls.append((url, timeout))
        given = self.answers[url]
        found = given.pop(0) if len(given) > 1 else given[0]
        if isinstance(found, Exception):
            raise found
        return found


class Clock:
    """A clock that moves only when the checks sleep."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds


def context(http_get=None, run=None, timeout=2, **kwargs):
    clock = Clock()
    ctx = Context(http_get, run, timeout, clock=clock, sleep=clock.sleep, **kwargs)
    ctx.fake_clock = clock
    return ctx


def test_the_table_has_the_five_kinds():
    assert sorted(KINDS) == ["browser", "command", "healthcheck", "scenarios", "url"]


# ---------------------------------------------------------- check_healthcheck (moved from test_release)


def test_healthcheck_ok():
    body = json.dumps({"success": True, "data": {"version": "1.5.0"}})
    assert check_healthcheck(answer(200, body), "http://x/healthcheck", "1.5.0") is None
    assert check_healthcheck(answer(204, body), "http://x/healthcheck", None) is None
    # JSON served as text/plain or as bytes works just the same: only the body counts
    assert check_healthcheck(answer(200, body.encode()), "http://x/healthcheck", "1.5.0") is None


@pytest.mark.parametrize(
    "body",
    [json.dumps({"success": True}), json.dumps({"success": True, "data": "text"}),
     json.dumps({"success": True, "data": {"name": "core"}})],
)
def test_healthcheck_without_a_version_is_not_compared(body):
    assert check_healthcheck(answer(200, body), "u", "1.5.0") is None


@pytest.mark.parametrize(
    ("http_get", "reason"),
    [
        (answer(200, "OK"), "HTTP 200, the body is not a JSON object: 'OK'"),
        (answer(200, "<html>" + "x" * 500), "HTTP 200, the body is not a JSON object: '<html>" + "x" * 114 + "'"),
        (answer(200, b"\xff\xfe"), "HTTP 200, the body is not a JSON object: '\ufffd\ufffd'"),
        (answer(200, json.dumps([1])), "HTTP 200, the body is not a JSON object: '[1]'"),
        (answer(200, json.dumps({"success": False})), "success is not true"),
        (answer(200, json.dumps({"success": "true"})), "success is not true"),
        (answer(200, json.dumps({"data": {"version": "1.5.0"}})), "success is not true"),
        (answer(200, json.dumps({"success": True, "data": {"version": "1.4.2"}})), "it runs version 1.4.2, not 1.5.0"),
        (answer(200, json.dumps({"success": True, "data": {"version": 2}})), "it runs version 2, not 1.5.0"),
        (answer(500, json.dumps({"success": False})), "HTTP 500"),
        (answer(500, json.dumps({"success": True, "data": {"version": "1.5.0"}})), "HTTP 500"),
        (answer(500, "boom"), "HTTP 500, the body is not a JSON object: 'boom'"),
        (answer(301, ""), "HTTP 301, the body is not a JSON object: ''"),
        (answer(404, json.dumps({"success": True})), "HTTP 404"),
    ],
)
def test_healthcheck_failures(http_get, reason):
    assert check_healthcheck(http_get, "u", "1.5.0") == reason


def test_healthcheck_transport_error():
    def refused(url, timeout):
        raise ConnectionRefusedError(111, "Connection refused")

    assert check_healthcheck(refused, "u", "1.5.0") == "no answer ([Errno 111] Connection refused)"


# ---------------------------------------------------------- healthcheck parsing (moved from test_status)


@pytest.mark.parametrize(
    ("answer", "version", "error"),
    [
        ((200, '{"success":true,"data":{"version":"1.5.0"}}'), "1.5.0", None),
        ((200, b'{"success":true,"data":{"version":"1.5.0"}}'), "1.5.0", None),
        ((200, '{"success":true}'), None, None),
        ((200, '{"success":false,"data":{"version":"1.5.0"}}'), "1.5.0", "success is not true"),
        ((503, '{"success":false}'), None, "HTTP 503"),
        ((200, "<html>nginx</html>"), None, "not a JSON object"),
        ((200, "[1, 2]"), None, "not a JSON object"),
    ],
)
def test_healthcheck_parsing(answer, version, error):
    info = healthcheck(lambda url, timeout: answer, "http://h/healthcheck", 3)
    assert info["version"] == version
    if error is None:
        assert info["error"] is None
    else:
        assert error in info["error"]


def test_read_healthchecks_asks_every_url_with_the_timeout():
    http = FakeHttp({"http://a/healthcheck": [(200, hc("1.5.0"))], "http://b/healthcheck": [OSError("refused")]})
    found = read_healthchecks(http, {"a": "http://a/healthcheck", "b": "http://b/healthcheck", "c": None}, 3)
    assert sorted(found) == ["a", "b"]
    assert found["a"]["version"] == "1.5.0" and found["a"]["error"] is None
    assert found["b"]["error"] == "no answer (refused)"
    assert sorted(http.calls) == [("http://a/healthcheck", 3), ("http://b/healthcheck", 3)]


# ---------------------------------------------------------- validation, kind by kind


@pytest.mark.parametrize(
    ("kind", "check", "problems"),
    [
        ("healthcheck", {"url": HC, "version": "1.5.0"}, []),
        ("healthcheck", {"url": HC, "version": None}, []),
        ("healthcheck", {"url": "file:///etc/passwd"}, ["url 'file:///etc/passwd' is not an http:// or https:// URL"]),
        ("healthcheck", {"url": HC, "version": 15}, ["version 15 is not a version"]),
        ("url", {"url": "http://h/x", "status": 404, "contains": "x"}, []),
        ("url", {"url": "http://h/x", "status": "404"}, []),
        ("url", {"url": "http://h/x", "status": "2xx"}, []),
        ("url", {"url": "http://h/x", "status": "ok"},
         ["status 'ok' is not an HTTP status: give a number such as 404, or 2xx"]),
        ("url", {"url": "http://h/x", "status": 99},
         ["status 99 is not an HTTP status: give a number such as 404, or 2xx"]),
        ("url", {"url": "http://h/x", "status": True},
         ["status True is not an HTTP status: give a number such as 404, or 2xx"]),
        ("url", {"url": "http://h/x", "contains": ["a"]}, ["contains ['a'] is not a text"]),
        ("url", {"url": "h/x"}, ["url 'h/x' is not an http:// or https:// URL"]),
        ("url", {"url": "http://h/ x"}, ["url 'http://h/ x' is not an http:// or https:// URL"]),
        ("command", {"command": "test -d /srv"}, []),
        ("command", {"command": ["test", "-d", "/srv"]}, []),
        ("command", {"command": " "},
         ["command ' ' is not a command: give a list of arguments, or a string for /bin/sh -c"]),
        ("command", {"command": ["test", 1]},
         ["command ['test', 1] is not a command: give a list of arguments, or a string for /bin/sh -c"]),
        ("browser", {"url": "http://h/", "selector": "#app", "expect": ""}, []),
        ("browser", {"url": "http://h/"}, []),
        ("browser", {}, ["has no url: give one such as http://127.0.0.1:8080/"]),
        ("browser", {"url": "http://h/", "selector": "", "expect": 3},
         ["selector '' is not a CSS selector such as #app", "expect 3 is not a text"]),
    ],
)
def test_kind_validation(kind, check, problems):
    assert KINDS[kind].validate(check) == problems


# ---------------------------------------------------------- validation of the inventory's checks


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        (None, []),
        ([], []),
        ([{"name": "api", "url": "http://h/api"}, {"command": ["true"]}], []),
        ({"name": "api"}, ["aegee_extra_checks must be a list of checks (each a name, and a url or a command), "
                           "got a mapping"]),
        ([{"name": "api", "url": "http://h/api"}, {"name": "db"}, {"name": "api", "status": 404}],
         ['aegee_extra_checks[1] "db": has neither url nor command: give a url to GET from the host, or a command '
          'to run on it',
          'aegee_extra_checks[2] "api": has neither url nor command: give a url to GET from the host, or a command '
          'to run on it']),
        ([{"url": "http://h/", "command": "true"}],
         ["aegee_extra_checks[0]: has both url and command: give one of them (two checks for both)"]),
        (["curl http://h/"], ["aegee_extra_checks[0]: is a str, not a check (a name, and a url or a command)"]),
        ([{"name": 5, "command": "true"}], ["aegee_extra_checks[0]: name 5 is not a text"]),
        ([{"name": "x", "url": "http://h/", "contain": "ok"}],
         ['aegee_extra_checks[0] "x": unknown keys contain (use name, url, status, contains)']),
        ([{"name": "x", "command": "true", "status": 0}],
         ['aegee_extra_checks[0] "x": unknown keys status (use name, command)']),
        ([{"name": "x", "url": "http://h/", "status": "404 or 410"}],
         ['aegee_extra_checks[0] "x": status \'404 or 410\' is not an HTTP status: give a number such as 404, or 2xx']),
    ],
)
def test_extra_check_problems(value, problems):
    assert extra_check_problems(value) == problems


def test_extra_check_problems_name_the_module_option_when_asked():
    assert extra_check_problems([{}], what="extra_checks") == [
        "extra_checks[0]: has neither url nor command: give a url to GET from the host, or a command to run on it"]


CATALOGUE = {"core": {"image": "aegee/core"}, "frontend": {"image": "aegee/frontend"}}
PAGE = {"url": "http://127.0.0.1:8080/", "selector": "#app", "expect": "MyAEGEE {version}"}
PY = "/opt/playwright/bin/python"


@pytest.mark.parametrize(
    ("value", "python", "problems"),
    [
        (None, None, []),
        ({}, None, []),
        (None, PY, []),
        ({"frontend": PAGE}, PY, []),
        ({"frontend": PAGE}, None,
         ["aegee_browser_python is not set: the browser check of frontend needs a Python with Playwright on the host, "
          "such as /opt/playwright/bin/python"]),
        ({"frontend": PAGE}, "", ["aegee_browser_python must be the path (or command) of a Python with Playwright on "
                                  "the host, got ''"]),
        ({"frontend": PAGE}, ["python3"], ["aegee_browser_python must be the path (or command) of a Python with "
                                           "Playwright on the host, got ['python3']"]),
        ({"frontnd": PAGE}, PY,
         ["aegee_browser_checks frontnd: unknown service 'frontnd': the catalogue (aegee_services) has core, "
          "frontend"]),
        ({"frontend": {"selector": "#app"}}, PY,
         ["aegee_browser_checks frontend: has no url: give one such as http://127.0.0.1:8080/"]),
        ({"frontend": dict(PAGE, wait=3)}, PY,
         ["aegee_browser_checks frontend: unknown keys wait (use url, selector, expect)"]),
        ({"frontend": "http://h/"}, PY,
         ["aegee_browser_checks frontend: is a str, not a browser check (url, selector, expect)"]),
        ([PAGE], PY, ["aegee_browser_checks must be a mapping of service name to {url, selector, expect}, got a list"]),
    ],
)
def test_browser_check_problems(value, python, problems):
    assert browser_check_problems(value, python, CATALOGUE) == problems


def test_browser_checks_without_a_catalogue_are_not_looked_up():
    assert browser_check_problems({"anything": PAGE}, PY) == []


def test_inventory_problems_of_one_host():
    hostvars = {"aegee_services": CATALOGUE, "aegee_browser_checks": {"frontend": PAGE},
                "aegee_extra_checks": [{"name": "api"}]}
    assert inventory_problems(hostvars) == [
        'aegee_extra_checks[0] "api": has neither url nor command: give a url to GET from the host, or a command '
        'to run on it',
        "aegee_browser_python is not set: the browser check of frontend needs a Python with Playwright on the host, "
        "such as /opt/playwright/bin/python"]
    # a variable whose problem was said already (it cannot be read) is not reported again
    assert inventory_problems(hostvars, skip={"aegee_extra_checks", "aegee_browser_python"}) == []


# ---------------------------------------------------------- runners, kind by kind


@pytest.mark.parametrize(
    ("answers", "version", "reason", "sleeps"),
    [
        ([(200, hc("1.5.0"))], "1.5.0", None, 0),
        ([(200, hc("1.5.0"))], None, None, 0),
        # not up yet, then up: retried until it answers
        ([OSError("refused"), (503, hc(success=False)), (200, hc("1.5.0"))], "1.5.0", None, 2),
        # the old version answers until the deadline (2 s, a retry every 0.5 s)
        ([(200, hc("1.4.2"))], "1.5.0", "it runs version 1.4.2, not 1.5.0", 4),
        ([OSError("refused")], "1.5.0", "no answer (refused)", 4),
    ],
)
def test_healthcheck_runner(answers, version, reason, sleeps):
    http = FakeHttp({HC: answers})
    ctx = context(http)
    assert KINDS["healthcheck"].run({"url": HC, "version": version}, ctx) == reason
    assert ctx.fake_clock.sleeps == sleeps
    assert http.calls[0] == (HC, _checks.HTTP_TIMEOUT)


URL = "http://127.0.0.1:8081/api"


@pytest.mark.parametrize(
    ("check", "answers", "reason"),
    [
        ({}, [(200, "ok")], None),
        ({}, [(204, "")], None),
        ({"status": 404}, [(404, "not here")], None),
        ({"status": "404"}, [(404, "not here")], None),
        ({"status": 301}, [(301, "")], None),
        ({}, [(404, "")], "GET %s answered HTTP 404, expected 2xx" % URL),
        ({"status": 404}, [(200, "")], "GET %s answered HTTP 200, expected 404" % URL),
        ({"contains": '"success":true'}, [(200, '{"success":true}')], None),
        ({"contains": '"success":true'}, [(200, '{"success":false}')], "GET %s: '\"success\":true' not in the answer"
         % URL),
        ({"status": 503, "contains": "maintenance"}, [(503, "down for maintenance")], None),
        ({}, [OSError("timed out")], "GET %s: no answer (timed out)" % URL),
        # a gateway that comes up during the check
        ({"contains": "core"}, [(502, "bad gateway"), (200, "core")], None),
    ],
)
def test_url_runner(check, answers, reason):
    http = FakeHttp({URL: answers})
    assert KINDS["url"].run(dict(check, url=URL), context(http)) == reason


def test_url_runner_retries_for_its_own_timeout():
    http = FakeHttp({URL: [(500, "")]})
    ctx = context(http, timeout=2)
    ctx.fake_clock.now += 10  # the deadline of the checks before it has passed: this one still gets its 2 seconds
    assert KINDS["url"].run({"url": URL}, ctx) == "GET %s answered HTTP 500, expected 2xx" % URL
    assert len(http.calls) == 5


@pytest.mark.parametrize(
    ("command", "answer", "argv", "reason"),
    [
        (["test", "-d", "/srv"], (0, "", ""), ["test", "-d", "/srv"], None),
        ("test -d /srv && echo ok", (0, "ok\n", ""), ["/bin/sh", "-c", "test -d /srv && echo ok"], None),
        ("exit 3", (3, "", ""), ["/bin/sh", "-c", "exit 3"], "exit 3: "),
        (["migrate", "--check"], (1, "", "2 pending migrations\n"), ["migrate", "--check"],
         "exit 1: 2 pending migrations"),
        (["x"], (2, "out " + "y" * 600, ""), ["x"], "exit 2: " + "y" * 500),
    ],
)
def test_command_runner(command, answer, argv, reason):
    run = FakeRun(default=answer)
    assert KINDS["command"].run({"command": command}, context(run=run)) == reason
    assert [call[0] for call in run.calls] == [argv]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((0, json.dumps({"url": "http://h/", "errors": [], "status": 200, "text": "MyAEGEE 1.6.0"}), ""), None),
        ((1, json.dumps({"url": "http://h/", "errors": ["ReferenceError: f is not defined"], "status": 200,
                         "text": "MyAEGEE 1.6.0"}), ""),
         "browser check of http://h/ failed: ReferenceError: f is not defined"),
        ((1, json.dumps({"url": "http://h/", "errors": [], "status": 502, "text": "Bad Gateway"}), ""),
         "browser check of http://h/ failed: HTTP 502; 'MyAEGEE 1.6.0' not found in #app (it shows 'Bad Gateway')"),
        ((1, "", "No module named playwright"),
         "the browser check did not run (/opt/pw/python): No module named playwright"),
    ],
)
def test_browser_runner(tmp_path, answer, reason):
    run = FakeRun(default=answer)
    ctx = context(run=run, timeout=30, state_dir=str(tmp_path), browser_python="/opt/pw/python")
    check = {"url": "http://h/", "selector": "#app", "expect": "MyAEGEE {version}", "version": "1.6.0"}
    assert KINDS["browser"].run(check, ctx) == reason
    python, script, spec = run.calls[0][0]
    assert python == "/opt/pw/python" and script == str(tmp_path / "browser_check.py")
    assert (tmp_path / "browser_check.py").read_text() == _browser.SCRIPT
    assert json.loads(spec) == {"url": "http://h/", "selector": "#app", "expect": "MyAEGEE 1.6.0",
                                "executable": "/usr/bin/chromium", "timeout_ms": 30000}


def test_browser_runner_defaults(tmp_path):
    run = FakeRun(default=(0, json.dumps({"errors": [], "status": 200, "text": ""}), ""))
    assert KINDS["browser"].run({"url": "http://h/"}, context(run=run, timeout=5, state_dir=str(tmp_path))) is None
    assert run.calls[0][0][0] == "python3"
    want = {"url": "http://h/", "selector": "body", "expect": "", "executable": "/usr/bin/chromium",
            "timeout_ms": 5000}
    assert json.loads(run.calls[0][0][2]) == want


# ---------------------------------------------------------- the release gate


def params(**given):
    base = {"targets": {"core": {"version": "1.5.0"}, "frontend": {"version": "1.6.0"}},
            "smoke_urls": {"core": HC, "frontend": "http://127.0.0.1:8080/healthcheck"},
            "smoke_timeout": 0}
    base.update(given)
    return base


def gate(p, services, http, run=None, state_dir="/nonexistent"):
    result = {"services": {svc: {} for svc in services}}
    failure = run_release(p, services, result, http, run or FakeRun(), state_dir)
    return failure, result


def test_release_checks_order_and_form():
    p = params(browser_checks={"frontend": {"url": "http://h/", "expect": "v{version}"}},
               extra_checks=[{"name": "api", "url": "http://h/api", "status": 404}, {"command": "true"}])
    checks = release_checks(p, ["core", "frontend"])
    assert [(c["kind"], c["report"], c.get("service") or c.get("name")) for c in checks] == [
        ("healthcheck", "smoke", "core"), ("healthcheck", "smoke", "frontend"), ("browser", "browser", "frontend"),
        ("url", "extra", "api"), ("command", "extra", "check 2")]
    assert checks[0]["version"] == "1.5.0" and checks[2]["version"] == "1.6.0"
    assert all(c["problems"] == [] for c in checks)


def test_release_checks_only_for_the_services_released():
    checks = release_checks(params(browser_checks={"frontend": {"url": "http://h/"}}), ["core"])
    assert [c["kind"] for c in checks] == ["healthcheck"]


def test_a_release_whose_checks_pass():
    http = FakeHttp({HC: [(200, hc("1.5.0"))], "http://h/api": [(200, "ok")]})
    failure, result = gate(params(extra_checks=[{"name": "api", "url": "http://h/api"}]), ["core"], http)
    assert failure is None
    assert result == {"services": {"core": {"smoke": "ok"}}, "extra_checks": [{"name": "api", "result": "ok"}]}


def test_without_extra_checks_the_result_still_lists_them():
    failure, result = gate(params(), ["core"], FakeHttp({HC: [(200, hc("1.5.0"))]}))
    assert failure is None and result["extra_checks"] == []


def test_the_first_failing_healthcheck_stops_the_checks():
    http = FakeHttp({HC: [(200, hc("1.4.2"))], "http://127.0.0.1:8080/healthcheck": [(200, hc("1.6.0"))]})
    run = FakeRun()
    failure, result = gate(params(extra_checks=[{"command": "true"}]), ["core", "frontend"], http, run)
    assert failure == "core: GET %s: it runs version 1.4.2, not 1.5.0" % HC
    assert result == {"services": {"core": {"smoke": "it runs version 1.4.2, not 1.5.0"}, "frontend": {}}}
    assert run.calls == []


def test_a_service_without_a_url_is_not_asked():
    failure, result = gate(params(smoke_urls={}), ["core"], FakeHttp({}))
    assert failure is None and result["services"]["core"] == {}


def test_a_failing_browser_check_stops_before_the_extra_checks(tmp_path):
    http = FakeHttp({"http://127.0.0.1:8080/healthcheck": [(200, hc("1.6.0"))]})
    run = FakeRun(default=(1, "", "No module named playwright"))
    p = params(browser_checks={"frontend": {"url": "http://h/"}}, extra_checks=[{"command": "true"}],
               browser_python="/opt/pw/python")
    failure, result = gate(p, ["frontend"], http, run, str(tmp_path))
    assert failure == "frontend: the browser check did not run (/opt/pw/python): No module named playwright"
    assert result["services"]["frontend"] == {
        "smoke": "ok", "browser": "the browser check did not run (/opt/pw/python): No module named playwright"}
    assert "extra_checks" not in result and len(run.calls) == 1


@pytest.mark.parametrize(
    ("extra", "failure", "results"),
    [
        ([{"name": "db", "command": "exit 3"}, {"name": "never", "command": "true"}],
         "extra check 'db' failed: exit 3: ", [{"name": "db", "result": "exit 3: "}]),
        ([{"command": "true"}, {"url": "http://h/x", "status": 500}],
         "extra check 'check 2' failed: GET http://h/x answered HTTP 200, expected 500",
         [{"name": "check 1", "result": "ok"},
          {"name": "check 2", "result": "GET http://h/x answered HTTP 200, expected 500"}]),
        # a malformed check (the controller refuses it before any host is contacted) fails without running
        ([{"name": "api"}],
         "extra check 'api' failed: has neither url nor command: give a url to GET from the host, or a command to "
         "run on it",
         [{"name": "api", "result": "has neither url nor command: give a url to GET from the host, or a command to "
                                    "run on it"}]),
    ],
)
def test_extra_checks_stop_at_the_first_failure(extra, failure, results):
    run = FakeRun({("/bin/sh", "-c", "exit 3"): (3, "", "")})
    http = FakeHttp({HC: [(200, hc("1.5.0"))], "http://h/x": [(200, "")]})
    found, result = gate(params(extra_checks=extra), ["core"], http, run)
    assert found == failure
    assert result["extra_checks"] == results
    assert len(run.calls) == sum(1 for e in extra[:len(results)] if "command" in e)


def test_the_healthchecks_share_one_deadline(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_checks, "time", SimpleNamespace(time=clock, sleep=clock.sleep))
    # core answers after 1.5 s: frontend has what is left of the 2 s, not 2 s of its own
    http = FakeHttp({HC: [OSError("refused")] * 3 + [(200, hc("1.5.0"))],
                     "http://127.0.0.1:8080/healthcheck": [(200, hc("1.5.9"))]})
    found, result = gate(params(smoke_timeout=2), ["core", "frontend"], http)
    assert found == "frontend: GET http://127.0.0.1:8080/healthcheck: it runs version 1.5.9, not 1.6.0"
    assert result["services"] == {"core": {"smoke": "ok"}, "frontend": {"smoke": "it runs version 1.5.9, not 1.6.0"}}
    assert clock.sleeps == 4


# ---------------------------------------------------------- the smoke role's verdict


def service(state="running", health="healthy", status="Up 2 hours (healthy)", error=None, answers="1.5.0",
            pinned="1.5.0"):
    return {"container": {"state": state, "health": health, "status": status},
            "healthcheck": {"url": HC, "error": error, "version": answers},
            "healthcheck_version": answers, "pinned_version": pinned}


@pytest.mark.parametrize(
    ("services", "require", "problems"),
    [
        ({"core": service()}, True, []),
        ({"core": service(health=None, status="Up 2 hours")}, True, []),
        ({}, True, ["core: no container"]),
        ({"core": {"container": None, "pinned_version": "1.5.0"}}, True, ["core: no container"]),
        ({"core": service(state="exited", health=None, status="Exited (1) 3 minutes ago", error="no answer (x)")},
         True, ["core: container Exited (1) 3 minutes ago", "core: GET %s: no answer (x)" % HC]),
        ({"core": service(health="unhealthy", status="Up 1 minute (unhealthy)")}, True,
         ["core: container Up 1 minute (unhealthy)"]),
        ({"core": service(error="HTTP 503", answers=None)}, True, ["core: GET %s: HTTP 503" % HC]),
        ({"core": service(answers="1.4.2")}, True, ["core: answers 1.4.2, pinned 1.5.0"]),
        ({"core": service(answers="1.4.2")}, False, []),
        ({"core": service(answers=None)}, True, []),
        ({"core": service(pinned=None)}, True, []),
        ({"core": dict(service(), healthcheck=None, healthcheck_version=None)}, True, []),
    ],
)
def test_smoke_problems(services, require, problems):
    assert _checks.smoke_problems({"services": services}, ["core"], require) == problems


def test_smoke_problems_in_the_order_asked():
    events = service(state="restarting", status="Restarting (1)")
    info = {"services": {"core": service(answers="1.4.2"), "events": events}}
    assert _checks.smoke_problems(info, ["events", "core", "mailer"]) == [
        "events: container Restarting (1)", "core: answers 1.4.2, pinned 1.5.0", "mailer: no container"]


def test_the_release_runs_its_checks_through_the_table(tmp_path):
    from ansible_collections.aegee.deploy.plugins.module_utils._release import Release

    p = params(smoke_timeout=0, extra_checks=[{"name": "migrations", "command": ["migrate", "--check"]}])
    release = Release(dict(p, root=str(tmp_path), repo_url="/nowhere.git", branch="stable"),
                      FakeRun(default=(1, "", "2 pending")), FakeHttp({HC: [(200, hc("1.5.0"))]}))
    release.result["services"]["core"] = {}
    assert release._smoke(["core"]) == "extra check 'migrations' failed: exit 1: 2 pending"
    assert release.result["services"]["core"]["smoke"] == "ok"
    assert release.result["extra_checks"] == [{"name": "migrations", "result": "exit 1: 2 pending"}]
    assert release.timings[0].endswith(" migrate")  # the command ran through the release's own run
