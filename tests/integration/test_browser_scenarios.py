"""Browser scenarios as the release gate, on the real testbed: pytest + Playwright on the host, through the gateway.

The deploy repo's scenarios (testbed/deploy-repo/tests/browser: a read-only home page and lists, a member who
logs in and registers) run after every other check of a release, on the host, in Debian's Chromium, against the
host's gateway, with the test account of the inventory. The module publishes versions of the testbed's
single-page app (frontend) and of its APIs (core, events) and deploys staging's and production-1's services to
them first, without the gate; then every release is gated. A broken API, a page that throws and a hanging
scenario are caught and the previous release restored, with the evidence (failing step, screenshot, console
errors, trace) kept in the release state; production runs only the ``readonly`` scenarios; a scenario that passes
on its retry is reported as flaky. At the end staging and production-1 are back at the testbed's latest.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from conftest import TESTBED_ROOT, gateway_url, http_json, playbook
from hostview import history, publish, root, start_gateway, state_dir

SCENARIOS = "testbed/deploy-repo/tests/browser"
ON = ["-e", "aegee_browser_scenarios=" + SCENARIOS]
TAG = "%d" % (int(time.time()) % 100000)
GOOD = {svc: "1.7.0-spa.%s" % TAG for svc in ("core", "events", "frontend")}
GOOD2 = "1.7.1-spa.%s" % TAG
ALL = {"test_home.py::test_the_page_shows_core_and_events_answering",
       "test_lists.py::test_the_bodies_and_events_come_from_the_apis",
       "test_member.py::test_a_member_logs_in_and_registers_for_an_event"}
READONLY = ALL - {"test_member.py::test_a_member_logs_in_and_registers_for_an_event"}


def deploy(limit, service, version, *extra, check=True):
    return playbook("deploy.yml", "-l", limit, "-e", "service=" + service, "-e", "version=" + version, *extra,
                    check=check)


def account_password():
    with open(os.path.join(TESTBED_ROOT, "browser", "password")) as handle:
        return handle.read().strip()


def answers(host, service):
    return http_json(gateway_url(host, service))["data"]["version"]


def last(host):
    return history(host)[-1]


def evidence_files(entry):
    folder = entry["scenarios"]["evidence"]
    return folder, sorted(os.path.relpath(os.path.join(d, f), folder) for d, _s, fs in os.walk(folder) for f in fs)


@pytest.fixture(scope="module", autouse=True)
def spa(testbed):
    """staging-1 and production-1 run the single-page app and its APIs, each behind its running gateway."""
    for svc, version in GOOD.items():
        publish(svc, version, latest="no")
    publish("core", GOOD2, latest="no")
    for host, limit in (("staging-1", "staging"), ("production-1", "production-1")):
        playbook("deploy.yml", "-l", limit)  # the checkout (production: what staging verified)
        start_gateway(host)
    for svc, version in GOOD.items():
        deploy("staging", svc, version)
        deploy("production-1", svc, version)
    yield
    playbook("deploy.yml", "-l", "staging")
    playbook("deploy.yml", "-l", "production-1")


def test_a_good_release_passes_every_scenario_on_staging():
    proc = deploy("staging", "core", GOOD2, *ON)
    assert "browser scenarios passed: 3 ran in" in proc.stdout, proc.stdout[-3000:]
    entry = last("staging-1")
    assert entry["result"] == "success" and entry["scenarios"]["result"] == "passed"
    assert set(entry["scenarios"]["ran"]) == ALL and entry["scenarios"]["failed"] == []
    assert answers("staging-1", "core") == GOOD2
    assert account_password() not in proc.stdout + proc.stderr


def test_a_core_whose_api_fails_is_caught_and_restored_with_a_screenshot_and_a_trace():
    broken = "1.7.2-api.%s" % TAG
    publish("core", broken, latest="no", broken="api")
    before = answers("staging-1", "core")
    proc = deploy("staging", "core", broken, *ON, "-vvv", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    # the container was healthy and /healthcheck answered the new version: only the API failed
    assert "browser scenario test_lists.py::test_the_bodies_and_events_come_from_the_apis failed at " \
           "test_lists.py:14: expect(page.locator(\"#bodies li\").first).to_have_text(\"AEGEE-Europe\")" in out
    assert "previous version was restored" in out
    assert answers("staging-1", "core") == before
    entry = last("staging-1")
    assert entry["result"] == "failed-restored" and entry["scenarios"]["result"] == "failed"
    assert set(entry["scenarios"]["failed"]) == ALL - {"test_home.py::test_the_page_shows_core_and_events_answering"}
    folder, files = evidence_files(entry)
    assert folder.startswith(os.path.join(state_dir("staging-1"), "evidence") + "/"), folder
    failed = "test_lists.py_test_the_bodies_and_events_come_from_the_apis"
    for attempt in ("attempt-1", "attempt-2"):  # the retry failed too
        for name in ("screenshot.png", "trace.zip", "console.txt"):
            assert "%s/%s/%s" % (attempt, failed, name) in files, files
    with open(os.path.join(folder, "attempt-1", failed, "console.txt")) as handle:
        assert "loading bodies failed: HTTP 404" in handle.read()
    with open(os.path.join(folder, "attempt-1", failed, "screenshot.png"), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(folder, "report.json")) as handle:
        report = json.load(handle)
    lists = next(t for t in report["tests"] if t["id"].startswith("test_lists.py"))
    assert lists["step"].startswith("test_lists.py:14: ") and lists["attempts"] == 2
    # the test account's password went to the scenarios only: not in the output, even at -vvv
    assert account_password() not in out
    assert account_password() not in json.dumps(report)


def test_the_status_page_shows_the_failed_scenarios_and_where_their_evidence_is(tmp_path):
    entry = last("staging-1")
    page = tmp_path / "status.html"
    playbook("status.yml", "-l", "staging", "-e", "status_html_path=%s" % page, "-e", "status_registry_lookup=false")
    html = page.read_text()
    assert '<div class="scenarios" data-result="failed">browser scenarios failed: 3 ran, failed: ' in html
    assert 'href="file://%s/report.json"' % entry["scenarios"]["evidence"] in html


def test_a_frontend_whose_page_throws_is_caught_and_restored():
    broken = "1.7.2-page.%s" % TAG
    publish("frontend", broken, latest="no", broken="page")
    proc = deploy("staging", "frontend", broken, *ON, "-e", '{"aegee_browser_checks": {}}', check=False)
    assert proc.returncode != 0
    assert "missingFunction is not defined" in proc.stdout, proc.stdout[-3000:]
    assert "previous version was restored" in proc.stdout
    assert answers("staging-1", "frontend") == GOOD["frontend"]
    entry = last("staging-1")
    assert entry["result"] == "failed-restored" and entry["scenarios"]["failed"]


def test_production_runs_only_the_read_only_scenarios():
    proc = deploy("production-1", "core", GOOD2, *ON, "-e", "force=true")
    assert "browser scenarios passed: 2 ran (-m readonly)" in proc.stdout, proc.stdout[-3000:]
    entry = last("production-1")
    assert entry["result"] == "success" and set(entry["scenarios"]["ran"]) == READONLY
    assert entry["scenarios"]["markers"] == "readonly"
    with open(os.path.join(entry["scenarios"]["evidence"], "report.json")) as handle:
        report = json.load(handle)
    assert {t["id"] for t in report["tests"]} == READONLY
    assert all("readonly" in t["markers"] for t in report["tests"])


def test_smoke_runs_the_same_scenarios_on_demand_and_records_the_result():
    proc = playbook("smoke.yml", "-l", "staging", *ON)
    assert "browser scenarios passed: 3 ran in" in proc.stdout, proc.stdout[-3000:]
    with open(os.path.join(state_dir("staging-1"), "scenarios.jsonl")) as handle:
        record = json.loads(handle.read().splitlines()[-1])
    assert record["result"] == "passed" and set(record["ran"]) == ALL and record["environment"] == "staging"
    assert os.path.isfile(os.path.join(record["evidence"], "report.json"))
    assert account_password() not in proc.stdout + proc.stderr


def test_a_hanging_scenario_is_cut_off_by_its_timeout_and_the_release_restored(tmp_path):
    (tmp_path / "test_hang.py").write_text(
        "def test_waits_for_ever(page):\n"
        "    page.goto('/')\n"
        "    page.wait_for_selector('#never', timeout=0)\n")
    version = "1.7.3-hang.%s" % TAG
    publish("core", version, latest="no")
    before = answers("staging-1", "core")
    started = time.time()
    proc = deploy("staging", "core", version, "-e", "aegee_browser_scenarios=%s" % tmp_path,
                  "-e", "aegee_browser_timeout=4", "-e", "aegee_browser_retries=0", check=False)
    assert proc.returncode != 0
    assert time.time() - started < 120
    assert "the scenario ran longer than its timeout (4.0s)" in proc.stdout, proc.stdout[-3000:]
    assert "previous version was restored" in proc.stdout
    assert answers("staging-1", "core") == before
    _folder, files = evidence_files(last("staging-1"))
    assert "attempt-1/test_hang.py_test_waits_for_ever/screenshot.png" in files, files
    assert "attempt-1/test_hang.py_test_waits_for_ever/trace.zip" in files, files


def test_a_scenario_that_passes_on_its_retry_is_reported_flaky(tmp_path):
    marker = tmp_path / "failed-once"
    (tmp_path / "test_flaky.py").write_text(
        "import os\n\n\n"
        "def test_fails_the_first_time(page):\n"
        "    page.goto('/')\n"
        "    if not os.path.exists(%r):\n"
        "        open(%r, 'w').close()\n"
        "        raise AssertionError('first attempt fails')\n" % (str(marker), str(marker)))
    version = "1.7.4-flaky.%s" % TAG
    publish("core", version, latest="no")
    proc = deploy("staging", "core", version, "-e", "aegee_browser_scenarios=%s" % tmp_path)
    assert "browser scenarios flaky: 1 ran in" in proc.stdout and "flaky: test_flaky.py::test_fails_the_first_time" \
        in proc.stdout, proc.stdout[-3000:]
    entry = last("staging-1")
    assert entry["result"] == "success" and entry["scenarios"]["flaky"] == ["test_flaky.py::test_fails_the_first_time"]
    _folder, files = evidence_files(entry)
    assert "attempt-1/test_flaky.py_test_fails_the_first_time/screenshot.png" in files, files
    assert answers("staging-1", "core") == version
    assert os.path.isdir(root("staging-1"))
