"""What a testbed host runs and remembers, read from outside (docker, files, HTTP), and the consistency check.

The fault tests, the workflow tests and the soak all judge a host the same
way: ``assert_consistent`` is that one judgement.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess

from conftest import (
    GATEWAY_SERVICE,
    HOSTS,
    SERVICE_PORT_SUFFIX,
    TESTBED_ROOT,
    ansible_env,
    http_json,
    playbook,
    run,
    service_url,
)

from ansible_collections.aegee.deploy.tests.support.docker_ps import by_service, ps_argv

SERVICES = sorted(SERVICE_PORT_SUFFIX)
# results after which the containers of a release's services run its new version
RUNS_NEW = ("success", "unchanged")
WHOLE_PIN = re.compile(r"^image: \S+:[0-9A-Za-z.+-]+@sha256:[0-9a-f]{64}$")


def root(host):
    return os.path.join(TESTBED_ROOT, "hosts", host, "srv", "myaegee")


def state_dir(host):
    return os.path.join(root(host), ".aegee")


def containers(project):
    return by_service(subprocess.run(ps_argv(project), capture_output=True, text=True, check=True).stdout)


def start_gateway(host):
    """Start the host's gateway the way an operator does once per host (`make start` runs it; deploys leave it)."""
    run([os.path.join(root(host), "helper.sh"), "up", "--detach", "--wait", GATEWAY_SERVICE])


def ids(host):
    return {svc: c["ID"] for svc, c in containers(HOSTS[host][1]).items()}


def versions(host):
    return {svc: http_json(service_url(host, svc))["data"]["version"] for svc in SERVICES}


def history_lenient(host):
    out = []
    try:
        with open(os.path.join(state_dir(host), "history.jsonl")) as handle:
            for line in handle:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out


def history(host):
    with open(os.path.join(state_dir(host), "history.jsonl")) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def state(host):
    with open(os.path.join(state_dir(host), "state.json")) as handle:
        return json.load(handle)


def compose_path(host, svc):
    return os.path.join(root(host), svc, "docker", "docker-compose.yml")


def pinned(host, svc):
    with open(compose_path(host, svc)) as handle:
        return [line.split("image:", 1)[1].strip() for line in handle if "image:" in line][0]


def tree_digest(host):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root(host))):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            with open(os.path.join(dirpath, name), "rb") as handle:
                h.update(name.encode() + handle.read())
    return h.hexdigest()


def publish(service, version, latest="yes", broken=None):
    env = ansible_env(LATEST=latest, **({"BROKEN": broken} if broken else {}))
    run(["testbed/publish.sh", service, version], env=env)


def recap(out):
    return {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}


def reset_hosts():
    """No containers, no deploy roots, core's latest at 1.5.0: the state the testbed starts in."""
    for _host, (_addr, project, _prefix) in HOSTS.items():
        found = [c["ID"] for c in containers(project).values()]
        if found:
            subprocess.run(["docker", "rm", "-f", *found], capture_output=True, check=True)
    for host in HOSTS:
        subprocess.run(["rm", "-rf", root(host)], check=True)
    run(["testbed/retag.sh", "core", "1.5.0"])


def deploy_fresh():
    """From nothing, every host deployed at the testbed's latest (1.5.0): the baseline of the fault rows."""
    reset_hosts()
    playbook("deploy.yml", "-l", "staging")
    playbook("deploy.yml", "-l", "production")


def recorded_versions(host):
    """service -> (version the history says runs, whether it should be healthy)."""
    out = {}
    for entry in history_lenient(host):
        result = entry.get("result")
        for svc, info in (entry.get("services") or {}).items():
            if result in RUNS_NEW and info.get("to"):
                out[svc] = (info["to"], True)
            elif result == "failed-restore-failed" and svc in (entry.get("running") or {}):
                out[svc] = (entry["running"][svc], False)
    return out


def changed_lines(host):
    """Lines the checkout differs from its HEAD by: (file, line) pairs of `git diff -U0`."""
    out = run(["git", "-C", root(host), "diff", "-U0", "--no-color", "HEAD"]).stdout
    lines, current = [], None
    for line in out.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else line[4:]
        elif line[:1] in "+-" and not line.startswith(("+++", "---")):
            lines.append((current, line))
    return lines


def assert_consistent(host, report=None, secrets=(), outputs=(), own_edits=()):
    """The invariant of every fault row, for one host; says each check into ``report``.

    Every container runs the image its compose pin names and the version the
    history records, and is healthy (unless the history records that it was
    left unhealthy); no lock is left; the checkout differs from the deploy
    repo only by the tool's pins and .env values (plus ``own_edits``, the
    operator's, which must still be there); no secret is in ``outputs``.
    """
    report_ = report.checked if report is not None else (lambda _text: None)
    project = HOSTS[host][1]
    running = containers(project)
    recorded = recorded_versions(host)
    answered = {}
    configured = {}
    if running:
        out = run(["docker", "inspect", "--format", "{{.Id}} {{.Config.Image}}",
                   *[c["ID"] for c in running.values()]]).stdout
        configured = dict(line.split(" ", 1) for line in out.splitlines())
    for svc, c in sorted(running.items()):
        if svc not in SERVICES:
            continue  # the gateway: not a release's service (no version of ours, never deployed)
        pin = pinned(host, svc)
        image = next(v for k, v in configured.items() if k.startswith(c["ID"]))
        assert image == pin, "%s %s runs %s but its compose file pins %s" % (host, svc, image, pin)
        version = pin.split("@")[0].rsplit(":", 1)[-1]
        want, healthy = recorded.get(svc, (None, True))
        assert version == want, "%s %s is pinned at %s, the history records %s" % (host, svc, version, want)
        if healthy:
            assert c["Status"].endswith("(healthy)"), "%s %s is not healthy: %s" % (host, svc, c["Status"])
            answered[svc] = http_json(service_url(host, svc))["data"]["version"]
            assert answered[svc] == version, "%s %s answers %s, pinned %s" % (host, svc, answered[svc], version)
    lock = os.path.join(state_dir(host), "lock")
    assert not os.path.exists(lock), "%s: a lock is left: %s" % (host, open(lock).read())
    own = set(own_edits)
    for path, line in changed_lines(host):
        if (path, line) in own:
            continue
        body = line[1:].strip()
        ok = path == ".env" or (WHOLE_PIN.match(body) if line[0] == "+" else body.startswith("image:"))
        assert ok, "%s: %s has a change that is not a whole pin: %r" % (host, path, line)
    for edit in own:
        assert edit in changed_lines(host), "%s: the operator's edit %r is gone" % (host, edit)
    for secret in secrets:
        for text in outputs:
            assert secret not in text, "a secret is in the output"
    report_("%s: %s as pinned and recorded, healthy; no lock; files differ from the repo by whole pins only%s%s"
            % (host, ", ".join("%s %s" % kv for kv in sorted(answered.items())) or "nothing running",
               "; the operator's own edit intact" if own else "",
               "; no secret in the output" if secrets and outputs else ""))
    return answered
