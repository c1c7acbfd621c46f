# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options for modules that talk to an image registry.

Kept in step with ``registry_argument_spec()`` in
``plugins/module_utils/_registry.py``.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  registry:
    description:
      - The registry to ask, as V(host), V(host:port) or V(https://host:port) (V(http://host:port) for a plain
        HTTP registry).
      - Without a scheme, loopback registries (V(localhost), V(127.0.0.1), V([::1])) are spoken to over plain
        HTTP, as the Docker engine does, and every other registry over HTTPS.
      - When omitted, Docker Hub (V(registry-1.docker.io)); V(docker.io) and V(index.docker.io) mean Docker Hub too.
      - "Precedence: a registry named in the image reference itself (V(localhost:5000/aegee/core)) wins over this
        option; if both are given and differ, the module warns and uses the one in the image reference."
    type: str
  username:
    description:
      - User name for the registry, or for the token service its C(WWW-Authenticate) challenge names.
      - Without O(username), the module reads anonymously (Docker Hub gives anonymous pull tokens for public
        repositories).
    type: str
  password:
    description:
      - Password or access token for O(username). Never logged and never part of any message or return value.
    type: str
  validate_certs:
    description:
      - Verify the registry's (and the token service's) TLS certificate against the host's CA store.
      - Set to V(false) only for a registry you trust with a self-signed certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP request (connect and read).
    type: int
    default: 30
  retries:
    description:
      - How often a request answered with HTTP 429 (rate limited) or 5xx is retried, with exponential backoff
        (1, 2, 4, … seconds), honouring the registry's C(Retry-After) up to 60 seconds per wait.
      - Timeouts and refused connections are not retried.
    type: int
    default: 3
"""
