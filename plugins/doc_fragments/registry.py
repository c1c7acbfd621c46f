# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Registry options of the modules that talk to an image registry.

``DOCUMENTATION`` (``aegee.deploy.registry``) documents ``registry_login_spec()`` and ``API``
(``aegee.deploy.registry.api``) documents ``registry_api_spec()``, both in
``plugins/module_utils/_args.py``; a change to an option changes both.
"""

from __future__ import annotations


class ModuleDocFragment:
    # registry_login_spec(): every module that takes registry options
    DOCUMENTATION = r"""
options:
  registry:
    description:
      - The registry, as V(host), V(host:port) or V(https://host:port) (V(http://host:port) for a plain HTTP
        registry).
      - Modules that read the registry's API ask it about the images whose reference names no registry. Without a
        scheme, loopback registries (V(localhost), V(127.0.0.1), V([::1])) are spoken to over plain HTTP, as the
        Docker engine does, and every other registry over HTTPS. When omitted, Docker Hub
        (V(registry-1.docker.io)); V(docker.io) and V(index.docker.io) mean Docker Hub too.
      - "Precedence: a registry named in the image reference itself (V(localhost:5000/aegee/core)) wins over this
        option."
      - Modules that pull images on the host log the host's Docker engine in to this registry (C(docker login))
        before pulling, when O(username) is set.
    type: str
  username:
    description:
      - User name for the registry, or for the token service its C(WWW-Authenticate) challenge names.
      - Empty or omitted, nothing logs in; the registry is read and images are pulled anonymously (Docker Hub
        gives anonymous pull tokens for public repositories).
      - To log the Docker engine in to the registry, O(registry) and O(password) are needed too.
    type: str
    aliases: [registry_username]
  password:
    description:
      - Password or access token for O(username). Never logged and never part of any message or return value.
    type: str
    aliases: [registry_password]
"""

    # registry_api_spec(): modules that read the registry's HTTP API
    API = r"""
options:
  validate_certs:
    description:
      - Verify the registry's (and the token service's) TLS certificate against the host's CA store.
      - Set to V(false) only for a registry you trust with a self-signed certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP request to the registry (connect and read).
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
