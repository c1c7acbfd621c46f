"""The workflow on the real testbed: deploy, promote, roll back, fail safely.

The tests of this file run in order and share the testbed's state: a fresh
start (no deploy roots, no containers), then the CI flow, promotion,
rollback and holds, a broken version, concurrent deploys. At the end
`latest` of core points at 1.5.0 again, as the testbed publishes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading

import pytest

from conftest import HOSTS, SERVICE_PORT_SUFFIX, TESTBED_ROOT, ansible_env, http_json, playbook, run, service_url

SERVICES = sorted(SERVICE_PORT_SUFFIX)


def root(host):
    return os.path.join(TESTBED_ROOT, "hosts", host, "srv", "myaegee")


def containers(project):
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=com.docker.compose.project=%s" % project, "--format", "{{json .}}"],
        capture_output=True, text=True, check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        c = json.loads(line)
        labels = dict(kv.split("=", 1) for kv in c["Labels"].split(",") if "=" in kv)
        found[labels.get("com.docker.compose.service")] = c
    return found


def ids(host):
    return {svc: c["ID"] for svc, c in containers(HOSTS[host][1]).items()}


def versions(host):
    return {svc: http_json(service_url(host, svc))["data"]["version"] for svc in SERVICES}


def history(host):
    with open(os.path.join(root(host), ".aegee", "history.jsonl")) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def state(host):
    with open(os.path.join(root(host), ".aegee", "state.json")) as handle:
        return json.load(handle)


def pinned(host, svc):
    with open(os.path.join(root(host), svc, "docker", "docker-compose.yml")) as handle:
        return [line.split("image:", 1)[1].strip() for line in handle if "image:" in line][0]


def tree_digest(host):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root(host))):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            with open(os.path.join(dirpath, name), "rb") as handle:
                h.update(name.encode() + handle.read())
    return h.hexdigest()


def publish(service, version, latest="yes"):
    run(["testbed/publish.sh", service, version], env=ansible_env(LATEST=latest))


def recap(out):
    return {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}


@pytest.fixture(scope="module", autouse=True)
def fresh(testbed):
    for host, (_addr, project, _prefix) in HOSTS.items():
        found = [c["ID"] for c in containers(project).values()]
        if found:
            subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=True)
        subprocess.run(["rm", "-rf", root(host)], check=True)
    run(["testbed/retag.sh", "core", "1.5.0"])
    yield
    run(["testbed/retag.sh", "core", "1.5.0"])


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
        for line in recap(out).values():
            assert "changed=0" in line, out
    assert {h: ids(h) for h in HOSTS} == before
    assert history("staging-1")[-1]["result"] == "unchanged"


def test_hosts_are_isolated():
    for host, (addr, project, prefix) in HOSTS.items():
        for c in containers(project).values():
            assert "%s:%s" % (addr, prefix) in c["Ports"], c["Ports"]
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


def test_rollback_holds_until_a_newer_verified_version():
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
    refused = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.5.1", check=False)
    assert refused.returncode != 0 and "marked bad" in refused.stdout and "smoke-failure" in refused.stdout
    # the hotfix goes through staging, then production follows the newest verified version again
    publish("core", "1.5.2", latest="no")
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.2")
    playbook("deploy.yml", "-l", "production")
    for host in ("production-1", "production-2"):
        assert versions(host)["core"] == "1.5.2"
        assert "core" not in state(host)["bad"]


def test_rollback_without_version_takes_the_previous_good_release():
    playbook("rollback.yml", "-l", "staging", "-e", "service=core")
    assert versions("staging-1")["core"] == "1.5.1"
    assert history("staging-1")[-1]["action"] == "rollback"
    assert "1.5.2" in state("staging-1")["bad"]["core"]


def test_broken_version_fails_restores_and_records():
    before = versions("staging-1")
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=events", "-e", "version=1.6.0", check=False)
    assert proc.returncode != 0
    assert "deploy of events failed" in proc.stdout
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
    assert "browser check of http://127.0.0.2:18080/ failed: missingFunction is not defined" in proc.stdout
    assert "previous version was restored" in proc.stdout
    assert versions("staging-1")["frontend"] == before
    assert history("staging-1")[-1]["result"] == "failed-restored"


def test_extra_checks_of_the_inventory_gate_the_deploy():
    passing = json.dumps({"aegee_extra_checks": [
        {"name": "core answers through its port", "url": "http://127.0.0.2:18084/healthcheck", "contains": "core"},
        {"name": "a command on the host", "command": ["test", "-d", root("staging-1")]},
    ]})
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2", "-e", passing, "-v")
    assert "core answers through its port" in proc.stdout
    assert versions("staging-1")["core"] == "1.4.2"
    failing = json.dumps({"aegee_extra_checks": [{"name": "database migrations", "command": "exit 3"}]})
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", "-e", failing,
                    check=False)
    assert proc.returncode != 0
    assert "extra check 'database migrations' failed: exit 3" in proc.stdout
    assert "previous version was restored" in proc.stdout
    assert versions("staging-1")["core"] == "1.4.2"


def test_concurrent_deploys_never_interleave():
    results = []

    def deploy(version):
        results.append(playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=%s" % version,
                                "-e", "lock_wait=120", check=False))

    threads = [threading.Thread(target=deploy, args=(v,)) for v in ("1.4.2", "1.5.0")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0], [r.stdout[-3000:] for r in results]
    last = [e for e in history("staging-1") if e["result"] == "success"][-2:]
    assert last[0]["time"] <= last[1]["started"], last
    assert not os.path.exists(os.path.join(root("staging-1"), ".aegee", "lock"))


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


def test_a_hand_edit_on_the_host_is_never_discarded_nor_conflicted():
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
    with open(path) as handle:
        assert handle.read() == edited
    assert ids("staging-1") == before
    assert not os.path.exists(os.path.join(root("staging-1"), ".aegee", "lock"))
    # doing what the message says lets the next deploy converge, pin included
    run(["git", "-C", root("staging-1"), "checkout", "--", "mailer/docker/docker-compose.yml"])
    playbook("deploy.yml", "-l", "staging")
    assert pinned("staging-1", "mailer").startswith("localhost:5000/aegee/mailer:1.5.0@sha256:")


def test_a_local_commit_on_the_host_is_refused_with_the_way_out():
    git = ["git", "-C", root("staging-1"), "-c", "user.name=Root", "-c", "user.email=root@localhost"]
    readme = os.path.join(root("staging-1"), "README.md")
    with open(readme, "a") as handle:
        handle.write("\nlocal note\n")
    run([*git, "commit", "-q", "-m", "local note", "README.md"])
    proc = playbook("deploy.yml", "-l", "staging", check=False)
    assert proc.returncode != 0
    assert "1 local commit(s) that origin/stable does not have" in proc.stdout and "reset --keep" in proc.stdout
    run([*git, "reset", "-q", "--keep", "origin/stable"])
    playbook("deploy.yml", "-l", "staging")


def test_a_corrupt_history_is_reported_and_deploys_still_work():
    path = os.path.join(root("staging-1"), ".aegee", "history.jsonl")
    valid = len(history("staging-1"))
    with open(path, "a") as handle:
        handle.write('{"id": "truncated", "time": "2026-')
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    assert "is corrupt or truncated" in proc.stdout + proc.stderr
    entries = history_lenient("staging-1")
    assert len(entries) == valid + 1
    assert entries[-1]["services"]["core"]["to"] == "1.4.2" and entries[-1]["result"] == "success"


def history_lenient(host):
    out = []
    with open(os.path.join(root(host), ".aegee", "history.jsonl")) as handle:
        for line in handle:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def test_rollback_pulls_an_image_that_was_pruned_from_the_host():
    # 1.4.1 runs nowhere: make sure the engine does not have it, then roll core back to it
    run(["docker", "pull", "-q", "localhost:5000/aegee/core:1.4.1"], env=ansible_env(
        DOCKER_CONFIG=os.path.join(TESTBED_ROOT, "ci-docker")))
    image_id = run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", "localhost:5000/aegee/core:1.4.1"]
    ).stdout.strip()
    run(["docker", "rmi", "-f", image_id])
    assert run(["docker", "image", "inspect", image_id], check=False).returncode != 0
    playbook("rollback.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.1")
    assert versions("staging-1")["core"] == "1.4.1"
    assert containers("myaegee-staging")["core"]["Status"].endswith("(healthy)")
