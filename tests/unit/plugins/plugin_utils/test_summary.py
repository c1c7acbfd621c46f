# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release summary: a host's record from its compose_release result, the lines, the next command."""

from __future__ import annotations

import json
import shlex

import pytest

from ansible_collections.aegee.deploy.plugins.module_utils import _policy
from ansible_collections.aegee.deploy.plugins.plugin_utils import _summary

D_OLD = "sha256:" + "a" * 64
D_NEW = "sha256:" + "b" * 64
ARGV = ["-i", "inventories/prod", "playbooks/deploy.yml", "-l", "production", "-e", "service=core",
        "-e", "version=1.5.0", "-e", "@vars.json", "--vault-password-file", "~/.vault"]


def service(frm="1.4.2", to="1.5.0", changed=True, switch=None, **more):
    info = {"from": frm, "to": to, "digest": D_NEW, "image": "r/core:%s@%s" % (to, D_NEW),
            "container_image": "r/core:%s@%s" % (frm, D_OLD), "changed": changed}
    if switch is not None:
        info["switch"] = switch
    info.update(more)
    return info


START_FIRST = {"mode": "start-first", "reason": "beside", "healthy_after": 2.5, "total": 4.1}


def success(**services):
    return {"changed": True, "services": services, "extra_checks": [{"name": "login", "result": "ok"}],
            "release": {"id": "r1", "result": "success"}}


def failed(result="failed-restored", msg="deploy of core 1.4.2 -> 1.6.0 failed: core: GET http://x: 500", **more):
    out = {"failed": True, "msg": msg + "\nevidence text", "evidence": "ps\nlogs", "result": result,
           "services": {"core": service(to="1.6.0", switch=dict(START_FIRST), smoke="HTTP 500")},
           "release": {"id": "r2", "result": result}}
    out.update(more)
    return out


def rec(result, **kw):
    kw.setdefault("root", "/srv/myaegee")
    return _summary.record(result, "production-1", environment="production", actor="alice", **kw)


# ------------------------------------------------------------------ records


def test_a_successful_release_names_from_to_mode_health_and_the_checks_that_passed():
    r = rec(success(core=service(switch=dict(START_FIRST), smoke="ok"), events=service("1.2.0", "1.2.0", False)))
    core, events = r["services"]
    assert r["result"] == "success" and r["release_id"] == "r1"
    assert (core["from"], core["from_digest"], core["to"], core["digest"]) == (
        "1.4.2", "sha256:aaaaaaaaaaaa", "1.5.0", "sha256:bbbbbbbbbbbb")
    assert (core["mode"], core["healthy_after"], core["checks"], core["result"]) == (
        "start-first", 2.5, ["health", "version", "extra:login"], "switched")
    assert (events["changed"], events["checks"], events["result"]) == (False, [], "unchanged")


def test_stop_first_is_healthy_after_its_whole_up():
    r = rec(success(core=service(switch={"mode": "stop-first", "reason": "port", "total": 7.3}, smoke="ok")))
    assert r["services"][0]["healthy_after"] == 7.3


@pytest.mark.parametrize(("changed", "expected"), [(True, "would-change"), (False, "would-keep")])
def test_check_mode(changed, expected):
    r = rec({"changed": changed, "services": {"core": service(changed=changed)}}, check=True)
    assert r["result"] == expected and r["check"] is True
    assert r["services"][0]["result"] == ("would switch" if changed else "unchanged")


def test_a_failed_release_keeps_the_failure_the_failed_check_and_where_the_evidence_is():
    r = rec(failed())
    assert r["result"] == "failed-restored"
    assert r["failure"] == "deploy of core 1.4.2 -> 1.6.0 failed: core: GET http://x: 500"
    assert r["services"][0]["failed_check"] == "version: HTTP 500"
    assert r["services"][0]["checks"] == ["health"]
    assert r["services"][0]["result"] == "FAILED, restored"
    assert r["evidence"] == "production-1:/srv/myaegee/.aegee/history.jsonl (release r2)"


def test_an_evidence_path_in_the_result_is_shown_as_it_is():
    assert rec(failed(evidence_path="/srv/myaegee/.aegee/evidence/r2"))["evidence"] == \
        "production-1:/srv/myaegee/.aegee/evidence/r2"


def test_a_health_failure_names_health_and_no_time_to_healthy():
    r = rec(failed(msg="deploy of core failed: the new containers did not become healthy: exited"))
    assert r["services"][0]["failed_check"] == "health"
    assert r["services"][0]["healthy_after"] is None and r["services"][0]["checks"] == []


def test_a_held_lock():
    r = rec({"failed": True, "msg": "the host is locked by bob", "lock": {"owner": "bob", "controller": "ci",
                                                                          "time": "t", "targets": "core=1.5.0"}})
    assert r["result"] == "locked" and r["lock"]["owner"] == "bob"


def test_holds_released_come_from_the_policys_own_warning():
    bad = {"1.4.9": {}}
    warnings = _policy.release_holds(bad, "core", "1.5.0")
    r = rec(dict(success(core=service()), warnings=warnings + ["unrelated"]))
    assert r["holds_released"] == warnings and len(warnings) == 1


def test_a_record_is_plain_json():
    assert json.loads(json.dumps(rec(failed()))) == rec(failed())


# ------------------------------------------------------------------ the next command


def test_a_failed_restore_says_to_roll_back_with_the_exact_command():
    step = _summary.next_step(rec(failed(result="failed-restore-failed")), ARGV)
    assert step.startswith("roll back now: ")
    cmd = shlex.split(step.split(": ", 1)[1])
    assert cmd == ["ansible-playbook", "playbooks/rollback.yml", "-i", "inventories/prod", "-e", "@vars.json",
                   "--vault-password-file", "~/.vault", "-l", "production-1", "-e", "services=core"]


def test_a_restored_failure_says_rerun_the_same_command():
    step = _summary.next_step(rec(failed()), ARGV)
    rest = [shlex.quote(a) for a in ARGV if a != "playbooks/deploy.yml"]
    assert step.endswith(" ".join(["ansible-playbook", "playbooks/deploy.yml"] + rest))


def test_a_held_lock_offers_a_wait_and_break_lock_on_that_host():
    step = _summary.next_step(rec({"failed": True, "msg": "locked", "lock": {"owner": "bob"}}), ARGV)
    assert "-e lock_wait=300" in step
    assert "-l production-1 -e break_lock=true" in step and step.count("-l production ") == 1


def test_a_failed_rollback_that_could_not_restore_offers_a_deploy():
    step = _summary.next_step(rec(failed(result="failed-restore-failed"), action="rollback"), ARGV)
    assert "playbooks/deploy.yml" in step and "-e service=core" in step


def test_no_next_command_after_success():
    assert _summary.next_step(rec(success(core=service())), ARGV) is None


def test_command_keeps_compact_and_equals_options():
    argv = ["--inventory=inv", "playbooks/deploy.yml", "--limit=staging", "-v"]
    assert _summary.command(argv, "rollback.yml", limit="staging-1") == \
        "ansible-playbook playbooks/rollback.yml --inventory=inv -l staging-1"


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        (["-e", "aegee_registry_password=s3cret-Pa55 service=core"], "aegee_registry_password=<hidden> service=core"),
        (["-eaegee_notify_token=s3cret-Pa55"], "-eaegee_notify_token=<hidden>"),
        (["--extra-vars=vault_db_secret=s3cret-Pa55"], "--extra-vars=vault_db_secret=<hidden>"),
        (["-e", '{"aegee_registry_password": "s3cret-Pa55"}'], "<hidden>"),
        (["-e", "@vars/secrets.yml"], "@vars/secrets.yml"),
        (["-e", "service=core"], "service=core"),
    ],
)
def test_a_rerun_command_never_prints_a_secret_given_with_e(extra, shown):
    argv = ["playbooks/deploy.yml", "-l", "staging", *extra]
    out = _summary.command(argv, keep_all=True)
    assert "s3cret-Pa55" not in out
    assert out.endswith(" " + shlex.quote(shown)), out


# ------------------------------------------------------------------ lines


def test_lines_of_a_success():
    out = _summary.lines([rec(success(core=service(switch=dict(START_FIRST), smoke="ok"),
                                      events=service("1.2.0", "1.2.0", False)))], ARGV)
    assert out[0] == "RELEASE SUMMARY: deploy of production by alice"
    assert out[1] == ("production-1  core    1.4.2 (sha256:aaaaaaaaaaaa) -> 1.5.0 (sha256:bbbbbbbbbbbb)  start-first  "
                      "healthy after 2.5 s  checks: health, version, extra:login  switched")
    assert out[2] == "production-1  events  1.2.0 (sha256:bbbbbbbbbbbb)  unchanged"
    assert out[-1] == "result: SUCCESS"


def test_lines_of_a_failure_name_what_failed_what_was_restored_the_evidence_and_the_next_command():
    out = _summary.lines([rec(failed())], ARGV, untouched=["production-2"])
    assert out[1].endswith("FAILED, restored")
    assert out[2] == "production-1  FAILED: deploy of core 1.4.2 -> 1.6.0 failed: core: GET http://x: 500"
    assert out[3] == "  failed check: core version: HTTP 500"
    assert out[4] == "  restored: core 1.4.2, healthy again"
    assert out[5] == "  evidence: production-1:/srv/myaegee/.aegee/history.jsonl (release r2)"
    assert out[6].startswith("  next: the previous version runs; fix what failed (see the evidence), then rerun: ")
    assert out[7] == "not touched (the rollout stopped first): production-2"
    assert out[8] == "result: FAILED"


def test_lines_of_a_failed_restore():
    release = {"id": "r3", "restore_error": "up failed", "running": {"core": "1.6.0"}}
    out = _summary.lines([rec(failed(result="failed-restore-failed", release=release))], ARGV)
    assert "  RESTORE FAILED: up failed; running now: core 1.6.0" in out


def test_lines_of_a_run_stopped_before_the_release():
    out = _summary.lines([], ARGV, stopped=[{"host": "production-1", "task": "Plan", "msg": "refused\nmore"}])
    assert out[0] == "RELEASE SUMMARY: nothing was released"
    assert out[1] == "production-1  STOPPED at 'Plan': refused"
    assert out[2].startswith("  next: fix the cause above, then rerun: ansible-playbook playbooks/deploy.yml")
    assert out[-1] == "result: FAILED"


def test_a_stop_that_names_its_own_command_offers_that_one():
    msg = "core 1.4.2 is older: this is a rollback.\nRoll back with: ansible-playbook playbooks/rollback.yml -l p"
    out = _summary.lines([], ARGV, stopped=[{"host": "p", "task": "Plan", "msg": msg}])
    assert out[2] == "  next: ansible-playbook playbooks/rollback.yml -l p"


def test_no_lines_without_a_release():
    assert _summary.lines([], ARGV) == []


def test_check_mode_title_and_result():
    out = _summary.lines([rec({"changed": True, "services": {"core": service()}}, check=True)], ARGV)
    assert out[0].endswith("(check mode: nothing was changed)") and out[-1] == "result: CHECK"
