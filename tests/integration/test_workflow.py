"""The workflow on the real testbed: deploy, promote, roll back, fail safely.

The tests of this file run in order and share the testbed's state: a fresh
start (no deploy roots, no containers), then the CI flow, promotion,
rollback and holds, a broken version, concurrent deploys. At the end
`latest` of core points at 1.5.0 again, as the testbed publishes it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading

import pytest
from conftest import GATEWAY_SERVICE, HOSTS, TESTBED_ROOT, ansible_env, playbook, run
from hostview import (
    SERVICES,
    assert_consistent,
    containers,
    history,
    history_lenient,
    ids,
    pinned,
    publish,
    reset_hosts,
    root,
    state,
    tree_digest,
    versions,
)


@pytest.fixture(scope="module", autouse=True)
def fresh(testbed):
    reset_hosts()
    yield
    run(["testbed/retag.sh", "core", "1.5.0"])


def consistent(report, testbed, *procs):
    for host in HOSTS:
        assert_consistent(host, report, secrets=[testbed["password"]], outputs=[p.stdout + p.stderr for p in procs])


def test_fresh_deploy_staging_then_production_is_idempotent():
    playbook("deploy.yml", "-l", "staging")
    assert versions("staging-1") == {svc: "1.5.0" for svc in SERVICES}
    for svc in SERVICES:
        assert pinned("staging-1", svc).startswith("localhost:5000/aegee/%s:1.5.0@sha256:" % svc)
    # production has not been touched by the staging deploy
    assert ids("production-1") == {}
    playbook("deploy.yml", "-l", "production")
    for host in ("production-1", "production-2"):
        assert versions(host) == {svc: "1.5.0" for svc in SERVICES}
        assert all(c["Status"].endswith("(healthy)") for c in containers(HOSTS[host][1]).values())
    before = {h: ids(h) for h in HOSTS}
    for limit in ("staging", "production"):
        out = playbook("deploy.yml", "-l", limit).stdout
        for line in [ln for ln in out.splitlines() if " : ok=" in ln]:
            assert "changed=0" in line, out
    assert {h: ids(h) for h in HOSTS} == before
    assert history("staging-1")[-1]["result"] == "unchanged"


def test_hosts_are_isolated():
    for host, (addr, project, prefix) in HOSTS.items():
        found = containers(project)
        # the services publish no host port; each host's gateway listens on that host's own address only
        for svc, c in found.items():
            if svc == GATEWAY_SERVICE:
                assert c["Ports"].startswith("%s:%s88->80/tcp" % (addr, prefix)), c["Ports"]
            else:
                assert "->" not in c["Ports"], c["Ports"]
        assert GATEWAY_SERVICE in found, sorted(found)
        with open(os.path.join(root(host), ".env")) as handle:
            assert "COMPOSE_PROJECT_NAME=%s\n" % project in handle.read()
    assert len({HOSTS[h][1] for h in HOSTS}) == 3
    mode = os.stat(os.path.join(root("staging-1"), ".aegee")).st_mode & 0o777
    assert mode == 0o700
    assert os.stat(os.path.join(root("staging-1"), ".aegee", "history.jsonl")).st_mode & 0o077 == 0


def test_check_diff_shows_the_pin_and_changes_nothing():
    before, digest = ids("staging-1"), tree_digest("staging-1")
    out = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2", "--check",
                   "--diff").stdout
    assert "+        image: localhost:5000/aegee/core:1.4.2@sha256:" in out
    assert "-        image: localhost:5000/aegee/core:1.5.0@sha256:" in out
    assert tree_digest("staging-1") == digest
    assert ids("staging-1") == before
    assert versions("staging-1")["core"] == "1.5.0"


def test_ci_flow_then_promotion_deploys_what_staging_verified():
    publish("core", "1.5.1")
    before = ids("staging-1")
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.1")
    after = ids("staging-1")
    assert after["core"] != before["core"]
    assert {s: i for s, i in after.items() if s != "core"} == {s: i for s, i in before.items() if s != "core"}
    assert versions("staging-1")["core"] == "1.5.1"
    entry = history("staging-1")[-1]
    assert entry["result"] == "success" and entry["services"]["core"]["from"] == "1.5.0"
    assert entry["services"]["core"]["to"] == "1.5.1" and entry["services"]["core"]["digest"].startswith("sha256:")
    # 1.6.0 becomes latest without being deployed anywhere
    publish("core", "1.6.0")
    playbook("deploy.yml", "-l", "production")
    for host in ("production-1", "production-2"):
        assert versions(host)["core"] == "1.5.1"
        assert pinned(host, "core") == pinned("staging-1", "core")
    # an explicit version staging has not verified is refused
    refused = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.6.0", check=False)
    assert refused.returncode != 0
    assert "1.6.0 has not been verified on staging" in refused.stdout
    assert versions("production-1")["core"] == "1.5.1"


@pytest.mark.reliability("faults", "12a", "A version rolled back from (bad) is asked for by a routine deploy")
def test_rollback_holds_until_a_newer_verified_version(testbed, reliability):
    playbook("rollback.yml", "-l", "production", "-e", "service=core", "-e", "version=1.5.0",
             "-e", "reason=smoke-failure")
    for host in ("production-1", "production-2"):
        assert versions(host)["core"] == "1.5.0"
        assert state(host)["bad"]["core"]["1.5.1"]["reason"] == "smoke-failure"
    # a plain `make start` on the host keeps the rolled-back version
    subprocess.run(["make", "start"], cwd=root("production-1"), capture_output=True, check=True)
    assert versions("production-1")["core"] == "1.5.0"
    # a routine deploy keeps it (held), an explicit request is refused with the reason
    proc = playbook("deploy.yml", "-l", "production")
    assert "core is held at 1.5.0" in proc.stdout + proc.stderr
    assert versions("production-1")["core"] == "1.5.0"
    held = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "core is held at" in ln][0]
    reliability.did("routine deploy: " + held.split("]: ", 1)[-1].strip()[:300])
    reliability.checked("production keeps core 1.5.0 through `make start` and a routine deploy")
    refused = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.5.1", check=False)
    assert refused.returncode != 0 and "marked bad" in refused.stdout and "smoke-failure" in refused.stdout
    # the hotfix goes through staging, then production follows the newest verified version again
    publish("core", "1.5.2", latest="no")
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.2")
    playbook("deploy.yml", "-l", "production")
    for host in ("production-1", "production-2"):
        assert versions(host)["core"] == "1.5.2"
        assert "core" not in state(host)["bad"]
    reliability.checked("a newer version verified on staging (1.5.2) releases the hold")
    consistent(reliability, testbed, proc, refused)


def test_rollback_without_version_takes_the_previous_good_release():
    playbook("rollback.yml", "-l", "staging", "-e", "service=core")
    assert versions("staging-1")["core"] == "1.5.1"
    assert history("staging-1")[-1]["action"] == "rollback"
    assert "1.5.2" in state("staging-1")["bad"]["core"]


@pytest.mark.reliability("faults", "12b", "A version rolled back from (bad) is asked for explicitly")
def test_a_bad_version_is_refused_and_force_says_it_overrides(testbed, reliability):
    # staging rolled core back from 1.5.2 (the test before): 1.5.2 is marked bad there
    refused = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.2", check=False)
    assert refused.returncode != 0 and "marked bad" in refused.stdout and "force=true" in refused.stdout
    assert versions("staging-1")["core"] == "1.5.1"
    reason = [ln.strip() for ln in refused.stdout.splitlines() if "marked bad" in ln][0]
    reliability.did("explicit request: " + reason[:300])
    forced = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.2", "-e", "force=true")
    said = [ln for ln in (forced.stdout + forced.stderr).splitlines() if "deploying it anyway because force" in ln]
    assert said and versions("staging-1")["core"] == "1.5.2"
    reliability.did("with force=true: " + said[0].split("]: ", 1)[-1].strip()[:300])
    reliability.checked("explicit 1.5.2 refused naming the reason, nothing changed; force deploys it and says so")
    consistent(reliability, testbed, refused, forced)


def test_broken_version_fails_restores_and_records():
    before = versions("staging-1")
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=events", "-e", "version=1.6.0", check=False)
    assert proc.returncode != 0
    assert re.search(r"deploy of events \S+ -> 1.6.0 failed: ", proc.stdout)
    assert "unhealthy" in proc.stdout and "health log" in proc.stdout
    assert "previous version was restored" in proc.stdout
    assert versions("staging-1") == before
    assert containers("myaegee-staging")["events"]["Status"].endswith("(healthy)")
    entry = history("staging-1")[-1]
    assert entry["result"] == "failed-restored" and "evidence" in entry
    assert not os.path.exists(os.path.join(root("staging-1"), ".aegee", "lock"))
    assert pinned("staging-1", "events").startswith("localhost:5000/aegee/events:1.5.0@")


def test_broken_frontend_page_fails_the_browser_check_and_is_restored():
    run(["testbed/publish.sh", "frontend", "1.6.0"], env=ansible_env(LATEST="no", BROKEN="page"))
    before = versions("staging-1")["frontend"]
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=frontend", "-e", "version=1.6.0", check=False)
    assert proc.returncode != 0
    # the container was healthy and /healthcheck answered 1.6.0: only the page itself was broken
    assert "browser check of http://127.0.0.2:18088/ failed: missingFunction is not defined" in proc.stdout
    assert "previous version was restored" in proc.stdout
    assert versions("staging-1")["frontend"] == before
    assert history("staging-1")[-1]["result"] == "failed-restored"


def test_a_browser_python_missing_on_the_host_fails_the_check_and_is_restored():
    # found by the fleet benchmark: the module ended at once on it (AnsibleModule.run_command's own fail_json),
    # skipping the restore and the history, and left its pins on disk for the next run to refuse as a hand edit
    before = versions("staging-1")["frontend"]
    target = "1.4.2" if before != "1.4.2" else "1.5.0"
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=frontend", "-e", "version=" + target,
                    "-e", "force=true", "-e", "aegee_browser_python=/nonexistent/bin/python", check=False)
    assert proc.returncode != 0
    assert "cannot run /nonexistent/bin/python" in proc.stdout
    assert "previous version was restored" in proc.stdout
    assert versions("staging-1")["frontend"] == before
    assert history("staging-1")[-1]["result"] == "failed-restored"
    assert_consistent("staging-1")
    # and the next deploy goes through (nothing of the failed one is left to refuse)
    playbook("deploy.yml", "-l", "staging", "-e", "service=frontend", "-e", "version=" + target, "-e", "force=true")
    assert versions("staging-1")["frontend"] == target
    playbook("deploy.yml", "-l", "staging", "-e", "service=frontend", "-e", "version=" + before, "-e", "force=true")


def test_extra_checks_of_the_inventory_gate_the_deploy():
    passing = json.dumps({"aegee_extra_checks": [
        {"name": "core answers through the gateway", "url": "http://127.0.0.2:18088/api/core/healthcheck",
         "contains": "core"},
        {"name": "a command on the host", "command": ["test", "-d", root("staging-1")]},
    ]})
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2", "-e", passing, "-v")
    assert "core answers through the gateway" in proc.stdout
    assert versions("staging-1")["core"] == "1.4.2"
    failing = json.dumps({"aegee_extra_checks": [{"name": "database migrations", "command": "exit 3"}]})
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", "-e", failing,
                    check=False)
    assert proc.returncode != 0
    assert "extra check 'database migrations' failed: exit 3" in proc.stdout
    assert "previous version was restored" in proc.stdout
    assert versions("staging-1")["core"] == "1.4.2"


@pytest.mark.reliability("faults", "9", "Five deploys started at once against one environment")
def test_concurrent_deploys_never_interleave(testbed, reliability):
    results = []
    wanted = ("1.4.2", "1.5.0", "1.4.1", "1.5.0", "1.4.2")
    count = len(history("staging-1"))

    def deploy(version):
        results.append(playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=%s" % version,
                                "-e", "lock_wait=300", check=False))

    threads = [threading.Thread(target=deploy, args=(v,)) for v in wanted]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0] * len(wanted), [r.stdout[-3000:] for r in results]
    reliability.did("all five ran, one after another: each waited for the lock (lock_wait=300) and then released")
    runs = sorted(history("staging-1")[count:], key=lambda e: e["started"])
    assert len(runs) == len(wanted)
    for first, second in zip(runs, runs[1:]):
        assert first["time"] <= second["started"], runs
    reliability.checked("5 history entries whose [started, finished] intervals do not overlap")
    assert versions("staging-1")["core"] == runs[-1]["services"]["core"]["to"]
    reliability.checked("core runs the version of the last one to finish (%s)" % runs[-1]["services"]["core"]["to"])
    consistent(reliability, testbed, *results)


def test_a_second_deploy_without_wait_names_the_holder():
    lock = os.path.join(root("staging-1"), ".aegee", "lock")
    with open(lock, "w") as handle:
        json.dump({"owner": "alice (CI job 7)", "controller": "ci-runner", "pid": 4242, "time": "now",
                   "expires_ts": 4102444800, "expires": "2100-01-01T00:00:00Z", "targets": "core=1.5.0"}, handle)
    try:
        proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", check=False)
        assert proc.returncode != 0
        assert "another deploy holds the lock" in proc.stdout and "alice (CI job 7)" in proc.stdout
    finally:
        os.remove(lock)
    # a stale lock (expired) is reported with the way out, and break_lock recovers
    with open(lock, "w") as handle:
        json.dump({"owner": "bob", "expires_ts": 1, "expires": "1970-01-01T00:00:01Z"}, handle)
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", check=False)
    assert proc.returncode != 0 and "stale lock" in proc.stdout and "break_lock=true" in proc.stdout
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", "-e", "break_lock=true")
    assert not os.path.exists(lock)


def test_rollback_check_mode_changes_nothing():
    before, digest = ids("production-1"), tree_digest("production-1")
    proc = playbook("rollback.yml", "-l", "production", "-e", "service=core", "-e", "version=1.5.0", "--check",
                    "--diff")
    assert "+        image: localhost:5000/aegee/core:1.5.0@sha256:" in proc.stdout
    assert tree_digest("production-1") == digest and ids("production-1") == before
    assert versions("production-1")["core"] == "1.5.2"


def test_smoke_playbook_catches_a_stopped_service():
    playbook("smoke.yml", "-l", "staging")
    mailer = containers("myaegee-staging")["mailer"]["ID"]
    subprocess.run(["docker", "stop", mailer], capture_output=True, check=True)
    try:
        proc = playbook("smoke.yml", "-l", "staging", check=False)
        assert proc.returncode != 0
        assert "mailer: container" in proc.stdout
    finally:
        subprocess.run(["docker", "start", mailer], capture_output=True, check=True)


def _origin_commit(tmp_path, path, transform, message):
    work = tmp_path / "origin-work"
    run(["git", "clone", "-q", "-b", "stable", os.path.join(TESTBED_ROOT, "git", "myaegee.git"), str(work)])
    target = work / path
    target.write_text(transform(target.read_text()))
    ident = ["-c", "user.name=Operator", "-c", "user.email=operator@example.org"]
    run(["git", "-C", str(work), *ident, "commit", "-q", "-am", message])
    run(["git", "-C", str(work), "push", "-q", "origin", "stable"])


def test_upstream_changes_are_pulled_and_the_pins_reapplied(tmp_path):
    _origin_commit(
        tmp_path, "events/docker/docker-compose.yml",
        lambda text: text.replace('            - "traefik.enable=true"',
                                  '            - "traefik.enable=true"\n            - "aegee.owner=events-team"'),
        "events: owner label",
    )
    pins = {svc: pinned("staging-1", svc) for svc in SERVICES}
    before = ids("staging-1")
    events = versions("staging-1")["events"]
    playbook("deploy.yml", "-l", "staging", "-e", "service=events", "-e", "version=%s" % events)
    git = ["git", "-C", root("staging-1")]
    head = run([*git, "rev-parse", "HEAD"]).stdout.strip()
    assert head == run([*git, "rev-parse", "origin/stable"]).stdout.strip()
    with open(os.path.join(root("staging-1"), "events", "docker", "docker-compose.yml")) as handle:
        assert "aegee.owner=events-team" in handle.read()
    assert {svc: pinned("staging-1", svc) for svc in SERVICES} == pins
    # the compose change recreated events (its labels changed); nothing else moved
    after = ids("staging-1")
    assert {s: i for s, i in after.items() if s != "events"} == {s: i for s, i in before.items() if s != "events"}
    assert "aegee.owner=events-team" in containers("myaegee-staging")["events"]["Labels"]


@pytest.mark.reliability("faults", "10a", "Someone edited a compose file in the deploy repo on the host")
def test_a_hand_edit_on_the_host_is_never_discarded_nor_conflicted(testbed, reliability):
    path = os.path.join(root("staging-1"), "mailer", "docker", "docker-compose.yml")
    with open(path) as handle:
        original = handle.read()
    edited = original.replace("        restart: on-failure", "        restart: always  # hotfix by hand")
    with open(path, "w") as handle:
        handle.write(edited)
    before = ids("staging-1")
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", check=False)
    assert proc.returncode != 0
    assert "local changes that are not the tool's: mailer/docker/docker-compose.yml" in proc.stdout
    assert "checkout -- mailer/docker/docker-compose.yml" in proc.stdout
    reliability.did([ln.strip() for ln in proc.stdout.splitlines() if "not the tool's" in ln][0][:400])
    with open(path) as handle:
        assert handle.read() == edited
    assert ids("staging-1") == before
    assert not os.path.exists(os.path.join(root("staging-1"), ".aegee", "lock"))
    reliability.checked("the edit is byte-for-byte intact, no container changed, no lock left, no merge conflict")
    # doing what the message says lets the next deploy converge, pin included
    run(["git", "-C", root("staging-1"), "checkout", "--", "mailer/docker/docker-compose.yml"])
    again = playbook("deploy.yml", "-l", "staging")
    assert pinned("staging-1", "mailer").startswith("localhost:5000/aegee/mailer:1.5.0@sha256:")
    reliability.checked("after the command the message names, the next deploy converges")
    consistent(reliability, testbed, proc, again)


@pytest.mark.reliability("faults", "10b", "Someone committed locally in the deploy repo on the host")
def test_a_local_commit_on_the_host_is_refused_with_the_way_out(testbed, reliability):
    git = ["git", "-C", root("staging-1"), "-c", "user.name=Root", "-c", "user.email=root@localhost"]
    readme = os.path.join(root("staging-1"), "README.md")
    with open(readme, "a") as handle:
        handle.write("\nlocal note\n")
    run([*git, "commit", "-q", "-m", "local note", "README.md"])
    proc = playbook("deploy.yml", "-l", "staging", check=False)
    assert proc.returncode != 0
    assert "1 local commit(s) that origin/stable does not have" in proc.stdout and "reset --keep" in proc.stdout
    reliability.did([ln.strip() for ln in proc.stdout.splitlines() if "local commit(s)" in ln][0][:400])
    assert run([*git, "log", "-1", "--format=%s"]).stdout.strip() == "local note"
    reliability.checked("the local commit is still there; nothing was changed")
    run([*git, "reset", "-q", "--keep", "origin/stable"])
    again = playbook("deploy.yml", "-l", "staging")
    reliability.checked("after the command the message names, the next deploy converges")
    consistent(reliability, testbed, proc, again)


@pytest.mark.reliability("faults", "11", "The release history file is truncated or corrupted")
def test_a_corrupt_history_is_reported_and_deploys_still_work(testbed, reliability):
    path = os.path.join(root("staging-1"), ".aegee", "history.jsonl")
    valid = len(history("staging-1"))
    with open(path, "a") as handle:
        handle.write('{"id": "truncated", "time": "2026-')
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    said = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "is corrupt or truncated" in ln]
    assert said
    reliability.did(said[0].split("]: ", 1)[-1].strip()[:300])
    entries = history_lenient("staging-1")
    assert len(entries) == valid + 1
    assert entries[-1]["services"]["core"]["to"] == "1.4.2" and entries[-1]["result"] == "success"
    reliability.checked("all %d valid entries kept, the new release appended after the broken line" % valid)
    consistent(reliability, testbed, proc)


@pytest.mark.reliability("faults", "13", "The image of the version to roll back to was pruned from the host")
def test_rollback_pulls_an_image_that_was_pruned_from_the_host(testbed, reliability):
    # 1.4.1 runs nowhere: make sure the engine does not have it, then roll core back to it
    run(["docker", "pull", "-q", "localhost:5000/aegee/core:1.4.1"], env=ansible_env(
        DOCKER_CONFIG=os.path.join(TESTBED_ROOT, "ci-docker")))
    image_id = run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", "localhost:5000/aegee/core:1.4.1"]
    ).stdout.strip()
    run(["docker", "rmi", "-f", image_id])
    assert run(["docker", "image", "inspect", image_id], check=False).returncode != 0
    proc = playbook("rollback.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.1")
    assert versions("staging-1")["core"] == "1.4.1"
    assert containers("myaegee-staging")["core"]["Status"].endswith("(healthy)")
    result = history_lenient("staging-1")[-1]["result"]
    reliability.did("the rollback pulled core 1.4.1 again and ran it (history: %s)" % result)
    reliability.checked("the image was absent from the engine before; core runs 1.4.1, healthy")
    consistent(reliability, testbed, proc)
