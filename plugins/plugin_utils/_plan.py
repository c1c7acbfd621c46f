# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The release plan: which exact version and digest each service gets.

Made once per run on the controller (the ``release_plan`` action), before any
host is touched:

* a routine deploy to an environment without a promotion source (staging)
  gets, per service, the version behind ``latest`` in the registry and its
  digest;
* an explicit ``version`` (one service at a time) must exist in the
  registry; a missing one names the nearest existing versions;
* an environment promoted from another (production from staging) gets
  exactly the versions and digests the source environment verified, even if
  ``latest`` moved since; an explicit version there must be verified on the
  source too, unless ``force``.

Bad marks (rolled-back versions) are per host: the hosts hold those
services (routine runs) or refuse (explicit versions), see ``_release``.
What a person typed is checked first, by ``_inputs``.

The services' registry lookups run concurrently (``LOOKUPS`` threads), with one
client per registry: one ping and one token per repository in a run.
``Planner.registry_requests()`` counts what the plan asked.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.aegee.deploy.plugins.module_utils import _semver
from ansible_collections.aegee.deploy.plugins.module_utils._registry import (
    RegistryClient,
    RegistryError,
    missing_message,
    parse_reference,
    resolve_latest,
)
from ansible_collections.aegee.deploy.plugins.plugin_utils._inputs import PlanError, unknown_service


LOOKUPS = 8  # services looked up in the registry at once


class Planner:
    def __init__(self, catalogue, registry=None, username=None, password=None, validate_certs=True, timeout=30,
                 retries=3, client_factory=RegistryClient):
        self.catalogue = catalogue
        self.registry = registry
        self.auth = {"username": username or None, "password": password or None}
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.retries = retries
        self._clients = {}
        self._factory = client_factory
        self._asked = []  # the references looked up in a registry
        self.messages = []

    def client(self, ref):
        key = ref.registry_address
        if key not in self._clients:
            self._clients[key] = self._factory(key, validate_certs=self.validate_certs, timeout=self.timeout,
                                               retries=self.retries, **self.auth)
        return self._clients[key]

    def ref(self, service):
        entry = self.catalogue.get(service)
        if not isinstance(entry, dict) or not entry.get("image"):
            raise PlanError(unknown_service(service, self.catalogue))
        return parse_reference(entry["image"], self.registry).require_repository_only()

    def resolve(self, service, version):
        """(version, digest) from the registry; ``latest`` resolves to the version behind it."""
        ref = self.ref(service)
        client = self.client(ref)
        self._asked.append(ref)
        if version == "latest":
            tags = client.list_tags(ref.repository)
            all_versions = _semver.versions_from_tags(tags, include_prerelease=True)
            digest, points_to, message = resolve_latest(client, ref.repository, tags, all_versions, {})
            if points_to is None:
                raise PlanError("%s: cannot resolve latest in %s: %s" % (service, ref.name, message))
            return points_to, digest
        digest = client.manifest_digest(ref.repository, version, missing_ok=True)
        if digest is None:
            tags = client.list_tags(ref.repository)
            raise PlanError("%s: %s" % (service, missing_message(ref, version, tags, _semver.nearest(version, tags))))
        return version, digest

    def plan(self, services, version=None, promote_from=None, source_state=None, force=False, running=None,
             rollback_command=None):
        """Targets ``{service: {version, digest, source}}`` for the requested services.

        ``running`` (``{host: {service: version}}``, what the hosts run) lets the refusal of an unverified explicit
        version older than what a host runs say that this is a rollback, with ``rollback_command(service,
        version, hosts)``'s command line."""
        wanted = services or sorted(self.catalogue)
        for svc in wanted:
            self.ref(svc)  # unknown services fail before any lookup
        targets = {}
        if promote_from:
            for svc in wanted:
                try:
                    targets[svc] = self._promoted(svc, version, promote_from, source_state or {}, force)
                except PlanError as exc:
                    raise PlanError(rollback_instead(svc, version, running, rollback_command) or str(exc)) from None
            return targets
        for svc in wanted:
            self.client(self.ref(svc))  # made here, once per registry, not in the threads
        with ThreadPoolExecutor(max_workers=max(1, min(LOOKUPS, len(wanted)))) as pool:
            found = [pool.submit(self.resolve, svc, version or "latest") for svc in wanted]
        source = "explicit version" if version and version != "latest" else "latest in the registry"
        for svc, future in zip(wanted, found):
            v, digest = future.result()  # the first failing service, in the order asked, is the one reported
            targets[svc] = {"version": v, "digest": digest, "source": source}
        return targets

    def registry_requests(self):
        """``{"requests", "tokens", "repositories"}``: HTTP requests (all, to the token service) and repositories
        asked so far."""
        repositories = {(ref.registry_address, ref.repository) for ref in self._asked}
        return {"requests": sum(getattr(c, "requests", 0) for c in self._clients.values()),
                "tokens": sum(getattr(c, "token_requests", 0) for c in self._clients.values()),
                "repositories": len(repositories)}

    def _promoted(self, svc, version, source_env, source_state, force):
        verified = (source_state.get("verified") or {}).get(svc) or {}
        current = (source_state.get("current") or {}).get(svc) or {}
        if version and version != "latest":
            if version in verified:
                return {"version": version, "digest": verified[version].get("digest"),
                        "source": "verified on %s" % source_env}
            if not force:
                raise PlanError(
                    "%s %s has not been verified on %s (verified there: %s): deploy it to %s first, or override "
                    "with -e force=true" % (svc, version, source_env, ", ".join(_sorted(verified)) or "none",
                                            source_env)
                )
            v, digest = self.resolve(svc, version)
            self.messages.append("%s %s is not verified on %s; deploying it because force is set"
                                 % (svc, version, source_env))
            return {"version": v, "digest": digest, "source": "forced, not verified on %s" % source_env}
        cur = current.get("version")
        if cur and cur in verified:
            return {"version": cur, "digest": verified[cur].get("digest") or current.get("digest"),
                    "source": "verified on %s" % source_env}
        if verified:
            newest = _sorted(verified)[-1]
            self.messages.append("%s: %s runs %s, which it did not verify; promoting its newest verified %s"
                                 % (svc, source_env, cur or "nothing", newest))
            return {"version": newest, "digest": verified[newest].get("digest"),
                    "source": "verified on %s" % source_env}
        raise PlanError(
            "%s: nothing has been verified on %s yet, so there is nothing to promote: deploy %s first"
            % (svc, source_env, source_env)
        )


def rollback_instead(svc, version, running, rollback_command=None):
    """The refusal of ``svc`` ``version`` when hosts run a newer version (``running``: ``{host: {svc: version}}``):
    going back is a rollback, here is its command line; None when no host runs a newer one."""
    if not version or version == "latest" or not _semver.is_version(version):
        return None
    newer = {h: (r or {}).get(svc) for h, r in sorted((running or {}).items())}
    newer = {h: v for h, v in newer.items() if v and _semver.is_version(v) and _semver.compare(v, version) > 0}
    if not newer:
        return None
    hosts = sorted(newer)
    command = (rollback_command or _rollback_command)(svc, version, hosts)
    return ("%s %s is older than what runs now (%s): going back to it is a rollback, which also marks the version "
            "it leaves bad so that routine deploys hold it back. Roll back with:\n  %s\n(to release %s as a new "
            "version instead: deploy it to the source environment first, or override with -e force=true)"
            % (svc, version, ", ".join("%s %s" % (h, newer[h]) for h in hosts), command, version))


def _rollback_command(svc, version, hosts):
    limit = ",".join(hosts)
    return "ansible-playbook playbooks/rollback.yml -l %s -e service=%s -e version=%s" % (limit, svc, version)


def planned_switch(services, catalogue, ports=None):
    """service -> how its containers are switched, as far as the controller knows (the host decides the rest)."""
    out = {}
    for svc in sorted(services):
        entry = catalogue.get(svc) if isinstance(catalogue.get(svc), dict) else {}
        if entry.get("switch") == "stop-first":
            out[svc] = "stop-first (marked switch: stop-first in the catalogue)"
        elif (ports or {}).get(svc) is not None:
            out[svc] = "stop-first (it publishes the fixed host port %s)" % ports[svc]
        else:
            out[svc] = "start-first"
    return out


def _sorted(versions):
    return list(_semver.versions_from_tags(list(versions), include_prerelease=True))


__all__ = ["PlanError", "Planner", "RegistryError", "planned_switch", "rollback_instead"]
