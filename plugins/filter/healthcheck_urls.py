# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The /healthcheck URL of each service on a host, from its published ports."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def healthcheck_urls(ports, address="127.0.0.1", path="/healthcheck", scheme="http"):
    if ports is None:
        return {}
    if not isinstance(ports, dict):
        raise AnsibleFilterError("healthcheck_urls expects a mapping of service to port, got %s" % type(ports).__name__)
    host = str(address)
    if ":" in host and not host.startswith("["):  # IPv6, unless already bracketed
        host = "[%s]" % host
    urls = {}
    for service, port in ports.items():
        try:
            number = int(str(port))
        except ValueError:
            raise AnsibleFilterError("port of %s is not a number: %r" % (service, port)) from None
        if not 0 < number < 65536:
            raise AnsibleFilterError("port of %s is out of range: %r" % (service, port))
        urls[str(service)] = "%s://%s:%d%s" % (scheme, host, number, path)
    return urls


class FilterModule:
    def filters(self):
        return {"healthcheck_urls": healthcheck_urls}
