# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The container runtimes a release can use, by name.

Adding one: a ``_runtime.Runtime`` subclass in its own module, one line in
``RUNTIMES``. (The registry is not in ``_runtime`` itself because every
runtime module imports that one.)
"""

from __future__ import annotations

from ansible_collections.aegee.deploy.plugins.module_utils._runtime import RuntimeFailure
from ansible_collections.aegee.deploy.plugins.module_utils._runtime_compose import ComposeRuntime

RUNTIMES = {"compose": ComposeRuntime}
DEFAULT_RUNTIME = "compose"


def get_runtime(name=None):
    """The runtime class registered as ``name`` (the default one for None)."""
    try:
        return RUNTIMES[name or DEFAULT_RUNTIME]
    except KeyError:
        raise RuntimeFailure("unknown runtime %r: use one of %s" % (name, ", ".join(sorted(RUNTIMES)))) from None
