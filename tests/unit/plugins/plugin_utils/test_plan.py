# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release plan: input checks, and Planner against a real HTTP registry on 127.0.0.1."""

from __future__ import annotations

import pytest

from ansible_collections.aegee.deploy.plugins.plugin_utils import _plan
from ansible_collections.aegee.deploy.plugins.plugin_utils._inputs import PlanError, check_version_input
from ansible_collections.aegee.deploy.plugins.plugin_utils._inputs import parse_services as ps
from ansible_collections.aegee.deploy.plugins.plugin_utils._plan import Planner
from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.fake_registry import FakeRegistry

# ----------------------------------------------------------------- services


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("core", ["core"]),
        ("core,events", ["core", "events"]),
        (" core , events ", ["core", "events"]),
        ("events,core,events,core", ["events", "core"]),
        (["core", "events"], ["core", "events"]),
        (("core",), ["core"]),
        ([" core "], ["core"]),
        (["core", "core"], ["core"]),
        ([], []),
        ("oms-core_elixir.2", ["oms-core_elixir.2"]),
        ("a" * 63, ["a" * 63]),
    ],
)
def test_parse_services(value, expected):
    assert ps(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "core,,events",
        "core,",
        ",core",
        ",",
    ],
)
def test_parse_services_refuses_empty_parts(value):
    with pytest.raises(PlanError, match="has an empty name: separate service names with single commas"):
        ps(value)


@pytest.mark.parametrize(
    "name",
    [
        "core; touch /tmp/pwned",
        "$(id)",
        "`id`",
        "../../etc/passwd",
        "core/../events",
        "cöre",
        "Core",
        "-core",
        ".core",
        "_core",
        "core events",
        "core\tevents",
        "a" * 64,
        "a" * 200,
        "core|cat",
        "core&",
        "core>x",
        "*",
        "core\nevents",
    ],
)
def test_parse_services_refuses_bad_names(name):
    for value in (name, [name]):
        with pytest.raises(PlanError, match="is not a service name"):
            ps(value)


@pytest.mark.parametrize("value", [[" "], [""], ["core", " "]])
def test_parse_services_refuses_blank_names_in_a_list(value):
    with pytest.raises(PlanError, match="is not a service name"):
        ps(value)


@pytest.mark.parametrize("value", [" ", "\t", "  \n"])
def test_parse_services_refuses_a_blank_string(value):
    # blank is not "every service": a quoting accident must not deploy everything
    with pytest.raises(PlanError, match="blank"):
        ps(value)


@pytest.mark.parametrize(("value", "kind"), [(5, "int"), ({"core": 1}, "dict"), (True, "bool")])
def test_parse_services_refuses_other_types(value, kind):
    with pytest.raises(PlanError, match="comma separated string or a list, got %s" % kind):
        ps(value)


def test_parse_services_refuses_non_string_items():
    with pytest.raises(PlanError, match="service names must be strings, got 1"):
        ps(["core", 1])


# ------------------------------------------------------------------ version


@pytest.mark.parametrize(
    ("version", "services", "expected"),
    [
        (None, [], None),
        ("", ["core", "events"], None),
        ("latest", ["core"], "latest"),
        ("1.5.0", ["core"], "1.5.0"),
        ("1.6.0-rc.1", ["core"], "1.6.0-rc.1"),
        ("1.6.0+build.7", ["core"], "1.6.0+build.7"),
    ],
)
def test_check_version_input_accepts(version, services, expected):
    assert check_version_input(version, services) == expected


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("v1.2.3", "'v1.2.3' has a 'v' prefix: versions are written without it (use '1.2.3')"),
        ("V1.2.3", "'v' prefix"),
        ("1.4.2; touch /tmp/pwned", "is not a semantic version"),
        ("$(id)", "is not a semantic version"),
        ("1.4", "is not a semantic version"),
        (" 1.4.2", "is not a semantic version"),
        ("1.4.2 ", "is not a semantic version"),
        ("1.4.2\n", "is not a semantic version"),
        ("Latest", "is not a semantic version"),
        ("01.4.2", "is not a semantic version"),
    ],
)
def test_check_version_input_refuses_bad_versions(version, message):
    with pytest.raises(PlanError) as exc:
        check_version_input(version, ["core"])
    assert message in str(exc.value)
    assert str(exc.value).startswith("version: ") and str(exc.value).endswith(", or latest")


@pytest.mark.parametrize("services", [[], ["core", "events"]])
@pytest.mark.parametrize("version", ["1.5.0", "latest"])
def test_check_version_input_needs_exactly_one_service(version, services):
    with pytest.raises(PlanError, match="needs exactly one service.*ambiguous"):
        check_version_input(version, services)


@pytest.mark.parametrize("version", [1.5, 2, ["1.5.0"], {"v": 1}])
def test_check_version_input_refuses_non_strings(version):
    with pytest.raises(PlanError, match="version must be a string such as 1.5.1 or latest"):
        check_version_input(version, ["core"])


def test_a_bad_version_is_reported_before_the_service_count():
    with pytest.raises(PlanError, match="'v' prefix"):
        check_version_input("v1.0.0", ["core", "events"])


# ------------------------------------------------------------------ Planner


@pytest.fixture(scope="module")
def registry():
    reg = FakeRegistry().start()
    reg.digests = {}
    for repo, tags in {
        "aegee/core": ["1.4.1", "1.4.2", "1.5.0", "1.6.0-rc.1", "dev"],
        "aegee/events": ["1.4.1", "1.4.2", "1.5.0"],
        "aegee/nolatest": ["1.0.0"],
    }.items():
        for tag in tags:
            reg.digests[(repo, tag)] = reg.add(repo, tag)
    reg.alias("aegee/core", "latest", "1.5.0")  # 1.6.0-rc.1 is newer, but latest is 1.5.0
    reg.alias("aegee/events", "latest", "1.4.2")  # latest behind the newest version
    yield reg
    reg.stop()


@pytest.fixture
def catalogue():
    return {
        "core": {"image": "aegee/core"},
        "events": {"image": "aegee/events"},
        "nolatest": {"image": "aegee/nolatest"},
    }


def planner(reg, catalogue, **kwargs):
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("retries", 0)
    return Planner(catalogue, registry=reg.url, **kwargs)


def test_latest_resolves_to_the_version_with_the_same_digest(registry, catalogue):
    p = planner(registry, catalogue)
    targets = p.plan(["core", "events"])
    assert targets == {
        "core": {"version": "1.5.0", "digest": registry.digests[("aegee/core", "1.5.0")],
                 "source": "latest in the registry"},
        "events": {"version": "1.4.2", "digest": registry.digests[("aegee/events", "1.4.2")],
                   "source": "latest in the registry"},
    }
    assert p.messages == []


def test_explicit_latest_is_the_same_as_routine(registry, catalogue):
    targets = planner(registry, catalogue).plan(["core"], version="latest")
    assert targets["core"]["version"] == "1.5.0" and targets["core"]["source"] == "latest in the registry"


def test_explicit_version_that_exists(registry, catalogue):
    targets = planner(registry, catalogue).plan(["core"], version="1.4.1")
    assert targets == {"core": {"version": "1.4.1", "digest": registry.digests[("aegee/core", "1.4.1")],
                                "source": "explicit version"}}


def test_explicit_missing_version_names_the_nearest(registry, catalogue):
    with pytest.raises(PlanError) as exc:
        planner(registry, catalogue).plan(["core"], version="1.4.3")
    msg = str(exc.value)
    assert msg.startswith("core: version 1.4.3 of ")
    assert "does not exist; nearest existing versions: " in msg
    assert "1.4.2" in msg


def test_latest_missing_is_an_error(registry, catalogue):
    with pytest.raises(PlanError, match="nolatest: cannot resolve latest in .*no latest tag"):
        planner(registry, catalogue).plan(["nolatest"])


def test_unknown_service_lists_the_catalogue_before_any_lookup(registry, catalogue):
    before = len(registry.log)
    with pytest.raises(PlanError) as exc:
        planner(registry, catalogue).plan(["core", "mailer"])
    assert str(exc.value) == "unknown service 'mailer': the catalogue (aegee_services) has core, events, nolatest"
    assert len(registry.log) == before


@pytest.mark.parametrize(("catalogue", "has"), [({}, "no services"), ({"x": {}}, "x"), ({"x": "img"}, "x")])
def test_catalogue_entries_without_image(catalogue, has):
    with pytest.raises(PlanError, match="unknown service 'x'|unknown service 'core'") as exc:
        Planner(catalogue).ref("x" if catalogue else "core")
    assert has in str(exc.value)


def test_empty_services_means_the_whole_catalogue(registry, catalogue):
    del catalogue["nolatest"]
    assert sorted(planner(registry, catalogue).plan([])) == ["core", "events"]


def test_one_client_per_registry(registry, catalogue):
    made = []

    def factory(address, **kwargs):
        made.append(address)
        return _plan.RegistryClient(address, **kwargs)

    planner(registry, catalogue, client_factory=factory).plan(["core", "events"])
    assert made == [registry.url]


def test_credentials_go_to_the_client(catalogue):
    seen = {}

    def factory(address, **kwargs):
        seen.update(kwargs)
        raise _plan.RegistryError("stop here")

    p = Planner(catalogue, registry="127.0.0.1:1", username="deployer", password="pw", client_factory=factory)
    with pytest.raises(_plan.RegistryError):
        p.plan(["core"])
    assert seen["username"] == "deployer" and seen["password"] == "pw"
    p = Planner(catalogue, username="", password="", client_factory=factory)
    with pytest.raises(_plan.RegistryError):
        p.plan(["core"])
    assert seen["username"] is None and seen["password"] is None


# ------------------------------------------------- the lookups, concurrent and counted


@pytest.fixture
def bearer():
    reg = FakeRegistry(auth="bearer").start()
    for repo in ("aegee/core", "aegee/events", "aegee/mailer", "aegee/frontend"):
        for tag in ("1.4.2", "1.5.0"):
            reg.add(repo, tag)
        reg.alias(repo, "latest", "1.5.0")
    yield reg
    reg.stop()


FOUR = {svc: {"image": "aegee/%s" % svc} for svc in ("core", "events", "mailer", "frontend")}


def test_a_plan_pings_once_and_asks_one_token_per_repository_even_from_threads(bearer):
    bearer.delay = 0.05  # the threads overlap
    p = planner(bearer, FOUR)
    targets = p.plan([])
    assert {t["version"] for t in targets.values()} == {"1.5.0"} and sorted(targets) == sorted(FOUR)
    scopes = sorted(query["scope"] for query, _user in bearer.token_requests)
    assert scopes == ["repository:aegee/%s:pull" % svc for svc in ("core", "events", "frontend", "mailer")]
    assert len(bearer.requests("GET", "/v2/")) - len(bearer.requests("GET", "/v2/aegee")) == 1  # one ping
    # every request the registry saw (token service included) is counted, and no more
    assert p.registry_requests() == {"requests": len(bearer.log), "tokens": 4, "repositories": 4}


def test_the_lookups_of_several_services_run_at_once(bearer):
    bearer.delay = 0.2
    planner(bearer, FOUR).plan([])
    assert bearer.most_in_flight >= 2


def test_a_failing_lookup_among_concurrent_ones_is_reported_by_the_first_service_asked(registry, catalogue):
    with pytest.raises(PlanError, match="^nolatest: cannot resolve latest"):
        planner(registry, catalogue).plan(["core", "nolatest", "events"])
    registry.fail_forever["/v2/aegee/core/"] = 500
    try:
        with pytest.raises(_plan.RegistryError, match="aegee/core"):
            planner(registry, catalogue).plan(["core", "nolatest"])
    finally:
        registry.fail_forever.clear()


def test_a_promotion_asks_the_registry_nothing(catalogue):
    p = promoter(catalogue)
    p.plan(["core"], promote_from="staging", source_state=staging_state("1.4.2", ["1.4.2"]))
    assert p.registry_requests() == {"requests": 0, "tokens": 0, "repositories": 0}


# ---------------------------------------------------------------- promotion

D = {v: "sha256:" + c * 64 for v, c in (("1.4.1", "1"), ("1.4.2", "2"), ("1.5.0", "5"), ("1.10.0", "a"))}


def staging_state(current, verified):
    return {
        "current": {"core": {"version": current, "digest": D.get(current)}} if current else {},
        "verified": {"core": {v: {"digest": D[v], "time": "t", "release": "r"} for v in verified}},
    }


class NoRegistry:
    """A client factory that fails the test if the registry is contacted."""

    def __call__(self, *args, **kwargs):
        raise AssertionError("the registry must not be contacted")


def promoter(catalogue):
    return Planner(catalogue, client_factory=NoRegistry())


def test_promotion_takes_the_sources_current_verified_version(catalogue):
    # latest in the registry moved to 1.5.0; staging runs and verified 1.4.2: production gets 1.4.2
    p = promoter(catalogue)
    targets = p.plan(["core"], promote_from="staging", source_state=staging_state("1.4.2", ["1.4.1", "1.4.2"]))
    assert targets == {"core": {"version": "1.4.2", "digest": D["1.4.2"], "source": "verified on staging"}}
    assert p.messages == []


def test_promotion_when_the_source_runs_an_unverified_version(catalogue):
    p = promoter(catalogue)
    source = staging_state("1.5.0", ["1.4.2", "1.10.0", "1.4.1"])
    targets = p.plan(["core"], promote_from="staging", source_state=source)
    # the newest verified by semver, not by string order
    assert targets["core"] == {"version": "1.10.0", "digest": D["1.10.0"], "source": "verified on staging"}
    assert p.messages == ["core: staging runs 1.5.0, which it did not verify; promoting its newest verified 1.10.0"]


def test_promotion_of_an_explicit_verified_version(catalogue):
    targets = promoter(catalogue).plan(["core"], version="1.4.1", promote_from="staging",
                                       source_state=staging_state("1.4.2", ["1.4.1", "1.4.2"]))
    assert targets["core"] == {"version": "1.4.1", "digest": D["1.4.1"], "source": "verified on staging"}


def test_promotion_refuses_an_explicit_unverified_version_mentioning_force(catalogue):
    with pytest.raises(PlanError) as exc:
        promoter(catalogue).plan(["core"], version="1.5.0", promote_from="staging",
                                 source_state=staging_state("1.4.2", ["1.4.2", "1.4.1"]))
    assert str(exc.value) == (
        "core 1.5.0 has not been verified on staging (verified there: 1.4.1, 1.4.2): deploy it to staging first, "
        "or override with -e force=true"
    )


def test_forced_promotion_resolves_in_the_registry_and_says_so(registry, catalogue):
    p = planner(registry, catalogue)
    targets = p.plan(["core"], version="1.5.0", promote_from="staging",
                     source_state=staging_state("1.4.2", ["1.4.2"]), force=True)
    assert targets["core"] == {"version": "1.5.0", "digest": registry.digests[("aegee/core", "1.5.0")],
                               "source": "forced, not verified on staging"}
    assert p.messages == ["core 1.5.0 is not verified on staging; deploying it because force is set"]


def test_forced_promotion_of_a_missing_version_still_fails(registry, catalogue):
    with pytest.raises(PlanError, match="version 9.9.9 .* does not exist"):
        planner(registry, catalogue).plan(["core"], version="9.9.9", promote_from="staging",
                                          source_state=staging_state(None, []), force=True)


@pytest.mark.parametrize("source_state", [None, {}, staging_state(None, []), staging_state("1.4.2", [])])
def test_promotion_with_nothing_verified_is_an_error(catalogue, source_state):
    with pytest.raises(PlanError) as exc:
        promoter(catalogue).plan(["core"], promote_from="staging", source_state=source_state)
    assert str(exc.value) == ("core: nothing has been verified on staging yet, so there is nothing to promote: "
                              "deploy staging first")


def test_promotion_explicit_version_with_nothing_verified_says_none(catalogue):
    with pytest.raises(PlanError, match=r"\(verified there: none\)"):
        promoter(catalogue).plan(["core"], version="1.5.0", promote_from="staging", source_state={})


def test_an_unverified_explicit_version_older_than_what_a_host_runs_is_a_rollback_with_its_command(catalogue):
    running = {"production-1": {"core": "1.5.0"}, "production-2": {"core": "1.4.2"}}
    with pytest.raises(PlanError) as exc:
        promoter(catalogue).plan(["core"], version="1.4.2", promote_from="staging",
                                 source_state=staging_state("1.5.0", ["1.5.0"]), running=running)
    assert str(exc.value) == (
        "core 1.4.2 is older than what runs now (production-1 1.5.0): going back to it is a rollback, which also "
        "marks the version it leaves bad so that routine deploys hold it back. Roll back with:\n"
        "  ansible-playbook playbooks/rollback.yml -l production-1 -e service=core -e version=1.4.2\n"
        "(to release 1.4.2 as a new version instead: deploy it to the source environment first, or override with "
        "-e force=true)")


def test_the_rollback_command_comes_from_the_caller(catalogue):
    with pytest.raises(PlanError) as exc:
        promoter(catalogue).plan(["core"], version="1.4.2", promote_from="staging",
                                 source_state=staging_state("1.5.0", ["1.5.0"]), running={"p1": {"core": "1.10.0"}},
                                 rollback_command=lambda svc, version, hosts: "CMD %s %s %s" % (svc, version, hosts))
    assert "Roll back with:\n  CMD core 1.4.2 ['p1']\n" in str(exc.value)


@pytest.mark.parametrize("running", [None, {}, {"p1": {"core": "1.4.2"}}, {"p1": {"core": "1.4.1"}},
                                     {"p1": {"events": "9.0.0"}}, {"p1": {"core": None}}])
def test_an_unverified_version_no_host_runs_a_newer_one_of_is_refused_as_before(catalogue, running):
    with pytest.raises(PlanError) as exc:
        promoter(catalogue).plan(["core"], version="1.4.2", promote_from="staging",
                                 source_state=staging_state("1.5.0", ["1.5.0"]), running=running)
    assert str(exc.value).startswith("core 1.4.2 has not been verified on staging")
