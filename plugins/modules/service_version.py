#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: service_version
short_description: Read, bump or set a service's own version in its checkout
version_added: 0.1.0
description:
  - Reads the version of a service from its checkout and reports which file carries it. Optionally bumps it
    (O(bump)) or sets it (O(set)).
  - "Detected files, first match wins: C(package.json) (top-level C(version); a C(package-lock.json) next to it is
    updated too), C(pyproject.toml) (C([project].version) or C([tool.poetry].version)), C(mix.exs)
    (C(version: \"1.2.3\") in C(def project), or the C(@version) attribute it names), C(Chart.yaml), C(setup.cfg)
    (C(version) in C([metadata])), C(VERSION) (the whole file)."
  - The file's formatting survives. Only the version text is replaced, so JSON indentation, key order and the
    trailing newline are kept; TOML is edited with C(tomlkit), which keeps comments and style.
  - Versions are semantic versions without a C(v) prefix (V(1.38.1)). A current version that is not one is refused
    when reading or bumping, with a message naming the file; O(set) can replace it.
  - This is what CI uses to tag images and what operators use to see what a checkout will build.
author:
  - aegee.deploy contributors (@aegee)
requirements:
  - semver (Debian package C(python3-semver)) on the target.
  - tomlkit on the target to change a C(pyproject.toml) (reading works without it on Python 3.11+).
extends_documentation_fragment:
  - aegee.deploy.attributes
  - aegee.deploy.attributes.files
attributes:
  check_mode:
    support: full
    details:
      - The new version is computed and reported; nothing is written.
  diff_mode:
    support: full
    details:
      - One diff per changed file (the version file and, for C(package.json), C(package-lock.json)).
  idempotent:
    support: partial
    details:
      - Reading and O(set) are idempotent. O(bump) moves the version on every run, by design.
  safe_file_operations:
    support: full
options:
  path:
    description:
      - A service checkout directory (the version file is detected) or the path of a version file.
    type: path
    required: true
  file:
    description:
      - Use this file instead of detecting one. A name or a path relative to O(path), or an absolute path.
      - A file with a name not listed in the description is read as a plain C(VERSION) file.
    type: str
  bump:
    description:
      - Bump the version. Bumps never go backwards and release a pending prerelease first (as npm does).
      - V(patch) turns V(1.2.3) into V(1.2.4), and V(1.2.4-rc.1) into V(1.2.4).
      - V(minor) turns V(1.2.3) into V(1.3.0), and V(1.3.0-rc.1) into V(1.3.0).
      - V(major) turns V(1.2.3) into V(2.0.0), and V(2.0.0-rc.1) into V(2.0.0).
      - V(prerelease) turns V(1.2.3) into V(1.2.4-rc.1), and V(1.2.4-rc.1) into V(1.2.4-rc.2).
      - Mutually exclusive with O(set).
    type: str
    choices: [major, minor, patch, prerelease]
  set:
    description:
      - Set the version to this semantic version, for example V(1.39.0).
      - Mutually exclusive with O(bump).
    type: str
  prerelease_token:
    description:
      - Identifier for a new prerelease with O(bump=prerelease), for example V(rc) or V(beta).
    type: str
    default: rc
seealso:
  - module: aegee.deploy.compose_pin
  - module: aegee.deploy.image_version_info
"""

EXAMPLES = r"""
- name: What version will this checkout build?
  aegee.deploy.service_version:
    path: /builds/aegee/core
  register: __core_version

- name: CI - bump the patch version before building the image
  aegee.deploy.service_version:
    path: "{{ ci_checkout }}"
    bump: patch
  register: __bumped

- name: Tag the image with it
  ansible.builtin.debug:
    msg: "building aegee/core:{{ __bumped.version }} (was {{ __bumped.previous_version }}, from {{ __bumped.file }})"

- name: Set an explicit version in a Python service
  aegee.deploy.service_version:
    path: /builds/aegee/mailer
    file: pyproject.toml
    set: 2.0.0-rc.1
"""

RETURN = r"""
version:
  description: The version after the run (the new one when bumped or set; in check mode, the one it would be).
  returned: success
  type: str
  sample: 1.38.2
previous_version:
  description: The version found in the file before the run.
  returned: success
  type: str
  sample: 1.38.1
file:
  description: Path of the version file that was read.
  returned: success
  type: str
  sample: /builds/aegee/core/package.json
kind:
  description: Kind of version file.
  returned: success
  type: str
  choices: [package.json, pyproject.toml, mix.exs, Chart.yaml, setup.cfg, VERSION]
  sample: package.json
files_changed:
  description:
    - Every file changed (or that would be, in check mode), for example C(package.json) and C(package-lock.json).
  returned: success
  type: list
  elements: str
  sample: [/builds/aegee/core/package.json, /builds/aegee/core/package-lock.json]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.aegee.deploy.plugins.module_utils import _semver
from ansible_collections.aegee.deploy.plugins.module_utils import _version_files as vf
from ansible_collections.aegee.deploy.plugins.module_utils._fileio import FileWriteError, atomic_write


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            file=dict(type="str"),
            bump=dict(type="str", choices=list(_semver.BUMP_PARTS)),
            set=dict(type="str"),
            prerelease_token=dict(type="str", default="rc", no_log=False),
        ),
        mutually_exclusive=[("bump", "set")],
        supports_check_mode=True,
    )
    if not _semver.HAS_SEMVER:
        module.fail_json(msg=missing_required_lib("semver"), exception=str(_semver.SEMVER_IMPORT_ERROR))

    try:
        vfile = vf.find_version_file(module.params["path"], module.params["file"])
        new_version = vf.compute(
            vfile,
            bump=module.params["bump"],
            set_to=module.params["set"],
            prerelease_token=module.params["prerelease_token"],
        )
        changes = vfile.plan(new_version) if new_version != vfile.version else []
    except vf.VersionFileError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: report it with the traceback
        module.fail_json(msg=f"unexpected error reading the version: {exc}", exception=traceback.format_exc())

    out = dict(
        changed=bool(changes),
        version=new_version,
        previous_version=vfile.version,
        file=vfile.path,
        kind=vfile.kind,
        files_changed=[path for path, _old, _new in changes],
    )
    if module._diff:
        diffs = [dict(before=old, after=new, before_header=path, after_header=path) for path, old, new in changes]
        out["diff"] = diffs if len(diffs) != 1 else diffs[0]
    if changes and not module.check_mode:
        # The lock file first: if writing package.json fails, the checkout still says the old version.
        for path, _old, new in reversed(changes):
            try:
                atomic_write(path, new.encode("utf-8"))
            except FileWriteError as exc:
                module.fail_json(msg=str(exc), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
