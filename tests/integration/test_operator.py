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
import shlex
import time

import pytest
from conftest import HOSTS, playbook, run
from hostview import containers, publish, reset_hosts
from test_bad_input import changes, quiet_snapshot, snapshot

from ansible_collections.aegee.deploy.tests.support.receiver import Receiver, dead_address

HOST = "staging-1"
SECRETS = {"hook": "s3cr3t-hook-path-5e1d", "bearer": "s3cr3t-vaulted-bearer-0a9", "mm": "s3cr3tmattermostkey31",
           "mx": "s3cr3t-matrix-token-c4"}


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


def vault(work, name, secret):
    """``name: !vault |...``: ``secret`` encrypted with the test's vault password."""
    proc = run(["ansible-vault", "encrypt_string", "--vault-password-file", str(work / "vault-pass"), secret,
                "--name", name])
    return proc.stdout


@pytest.fixture(scope="module")
def runs(at_150, tmp_path_factory):
    """On staging, each with notification targets and hooks: a deploy, a no-op (at -vvv), a rollback, a failed
    deploy, a deploy that releases a hold. Per step: the output, the return code, what each receiver got and what
    the hooks wrote."""
    work = tmp_path_factory.mktemp("operator")
    (work / "vault-pass").write_text("operator-test-vault\n")
    pre, post, post_env = work / "pre.env", work / "post.json", work / "post.env"
    (work / "post.yml").write_text(
        "- name: Keep the run's data\n  ansible.builtin.copy:\n    content: \"{{ aegee_run | to_json }}\"\n"
        "    dest: %s\n    mode: '0600'\n"
        "- name: Keep the environment\n  ansible.builtin.command: sh -c 'env | grep ^AEGEE_ | sort > %s'\n"
        "  changed_when: true\n" % (post, post_env))
    never = "1.6.0-never.%d" % (int(time.time()) % 100000)
    publish("core", never, latest="no", broken="health")
    steps = {}
    with Receiver() as ok, Receiver(status=500) as failing:
        vars_text = (
            "aegee_status_url: https://status.example.org/\n"
            "aegee_hooks:\n"
            "  pre: {command: \"sh -c 'env | grep ^AEGEE_ | sort > %s'\"}\n"
            "  post: {tasks: %s}\n"
            "aegee_notify:\n"
            "  - type: webhook\n    name: ci\n    url: %s/hook/%s\n"
            "    events: [success, failure, rollback, hold_released]\n"
            "    %s\n"
            "  - {type: mattermost, url: '%s', token: '%s', events: [failure]}\n"
            "  - {type: matrix, url: '%s', token: '%s', room: '!ops:example.org', events: [rollback]}\n"
            "  - {type: webhook, name: failing, url: '%s/hook/%s'}\n"
            "  - {type: webhook, name: gone, url: '%s/hook/%s'}\n"
        ) % (pre, work / "post.yml", ok.url, SECRETS["hook"],
             vault(work, "token", SECRETS["bearer"]).strip().replace("\n", "\n    "),
             ok.url, SECRETS["mm"], ok.url, SECRETS["mx"], failing.url, SECRETS["hook"], dead_address(),
             SECRETS["hook"])
        (work / "vars.yml").write_text(vars_text)
        common = ["-e", "@%s" % (work / "vars.yml"), "--vault-password-file", str(work / "vault-pass")]
        core = ["-l", "staging", "-e", "service=core"]
        plan = [
            ("deploy", "deploy.yml", [*core, "-e", "version=1.4.2", "-e", "summary_file=%s" % (work / "s.json")]),
            ("noop", "deploy.yml", [*core, "-e", "version=1.4.2", "-vvv"]),
            ("rollback", "rollback.yml", [*core, "-e", "reason=summary test"]),
            ("failed", "deploy.yml", [*core, "-e", "version=%s" % never]),
            ("hold", "deploy.yml", [*core, "-e", "version=1.5.0"]),
        ]
        for name, play, args in plan:
            for path in (pre, post, post_env):
                if path.exists():
                    path.unlink()
            seen = len(ok.requests), len(failing.requests)
            proc = playbook(play, *args, *common, check=False)
            steps[name] = {
                "out": proc.stdout, "err": proc.stderr, "rc": proc.returncode, "args": [*args, *common],
                "got": ok.requests[seen[0]:], "failing": failing.requests[seen[1]:],
                "pre": pre.read_text() if pre.exists() else None,
                "post": json.loads(post.read_text()) if post.exists() else None,
                "post_env": post_env.read_text() if post_env.exists() else None,
                "json": json.loads((work / "s.json").read_text()) if name == "deploy" else None,
            }
    return steps


def test_the_summary_of_a_deploy_a_noop_a_rollback_and_a_failed_deploy(runs):
    assert [runs[s]["rc"] for s in ("deploy", "noop", "rollback", "failed", "hold")] == [0, 0, 0, 2, 0], {
        s: r["out"][-2000:] for s, r in runs.items() if r["rc"] != (2 if s == "failed" else 0)}
    lines = summary(runs["deploy"]["out"])
    assert lines[0].startswith("RELEASE SUMMARY: deploy of staging by ")
    core = line_of(lines, "core")
    assert " 1.5.0 (sha256:" in core and ") -> 1.4.2 (sha256:" in core, core
    assert "healthy after " in core and "checks: health, version" in core and core.endswith("switched"), core
    assert lines[-1] == "result: SUCCESS"
    data = runs["deploy"]["json"]
    assert data["result"] == "success" and data["hosts"][0]["host"] == HOST
    assert [(s["service"], s["from"], s["to"], s["result"]) for s in data["hosts"][0]["services"]] == [
        ("core", "1.5.0", "1.4.2", "switched")]

    lines = summary(runs["noop"]["out"])
    core = line_of(lines, "core")
    assert "->" not in core and core.endswith("unchanged") and " 1.4.2 (sha256:" in core, core
    assert lines[-1] == "result: UNCHANGED"

    lines = summary(runs["rollback"]["out"])
    assert lines[0].startswith("RELEASE SUMMARY: rollback of staging by ")
    core = line_of(lines, "core")
    assert ") -> 1.5.0 (sha256:" in core and core.endswith("switched"), core
    assert lines[-1] == "result: SUCCESS"

    failed = runs["failed"]
    lines = summary(failed["out"])
    core = line_of(lines, "core")
    never = [a.split("=", 1)[1] for a in failed["args"] if a.startswith("version=")][0]
    assert ("-> %s (sha256:" % never) in core and core.endswith("FAILED, restored"), core
    text = "\n".join(lines)
    assert "%s  FAILED: deploy of core 1.5.0 -> %s failed: " % (HOST, never) in text
    assert "  failed check: core health" in text
    assert "  restored: core 1.5.0, healthy again" in text
    assert "  evidence: %s:" % HOST in text and "/.aegee/history.jsonl (release " in text
    rerun = " ".join(shlex.quote(a) for a in ["ansible-playbook", "playbooks/deploy.yml", *failed["args"]])
    assert "  next: the previous version runs; fix what failed (see the evidence), then rerun: " + rerun in text
    assert lines[-1] == "result: FAILED"


def test_each_event_is_sent_with_its_payload_and_a_failing_or_gone_receiver_only_warns(runs):
    expected = {"deploy": ["success"], "noop": ["success"], "rollback": ["rollback"], "failed": ["failure"],
                "hold": ["success", "hold_released"]}
    for step, events in expected.items():
        got = runs[step]
        hooks = [r for r in got["got"] if r["path"] == "/hook/" + SECRETS["hook"]]
        assert len(hooks) == 1, (step, got["got"], got["out"][-3000:])
        body = hooks[0]["body"]
        assert body["events"] == events, step
        assert hooks[0]["headers"]["Authorization"] == "Bearer " + SECRETS["bearer"]  # from the vault
        assert (body["environment"], body["hosts"], body["status_url"]) == (
            "staging", [HOST], "https://status.example.org/")
        assert body["actor"] and body["result"] == ("failed" if step == "failed" else
                                                    "unchanged" if step in ("noop", "hold") else "success")
        assert [s["service"] for s in body["services"]] == ["core"]
        assert "status: https://status.example.org/" in body["text"]
        paths = sorted(r["path"].split("/")[1] for r in got["got"])
        assert paths == sorted(["hook"] + (["hooks"] if step == "failed" else [])
                               + (["_matrix"] if step == "rollback" else [])), (step, paths)
        assert len(got["failing"]) == 1, step
        warnings = got["out"] + got["err"]
        assert "could not notify webhook target failing (HTTP 500): the release is not affected" in warnings, step
        assert "could not notify webhook target gone (unreachable): the release is not affected" in warnings, step
    moved = runs["deploy"]["got"][0]["body"]["services"][0]
    assert (moved["host"], moved["from"], moved["to"], moved["result"]) == (HOST, "1.5.0", "1.4.2", "switched")
    assert "released the hold on bad version 1.4.2" in runs["hold"]["got"][0]["body"]["text"]


def test_no_url_or_token_appears_at_vvv(runs):
    out = runs["noop"]["out"] + runs["noop"]["err"]
    assert "-vvv" in runs["noop"]["args"] and "EXEC" in out  # it was verbose
    leaked = [name for name, secret in SECRETS.items() if secret in out]
    assert leaked == [], leaked


def test_hooks_get_the_runs_data_as_variables_and_environment(runs):
    pre = dict(line.split("=", 1) for line in runs["deploy"]["pre"].splitlines())
    assert {k: pre[k] for k in ("AEGEE_HOOK", "AEGEE_ACTION", "AEGEE_ENVIRONMENT", "AEGEE_HOSTS", "AEGEE_SERVICES",
                                "AEGEE_VERSIONS", "AEGEE_RESULT", "AEGEE_STATUS_URL")} == {
        "AEGEE_HOOK": "pre", "AEGEE_ACTION": "deploy", "AEGEE_ENVIRONMENT": "staging", "AEGEE_HOSTS": HOST,
        "AEGEE_SERVICES": "core", "AEGEE_VERSIONS": "core=1.4.2", "AEGEE_RESULT": "pending",
        "AEGEE_STATUS_URL": "https://status.example.org/"}
    assert pre["AEGEE_ACTOR"]
    post = runs["deploy"]["post"]
    assert (post["hook"], post["action"], post["result"], post["services"]) == (
        "post", "deploy", "success", {"core": "1.4.2"})
    assert post["records"][0]["services"][0]["from"] == "1.5.0"
    assert "AEGEE_RESULT=success" in runs["deploy"]["post_env"]
    assert "AEGEE_HOOK=pre" in runs["rollback"]["pre"] and "AEGEE_ACTION=rollback" in runs["rollback"]["pre"]
    assert "AEGEE_VERSIONS=core=previous" in runs["rollback"]["pre"]
    assert runs["failed"]["post"]["result"] == "failed" and "AEGEE_RESULT=failed" in runs["failed"]["post_env"]


def running():
    """Per host and service: the container's id, image and state (not the status text, which ages)."""
    return {h: {svc: (c["ID"], c["Image"], c["State"]) for svc, c in containers(HOSTS[h][1]).items()} for h in HOSTS}


def test_a_failing_pre_hook_leaves_every_host_untouched(at_150, tmp_path):
    hooks = tmp_path / "hooks.json"
    hooks.write_text(json.dumps({"aegee_hooks": {"pre": {"command": "sh -c 'echo not today >&2; exit 3'"}}}))
    before = (quiet_snapshot(), running())
    proc = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.5.0",
                    "-e", "@%s" % hooks, check=False)
    after = (snapshot(), running())
    assert proc.returncode != 0 and "not today" in proc.stdout, proc.stdout[-3000:]
    assert changes(before[0], after[0]) == []
    assert before[1] == after[1]
    lines = summary(proc.stdout)
    assert lines[0] == "RELEASE SUMMARY: nothing was released" and "STOPPED at " in lines[1], lines


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
