# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""What a service name (and a git branch name) may be: one rule for the controller's input checks and the host's
modules.

Kept apart (no imports) so a module that only needs the rule ships nothing else to the host.
"""

from __future__ import annotations

import re

SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
SERVICE_RULE = "lowercase letters, digits, '-', '_', '.', at most 63 characters; no spaces, slashes or shell characters"
BRANCH_RE = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/@+-]{1,255}(?<!\.lock)(?<![./])$")
