#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: release_plan
short_description: Decide the exact version and digest of each service for a release
version_added: 0.1.0
description:
  - Runs once per release (C(run_once=true)), before any host is touched, and returns the exact version and manifest
    digest each requested service gets.
  - An action that runs in the controller's own process, whatever the task's host or C(delegate_to); nothing is
    sent to or run on a host. This file only documents it (the code is the action plugin of the same name).
  - A routine deploy (no O(version)) to an environment without O(promote_from) resolves C(latest) in the registry to
    the version tag with the same digest, so nothing floats on the hosts.
  - An explicit O(version) applies to exactly one service and must exist in the registry; otherwise the error names
    the nearest existing versions.
  - With O(promote_from) (production promoted from staging) each service gets the version and digest that the
    source environment verified, as recorded in O(source_state), even if C(latest) moved since. An explicit version
    that the source has not verified is refused unless O(force).
  - Inputs are checked first (service names, version syntax, one version for one service), so bad input fails
    before any registry or host is contacted.
author:
  - aegee.deploy contributors (@aegee)
requirements:
  - semver (Python package) on the controller
extends_documentation_fragment:
  - aegee.deploy.registry
  - aegee.deploy.registry.api
  - aegee.deploy.attributes
  - aegee.deploy.attributes.info_module
options:
  catalogue:
    description: The service catalogue, service name to a mapping with the C(image) repository of its versions.
    type: dict
    required: true
  services:
    description:
      - Services to release, as a list or a comma separated string (V(core,events)). Empty means every service of
        the catalogue.
    type: raw
  version:
    description: Exact version (or V(latest)) for the one service in O(services). Empty for a routine release.
    type: str
  promote_from:
    description: Name of the environment whose verified versions this environment gets (for example V(staging)).
    type: str
  source_state:
    description: The release state (C(state.json)) of a host of O(promote_from); needed with O(promote_from).
    type: dict
  target_states:
    description:
      - Host name to its release state (C(state.json)), of the hosts this plan is for (read by the role
        C(aegee.deploy.deploy) only for an explicit version with O(promote_from)).
      - When the source environment has not verified an explicit O(version) and a host runs a newer version of the
        service, the refusal says that going back is a rollback and gives the C(rollback.yml) command line.
    type: dict
    default: {}
  force:
    description: Allow an explicit version the source environment has not verified.
    type: bool
    default: false
  service_ports:
    description:
      - The fixed host port each service publishes, if any (C(aegee_service_ports)); such a service switches
        stop-first (see RV(switch)).
    type: dict
    default: {}
seealso:
  - module: aegee.deploy.image_version_info
  - module: aegee.deploy.compose_release
"""

EXAMPLES = r"""
- name: Resolve every service to what latest is now
  aegee.deploy.release_plan:
    catalogue:
      core: {image: registry.example.org/aegee/core}
      events: {image: registry.example.org/aegee/events}
    username: deployer
    password: "{{ vault_registry_password }}"
  delegate_to: localhost
  run_once: true
  register: plan

- name: Promote to production what staging verified
  aegee.deploy.release_plan:
    catalogue: "{{ aegee_services }}"
    promote_from: staging
    source_state: "{{ staging_state }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
targets:
  description: Per service, the exact version, its digest and where the decision came from.
  returned: success
  type: dict
  sample:
    core: {version: 1.5.1, digest: "sha256:3b1c...", source: latest in the registry}
explicit:
  description:
    - Whether an exact version (not V(latest)) was asked for; hosts then refuse a bad version instead of holding it.
  returned: success
  type: bool
switch:
  description:
    - Per service, how its containers are switched, as far as the controller knows. V(stop-first) (with the
      reason) when its catalogue entry has C(switch) V(stop-first) or it has a fixed host port in O(service_ports);
      else V(start-first), which the host turns into stop-first (said in its result and warnings) if the compose
      file publishes a fixed host port or sets C(container_name).
  returned: success
  type: dict
  sample:
    core: start-first
    postgres: "stop-first (marked switch: stop-first in the catalogue)"
services:
  description: The services of the plan, sorted by name.
  returned: success
  type: list
  elements: str
registry_requests:
  description:
    - "What the plan asked the registry: C(requests) (HTTP requests, retries included), C(tokens) (of which to the
      token service, at most one per repository) and C(repositories) (looked up). The lookups run concurrently."
  returned: success
  type: dict
  sample: {requests: 13, tokens: 0, repositories: 4}
"""
