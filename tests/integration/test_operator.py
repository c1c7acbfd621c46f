"""What the operator sees at the end of a release: the summary after the recap, the JSON file for CI, and an
error that names the next command.

Each release runs the real ansible-playbook against the testbed (the repo's
ansible.cfg enables the callback aegee.deploy.release_summary) and the tests
read the lines after the recap: a promotion; on staging a deploy, a no-op, a
rollback and a failed (restored) deploy, in that order; then a deploy to
production of a version older than production runs and not verified on
staging, refused with the rollback command, which then runs as given. The
module starts and ends with the testbed's hosts reset (a rollback leaves a bad
mark on staging that other modules must not inherit).
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import playbook
from hostview import publish, reset_hosts

HOST = "staging-1"


def summary(out):
    """The summary: the lines from its title to the end of the output (it must be the last thing on screen)."""
    lines = out.rstrip("\n").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("RELEASE SUMMARY: ")]
    assert starts, out[-3000:]
    assert lines[-1].startswith("result: "), lines[-5:]
    return lines[starts[-1]:]


def line_of(lines, service):
    found = [line for line in lines if line.split()[:2] == [HOST, service]]
    assert len(found) == 1, lines
    return found[0]


@pytest.fixture(scope="module")
def at_150(testbed):
    """Staging and production at core 1.5.0 (the testbed's latest), production promoted from staging."""
    reset_hosts()
    try:
        playbook("deploy.yml", "-l", "staging")
        yield playbook("deploy.yml", "-l", "production").stdout
    finally:
        reset_hosts()


def test_the_summary_of_a_promotion(at_150):
    lines = summary(at_150)
    assert lines[0].startswith("RELEASE SUMMARY: deploy of production by ")
    for host in ("production-1", "production-2"):
        core = [line for line in lines if line.split()[:2] == [host, "core"]]
        assert len(core) == 1 and "(none) -> 1.5.0 (sha256:" in core[0] and core[0].endswith("switched"), lines
    assert lines[-1] == "result: SUCCESS"


def test_the_summary_of_a_deploy_a_noop_a_rollback_and_a_failed_deploy(at_150, tmp_path):
    json_path = tmp_path / "summary.json"
    deploy = ["-l", "staging", "-e", "service=core", "-e", "version=1.4.2"]

    lines = summary(playbook("deploy.yml", *deploy, "-e", "summary_file=%s" % json_path).stdout)
    assert lines[0].startswith("RELEASE SUMMARY: deploy of staging by ")
    core = line_of(lines, "core")
    assert " 1.5.0 (sha256:" in core and ") -> 1.4.2 (sha256:" in core, core
    assert "healthy after " in core and "checks: health, version" in core and core.endswith("switched"), core
    assert lines[-1] == "result: SUCCESS"
    data = json.loads(json_path.read_text())
    assert data["result"] == "success" and data["hosts"][0]["host"] == HOST
    assert [(s["service"], s["from"], s["to"], s["result"]) for s in data["hosts"][0]["services"]] == [
        ("core", "1.5.0", "1.4.2", "switched")]

    lines = summary(playbook("deploy.yml", *deploy).stdout)
    core = line_of(lines, "core")
    assert "->" not in core and core.endswith("unchanged") and " 1.4.2 (sha256:" in core, core
    assert lines[-1] == "result: UNCHANGED"

    lines = summary(playbook("rollback.yml", "-l", "staging", "-e", "service=core", "-e", "reason=summary test").stdout)
    assert lines[0].startswith("RELEASE SUMMARY: rollback of staging by ")
    core = line_of(lines, "core")
    assert ") -> 1.5.0 (sha256:" in core and core.endswith("switched"), core
    assert lines[-1] == "result: SUCCESS"

    never = "1.6.0-never.%d" % (int(time.time()) % 100000)
    publish("core", never, latest="no", broken="health")
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=%s" % never, check=False)
    assert proc.returncode != 0
    lines = summary(proc.stdout)
    core = line_of(lines, "core")
    assert ("-> %s (sha256:" % never) in core and core.endswith("FAILED, restored"), core
    text = "\n".join(lines)
    assert "%s  FAILED: deploy of core 1.5.0 -> %s failed: " % (HOST, never) in text
    assert "  failed check: core health" in text
    assert "  restored: core 1.5.0, healthy again" in text
    assert "  evidence: %s:" % HOST in text and "/.aegee/history.jsonl (release " in text
    assert ("  next: the previous version runs; fix what failed (see the evidence), then rerun: ansible-playbook "
            "playbooks/deploy.yml -l staging -e service=core -e version=%s" % never) in text
    assert lines[-1] == "result: FAILED"


def test_deploying_an_older_unverified_version_to_production_is_refused_with_the_rollback_command(at_150):
    proc = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.4.2", check=False)
    assert proc.returncode != 0
    command = ("ansible-playbook playbooks/rollback.yml -l production -e service=core -e version=1.4.2")
    assert ("core 1.4.2 is older than what runs now (production-1 1.5.0, production-2 1.5.0): going back to it is a "
            "rollback") in proc.stdout
    assert "Roll back with:" in proc.stdout and command in proc.stdout, proc.stdout[-3000:]
    lines = summary(proc.stdout)
    assert lines[-2:] == ["  next: " + command, "result: FAILED"], lines
    lines = summary(playbook(*command.split()[1:]).stdout)
    assert lines[0].startswith("RELEASE SUMMARY: rollback of production by ")
    assert len([line for line in lines if "-> 1.4.2 (sha256:" in line and line.endswith("switched")]) == 2, lines
