#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_version_info
short_description: List the versions of an image in a registry and find out what C(latest) really is
version_added: 0.1.0
description:
  - Asks an image registry (OCI distribution API, as Docker Hub, the CNCF distribution registry and most hosted
    registries speak it) for the tags of one image repository.
  - Returns all tags, the semantic versions among them sorted by SemVer precedence, the newest version, and which
    version the C(latest) tag actually is, found by comparing manifest digests.
  - For a requested O(version) it says whether the tag exists and returns its digest, so a deploy can pin
    C(image:version@digest); a missing version fails with the nearest existing versions named.
  - "Tags and versions: a version is a full SemVer 2.0.0 string without a V(v) prefix (V(1.38.1), V(2.0.0-rc.1)).
    V(v1.4.2), V(1.4), V(latest), V(stable), V(dev) are ordinary tags: listed in RV(tags), never in RV(versions).
    Prereleases are left out of RV(versions) and RV(latest_version) unless O(include_prerelease=true)."
  - Authentication follows the registry's C(WWW-Authenticate) challenge, as the Docker client does, with a
    bearer token from the challenge's token service (anonymous or with O(username)/O(password)), or HTTP basic
    authentication. Tag lists are followed through C(Link) pagination. Manifest digests are read with a HEAD
    request accepting Docker v2 manifests, Docker manifest lists, OCI manifests and OCI indexes, so a multi-arch
    image gives the digest of its list/index, as C(docker pull) records it.
  - HTTP goes through ansible-core's own C(open_url) (no extra Python package for HTTP on the host).
author:
  - aegee.deploy contributors (@aegee)
extends_documentation_fragment:
  - aegee.deploy.registry
  - aegee.deploy.registry.api
  - aegee.deploy.attributes
  - aegee.deploy.attributes.info_module
attributes:
  idempotent:
    support: full
options:
  image:
    description:
      - The image repository, without tag or digest.
      - V(aegee/core) is C(aegee/core) on Docker Hub; V(core) is C(library/core) there.
      - A first path component with a V(.) or V(:), or V(localhost), names the registry
        (V(localhost:5000/aegee/core), V(registry.example.org:5000/team/app)); it wins over O(registry), and the
        module warns when both name a registry and they differ.
      - A reference with a tag or digest (V(aegee/core:1.4.2)) is refused; ask for the tag with O(version).
    type: str
    required: true
  version:
    description:
      - A tag to look up, normally a version such as V(1.4.2).
      - The module returns RV(exists) and RV(digest) for it. When the tag does not exist the module fails, naming
        the nearest existing versions, unless O(fail_on_missing=false).
      - V(latest) resolves to the version tag behind C(latest) (RV(version) is then that version); it counts as
        missing when C(latest) is absent or matches no version tag.
    type: str
  include_prerelease:
    description:
      - Include prereleases (V(1.5.0-rc.1)) in RV(versions) and RV(latest_version).
      - RV(latest_points_to) considers prereleases either way, because it reports what C(latest) is.
    type: bool
    default: false
  fail_on_missing:
    description:
      - When O(version) does not exist, fail (V(true)) or return RV(exists=false) with RV(nearest) (V(false)).
    type: bool
    default: true
notes:
  - "Requests per run: one C(GET /v2/), one token request for bearer registries, one request per page of
    tags, one HEAD for C(latest), then one HEAD per version tag from the newest down until one matches C(latest)
    (usually one), and one HEAD for O(version)."
  - Docker Hub's anonymous pull limits count manifest GETs, not HEAD requests; this module only sends HEAD for
    manifests unless a registry omits the C(Docker-Content-Digest) header.
requirements:
  - semver (the Python package; Debian C(python3-semver)) on the host that runs the module.
seealso:
  - name: OCI distribution specification
    description: The registry API this module speaks.
    link: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
  - name: Docker registry token authentication
    description: The bearer-token flow used by Docker Hub and token-configured registries.
    link: https://distribution.github.io/distribution/spec/auth/token/
"""

EXAMPLES = r"""
- name: What versions of core are there, and what is latest?
  aegee.deploy.image_version_info:
    image: aegee/core
  register: core_versions

- name: Show them
  ansible.builtin.debug:
    msg: >-
      newest {{ core_versions.latest_version }},
      latest is {{ core_versions.latest_points_to | default('no version', true) }}

- name: Resolve latest to a concrete version and digest before deploying (private registry, htpasswd)
  aegee.deploy.image_version_info:
    image: aegee/core
    registry: localhost:5000
    username: deployer
    password: "{{ registry_password }}"
    version: latest
  register: core_release
  # core_release.version == '1.5.0', core_release.digest == 'sha256:…'

- name: Make sure the version CI asked for was pushed
  aegee.deploy.image_version_info:
    image: registry.example.org:5000/team/app
    username: "{{ ci_registry_user }}"
    password: "{{ ci_registry_token }}"
    version: "{{ app_version }}"
  register: app_release

- name: Ask without failing, to offer the nearest versions in a message
  aegee.deploy.image_version_info:
    image: aegee/events
    version: 1.4.3
    fail_on_missing: false
  register: events_release

- name: Tell the operator
  ansible.builtin.debug:
    msg: "1.4.3 is not there; nearest: {{ events_release.nearest | join(', ') }}"
  when: not events_release.exists
"""

RETURN = r"""
image:
  description: The image repository as asked, normalised to C(registry/repository).
  returned: always
  type: str
  sample: localhost:5000/aegee/core
registry:
  description: The registry that was asked (C(registry-1.docker.io) for Docker Hub).
  returned: always
  type: str
  sample: localhost:5000
repository:
  description: The repository inside the registry (C(library/…) for Docker Hub official images).
  returned: always
  type: str
  sample: aegee/core
tags:
  description: All tags of the repository, in the order the registry lists them (all pages).
  returned: success
  type: list
  elements: str
  sample: [1.4.1, 1.4.2, 1.5.0, latest]
versions:
  description:
    - The semantic versions among RV(tags), oldest to newest by SemVer precedence.
    - Prereleases only with O(include_prerelease=true).
  returned: success
  type: list
  elements: str
  sample: [1.4.1, 1.4.2, 1.5.0]
latest_version:
  description: The newest entry of RV(versions), or V(null) when there is none.
  returned: success
  type: str
  sample: 1.5.0
latest_digest:
  description: Manifest digest of the C(latest) tag, or V(null) when there is no C(latest) tag.
  returned: success
  type: str
  sample: sha256:3b1e8a9d2f0c4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90
latest_points_to:
  description:
    - The version tag whose manifest digest equals the digest of C(latest), newest first (prereleases included),
      or V(null) when C(latest) is missing or matches no version tag (see RV(latest_message)).
  returned: success
  type: str
  sample: 1.5.0
latest_message:
  description: What C(latest) is, in words.
  returned: success
  type: str
  sample: latest is 1.5.0 (the newest version)
version:
  description:
    - The version looked up; for O(version=latest) the version behind C(latest).
  returned: when O(version) is given
  type: str
  sample: 1.5.0
exists:
  description: Whether O(version) exists in the repository.
  returned: when O(version) is given
  type: bool
  sample: true
digest:
  description: Manifest digest of O(version), or V(null) when it does not exist.
  returned: when O(version) is given
  type: str
  sample: sha256:3b1e8a9d2f0c4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90
nearest:
  description: The existing versions nearest to O(version) by precedence (up to three), when it does not exist.
  returned: when O(version) is given and does not exist
  type: list
  elements: str
  sample: [1.4.2, 1.5.0]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.aegee.deploy.plugins.module_utils import _semver
from ansible_collections.aegee.deploy.plugins.module_utils._args import registry_spec
from ansible_collections.aegee.deploy.plugins.module_utils._registry import (
    RegistryClient,
    RegistryError,
    describe_latest,
    missing_message,
    resolve_latest,
    is_valid_tag,
    normalize_registry,
    parse_reference,
)


def argument_spec():
    spec = registry_spec()
    spec.update(
        {
            "image": {"type": "str", "required": True},
            "version": {"type": "str"},
            "include_prerelease": {"type": "bool", "default": False},
            "fail_on_missing": {"type": "bool", "default": True},
        }
    )
    return spec


def run(module):
    p = module.params
    ref = parse_reference(p["image"], p["registry"]).require_repository_only()
    if p["registry"] and ref.registry != normalize_registry(p["registry"])[1]:
        module.warn(
            f"image {p['image']!r} names registry {ref.registry}; registry={p['registry']!r} is ignored "
            "(a registry in the image reference wins)"
        )
    version = p["version"]
    if version is not None and not is_valid_tag(version):
        module.fail_json(
            msg=f"version {version!r} is not a valid image tag (letters, digits, _ . -; at most 128 characters)",
            image=ref.name,
        )

    client = RegistryClient(
        ref.registry_address,
        username=p["username"],
        password=p["password"],
        validate_certs=p["validate_certs"],
        timeout=p["timeout"],
        retries=p["retries"],
    )
    result = {"changed": False, "image": ref.name, "registry": ref.registry, "repository": ref.repository}

    tags = client.list_tags(ref.repository)
    versions = _semver.versions_from_tags(tags, include_prerelease=p["include_prerelease"])
    all_versions = _semver.versions_from_tags(tags, include_prerelease=True)
    latest_version = versions[-1] if versions else None
    digests = {}
    latest_digest, latest_points_to, latest_message = resolve_latest(
        client, ref.repository, tags, all_versions, digests
    )
    if latest_points_to is not None:
        latest_message = describe_latest(latest_points_to, latest_version)
    result.update(
        tags=tags,
        versions=versions,
        latest_version=latest_version,
        latest_digest=latest_digest,
        latest_points_to=latest_points_to,
        latest_message=latest_message,
    )
    if version is None:
        return result

    if version == "latest":
        found = latest_points_to
        digest = latest_digest if found else None
        reason = None if found else latest_message
    elif version in tags:
        found = version
        digest = digests.get(version) or client.manifest_digest(ref.repository, version, missing_ok=True)
        reason = None if digest else "listed, but the registry has no manifest for it"
        found = found if digest else None
    else:
        found, digest, reason = None, None, None

    if found:
        result.update(version=found, exists=True, digest=digest)
        return result

    nearest = _semver.nearest(version, tags, count=3)
    result.update(version=version, exists=False, digest=None, nearest=nearest)
    if p["fail_on_missing"]:
        if reason and version != "latest":
            msg = f"version {version} of {ref.name} is {reason}"
        else:
            msg = missing_message(ref, version, tags, nearest, reason=reason)
        module.fail_json(msg=msg, **result)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not _semver.HAS_SEMVER:
        module.fail_json(msg=missing_required_lib("semver"), exception=str(_semver.SEMVER_IMPORT_ERROR))
    try:
        result = run(module)
    except RegistryError as e:
        module.fail_json(msg=str(e), error_kind=e.kind, http_status=e.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
