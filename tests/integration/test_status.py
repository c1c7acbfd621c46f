"""status.yml on the real testbed: the table, the HTML page in headless Chromium, drift after a hand edit.

Staging is deployed first with the deploy playbook; then the status playbook
runs against every host (read-only). The drift check edits staging-1's core
compose file by hand while holding the host's release lock (so a deploy of
another test waits or fails naming the holder instead of tripping over the
edit), and restores the file and releases the lock afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from conftest import GATEWAY_SERVICE, HOSTS, SERVICE_PORT_SUFFIX, TESTBED_ROOT, ansible_env, playbook
from hostview import start_gateway

from ansible_collections.aegee.deploy.plugins.module_utils._state import HostState
from ansible_collections.aegee.deploy.tests.support.docker_ps import VERSION_LABEL, by_service, labels, ps_argv

SERVICES = sorted(SERVICE_PORT_SUFFIX)
# what runs on a deployed host: the services and, beside them, the gateway (rows of its own in the report)
EVERYTHING = sorted([*SERVICES, GATEWAY_SERVICE])
HOST = "staging-1"
HOSTILE = '<img src=x onerror="document.title=1">'
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def root(host):
    return os.path.join(TESTBED_ROOT, "hosts", host, "srv", "myaegee")


def running(project):
    """service -> (container id, configured image, version label) of the project's running containers."""
    out = subprocess.run(ps_argv(project, stopped=False), capture_output=True, text=True, check=True).stdout
    return {svc: (c["ID"], c["Image"], labels(c).get(VERSION_LABEL)) for svc, c in by_service(out).items()}


def table_rows(stdout, host):
    """service -> the cells of the printed table's row for ``host`` (first cells; long lines wrap in YAML).

    App services only: the gateway (Traefik) has a row too; the page test checks it.
    """
    rows = {}
    for m in re.finditer(r"^\s*- (\w+)\s+%s\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)" % re.escape(host), stdout, re.M):
        env, svc, run_cell, state, hc, pinned = m.groups()
        if svc not in SERVICES:
            continue
        rows[svc] = {"environment": env, "running": run_cell, "state": state, "healthcheck": hc, "pinned": pinned}
    return rows


def status(html, *extra):
    return playbook("status.yml", "-e", "status_html_path=%s" % html, *extra).stdout


def deploy_staging():
    # another test may be deploying this host right now: wait for its lock
    playbook("deploy.yml", "-l", "staging", "-e", "lock_wait=180")
    # the host's gateway runs as on a real host (a deploy never starts it)
    start_gateway(HOST)


def settled_status(html, *extra, attempts=6):
    """Run status.yml until staging-1 did not change while it ran (other tests share the testbed).

    Returns the output and what ran (from docker itself) during the run.
    """
    project = HOSTS[HOST][1]
    for _attempt in range(attempts):
        if not os.path.isdir(os.path.join(root(HOST), ".git")) or sorted(running(project)) != EVERYTHING:
            deploy_staging()
        before = running(project)
        out = status(html, *extra)
        after = running(project)
        rows = table_rows(out, HOST)
        if (before == after and sorted(rows) == SERVICES
                and all(r["state"] == "running/healthy" for r in rows.values())
                and "locked by" not in " ".join(out.split())):
            return out, after
        time.sleep(3)
    pytest.fail("staging-1 kept changing while status.yml ran (%d attempts); last output:\n%s"
                % (attempts, out[-4000:]))


@pytest.fixture(scope="module")
def deployed(testbed):
    deploy_staging()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("Debian's chromium is not installed (/usr/bin/chromium); never download a browser for this test")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, html):
    page = browser.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto("file://" + html)
    return page, requests


def page_rows(page, host):
    return page.eval_on_selector_all(
        "#status tbody tr[data-host='%s']" % host,
        """rows => rows.map(r => ({
            service: r.dataset.service, drift: Number(r.dataset.drift), problem: r.dataset.problem,
            running: r.querySelector('td.running').innerText.trim(),
            state: r.querySelector('td.state').innerText.trim(),
            healthcheck: r.querySelector('td.healthcheck').innerText.trim(),
            pinned: r.querySelector('td.pinned').innerText.trim(),
            newest: r.querySelector('td.newest').innerText.trim(),
            verified: r.querySelector('td.verified').innerText.trim(),
            marker: !!r.querySelector('.drift-marker'),
            driftText: r.querySelector('td.drift-cell').innerText,
        }))""",
    )


def test_table_and_page_show_what_runs(deployed, browser, tmp_path):
    html = str(tmp_path / "status.html")
    out, ran = settled_status(html)
    rows = table_rows(out, HOST)
    versions = {}
    for svc in SERVICES:
        _cid, image, version = ran[svc]
        versions[svc] = version
        row = rows[svc]
        assert row["environment"] == "staging"
        assert row["running"].startswith(version + "@"), (svc, row)
        assert row["state"] == "running/healthy" and row["healthcheck"] == version, (svc, row)
        assert row["pinned"].startswith(version + "@"), (svc, row)
        if "@sha256:" in image:
            assert row["pinned"] == "%s@%s" % (version, image.split("@sha256:", 1)[1][:12]), (svc, row, image)
    assert "Status page: %s" % html in out

    page, requests = open_page(browser, html)
    try:
        assert requests == ["file://" + html], "the page must be self-contained: %s" % requests
        assert page.title().startswith("Release status")
        shown = {r["service"]: r for r in page_rows(page, HOST)}
        assert sorted(shown) == EVERYTHING
        gateway = shown[GATEWAY_SERVICE]
        assert gateway["state"] == "running/healthy" and gateway["drift"] == 0, gateway
        for svc in SERVICES:
            version = versions[svc]
            r = shown[svc]
            assert r["running"].startswith(version + "@"), r
            assert r["state"] == "running/healthy" and r["healthcheck"] == version, r
            assert r["drift"] == 0 and not r["marker"] and r["driftText"].strip() == "ok", r
            assert r["verified"] == "yes", r  # staging verified what it runs
            assert re.match(r"\d+\.\d+\.\d+", r["newest"]), r  # the registry was asked
        # every host of the inventory has rows, readable or not
        hosts = set(page.eval_on_selector_all("#status tbody tr", "rs => rs.map(r => r.dataset.host)"))
        assert hosts == set(HOSTS)
        history = page.locator("table.history[data-host='%s'] tbody tr" % HOST)
        assert history.count() >= 1
        assert "deploy" in history.first.inner_text()
    finally:
        page.close()


def edited_status(html, by_hand, attempts=4):
    """status.yml while core's compose file on staging-1 pins ``by_hand``; the file is restored afterwards.

    Holds the host's release lock meanwhile: a deploy holds it for its whole
    transaction, so once it is ours no deploy touches the host (another test's
    deploy waits or fails naming us). Other tests may still wipe the testbed
    (fresh start): then deploy again and retry.
    """
    host_root = root(HOST)
    path = os.path.join(host_root, "core", "docker", "docker-compose.yml")
    out = ""
    for _attempt in range(attempts):
        if not os.path.isdir(os.path.join(host_root, ".git")) or sorted(running(HOSTS[HOST][1])) != EVERYTHING:
            deploy_staging()
        if not os.path.isdir(os.path.join(host_root, ".aegee")):
            continue
        state = HostState(os.path.join(host_root, ".aegee"))
        lock = state.acquire({"id": "test-status", "owner": "test_status.py (hand edit of core's compose file)",
                              "action": "test", "targets": "none"}, ttl=300, wait=180)
        try:
            if not os.path.isfile(path):  # wiped meanwhile: leave no trace of ours in an empty root
                continue
            with open(path) as handle:
                original = handle.read()
            pinned = re.search(r"^\s+image: (\S+)$", original, re.M).group(1)
            try:
                with open(path, "w") as handle:
                    handle.write(original.replace(pinned, by_hand))
                out = status(html, "-l", "staging", "-e", "status_registry_lookup=false")
            finally:
                if os.path.isdir(os.path.dirname(path)):
                    with open(path, "w") as handle:
                        handle.write(original)
        finally:
            state.release(lock["id"])
            if not os.path.isdir(os.path.join(host_root, ".git")):
                for folder in (state.dir, host_root):
                    try:
                        os.rmdir(folder)
                    except OSError:
                        pass
        if sorted(table_rows(out, HOST)) == SERVICES:
            return out
    pytest.fail("could not edit staging-1 by hand and read its status (%d attempts); last output:\n%s"
                % (attempts, out[-4000:]))


def test_hand_edit_shows_as_drift_and_goes_away_when_restored(deployed, browser, tmp_path):
    html = str(tmp_path / "drift.html")
    by_hand = "localhost:5000/aegee/core:1.4.1"
    out = edited_status(html, by_hand)
    flat = " ".join(out.split())  # the YAML callback folds long lines
    assert table_rows(out, HOST)["core"]["pinned"] == "1.4.1", out[-4000:]
    assert flat.count("DRIFT(") == 1 and "DRIFT(2)" in flat, out[-4000:]
    note = "staging staging-1 core: core/docker/docker-compose.yml pins %s, but the last release pinned" % by_hand
    assert note in flat, out[-4000:]
    assert "edited by hand" in flat and "recreated by hand" in flat
    assert "locked by test_status.py" in flat

    page, _requests = open_page(browser, html)
    try:
        shown = {r["service"]: r for r in page_rows(page, HOST)}
        core = shown["core"]
        assert core["marker"] and core["drift"] == 2 and core["problem"] == "true", core
        assert "edited by hand" in core["driftText"] and by_hand in core["driftText"]
        assert core["pinned"] == "1.4.1"
        assert page.locator("tr[data-service='core'] .drift-marker").is_visible()
        assert "locked by test_status.py" in page.locator("#status").inner_text()
        for svc in SERVICES:
            if svc != "core":
                assert shown[svc]["drift"] == 0 and not shown[svc]["marker"], shown[svc]
        assert page.locator("#problem-count").inner_text().startswith("1 ")
    finally:
        page.close()

    # restored: no drift any more
    html_after = str(tmp_path / "after.html")
    out, _ran = settled_status(html_after, "-l", "staging", "-e", "status_registry_lookup=false")
    assert "DRIFT(" not in out, out[-4000:]
    page, _requests = open_page(browser, html_after)
    try:
        assert all(r["drift"] == 0 for r in page_rows(page, HOST))
    finally:
        page.close()


def test_check_mode_changes_nothing_and_escapes_html(deployed, browser, tmp_path):
    """--check runs the reads and writes no page; a hostile value in the history is shown as text."""
    html = str(tmp_path / "check.html")
    out = playbook("status.yml", "-l", "staging", "--check", "-e", "status_html_path=%s" % html).stdout
    assert table_rows(out, HOST)
    assert not os.path.exists(html)
    # the actor comes from the environment of whoever deploys: it must never become markup
    playbook("deploy.yml", "-l", "staging", "-e", "lock_wait=180", env=ansible_env(AEGEE_ACTOR=HOSTILE))
    status(html, "-l", "staging")
    page, requests = open_page(browser, html)
    try:
        assert requests == ["file://" + html]
        assert page.title().startswith("Release status")
        assert page.locator("table.history img").count() == 0
        assert HOSTILE in page.locator("table.history").first.inner_text()
    finally:
        page.close()
