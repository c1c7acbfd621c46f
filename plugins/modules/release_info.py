#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: release_info
short_description: What runs on a host, what its compose files pin, and what its release history says
version_added: 0.1.0
description:
  - Reports, for every service of the deploy repo's compose project on the host, the image its compose file pins,
    the container that runs (state, health, configured image, image id, repository digest and the
    C(org.opencontainers.image.version) label of its image), the version its C(/healthcheck) answers, and what the
    host's release state (C(<root>/.aegee)) records about it (current release, verified versions, bad versions).
  - Finds drift, in words a person can act on, per service in RV(services[].drift) - a container that runs another
    image than the compose file pins, a compose file pin that differs from the one the last release wrote (edited by
    hand), a pinned service without a container, a container that is not running, and a C(/healthcheck) version that
    differs from the pin.
  - Also returns the last O(history) entries of the release history, the host's lock (if any, with C(stale)), and
    hints on the compose project name and the environment.
  - The compose project is the deploy repo's real shape, C(base-docker-compose.yml) plus
    C(<service>/docker/docker-compose.yml) for every service of C(ENABLED_SERVICES) in C(.env), unless O(files)
    says otherwise.
  - Three Docker commands per run, whatever the number of services - one C(docker compose ps), one
    C(docker inspect) of all containers and one C(docker image inspect) of all images; the C(/healthcheck) requests
    run in parallel.
  - The C(/healthcheck) body is parsed as JSON whatever its content type (busybox C(httpd) serves it as text).
  - A host without a release state (never deployed by this collection) still reports its containers and pins.
author:
  - aegee.deploy contributors (@aegee)
requirements:
  - Docker Engine and Docker Compose v2 (C(docker compose)) on the target
  - ruamel.yaml >= 0.17.21 on the target (Debian C(python3-ruamel.yaml)), to read the compose files
extends_documentation_fragment:
  - aegee.deploy.deploy_root
  - aegee.deploy.attributes
  - aegee.deploy.attributes.info_module
options:
  files:
    description: Compose files of the project relative to O(root), in order. Default is the real deploy repo shape.
    type: list
    elements: str
  history:
    description: How many of the most recent release history entries to return (V(0) for none).
    type: int
    default: 20
  smoke_urls:
    description:
      - The C(/healthcheck) URL of each service, as the host reaches it (V(http://127.0.0.2:18084/healthcheck)).
      - Services without a URL are reported without RV(services[].healthcheck).
    type: dict
    default: {}
  timeout:
    description: Seconds to wait for each C(/healthcheck) answer.
    type: int
    default: 5
notes:
  - RV(services[].container.repo_digest) is the digest under which the container's image was pulled from the
    repository its configured image names (from C(RepoDigests)); it is V(null) for an image that was built or
    imported locally.
  - RV(services[].running_version) is the image's C(org.opencontainers.image.version) label, or the tag of the
    configured image when the image has no such label.
seealso:
  - module: aegee.deploy.compose_release
  - module: aegee.deploy.image_version_info
"""

EXAMPLES = r"""
- name: What runs on the host?
  aegee.deploy.release_info:
    root: /srv/myaegee
    smoke_urls:
      core: http://127.0.0.1:8084/healthcheck
      events: http://127.0.0.1:8085/healthcheck
  register: release

- name: Fail when something was changed by hand
  ansible.builtin.assert:
    that: release.services | dict2items | map(attribute='value.drift') | flatten | length == 0
    fail_msg: "{{ release.services | dict2items | selectattr('value.drift') | items2dict(value_name='value') }}"

- name: Who deployed last, and is a deploy running?
  ansible.builtin.debug:
    msg:
      - "{{ release.history[-1] | default('never deployed') }}"
      - "{{ release.lock | default('not locked', true) }}"

- name: Only the pins and containers, no history
  aegee.deploy.release_info:
    root: "{{ aegee_deploy_root }}"
    history: 0
  register: release
"""

RETURN = r"""
exists:
  description: Whether O(root) is a checkout of the deploy repo (a git work tree).
  returned: always
  type: bool
  sample: true
root:
  description: The deploy root that was read.
  returned: always
  type: str
  sample: /srv/myaegee
state_found:
  description: Whether the host has a release state (C(state.json)); false on a host this collection never deployed.
  returned: always
  type: bool
  sample: true
project:
  description: The compose project name (C(COMPOSE_PROJECT_NAME) of C(.env)), or V(null).
  returned: always
  type: str
  sample: myaegee
environment:
  description:
    - The environment the host was last deployed as (from the release history), else C(MYAEGEE_ENV) of C(.env),
      else V(null). A hint; the inventory decides.
  returned: always
  type: str
  sample: staging
files:
  description: The compose files of the project, relative to O(root).
  returned: always
  type: list
  elements: str
  sample: [base-docker-compose.yml, core/docker/docker-compose.yml]
services:
  description:
    - One entry per service defined by the compose files, running in the project, or recorded in the release state.
  returned: always
  type: dict
  contains:
    file:
      description: The compose file that sets the service's image.
      type: str
      sample: core/docker/docker-compose.yml
    pinned:
      description: The image value as written in the compose file.
      type: str
      sample: localhost:5000/aegee/core:1.5.0@sha256:51ba9d2d64cb14581464e0b6531167d5cd7e9bc6bd87d3c699e359d1677e19c8
    pinned_resolved:
      description: RV(services[].pinned) with C(${VARIABLES}) replaced from C(.env).
      type: str
    pinned_version:
      description: The tag of the pinned image, or V(null) when it has none.
      type: str
      sample: 1.5.0
    pinned_digest:
      description: The digest of the pinned image, or V(null).
      type: str
      sample: sha256:51ba9d2d64cb14581464e0b6531167d5cd7e9bc6bd87d3c699e359d1677e19c8
    repository:
      description: The repository of the pinned image.
      type: str
      sample: localhost:5000/aegee/core
    container:
      description: The service's container (a running one if it has several), or V(null) when there is none.
      type: dict
      contains:
        id:
          description: Container id.
          type: str
        name:
          description: Container name.
          type: str
        state:
          description: C(running), C(exited), C(restarting), ...
          type: str
        health:
          description: C(healthy), C(unhealthy), C(starting), or V(null) without a healthcheck.
          type: str
        status:
          description: Docker's status text.
          type: str
          sample: Up 2 hours (healthy)
        image:
          description: The image as the container was configured.
          type: str
        image_id:
          description: The id of the image the container runs.
          type: str
        repo_digest:
          description: The repository digest of that image for the configured repository.
          type: str
        version_label:
          description: The C(org.opencontainers.image.version) label of the image.
          type: str
        started:
          description: When the container started.
          type: str
    replicas:
      description: How many containers the service has in the project (all states).
      type: int
    running_version:
      description: The version that runs (the image's version label, else the configured tag), or V(null).
      type: str
      sample: 1.5.0
    running_digest:
      description: The digest that runs (repository digest, else the configured digest), or V(null).
      type: str
    healthcheck:
      description:
        - What C(GET) of the service's O(smoke_urls) entry answered - C(url), HTTP C(status), C(success),
          C(version) (C(data.version) of the body) and C(error) (V(null) when the check passed).
        - V(null) for a service without a URL.
      type: dict
    healthcheck_version:
      description: C(data.version) of the C(/healthcheck) body, or V(null).
      type: str
      sample: 1.5.0
    current:
      description:
        - The release state's current entry (C(version), C(digest), C(image), C(time), C(release), C(source)), or
          V(null).
      type: dict
    source:
      description:
        - Where the compose definition of the running release came from, as that release recorded it -
          C(submodule) (the service folder when it is a git submodule of the deploy repo, else V(null)), C(url),
          C(commit) (the submodule's, or the deploy repo's) and C(blob) (the git id of the compose file).
        - V(null) when the release that deployed it recorded none.
      type: dict
      sample: {submodule: core, url: "git@github.com:AEGEE/core.git", commit: "4f1c0d9e8a7b...", blob: "a7d2..."}
    managed_pin:
      description: The pin the last release wrote (C(file), C(value)), or V(null).
      type: dict
    verified:
      description: Versions verified on this host, oldest to newest.
      type: list
      elements: str
      sample: [1.4.2, 1.5.0]
    verified_digests:
      description: The digest each verified version was verified with.
      type: dict
    bad:
      description: Versions marked bad (held back), each with C(time), C(by), C(reason) and C(release).
      type: dict
    drift:
      description: How the service differs from what the tool deployed, one sentence each; empty when it does not.
      type: list
      elements: str
      sample:
        - "core/docker/docker-compose.yml pins localhost:5000/aegee/core:1.4.2, but the last release pinned
          localhost:5000/aegee/core:1.5.0@sha256:51ba...: the compose file was edited by hand"
history:
  description:
    - The last O(history) entries of the release history, oldest first.
    - The C(evidence) of a failed release is cut to its last 2000 characters.
  returned: always
  type: list
  elements: dict
last_release:
  description: C(id), C(time), C(actor), C(action) and C(result) of the newest history entry.
  returned: when the host has a history
  type: dict
lock:
  description:
    - The host's lock (C(owner), C(controller), C(pid), C(action), C(targets), C(time), C(expires), C(stale)),
      or V(null) when the host is not locked. C(stale) is true when it expired.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.aegee.deploy.plugins.module_utils._args import deploy_root_problem, deploy_root_spec
from ansible_collections.aegee.deploy.plugins.module_utils._command import runner
from ansible_collections.aegee.deploy.plugins.module_utils._http import http_get
from ansible_collections.aegee.deploy.plugins.module_utils._status import collect


def main():
    argument_spec = deploy_root_spec()
    argument_spec.update(
        files=dict(type="list", elements="str"),
        history=dict(type="int", default=20),
        smoke_urls=dict(type="dict", default={}),
        timeout=dict(type="int", default=5),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = dict(module.params)
    problem = deploy_root_problem(p)
    if problem:
        module.fail_json(msg=problem)
    if p["history"] < 0:
        module.fail_json(msg="history must be 0 or more, got %d" % p["history"])
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout must be at least 1 second, got %d" % p["timeout"])
    bad_urls = sorted(k for k, v in p["smoke_urls"].items() if not isinstance(v, str) or "://" not in v)
    if bad_urls:
        module.fail_json(msg="smoke_urls: %s must be http(s) URLs" % ", ".join(bad_urls))

    run = runner(module)
    result = collect(p, run, http_get)
    # AnsibleModule returns them as the result's ``warnings`` (and the callback shows them)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
