"""The fault matrix (issue 5): real faults injected into the real testbed, one row a test.

Every row ends with ``assert_consistent`` on every host: each container runs
the version its pin and the history say, healthy, no lock left, compose files
changed only by whole pins, and no secret in the output. Rows 9-13 are in
test_workflow.py (they need its sequence of releases).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import faults
import pytest
import yaml
from conftest import HOSTS, REPO_ROOT, ansible_env, playbook, run
from hostview import (
    SERVICES,
    assert_consistent,
    compose_path,
    deploy_fresh,
    history,
    ids,
    publish,
    root,
    state,
    state_dir,
    versions,
)

from ansible_collections.aegee.deploy.tests.support.docker_ps import SERVICE_LABEL, labels, ps_argv

STAGING = "staging-1"
PRODUCTION = ("production-1", "production-2")


def failures(text):
    """The ``msg`` of every failed or unreachable task in the output of an ansible-playbook run (YAML results)."""
    out, lines = [], text.splitlines()
    for number, line in enumerate(lines):
        m = re.search(r"(?:FAILED|UNREACHABLE)! =>\s*(.*)$", line)
        if not m:
            continue
        if m.group(1).strip():
            block = m.group(1)
        else:
            body = []
            for follow in lines[number + 1:]:
                if follow and not follow.startswith(" "):
                    break
                body.append(follow)
            block = "\n".join(body)
        try:
            data = yaml.safe_load(block)
        except yaml.YAMLError:
            data = None
        out.append(str(data.get("msg", "")) if isinstance(data, dict) else block.strip())
    return out


def first_failure(proc):
    found = failures(proc.stdout + proc.stderr)
    assert found, "no failed task in:\n" + proc.stdout[-3000:]
    return found[0]


def snapshot():
    """What a run must not change when it stops before touching any host."""
    out = {}
    for host in HOSTS:
        with open(os.path.join(state_dir(host), "history.jsonl"), "rb") as handle:
            out[host] = (ids(host), handle.read(), {s: open(compose_path(host, s)).read() for s in SERVICES})
    return out


def all_consistent(report, testbed, procs=()):
    outputs = [p.stdout + p.stderr for p in procs]
    for host in HOSTS:
        assert_consistent(host, report, secrets=[testbed["password"]], outputs=outputs)


def start_deploy(*args):
    """ansible-playbook deploy.yml in its own process group, so the test can kill it like an operator's ^C -9."""
    return subprocess.Popen(
        ["ansible-playbook", "playbooks/deploy.yml", *args], cwd=REPO_ROOT, env=ansible_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def new_container_of(host, svc, version, only=False):
    """True once a container of the service runs ``version`` (created by compose up, maybe not healthy yet);
    with ``only``, once every container of the service does.

    A start-first switch runs the new container beside the old one (any counts: the release is mid-way), and a
    stop-first recreate creates the new one before it removes the old one (``only``: the old one is gone).
    """
    out = run(ps_argv(HOSTS[host][1], no_trunc=True)).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    images = [c["Image"].split("@")[0] for c in rows if labels(c).get(SERVICE_LABEL) == svc]
    new = [image.endswith(":" + version) for image in images]
    return bool(new) and (all(new) if only else any(new))


def other_version(host, svc, choices=("1.4.1", "1.4.2", "1.5.0")):
    """A published version of ``svc`` that ``host`` does not run now, so a deploy of it really changes something."""
    current = versions(host)[svc]
    return next(v for v in choices if v != current)


def lock_of(host):
    try:
        with open(os.path.join(state_dir(host), "lock")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module", autouse=True)
def baseline(testbed):
    deploy_fresh()
    yield
    run(["testbed/retag.sh", "core", "1.5.0"])


@pytest.mark.reliability("faults", "1", "Registry unreachable at deploy time")
def test_registry_unreachable_stops_before_anything_is_touched(testbed, reliability):
    # staging verified core 1.4.2 before the registry went away
    verified = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    before = snapshot()
    with faults.registry_down():
        staging = playbook("deploy.yml", "-l", "staging", check=False)
        untouched = snapshot()
        production = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.4.2",
                              check=False)
    assert staging.returncode != 0
    msg = first_failure(staging)
    assert "localhost:5000" in msg and re.search(r"refused|unreachable|cannot reach", msg, re.I), msg
    reliability.did("staging (resolves latest): " + msg)
    assert untouched == before
    reliability.checked("staging: stopped in the plan on the controller; no host's containers, files or history "
                        "changed")
    # production takes its digests from staging's record, so its plan needs no registry: the host stops at
    # the pull, before any container is touched
    assert production.returncode != 0
    msg = first_failure(production)
    reliability.did("production (digest from staging's record): " + msg.split("\n")[0][:300])
    for host in PRODUCTION:
        assert ids(host) == before[host][0]
        assert {s: open(compose_path(host, s)).read() for s in SERVICES} == before[host][2]
    assert history("production-1")[-1]["result"] == "failed-unchanged"
    assert snapshot()["production-2"] == before["production-2"]
    reliability.checked("production: no container recreated, compose files byte-identical; production-1 recorded "
                        "failed-unchanged and the rollout stopped there (production-2 untouched)")
    all_consistent(reliability, testbed, [verified, staging, production])


@pytest.mark.reliability("faults", "2", "Wrong registry credentials")
def test_wrong_credentials_say_so_and_never_print_a_password(testbed, reliability):
    before = snapshot()
    wrong = "wrong-Pa55-%d" % os.getpid()
    procs = []
    for limit in ("staging", "production"):
        proc = playbook("deploy.yml", "-l", limit, "-e", "service=core", "-e", "version=1.4.1", "-e",
                        "aegee_registry_password=" + wrong, "-e", "force=true", "-vvv", check=False)
        assert proc.returncode != 0
        procs.append(proc)
        msg = first_failure(proc)
        assert re.search(r"401|credentials|unauthorized|login", msg, re.I), msg
        reliability.did("%s: %s" % (limit, msg.split("\n")[0][:300]))
        assert wrong not in proc.stdout + proc.stderr
    reliability.checked("at -vvv the wrong password appears nowhere in stdout or stderr")
    after = snapshot()
    assert after[STAGING] == before[STAGING]
    for host in PRODUCTION:
        assert after[host][0] == before[host][0] and after[host][2] == before[host][2]
        with open(os.path.join(state_dir(host), "history.jsonl")) as handle:
            assert wrong not in handle.read()
    reliability.checked("no container or compose file changed; the password is not in any host's history")
    all_consistent(reliability, testbed, procs)


@pytest.mark.reliability("faults", "3a", "Registry answers 429 (with Retry-After) for a while, then recovers")
def test_registry_429_for_a_while_is_retried(testbed, reliability):
    version = other_version(STAGING, "core")
    with faults.registry_flaky(failures=3, status=429, retry_after=1) as flaky:
        start = time.time()
        proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=" + version, "-v")
        took = time.time() - start
    assert flaky.failed == 3
    reliability.did("answered 429 three times (Retry-After: 1), then served; the deploy succeeded in %.0f s"
                    % took)
    assert versions(STAGING)["core"] == version
    assert history(STAGING)[-1]["result"] == "success"
    reliability.checked("core runs %s and the history records success" % version)
    all_consistent(reliability, testbed, [proc])


@pytest.mark.reliability("faults", "3b", "Registry answers 503 for good")
def test_registry_503_for_good_fails_after_bounded_retries(testbed, reliability):
    before = snapshot()
    with faults.registry_flaky(failures=1000, status=503) as flaky:
        start = time.time()
        proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0", check=False)
        took = time.time() - start
    assert proc.returncode != 0
    msg = first_failure(proc)
    assert "503" in msg, msg
    reliability.did(msg)
    assert flaky.failed <= 12, flaky.requests
    assert took < 120
    reliability.checked("gave up after %d requests in %.0f s (bounded), before any host was touched"
                        % (flaky.failed, took))
    assert snapshot() == before
    all_consistent(reliability, testbed, [proc])


@pytest.mark.reliability("faults", "3c", "A layer download answers 503 once during the pull")
def test_a_flaky_layer_download_is_retried_by_the_engine(testbed, reliability):
    publish("events", "1.7.0", latest="no")
    faults.remove_image("localhost:5000/aegee/events:1.7.0")
    with faults.registry_flaky(failures=1, status=503, matches=lambda path: "/blobs/" in path) as flaky:
        proc = playbook("deploy.yml", "-l", "staging", "-e", "service=events", "-e", "version=1.7.0")
    assert flaky.failed == 1
    assert versions(STAGING)["events"] == "1.7.0"
    reliability.did("the engine retried the layer the registry refused once; events 1.7.0 deployed")
    reliability.checked("events runs 1.7.0, healthy, recorded as success")
    all_consistent(reliability, testbed, [proc])


@pytest.mark.reliability("faults", "4", "The manifest exists but a layer cannot be pulled")
def test_a_missing_layer_stops_before_any_container_is_touched(testbed, reliability):
    publish("mailer", "1.7.0", latest="no")
    faults.remove_image("localhost:5000/aegee/mailer:1.7.0")
    layer = faults.delete_layer_data(testbed, "mailer", "1.7.0")
    before = snapshot()
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=mailer", "-e", "version=1.7.0", check=False)
    assert proc.returncode != 0
    msg = first_failure(proc)
    assert "deploy stopped before touching any running container" in msg and "compose files are as they were" in msg
    reliability.did(msg.split("\n")[0][:400])
    assert ids(STAGING) == before[STAGING][0]
    assert {s: open(compose_path(STAGING, s)).read() for s in SERVICES} == before[STAGING][2]
    assert history(STAGING)[-1]["result"] == "failed-unchanged"
    reliability.checked("layer %s... gone from the registry: mailer's container was not stopped, compose files "
                        "byte-identical, history records failed-unchanged" % layer[:19])
    all_consistent(reliability, testbed, [proc])


@pytest.mark.reliability("faults", "5", "The SSH connection drops in the middle of a deploy (sshd killed)")
def test_a_dropped_connection_lets_the_host_finish_and_a_rerun_converges(testbed, reliability):
    version = other_version(STAGING, "core")
    args = ("-l", "staging", "-e", "service=core", "-e", "version=" + version)
    proc = start_deploy(*args)
    try:
        faults.wait_until(lambda: new_container_of(STAGING, "core", version), "the new core container")
        sessions = faults.kill_sshd(STAGING)
        out, _err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        faults.start_sshd(STAGING)
    assert proc.returncode != 0
    assert re.search(r"UNREACHABLE|Connection|closed|ssh", out), out[-2000:]
    reliability.did("killed sshd and its %d session(s) while core %s was starting; the controller reported: %s"
                    % (len(sessions), version, (failures(out) or ["?"])[0][:200]))
    # the transaction on the host does not need the connection: it runs to its end and unlocks
    faults.wait_until(lambda: lock_of(STAGING) is None, "the host to finish the release", 120)
    entry = history(STAGING)[-1]
    assert entry["services"]["core"]["to"] == version and entry["result"] == "success", entry
    reliability.did("the release on the host ran to its end without the controller: history records %s"
                    % entry["result"])
    again = playbook("deploy.yml", *args)
    # the recap's line (the release summary after it has lines that start with the host's name too)
    recap = [line for line in again.stdout.splitlines() if line.startswith(STAGING) and " ok=" in line]
    assert "changed=0" in recap[-1], recap
    reliability.checked("the rerun converges with no manual repair (changed=0), core runs " + version)
    all_consistent(reliability, testbed, [again])


@pytest.mark.reliability("faults", "6a", "The controller is SIGKILLed in the middle of a deploy")
def test_a_killed_controller_leaves_the_host_to_finish(testbed, reliability):
    version = other_version(STAGING, "core")
    args = ("-l", "staging", "-e", "service=core", "-e", "version=" + version)
    proc = start_deploy(*args)
    faults.wait_until(lambda: new_container_of(STAGING, "core", version), "the new core container")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    held = lock_of(STAGING)
    second = playbook("deploy.yml", *args, check=False)
    if second.returncode != 0:
        msg = first_failure(second)
        assert "another deploy holds the lock" in msg and "still running" in msg, msg
        reliability.did("a deploy started at once was refused: " + msg[:300])
    assert held is None or held["host_pid"] and held["owner"]
    faults.wait_until(lambda: lock_of(STAGING) is None, "the host to finish the release", 120)
    entry = [e for e in history(STAGING) if "core" in e.get("recreated", [])][-1]
    assert entry["result"] == "success" and entry["services"]["core"]["to"] == version, entry
    reliability.did("the release on the host ran to its end without its controller: history records %s"
                    % entry["result"])
    again = playbook("deploy.yml", *args, "-e", "lock_wait=120")
    reliability.checked("a rerun converges with no manual step")
    all_consistent(reliability, testbed, [second, again])


@pytest.mark.reliability("faults", "6b", "The controller and the release process on the host are both killed")
def test_a_dead_release_leaves_a_stale_lock_that_break_lock_recovers(testbed, reliability):
    version = other_version(STAGING, "core")
    args = ("-l", "staging", "-e", "service=core", "-e", "version=" + version)
    proc = start_deploy(*args)
    faults.wait_until(lambda: new_container_of(STAGING, "core", version), "the new core container")
    lock = lock_of(STAGING)
    assert lock and lock["host_pid"], lock
    for pid in [lock["host_pid"], *faults.children(lock["host_pid"])]:
        faults._kill(pid, signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert lock_of(STAGING) is not None
    refused = playbook("deploy.yml", *args, check=False)
    assert refused.returncode != 0
    msg = first_failure(refused)
    assert "stale lock" in msg and lock["owner"] in msg and "is gone" in msg and "break_lock=true" in msg, msg
    reliability.did("next run: " + msg[:400])
    recovered = playbook("deploy.yml", *args, "-e", "break_lock=true")
    entry = history(STAGING)[-1]
    assert entry["result"] == "success" and entry["recovered_lock"]["id"] == lock["id"], entry
    assert "core" in entry["recreated"]
    reliability.did("with -e break_lock=true: broke the lock, checked core again (health, /healthcheck) and "
                    "recorded the recovery of run %s" % lock["id"])
    reliability.checked("the recovery is in the history, naming the dead run; core was re-checked, not assumed")
    all_consistent(reliability, testbed, [refused, recovered])


@pytest.mark.reliability("faults", "7", "The new version fails its checks AND the previous one cannot be restored")
def test_a_failed_restore_is_loud_recorded_and_unlocked(testbed, reliability):
    publish("frontend", "1.7.0", latest="no")
    publish("frontend", "1.8.0", latest="no", broken="health")
    playbook("deploy.yml", "-l", "staging", "-e", "service=frontend", "-e", "version=1.7.0")
    pin = open(compose_path(STAGING, "frontend")).read()
    image = [line.split("image:", 1)[1].strip() for line in pin.splitlines() if "image:" in line][0]
    faults.delete_from_registry(testbed, "frontend", "1.7.0")
    # A start-first switch never stops the old container before the new one is healthy, so a version that
    # never turns healthy cannot need a restore: this row forces the stop-first switch (the catalogue's
    # `switch: stop-first`), where the old container is gone while 1.8.0 starts and fails its healthcheck,
    # and a prune removes the 1.7.0 image that nothing runs any more.
    catalogue = {svc: {"image": "localhost:5000/aegee/%s" % svc} for svc in SERVICES}
    catalogue["frontend"]["switch"] = "stop-first"
    deploy = start_deploy("-l", "staging", "-e", "service=frontend", "-e", "version=1.8.0",
                          "-e", json.dumps({"aegee_services": catalogue}))
    faults.wait_until(lambda: new_container_of(STAGING, "frontend", "1.8.0", only=True), "the new frontend container")
    pruned = faults.remove_image(image.split("@")[0])
    assert pruned.returncode == 0, pruned.stderr
    out, _err = deploy.communicate(timeout=300)
    proc = subprocess.CompletedProcess(deploy.args, deploy.returncode, out, "")
    assert proc.returncode != 0
    msg = first_failure(proc)
    assert "frontend 1.7.0 -> 1.8.0" in msg and "RESTORE FAILED" in msg and "needs attention" in msg, msg
    loud = re.search(r"RESTORE FAILED: .*?needs attention now", msg, re.S).group(0)
    reliability.did(msg.split(":")[0] + ": ... " + " ".join(loud.split())[:200] + " ... " +
                    " ".join(msg[msg.index("Running now"):].split())[:160])
    entry = history(STAGING)[-1]
    assert entry["result"] == "failed-restore-failed" and entry["restore_error"] and entry["running"], entry
    assert lock_of(STAGING) is None
    reliability.checked("history records failed-restore-failed with the restore error and what runs (%s); lock "
                        "released" % entry["running"])
    assert "1.8.0" in state(STAGING)["bad"]["frontend"]
    reliability.checked("the failed version is marked bad, so no rerun takes it as verified")
    all_consistent(reliability, testbed, [proc])
    # a version that works repairs the host
    playbook("deploy.yml", "-l", "staging", "-e", "service=frontend", "-e", "version=1.5.0")
    assert versions(STAGING)["frontend"] == "1.5.0"
    reliability.checked("deploying a version that works (1.5.0) repairs the host")


@pytest.mark.reliability("faults", "8", "The host's disk is full while pins are written")
def test_a_full_disk_leaves_the_compose_files_unchanged(testbed, reliability):
    version = other_version(STAGING, "core")
    before = snapshot()
    with faults.disk_full(root(STAGING)):
        proc = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=" + version, check=False)
        leftovers = [f for _d, _s, files in os.walk(root(STAGING)) for f in files if f.endswith(".tmp")]
    assert proc.returncode != 0
    msg = first_failure(proc)
    assert re.search(r"no space left on device", msg, re.I), msg
    reliability.did(msg.split("\n")[0][:400])
    assert not leftovers, leftovers
    assert ids(STAGING) == before[STAGING][0]
    assert {s: open(compose_path(STAGING, s)).read() for s in SERVICES} == before[STAGING][2]
    reliability.checked("compose files byte-identical, no temporary file left, no container touched")
    all_consistent(reliability, testbed, [proc])
    again = playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=" + version)
    assert versions(STAGING)["core"] == version
    reliability.checked("with space again, the same deploy converges")
    all_consistent(reliability, testbed, [again])


@pytest.mark.reliability("faults", "14", "In a production batch of two hosts, the second fails its smoke check")
def test_a_failing_second_production_host_stops_the_rollout(testbed, reliability):
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.4.2")
    marker = os.path.join(os.path.dirname(os.path.dirname(root("production-2"))), "fault-smoke")
    checks = json.dumps({"aegee_extra_checks": [{
        "name": "host is not marked faulty",
        "command": "test ! -e {{ aegee_deploy_root }}/../../fault-smoke"}]})
    before = versions("production-2")["core"]
    open(marker, "w").close()
    try:
        proc = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.4.2",
                        "-e", checks, check=False)
    finally:
        os.unlink(marker)
    assert proc.returncode != 0
    msg = first_failure(proc)
    assert "extra check 'host is not marked faulty' failed" in msg and "previous version was restored" in msg
    reliability.did("production-2: " + msg.split("\n")[0][:300])
    assert versions("production-1")["core"] == "1.4.2" and history("production-1")[-1]["result"] == "success"
    assert versions("production-2")["core"] == before
    assert history("production-2")[-1]["result"] == "failed-restored"
    reliability.did("policy (docs/operations.md): the rollout stops; production-1, which passed its own checks, "
                    "keeps 1.4.2; production-2 is restored to %s" % before)
    reliability.checked("production-1 runs 1.4.2 recorded success; production-2 runs %s recorded failed-restored"
                        % before)
    all_consistent(reliability, testbed, [proc])
    again = playbook("deploy.yml", "-l", "production", "-e", "service=core", "-e", "version=1.4.2")
    assert versions("production-2")["core"] == "1.4.2"
    reliability.checked("once the host is fixed, the same command converges production to one version")
    all_consistent(reliability, testbed, [again])


@pytest.mark.reliability("security", "S-host", "Compose files keep owner and mode; release state is private")
def test_compose_files_keep_owner_and_mode_and_state_is_private(testbed, reliability):
    path = compose_path(STAGING, "mailer")
    os.chown(path, 1234, 1234)
    os.chmod(path, 0o640)
    proc = playbook("deploy.yml", "-l", "staging", "-e", "service=mailer", "-e",
                    "version=" + other_version(STAGING, "mailer"))
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1234, 1234, 0o640)
    reliability.did("rewrote the mailer pin in place of a file owned by 1234:1234 mode 0640")
    reliability.checked("owner, group and mode unchanged after the deploy")
    assert os.stat(state_dir(STAGING)).st_mode & 0o777 == 0o700
    for name in ("history.jsonl", "state.json"):
        assert os.stat(os.path.join(state_dir(STAGING), name)).st_mode & 0o077 == 0
    reliability.checked(".aegee is 0700 and its files are not readable or writable by group or others")
    all_consistent(reliability, testbed, [proc])
