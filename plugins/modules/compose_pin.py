#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: compose_pin
short_description: Pin the image of a service in a Docker Compose file
version_added: 0.1.0
description:
  - Sets the image of one service in a Docker Compose file to a given tag, optionally with a digest
    (C(aegee/core:1.4.2@sha256:...)), or back to V(latest).
  - The service is chosen by its compose service name (O(service)) or by image repository (O(image)) across all
    services of the file.
  - The file changes in exactly the image value. The value is replaced in place in the original text, in its
    original quoting style; comments, key order, quoting, indentation, anchors, aliases and C(${VAR}) interpolation
    elsewhere stay byte for byte. The result is parsed again and compared with the original before anything is
    written; if anything but the image value would differ, the module refuses.
  - The write is atomic (temporary file in the same directory, then rename) and keeps the file's owner, group and
    mode.
  - The repository part of the image is kept as written (registry host and port included); only the tag and digest
    are replaced. An existing digest is removed unless O(digest) is given, so that the tag and digest never disagree.
  - >-
    Bad input fails with a message that says what to fix, and the file is left untouched. This covers unknown
    services (the known ones are listed), services without an image (built from C(build:)), images written
    through a variable (C(image: ${CORE_IMAGE}) is set in C(.env) or the environment, not in the file), images whose
    tag or digest is a variable, invalid tags or digests, files that are not valid YAML or not compose files, and
    missing files.
author:
  - aegee.deploy contributors (@aegee)
requirements:
  - ruamel.yaml >= 0.17.21 on the target (Debian package C(python3-ruamel.yaml))
extends_documentation_fragment:
  - aegee.deploy.attributes
  - aegee.deploy.attributes.files
attributes:
  check_mode:
    support: full
    details:
      - The change is computed and reported; nothing is written.
  diff_mode:
    support: full
    details:
      - The diff shows the whole file before and after, which differ in the image line only.
  idempotent:
    support: full
  safe_file_operations:
    support: full
options:
  path:
    description:
      - Path of the compose file on the target, for example C(/srv/myaegee/core/docker/docker-compose.yml).
    type: path
    required: true
  service:
    description:
      - Name of the compose service whose image to pin (a key under C(services:)).
      - Exactly one of O(service) and O(image) is required.
    type: str
  image:
    description:
      - Image repository to pin, without tag or digest, for example C(aegee/core) or C(localhost:5000/aegee/core).
      - Every service of the file that uses this repository is pinned (see RV(services)).
      - Repositories are compared in normalised form, so C(nginx) matches C(docker.io/library/nginx).
        Services whose repository is written through a variable are not compared.
      - Exactly one of O(service) and O(image) is required.
    type: str
  tag:
    description:
      - The tag to pin to, for example V(1.4.2). Use V(latest) to let the service follow the newest image again.
      - Must be a valid Docker tag (up to 128 characters from letters, digits, C(_), C(.) and C(-), not starting
        with C(.) or C(-)).
      - At least one of O(tag) and O(digest) is required. With O(digest) only, the image becomes
        C(repository@sha256:...).
    type: str
  digest:
    description:
      - Manifest digest to pin to, C(sha256:) followed by 64 lowercase hexadecimal digits.
      - With O(tag), the image becomes C(repository:tag@digest); Docker then runs exactly that digest.
    type: str
  backup:
    description:
      - Before changing the file, copy it next to itself with a timestamp in the name (C(<path>.<pid>.<date>@<time>~)).
    type: bool
    default: false
notes:
  - Only the image line is changed. A file with Windows line endings, a byte order mark, tabs or unusual indentation
    keeps them.
  - If the image is shared through a YAML anchor and aliases, or merged in with C(<<), the module refuses, since
    pinning it would change other services as well.
seealso:
  - module: aegee.deploy.image_version_info
    description: Find the version and digest behind C(latest) before pinning.
  - module: aegee.deploy.service_version
"""

EXAMPLES = r"""
- name: Pin core to the version and digest that staging verified
  aegee.deploy.compose_pin:
    path: /srv/myaegee/core/docker/docker-compose.yml
    service: core
    tag: 1.38.1
    digest: sha256:0b2d9f4e3c6a1f5e8d7c9b0a2e4f6d8c1b3a5e7f9d0c2b4a6e8f0d1c3b5a7e9f
    backup: true
  register: __pin

- name: Roll core back to an older version
  aegee.deploy.compose_pin:
    path: /srv/myaegee/core/docker/docker-compose.yml
    service: core
    tag: 1.38.0

- name: Follow the newest image again
  aegee.deploy.compose_pin:
    path: /srv/myaegee/core/docker/docker-compose.yml
    service: core
    tag: latest

- name: Pin every service that runs the events image, whatever the service is called
  aegee.deploy.compose_pin:
    path: /srv/myaegee/events/docker/docker-compose.yml
    image: aegee/events
    tag: 2.1.0
"""

RETURN = r"""
before:
  description:
    - The image value before the change. When O(image) matched several services, the first one's; see RV(pins).
  returned: success
  type: str
  sample: localhost:5000/aegee/core:latest
after:
  description:
    - The image value after the change (or that it would have, in check mode).
      When O(image) matched several services, the first one's; see RV(pins).
  returned: success
  type: str
  sample: localhost:5000/aegee/core:1.4.2@sha256:0b2d9f4e3c6a1f5e8d7c9b0a2e4f6d8c1b3a5e7f9d0c2b4a6e8f0d1c3b5a7e9f
services:
  description: Names of the services that were pinned (already pinned ones included).
  returned: success
  type: list
  elements: str
  sample: [core]
pins:
  description: One entry per pinned service.
  returned: success
  type: list
  elements: dict
  contains:
    service:
      description: Compose service name.
      type: str
    before:
      description: Image value before.
      type: str
    after:
      description: Image value after.
      type: str
    changed:
      description: Whether this service's image changed.
      type: bool
    line:
      description: Line of the image value in the file (1-based).
      type: int
  sample:
    - service: core
      before: localhost:5000/aegee/core:latest
      after: localhost:5000/aegee/core:1.4.2
      changed: true
      line: 5
backup_file:
  description: Path of the backup copy.
  returned: changed and O(backup=true) and not in check mode
  type: str
  sample: /srv/myaegee/core/docker/docker-compose.yml.4231.2026-05-04@10:21:07~
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.aegee.deploy.plugins.module_utils import _compose
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            service=dict(type="str"),
            image=dict(type="str"),
            tag=dict(type="str"),
            digest=dict(type="str"),
            backup=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("service", "image")],
        required_one_of=[("service", "image"), ("tag", "digest")],
        supports_check_mode=True,
    )
    if not _compose.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=_compose.RUAMEL_IMPORT_ERROR)

    path = module.params["path"]
    try:
        result = _compose.pin_file(
            path,
            service=module.params["service"],
            image=module.params["image"],
            tag=module.params["tag"],
            digest=module.params["digest"],
        )
    except _compose.ComposeError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: report it with the traceback
        module.fail_json(msg=f"unexpected error while pinning {path}: {exc}", exception=traceback.format_exc())

    first = result.pins[0]
    out = dict(
        changed=result.changed,
        path=path,
        before=first["before"],
        after=first["after"],
        services=result.services,
        pins=result.pins,
    )
    if module._diff:
        out["diff"] = dict(
            before=result.before_text,
            after=result.after_text,
            before_header=path,
            after_header=path,
        )
    if result.changed and not module.check_mode:
        try:
            backup_file = atomic_write(path, result.after_text.encode("utf-8"), backup=module.params["backup"])
        except FileWriteError as exc:
            out["changed"] = False
            module.fail_json(msg=str(exc), **out)
        if backup_file:
            out["backup_file"] = backup_file
    module.exit_json(**out)


if __name__ == "__main__":
    main()
