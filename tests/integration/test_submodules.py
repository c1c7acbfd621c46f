"""The deploy repo in its submodule shape on the real testbed (issue 13).

A second origin is built with testbed/make-submodule-origin.sh (one bare repository per service folder, a bare
deploy repo on `stable` whose service folders are git submodules), and staging-1 deploys it beside its flat
deploy: its own deploy root, compose project, network and ports (-e overrides of aegee_deploy_repo_url,
aegee_deploy_root, aegee_deploy_env and aegee_smoke_urls), so the two never meet.

The tests run in order and share that deploy: the first deploy from nothing, a no-op, `make start`, an upstream
compose change with the pins re-applied, a hand edit inside a submodule, and bad submodules (an unreachable URL,
a commit that does not exist) that stop the run before any container is touched. Everything it started is
removed at the end (containers, network, deploy root, origin).

The service repositories are folders on disk: since git 2.38.1 (CVE-2022-39253) git clones submodules from a
local path only with protocol.file.allow=always. The module fixture sets that in the global git config of the
host's SSH user (root on the testbed, via an ad-hoc `git config --global` on staging-1) when it is not set
already, and puts the previous value back afterwards; real hosts fetch service repositories over SSH or HTTPS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from conftest import GATEWAY_SERVICE, TESTBED_ROOT, ansible, ansible_env, http_json, playbook, run
from hostview import containers, recap

HOST = "staging-1"
ADDRESS = "127.0.0.2"  # staging-1's, as in inventories/testbed
PROJECT = "myaegee-submodules"
NETWORK = "myaegee-submodules-net"
PORT_PREFIX = "480"  # the flat deploys use 180, 280 and 380
SERVICES = ["core", "events", "frontend", "mailer"]
# the project's own gateway (started by the first deploy, as make start would): the services publish no port
GATEWAY = "http://%s:%s88" % (ADDRESS, PORT_PREFIX)
PATHS = {"core": "/api/core", "events": "/api/events", "mailer": "/api/mailer", "frontend": ""}
ROOT = os.path.join(TESTBED_ROOT, "hosts", HOST, "srv", "myaegee-submodules")
IDENT = ["-c", "user.name=Upstream", "-c", "user.email=upstream@example.org", "-c", "commit.gpgsign=false"]
WHOLE_PIN = re.compile(r"^localhost:5000/aegee/[a-z]+:[0-9A-Za-z.+-]+@sha256:[0-9a-f]{64}$")
EXTRA = {
    "aegee_deploy_root": ROOT,
    "aegee_deploy_env": {"COMPOSE_PROJECT_NAME": PROJECT, "NETWORK_NAME": NETWORK, "BIND_IP": ADDRESS,
                         "PORT_PREFIX": PORT_PREFIX, "MYAEGEE_ENV": "staging"},
    "aegee_smoke_urls": {svc: GATEWAY + path + "/healthcheck" for svc, path in PATHS.items()},
}


@pytest.fixture(scope="module", autouse=True)
def origin(testbed):
    """The submodule-shaped origin in a temporary folder of the testbed, git allowed to clone it on the host.

    Everything is removed afterwards; the project and network names start with myaegee- so that
    testbed/check-clean.sh would name anything left.
    """
    base = tempfile.mkdtemp(prefix="submodule-origin-", dir=TESTBED_ROOT)  # testbed-down removes a leftover
    dest = os.path.join(base, "origin")
    run(["bash", "testbed/make-submodule-origin.sh", dest])
    previous = ansible(HOST, "ansible.builtin.command", "git config --global --get protocol.file.allow",
                       check=False)
    allowed = previous.stdout.strip().splitlines()[-1].strip() if previous.returncode == 0 else None
    if allowed != "always":
        ansible(HOST, "ansible.builtin.command", "git config --global protocol.file.allow always")
    _remove_deploy()
    EXTRA["aegee_deploy_repo_url"] = os.path.join(dest, "myaegee.git")
    yield {"base": base, "dest": dest, "url": EXTRA["aegee_deploy_repo_url"]}
    _remove_deploy()
    if allowed is None:
        ansible(HOST, "ansible.builtin.command", "git config --global --unset protocol.file.allow", check=False)
    elif allowed != "always":
        ansible(HOST, "ansible.builtin.command", "git config --global protocol.file.allow %s" % allowed)
    shutil.rmtree(base, ignore_errors=True)


def _remove_deploy():
    """This file's compose project, network and deploy root gone (also what an earlier, interrupted run left)."""
    found = [c["ID"] for c in containers(PROJECT).values()]
    if found:
        subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=True)
    subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", ROOT], check=True)


def deploy(*args, check=True):
    """deploy.yml on staging with this file's overrides; results as JSON lines (a failure's msg is one string)."""
    return playbook("deploy.yml", "-l", "staging", "-e", json.dumps(EXTRA), *args, check=check,
                    env=ansible_env(ANSIBLE_CALLBACK_RESULT_FORMAT="json"))


def failure(proc):
    """The msg of the task that failed on the host."""
    assert proc.returncode != 0, proc.stdout[-3000:]
    for line in proc.stdout.splitlines():
        if line.startswith("fatal: [%s]: FAILED! => " % HOST):
            return json.loads(line.split(" => ", 1)[1])["msg"]
    raise AssertionError("no failed task on %s in:\n%s" % (HOST, proc.stdout[-3000:]))


def ids():
    return {svc: c["ID"] for svc, c in containers(PROJECT).items()}


def versions():
    return {svc: http_json(GATEWAY + PATHS[svc] + "/healthcheck")["data"]["version"] for svc in SERVICES}


def compose_file(svc):
    return os.path.join(ROOT, svc, "docker", "docker-compose.yml")


def read(path):
    with open(path) as handle:
        return handle.read()


def pinned(svc):
    return [line.split("image:", 1)[1].strip() for line in read(compose_file(svc)).splitlines() if "image:" in line][0]


def git_out(*args):
    return run(["git", *args]).stdout.strip()


def history():
    with open(os.path.join(ROOT, ".aegee", "history.jsonl")) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def no_lock():
    return not os.path.exists(os.path.join(ROOT, ".aegee", "lock"))


def push_service(origin, folder, path, change, message):
    """Commit ``change(text)`` of ``path`` in the service repository ``folder``.git (branch master); its id."""
    work = os.path.join(origin["base"], "work-" + folder)
    if not os.path.isdir(work):
        run(["git", "clone", "-q", os.path.join(origin["dest"], "services", folder + ".git"), work])
    run(["git", "-C", work, "pull", "-q", "origin", "master"])
    full = os.path.join(work, path)
    with open(full) as handle:
        text = handle.read()
    with open(full, "w") as handle:
        handle.write(change(text))
    run(["git", "-C", work, *IDENT, "commit", "-q", "-am", message])
    run(["git", "-C", work, "push", "-q", "origin", "master"])
    return git_out("-C", work, "rev-parse", "HEAD")


def bump(origin, folder, commit):
    """The deploy repo records ``folder`` at ``commit`` (a commit on stable, pushed)."""
    work = os.path.join(origin["base"], "work-deploy")
    if not os.path.isdir(work):
        run(["git", "clone", "-q", "-b", "stable", origin["url"], work])  # the submodules are not needed
    run(["git", "-C", work, "pull", "-q", "origin", "stable"])
    run(["git", "-C", work, "update-index", "--cacheinfo", "160000,%s,%s" % (commit, folder)])
    run(["git", "-C", work, *IDENT, "commit", "-q", "-m", "bump %s" % folder])
    run(["git", "-C", work, "push", "-q", "origin", "stable"])


def recorded(origin, folder):
    """The commit origin's stable records for ``folder``."""
    return git_out("--git-dir", origin["url"], "rev-parse", "stable:%s" % folder)


# ------------------------------------------------------------------ deploy


def test_the_first_deploy_from_nothing_initialises_the_submodules(origin):
    assert not os.path.exists(ROOT)
    deploy()
    running = versions()
    entry = history()[-1]
    assert entry["result"] == "success"
    for svc in SERVICES:
        assert os.path.exists(os.path.join(ROOT, svc, ".git")), "%s is not an initialised submodule" % svc
        assert WHOLE_PIN.match(pinned(svc)), pinned(svc)
        assert running[svc] == entry["services"][svc]["to"] == pinned(svc).split("@")[0].rsplit(":", 1)[1]
        commit = git_out("-C", os.path.join(ROOT, svc), "rev-parse", "HEAD")
        assert commit == recorded(origin, svc)
        source = entry["services"][svc]["source"]
        assert source["submodule"] == svc and source["commit"] == commit
        assert source["url"] == os.path.join(origin["dest"], "services", svc + ".git")
    assert all(c["Status"].endswith("(healthy)") for svc, c in containers(PROJECT).items() if svc in SERVICES)
    with open(os.path.join(ROOT, ".aegee", "state.json")) as handle:
        assert json.load(handle)["current"]["core"]["source"]["submodule"] == "core"
    assert no_lock()


def test_a_second_deploy_is_a_no_op():
    before = ids()
    out = deploy().stdout
    assert "changed=0" in recap(out)[HOST], out[-3000:]
    assert ids() == before and history()[-1]["result"] == "unchanged"


def test_make_start_on_the_host_changes_nothing():
    before, pins = ids(), {svc: pinned(svc) for svc in SERVICES}
    status = git_out("-C", ROOT, "status", "--porcelain", "--ignore-submodules=none")
    subprocess.run(["make", "start"], cwd=ROOT, capture_output=True, check=True)
    after = ids()
    # the gateway is the deploy repo's own service, not a released one: `make start` starts it, and
    # must leave every container the deploy made as it is
    assert set(after) - set(before) <= {GATEWAY_SERVICE}, after
    assert {svc: after.get(svc) for svc in before} == before
    assert {svc: pinned(svc) for svc in SERVICES} == pins
    assert git_out("-C", ROOT, "status", "--porcelain", "--ignore-submodules=none") == status
    assert all(c["Status"].endswith("(healthy)") for svc, c in containers(PROJECT).items() if svc in SERVICES)


def test_an_upstream_compose_change_reaches_the_host_with_the_pins_reapplied(origin):
    pins, before = {svc: pinned(svc) for svc in SERVICES}, ids()
    commit = push_service(
        origin, "events", "docker/docker-compose.yml",
        lambda text: text.replace('            - "traefik.enable=true"',
                                  '            - "traefik.enable=true"\n            - "aegee.owner=events-team"'),
        "events: owner label")
    bump(origin, "events", commit)
    deploy()
    assert git_out("-C", os.path.join(ROOT, "events"), "rev-parse", "HEAD") == commit
    assert "aegee.owner=events-team" in read(compose_file("events"))
    assert {svc: pinned(svc) for svc in SERVICES} == pins  # the pins, re-applied on the new definition
    assert "aegee.owner=events-team" in containers(PROJECT)["events"]["Labels"]
    after = ids()
    assert after["events"] != before["events"]
    assert {s: i for s, i in after.items() if s != "events"} == {s: i for s, i in before.items() if s != "events"}
    assert history()[-1]["services"]["events"]["source"]["commit"] == commit
    out = deploy().stdout
    assert "changed=0" in recap(out)[HOST], out[-3000:]


def test_a_hand_edit_inside_a_submodule_is_refused_with_a_command_that_works():
    path = compose_file("mailer")
    edited = read(path).replace("        restart: on-failure", "        restart: always  # hotfix by hand")
    with open(path, "w") as handle:
        handle.write(edited)
    before = ids()
    msg = failure(deploy(check=False))
    command = "git -C %s checkout -- docker/docker-compose.yml" % os.path.join(ROOT, "mailer")
    assert "local changes that are not the tool's: mailer/docker/docker-compose.yml" in msg
    assert "`%s`" % command in msg, msg
    assert read(path) == edited and ids() == before and no_lock()
    # what the message says, as the operator would type it; then the next deploy converges, pin included
    subprocess.run(command.split(), capture_output=True, check=True)
    deploy()
    assert WHOLE_PIN.match(pinned("mailer")) and "restart: on-failure" in read(path)
    assert all(c["Status"].endswith("(healthy)") for svc, c in containers(PROJECT).items() if svc in SERVICES)


# ---------------------------------------------------------------- bad input


def test_an_unreachable_submodule_url_stops_before_anything_is_touched(origin):
    commit = push_service(origin, "core", "docker/docker-compose.yml", lambda text: text + "# moved on\n", "core: note")
    bump(origin, "core", commit)
    url = os.path.join(origin["dest"], "services", "core.git")
    os.rename(url, url + ".gone")
    head, before, pins = git_out("-C", ROOT, "rev-parse", "HEAD"), ids(), {svc: pinned(svc) for svc in SERVICES}
    try:
        msg = failure(deploy(check=False))
    finally:
        os.rename(url + ".gone", url)
    assert "service folder core" in msg and url in msg and "Nothing was changed" in msg, msg
    assert ids() == before and {svc: pinned(svc) for svc in SERVICES} == pins
    assert git_out("-C", ROOT, "rev-parse", "HEAD") == head and no_lock()
    # reachable again: the next deploy takes the new commit
    deploy()
    assert git_out("-C", os.path.join(ROOT, "core"), "rev-parse", "HEAD") == commit
    assert read(compose_file("core")).endswith("# moved on\n")


def test_a_submodule_recorded_at_a_missing_commit_stops_before_anything_is_touched(origin):
    good = recorded(origin, "frontend")
    bump(origin, "frontend", "1" * 40)
    head, before = git_out("-C", ROOT, "rev-parse", "HEAD"), ids()
    msg = failure(deploy(check=False))
    assert "service folder frontend" in msg and "1" * 40 in msg, msg
    assert ids() == before and git_out("-C", ROOT, "rev-parse", "HEAD") == head and no_lock()
    # recorded at a commit it has again: the deploy repo moves, frontend's definition does not, nothing is recreated
    bump(origin, "frontend", good)
    deploy()
    entry = history()[-1]
    assert entry["result"] == "success" and entry["recreated"] == [] and ids() == before, history()[-1]
    assert git_out("-C", os.path.join(ROOT, "frontend"), "rev-parse", "HEAD") == good
    assert versions()["frontend"] == entry["services"]["frontend"]["to"]
