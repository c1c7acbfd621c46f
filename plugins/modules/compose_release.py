#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: compose_release
short_description: Deploy or roll back services of a Docker Compose deploy repo on a host, as one transaction
version_added: 0.1.0
description:
  - Runs one release on the host, in this order, holding the host's lock throughout; takes the lock, updates the
    deploy repo from its origin branch (the tool's own C(.env) values and pins are set aside and re-applied, so
    they never cause a merge conflict; somebody else's local changes stop the run before anything is touched),
    pins the images of the target services to the exact version and digest, validates the whole compose project,
    pulls the new images while everything still runs, brings up only the services that change, waits for their
    health (the timeout comes from each service's own healthcheck and the wait stops early on C(unhealthy)),
    and finally checks each service's C(/healthcheck) URL for C(success=true) and the deployed version, then the
    browser checks, the extra checks and, last, the browser scenarios (O(scenarios)).
  - On success the release is recorded in the host's history (who, when, from and to per service, digests) and the
    versions are marked verified for this host.
  - If anything fails after the first write, the previous pins and containers are restored and checked, the failed
    release is recorded with its evidence (C(docker compose ps), the health log, the last log lines) and the module
    fails with a message that names the service and shows that evidence.
  - Service folders that are git submodules of the deploy repo (its C(stable) shape) are part of the checkout; the
    enabled ones are initialised (shallow where the server allows) at the commit the deploy repo records, or at
    the tip of the branch O(follow_branches) names; the tool's pins inside them are set aside and re-applied like
    any other, anybody else's edits are refused with a command that discards them. A submodule that cannot be
    fetched, or is recorded at a commit its repository does not have, stops the run before any container is
    touched, naming the folder and its URL (over SSH the host needs a deploy key for each service repository).
  - Each service's compose source (the submodule folder and commit, or the deploy repo's commit, and the git id
    of the compose file) is recorded with the release; a rollback says in RV(msg) whether the compose definition
    changed since the version it rolls back to (it pins the image only).
  - The compose project is the deploy repo's real shape, C(base-docker-compose.yml) plus
    C(<service>/docker/docker-compose.yml) for every service of C(ENABLED_SERVICES) in C(.env), unless O(files) says
    otherwise. After a release, a plain C(make start) on the host reproduces it.
  - Version resolution (what C(latest) is, what staging verified) happens on the controller, see the
    C(aegee.deploy.deploy) role; this module takes exact versions.
author:
  - aegee.deploy contributors (@aegee)
requirements:
  - git, Docker Engine and Docker Compose v2 (C(docker compose)) on the target
  - ruamel.yaml >= 0.17.21 and semver on the target (Debian packages C(python3-ruamel.yaml), C(python3-semver))
extends_documentation_fragment:
  - aegee.deploy.deploy_root
  - aegee.deploy.registry
  - aegee.deploy.scenarios
  - aegee.deploy.attributes
attributes:
  check_mode:
    support: full
    details:
      - Computes the pins, the files that would change and the services that would be recreated; fetches nothing,
        writes nothing, takes no lock.
  diff_mode:
    support: full
    details:
      - Shows each file that changes (C(.env) and compose files) before and after.
  idempotent:
    support: full
    details:
      - A second run with the same versions changes no file and restarts no container (it is still recorded in the
        history as C(unchanged)).
options:
  repo_url:
    description: Git URL of the deploy repo's origin; O(root) is cloned from it when absent.
    type: str
    required: true
  branch:
    description: The branch the host follows (for example C(stable)); never assumed.
    type: str
    required: true
  env:
    description: Values of the host's C(.env) that differ from the deploy repo's; managed like the pins.
    type: dict
    default: {}
  follow_branches:
    description:
      - For a deploy repo whose service folders are git submodules, service folder to a branch of that service's
        repository (for example C(core) to C(master)); the folder is brought to the tip of that branch instead of the
        commit the deploy repo records (the seed's C(git pull origin master) in the service repo). The commit
        taken is reported in RV(submodules) and recorded as the service's compose source in the history.
      - Only the submodules of the enabled services are initialised (C(ENABLED_SERVICES) of the C(.env) about to
        be checked out, or the folders of O(files)); a folder here that is not a submodule is refused.
    type: dict
    default: {}
    version_added: 0.1.0
  files:
    description: Compose files of the project relative to O(root), in order. Default is the real deploy repo shape.
    type: list
    elements: str
  services:
    description:
      - The services to release, each with the exact C(version) (an image tag that is a semantic version) and
        optionally the C(digest) (C(sha256:...)) to pin.
      - With O(action=rollback) the version may be V(previous), the version the service ran before its current
        one according to this host's history (bad versions skipped); the digest then comes from the history.
    type: dict
    required: true
  action:
    description:
      - V(deploy) or V(rollback). A rollback marks the version each service leaves bad (or the O(mark_bad) ones),
        so routine deploys never bring it back.
    type: str
    choices: [deploy, rollback]
    default: deploy
  mark_bad:
    description: Versions to mark bad on success (service to version), normally the versions a rollback leaves.
    type: dict
    default: {}
  reason:
    description: Why (recorded with the release and with bad marks).
    type: str
  force:
    description: Deploy a version even if it is marked bad on this host (says so in the warnings).
    type: bool
    default: false
  hold_bad:
    description:
      - For routine releases; a target version that is marked bad on this host is skipped and the service keeps
        its current version (a warning says so) instead of failing. A newer version releases the hold.
    type: bool
    default: false
  whole_release:
    description:
      - With O(action=rollback) and V(previous) versions, skip services that have no earlier release instead of
        failing (rolling back the whole previous release).
    type: bool
    default: false
  smoke_urls:
    description: C(/healthcheck) URL of each service, fetched from the host after the containers are healthy.
    type: dict
    default: {}
  catalogue:
    description:
      - The service catalogue (C(aegee_services)); only each entry's C(switch) is read here, V(start-first) or
        V(stop-first).
      - Every changed service is switched start-first (the new container starts beside the old one, which is
        drained once the new one is healthy and answers its version) unless it publishes a fixed host port, sets
        C(container_name) or its entry says V(stop-first); the result names the mode of each service, and a
        stop-first switch is warned about.
      - An entry asking for V(start-first) on a service that publishes a fixed host port or sets
        C(container_name) fails the release before any container is touched.
      - The project's enabled services that are not in the catalogue (the gateway, a database with a pinned
        third-party image) are never switched; one that does not run is started before the switch, as
        C(make start) would, because the checks go through it. Without a catalogue none is started.
    type: dict
    default: {}
  smoke_timeout:
    description: Seconds within which every C(/healthcheck) must answer success with the deployed version.
    type: int
    default: 30
  browser_checks:
    description:
      - Optional browser checks, service name to a mapping with C(url) (the page, reached from the host),
        C(selector) (default C(body)) and C(expect), a text the element must contain (C({version}) is replaced by
        the deployed version).
      - Each page is loaded in headless Chromium with Playwright after the C(/healthcheck) checks pass; an HTTP
        error, a JavaScript error on the page or the missing text fails the release, which is then restored.
    type: dict
    default: {}
  extra_checks:
    description:
      - More checks after the per-service ones, each a mapping with a C(name) and either a C(url) (GET from the
        host; C(status), default C(2xx), and optionally C(contains), a text the answer must contain) or a
        C(command) run on the host (a list of arguments, or a string run by C(/bin/sh -c)) that must exit 0.
      - A failing check fails the release, which is then restored.
    type: list
    elements: dict
    default: []
  lock_ttl:
    description:
      - Seconds after which the lock counts as stale when its process cannot be checked.
      - The lock records the process on the host that holds it (pid, start time, boot id); a lock whose process is
        gone is stale at once, a lock whose process still runs is never stale.
    type: int
    default: 900
  lock_wait:
    description: Seconds to wait for another run's lock before failing with the holder's name.
    type: int
    default: 0
  break_stale_lock:
    description:
      - Remove a stale lock left by a run that died, and go on.
      - The pins the dead run recorded in its lock are accepted as the tool's, and every service of this run is
        brought up and checked again (health and smoke checks) instead of being taken as unchanged; the history
        entry records C(recovered_lock).
    type: bool
    default: false
  actor:
    description: Who runs the release (user and CI job), recorded in the lock and the history.
    type: str
  controller:
    description: Controller host name, recorded in the lock and the history.
    type: str
  controller_pid:
    description: Process id of the controller's run, recorded in the lock.
    type: int
  environment:
    description: Environment name of the host (C(staging), C(production)), recorded in the history.
    type: str
  run_id:
    description: Identifier of this release (defaults to a random one); used as the lock token.
    type: str
notes:
  - The lock, the history and the state are files under O(state_dir), mode 0600 in a 0700 folder.
  - The collection's action for this module keeps the module's AnsiballZ payload between runs, in
    C(<local_tmp>/aegee-ansiballz/) on the controller (0700), under a key of the ansible-core version and the
    text of the module and its module_utils, so that a run does not build it again; any problem there only
    means it is built as before.
seealso:
  - module: aegee.deploy.compose_pin
  - module: aegee.deploy.image_version_info
"""

EXAMPLES = r"""
- name: Deploy core 1.5.1 (exact digest) on a host
  aegee.deploy.compose_release:
    root: /srv/myaegee
    repo_url: https://git.example.org/aegee/myaegee.git
    branch: stable
    env:
      MYAEGEE_ENV: production
    services:
      core:
        version: 1.5.1
        digest: sha256:3b1c0a2f5e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b
    smoke_urls:
      core: http://127.0.0.1:8084/healthcheck
    registry: registry.example.org
    username: deployer
    password: "{{ vault_registry_password }}"
    actor: "{{ lookup('ansible.builtin.env', 'USER') }}"

- name: Roll core back to 1.5.0 and mark 1.5.1 bad
  aegee.deploy.compose_release:
    root: /srv/myaegee
    repo_url: https://git.example.org/aegee/myaegee.git
    branch: stable
    action: rollback
    services:
      core:
        version: 1.5.0
    mark_bad:
      core: 1.5.1
    reason: login broken in 1.5.1
"""

RETURN = r"""
services:
  description:
    - Per service, what the release did.
    - C(switch) (services that were switched, also in check mode) names the C(mode), C(start-first) or
      C(stop-first), and why; after the switch, C(healthy_after) (seconds until the new container was healthy),
      C(drain) (how the old one was taken out of rotation), C(drained_in) (seconds the drain took) and C(total)
      (seconds). Start-first services of one release boot together and are drained together.
  returned: always
  type: dict
  sample:
    core: {from: 1.5.0, to: 1.5.1, digest: "sha256:3b1c...", image: "localhost:5000/aegee/core:1.5.1@sha256:3b1c...",
           changed: true, smoke: ok, source: {submodule: core, url: "git@github.com:AEGEE/core.git",
                                              commit: "4f1c...", blob: "a7d2..."},
           switch: {mode: start-first, reason: the new container starts beside the old one, healthy_after: 41.5,
                    drain: "0b2c4e6f8a1d: unhealthy (out of rotation)", drained_in: 6.3, total: 47.9}}
recreate:
  description: Services whose containers were (or in check mode would be) recreated.
  returned: always
  type: list
  elements: str
pulled:
  description:
    - Services of RV(recreate) whose images were pulled before the switch. An image pinned by digest that the
      host already has is that very image, and is not pulled again (a rollback, or a version that ran before).
  returned: when a service was switched
  type: list
  elements: str
  sample: [core]
shared_started:
  description:
    - Enabled services outside O(catalogue) that did not run and were started before the switch, as
      C(make start) would (the gateway the checks go through). A running one is never touched.
  returned: when one was started
  type: list
  elements: str
  sample: [traefik]
networks_created:
  description: External networks the project declares that the host lacked, created before the switch.
  returned: when one was created
  type: list
  elements: str
release:
  description: The history entry recorded for this release.
  returned: when not in check mode
  type: dict
repo:
  description: What happened to the deploy repo checkout (fetched, pulled, commits before and after).
  returned: when the checkout existed
  type: dict
submodules:
  description:
    - Per enabled service folder that is a git submodule, what the run did (or in check mode would do) to it;
      empty for a deploy repo without submodules. C(commit) is the commit the folder is at (the followed
      branch's tip, or C(recorded), the one the deploy repo records); C(before) is where it was (null when it was
      not initialised).
  returned: always
  type: dict
  sample:
    core: {url: "git@github.com:AEGEE/core.git", recorded: "4f1c...", branch: null, before: "9a0e...",
           commit: "4f1c...", changed: true}
msg:
  description:
    - With O(action=rollback), per service whether the compose definition changed since the version rolled back
      to was released (a warning too when it did); the image is pinned back, the compose definition stays.
  returned: on a rollback
  type: str
  sample: "core: the compose definition changed since 1.4.2 was released (submodule core at 9a0e11c2b3d4 then,
    submodule core at 4f1c0d9e8a7b now): the image is rolled back, the compose definition stays the current one"
cloned:
  description: Whether the deploy repo was cloned by this run.
  returned: when it was
  type: bool
timings:
  description: Each command the release ran on the host, with the seconds it took, in order.
  returned: always
  type: list
  elements: str
  sample: ["0.01s git fetch origin stable", "0.13s docker compose ps", "2.31s docker compose up core"]
evidence:
  description: On failure, C(docker compose ps), the health log and the last log lines of the failed services.
  returned: on failure
  type: str
scenarios:
  description:
    - How the browser scenarios went, when they ran; C(result) is V(passed), V(flaky) (a scenario passed on its
      retry) or V(failed); C(ran) the scenarios that ran (selected by C(markers)); C(evidence) the folder on the host
      with C(report.json) and, per failing attempt, the screenshot, trace and console errors.
    - Each entry of C(tests) has the scenario's C(id), C(outcome), C(markers), C(seconds) and, when it failed,
      C(step) (the failing line of the scenario), C(error), C(console), C(screenshots), C(trace).
  returned: when the scenarios ran
  type: dict
  sample:
    result: failed
    markers: ""
    evidence: /srv/myaegee/.aegee/evidence/3f2a9c1d0b7e
    ran: ["test_events.py::test_the_events_page_lists_the_events"]
    failed: ["test_events.py::test_the_events_page_lists_the_events"]
    flaky: []
    seconds: 6.1
"""

import signal
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aegee.deploy.plugins.module_utils._args import (
    deploy_root_problem,
    deploy_root_spec,
    registry_login,
    registry_login_spec,
    scenario_spec,
)
from ansible_collections.aegee.deploy.plugins.module_utils._command import runner
from ansible_collections.aegee.deploy.plugins.module_utils._compose import ComposeError
from ansible_collections.aegee.deploy.plugins.module_utils._dotenv import DotenvError
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError
from ansible_collections.aegee.deploy.plugins.module_utils._http import http_get
from ansible_collections.aegee.deploy.plugins.module_utils._names import BRANCH_RE, SERVICE_RE
from ansible_collections.aegee.deploy.plugins.module_utils._release import Release, ReleaseError
from ansible_collections.aegee.deploy.plugins.module_utils._repo import RepoError
from ansible_collections.aegee.deploy.plugins.module_utils._runtime import RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._semver import HAS_SEMVER
from ansible_collections.aegee.deploy.plugins.module_utils._state import LockHeld, StateError


def _targets(module):
    targets = {}
    for name, given in module.params["services"].items():
        if not SERVICE_RE.match(name):
            module.fail_json(msg="%r is not a service name (lowercase letters, digits, '-', '_', '.')" % name)
        spec = {"version": given} if isinstance(given, str) else given
        if not isinstance(spec, dict) or not isinstance(spec.get("version"), str) or not spec["version"]:
            module.fail_json(msg="services.%s must be a mapping with a version (and optionally a digest)" % name)
        unknown = set(spec) - {"version", "digest", "source"}
        if unknown:
            module.fail_json(
                msg="services.%s: unknown keys %s (use version, digest)" % (name, ", ".join(sorted(unknown)))
            )
        targets[name] = {"version": spec["version"], "digest": spec.get("digest") or None}
    if not targets:
        module.fail_json(msg="services is empty: name at least one service to release")
    return targets


def _follow_branches(module):
    follow = {}
    for folder, branch in module.params["follow_branches"].items():
        parts = folder.split("/")
        if not folder or folder.startswith("/") or any(p in ("", ".", "..") for p in parts):
            module.fail_json(msg="follow_branches: %r is not a service folder of the deploy repo (a relative path "
                                 "such as core)" % folder)
        if not isinstance(branch, str) or not BRANCH_RE.match(branch):
            module.fail_json(msg="follow_branches.%s: %r is not a git branch name such as master (no spaces, '..', "
                                 "or leading '-')" % (folder, branch))
        follow[folder] = branch
    return follow


def main():
    argument_spec = deploy_root_spec()
    argument_spec.update(registry_login_spec())
    argument_spec.update(scenario_spec())
    argument_spec.update(
        repo_url=dict(type="str", required=True),
        branch=dict(type="str", required=True),
        env=dict(type="dict", default={}),
        files=dict(type="list", elements="str"),
        follow_branches=dict(type="dict", default={}),
        services=dict(type="dict", required=True),
        action=dict(type="str", default="deploy", choices=["deploy", "rollback"]),
        mark_bad=dict(type="dict", default={}),
        reason=dict(type="str"),
        force=dict(type="bool", default=False),
        hold_bad=dict(type="bool", default=False),
        whole_release=dict(type="bool", default=False),
        smoke_urls=dict(type="dict", default={}),
        catalogue=dict(type="dict", default={}),
        smoke_timeout=dict(type="int", default=30),
        browser_checks=dict(type="dict", default={}),
        extra_checks=dict(type="list", elements="dict", default=[]),
        lock_ttl=dict(type="int", default=900),
        lock_wait=dict(type="int", default=0),
        break_stale_lock=dict(type="bool", default=False),
        actor=dict(type="str"),
        controller=dict(type="str"),
        controller_pid=dict(type="int"),
        environment=dict(type="str"),
        run_id=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_SEMVER:
        module.fail_json(msg="the Python package semver is required on the host (Debian: apt install python3-semver)")
    p = dict(module.params)
    problem = deploy_root_problem(p)
    if problem:
        module.fail_json(msg=problem)
    p["targets"] = _targets(module)
    p["follow_branches"] = _follow_branches(module)
    p["controller"] = p["controller"] or ""
    try:
        login = registry_login(p)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if login:
        p["registry_login"] = login

    release = Release(p, runner(module, binary_data=True), http_get, check_mode=module.check_mode)
    # A dropped SSH connection or a killed controller must not cut the transaction in half: it runs to its end
    # (success, or restored), records and unlocks; the controller just never hears the result.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        result = release.execute()
    except ReleaseError as exc:
        module.fail_json(msg=str(exc), services=release.result.get("services"),
                         evidence=exc.details.get("evidence"), result=exc.details.get("result"),
                         release=release.result.get("release"), warnings_list=release.result["warnings"],
                         scenarios=release.result.get("scenarios"))
    except LockHeld as exc:
        module.fail_json(msg=str(exc), lock=exc.holder)
    except (RepoError, StateError, ComposeError, RuntimeFailure, DotenvError, FileWriteError) as exc:
        module.fail_json(msg=str(exc), services=release.result.get("services"))
    result = dict(result)
    for w in result.pop("warnings", []):
        module.warn(w)
    diff = result.pop("diff", [])
    if module._diff:
        result["diff"] = diff
    result["host"] = socket.gethostname()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
