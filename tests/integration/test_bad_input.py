"""Bad input: every user-facing variable with bad values, refused on the controller before any host is contacted.

Each case runs the real ansible-playbook against the testbed with two canaries:

* an interpreter (``-e ansible_python_interpreter=``): run on a host (through sshd, so ``SSH_CONNECTION`` is
  set) it appends a line to its log, then runs python; on the controller it only runs the venv's python;
* an ssh client (``-e ansible_ssh_executable=``): it logs every connection the controller opens, then runs ssh.

After the run the test checks that the error names the variable and says what is accepted, that both canary
logs are empty, that no file under the testbed's hosts changed (names, sizes, mtimes, and the contents of the
release history, state and lock files), and that no file the injected commands would create exists. One
positive control proves the canaries do log a run that reaches a host.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import stat
import time

import pytest
import yaml

from conftest import REPO_ROOT, TESTBED_ROOT, ansible_env, playbook

HOSTS_TREE = os.path.join(TESTBED_ROOT, "hosts")
PWNED = "/tmp/pwned"
MARK = "/tmp/aegee-bad-input-pwned"  # + a suffix per case
LONG = 5000
SERVICE_RULE = "is not a service name (lowercase letters, digits, '-', '_', '.', at most 63 characters"
BOOL = "is not a boolean: use true or false"
SERIAL = "use a number of hosts per batch (1 or more) or a percentage of them (1% to 100%)"
LOCK_WAIT = "use a whole number of seconds from 0 to 86400"
REASON = "use a line of text of at most 500 characters saying why"
NOT_SEMVER = "is not a semantic version (expected MAJOR.MINOR.PATCH such as 1.4.2), or latest"


# ------------------------------------------------------------------ canaries


@pytest.fixture(scope="module")
def canary(tmp_path_factory, testbed):
    folder = tmp_path_factory.mktemp("canary")  # the hosts are this machine: they run the scripts from here
    logs = {"interpreter": str(folder / "interpreter.log"), "ssh": str(folder / "ssh.log")}
    python = str(folder / "python")
    ssh = str(folder / "ssh")
    with open(python, "w") as handle:
        handle.write(
            "#!/bin/sh\n"
            "# on a testbed host (run through its sshd): log, then run the host's python\n"
            'if [ -n "$SSH_CONNECTION" ]; then\n'
            '  printf "%%s SSH_CONNECTION=%%s argv=%%s\\n" "$(date +%%s.%%N)" "$SSH_CONNECTION" "$*" >> %s\n'
            '  exec /usr/bin/python3 "$@"\n'
            "fi\n"
            "# on the controller (modules delegated to localhost): the venv's python, as without the canary\n"
            'exec %s "$@"\n' % (logs["interpreter"], os.path.join(REPO_ROOT, ".venv", "bin", "python"))
        )
    with open(ssh, "w") as handle:
        handle.write('#!/bin/sh\nprintf "%%s %%s\\n" "$(date +%%s.%%N)" "$*" >> %s\nexec /usr/bin/ssh "$@"\n'
                     % logs["ssh"])
    for path in (python, ssh):
        os.chmod(path, 0o700)
    for path in glob.glob(MARK + "*") + [PWNED]:
        if os.path.lexists(path):
            pytest.fail("%s exists before the tests: remove it, the tests check that nothing creates it" % path)
    return {"python": python, "ssh": ssh, "logs": logs}


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line for line in handle.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def snapshot():
    """Every entry under the testbed's hosts: type, size, mtime; the contents of the release state files."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(HOSTS_TREE):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            entry = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
            if os.sep + ".aegee" + os.sep in path and stat.S_ISREG(st.st_mode):
                with open(path, "rb") as handle:
                    entry += (hashlib.sha256(handle.read()).hexdigest(),)
            seen[os.path.relpath(path, HOSTS_TREE)] = entry
    return seen


def changes(before, after):
    return sorted(["- " + p for p in set(before) - set(after)] + ["+ " + p for p in set(after) - set(before)]
                  + ["~ " + p for p in set(before) & set(after) if before[p] != after[p]])


def quiet_snapshot(quiet=0.5, timeout=60):
    """A snapshot taken once nothing under the hosts has changed for ``quiet`` seconds (other tests share them)."""
    deadline = time.monotonic() + timeout
    last = snapshot()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = snapshot()
        if now == last:
            return now
        last = now
    return last


def pwned():
    return [p for p in [PWNED] + glob.glob(MARK + "*") if os.path.lexists(p)]


def error_line(out):
    """What the tool said: the first line of the first error, without Ansible's prefix."""
    match = re.search(r"^\[ERROR\]: (?:Task failed: )?(?:Action failed: )?(.*)$", out, re.M)
    return match.group(1) if match else ""


def run_bad(canary, reliability, play, args, inventory=None, attempts=5):
    """Run ``play`` with the canaries; the output, once a run left the hosts' files alone.

    The testbed is shared (other tests deploy, inject faults): each run starts once the hosts' files have been
    quiet for a moment, and a change under the hosts while this run fails on the controller is somebody else's
    when the same run, repeated, changes nothing: the case is run again (at most ``attempts`` times) until a run
    sees the tree unchanged. The canary logs and the injected commands' files must be clean on every run.
    """
    env = ansible_env()
    env.pop("SSH_CONNECTION", None)  # the controller is never "a host": its own modules must not log
    extra = ["-e", "ansible_python_interpreter=" + canary["python"], "-e", "ansible_ssh_executable=" + canary["ssh"]]
    if inventory:
        extra += ["-i", inventory]
    seen_elsewhere = []
    for _attempt in range(attempts):
        for log in canary["logs"].values():
            open(log, "w").close()
        before = quiet_snapshot()
        start = time.monotonic()
        proc = playbook(play, *extra, *args, check=False, env=env)
        took = time.monotonic() - start
        after = snapshot()
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, "the run succeeded:\n" + out[-3000:]
        assert "Traceback" not in out and "this is probably a bug" not in out, out[-3000:]
        assert _read(canary["logs"]["interpreter"]) == [], "a module ran on a host:\n" + out[-3000:]
        assert _read(canary["logs"]["ssh"]) == [], "the controller connected to a host:\n" + out[-3000:]
        assert pwned() == [], "an injected command ran"
        diff = changes(before, after)
        if not diff:
            break
        seen_elsewhere.append(diff)
    else:
        pytest.fail("files under %s changed during each of %d runs: %s" % (HOSTS_TREE, attempts, seen_elsewhere))
    reliability.did(error_line(out))
    reliability.checked("refused (rc=%d, %.1f s) on the controller: no module ran on a host (canary interpreter "
                        "log empty), no ssh connection was opened (canary ssh log empty)" % (proc.returncode, took))
    reliability.checked("no file under the testbed hosts changed (%d entries: names, sizes, mtimes; release "
                        "history, state and lock contents)%s" % (len(after), (
                            "; %d earlier run(s) saw other tests change files, rerun" % len(seen_elsewhere))
                            if seen_elsewhere else ""))
    reliability.checked("%s and %s* do not exist" % (PWNED, MARK))
    return out


def expect(out, reliability, *texts):
    for text in texts:
        assert text in out, "%r not in the output:\n%s" % (text, out[-3000:])
    reliability.checked("the message says: " + " / ".join(texts))


# ------------------------------------------------------------------ cases


def case(key, case_text, play, limit, extra_vars, *expected, long_value=None):
    """One bad-input row: ``key`` its id, the playbook, -l, the -e values, the texts its error must contain."""
    argv = ["-l", limit] if limit else []
    for value in extra_vars:
        argv += ["-e", json.dumps(value) if isinstance(value, dict) else value]
    return pytest.param(play, argv, expected, long_value, id=key,
                        marks=pytest.mark.reliability("input", play.replace(".yml", ""), case_text))


PROD = "production"
STAGING = "staging"

DEPLOY = [
    # ---- deploy.yml: version
    case("version-shell", "deploy.yml -l production -e version='1.4.2; touch /tmp/pwned' (shell metacharacters)",
         "deploy.yml", PROD, [{"service": "core", "version": "1.4.2; touch /tmp/pwned"}],
         "version: '1.4.2; touch /tmp/pwned' " + NOT_SEMVER),
    case("version-subst", "deploy.yml -l production -e version='$(touch ...)' (command substitution)",
         "deploy.yml", PROD, [{"service": "core", "version": "$(touch %s-subst)" % MARK}],
         "version: '$(touch %s-subst)' %s" % (MARK, NOT_SEMVER)),
    case("version-backticks", "deploy.yml -e version='`touch ...`' (backticks)",
         "deploy.yml", STAGING, [{"service": "core", "version": "`touch %s-tick`" % MARK}],
         "version: '`touch %s-tick`' %s" % (MARK, NOT_SEMVER)),
    case("version-jinja", "deploy.yml -e version=\"{{ lookup('pipe', 'id') }}\" (template injection: Ansible "
         "renders -e values on the controller, the result is refused)",
         "deploy.yml", PROD, [{"service": "core", "version": "{{ lookup('pipe', 'id') }}"}],
         "version: 'uid=", NOT_SEMVER),
    case("version-empty", "deploy.yml -e service=core -e version= (empty: an unset CI variable)",
         "deploy.yml", PROD, ["service=core", "version="],
         "version is empty: use a version such as 1.5.1, or latest, or leave it out"),
    case("version-whitespace", "deploy.yml -e version='  ' (whitespace)",
         "deploy.yml", STAGING, [{"service": "core", "version": "  "}], "version: '  ' " + NOT_SEMVER),
    case("version-long", "deploy.yml -e version=<%d characters>" % LONG,
         "deploy.yml", PROD, [{"service": "core", "version": "1.4." + "9" * LONG}],
         "is not a semantic version: it is longer than a Docker tag can be (128 characters)",
         "(%d characters)" % (LONG + 4), long_value="9" * LONG),
    case("version-unicode", "deploy.yml -e version=１.４.２ (fullwidth digits)",
         "deploy.yml", PROD, ["service=core", "version=１.４.２"], "version: '１.４.２' " + NOT_SEMVER),
    case("version-list", "deploy.yml -e '{\"version\": [\"1.4.2\"]}' (wrong type)",
         "deploy.yml", STAGING, [{"service": "core", "version": ["1.4.2"]}],
         "version must be a string such as 1.5.1 or latest, got ['1.4.2']"),
    case("version-several", "deploy.yml -e services=core,events -e version=1.5.0 (one version, several services)",
         "deploy.yml", PROD, ["services=core,events", "version=1.5.0"],
         "version=1.5.0 needs exactly one service (-e service=NAME): one version for several services at once is "
         "ambiguous"),
    # ---- deploy.yml: services
    case("service-traversal", "deploy.yml -e service=../../etc/passwd (path traversal)",
         "deploy.yml", PROD, ["service=../../etc/passwd"], "service: '../../etc/passwd' " + SERVICE_RULE),
    case("service-shell", "deploy.yml -e service='core; touch /tmp/pwned'",
         "deploy.yml", STAGING, [{"service": "core; touch /tmp/pwned"}],
         "service: 'core; touch /tmp/pwned' " + SERVICE_RULE),
    case("service-unknown", "deploy.yml -l production -e service=nosuch (unknown service)",
         "deploy.yml", PROD, ["service=nosuch"],
         "service: unknown service 'nosuch': the catalogue (aegee_services) has core, events, frontend, mailer"),
    case("service-empty", "deploy.yml -e service= (empty: must not mean every service)",
         "deploy.yml", PROD, ["service="],
         "service is empty: use a service name of the catalogue (aegee_services), or leave it out"),
    case("service-whitespace", "deploy.yml -e service='  ' (whitespace)",
         "deploy.yml", STAGING, [{"service": "  "}],
         "service='  ' is blank: name the services, or leave it out for every service"),
    case("service-unicode", "deploy.yml -e service=cöre (unicode)",
         "deploy.yml", PROD, ["service=cöre"], "service: 'cöre' " + SERVICE_RULE),
    case("service-long", "deploy.yml -e service=<%d characters>" % LONG,
         "deploy.yml", STAGING, [{"service": "a" * LONG}],
         "... (%d characters) %s" % (LONG, SERVICE_RULE), long_value="a" * LONG),
    case("services-json", "deploy.yml -e '{\"services\": {\"core\": {\"image\": \"evil/core\"}}}' (JSON injection of "
         "a catalogue entry)",
         "deploy.yml", PROD, [{"services": {"core": {"image": "evil/core"}}}],
         "services must be a comma separated string or a list, got dict"),
    case("services-yaml", "deploy.yml -e services='core\\nimage: evil/core' (YAML injection)",
         "deploy.yml", STAGING, [{"services": "core\nimage: evil/core"}],
         "services: 'core\\nimage: evil/core' " + SERVICE_RULE),
    case("service-and-services", "deploy.yml -e service=core -e services=events (both)",
         "deploy.yml", PROD, ["service=core", "services=events"],
         "service and services are both given: use one of them"),
    # ---- deploy.yml: flags and numbers
    case("force-maybe", "deploy.yml -e force=maybe (not a boolean)",
         "deploy.yml", PROD, ["force=maybe"], "force='maybe' " + BOOL),
    case("force-shell", "deploy.yml -e force='true; touch /tmp/pwned'",
         "deploy.yml", STAGING, [{"force": "true; touch /tmp/pwned"}], "force='true; touch /tmp/pwned' " + BOOL),
    case("break_lock-list", "deploy.yml -e '{\"break_lock\": [true]}' (wrong type)",
         "deploy.yml", PROD, [{"break_lock": [True]}], "break_lock=[True] " + BOOL),
    case("lock_wait-text", "deploy.yml -e lock_wait=abc",
         "deploy.yml", PROD, ["lock_wait=abc"], "lock_wait='abc' is not a whole number: " + LOCK_WAIT),
    case("lock_wait-negative", "deploy.yml -e lock_wait=-5",
         "deploy.yml", STAGING, ["lock_wait=-5"], "lock_wait='-5' is not a whole number: " + LOCK_WAIT),
    case("lock_wait-huge", "deploy.yml -e lock_wait=99999999999999999999",
         "deploy.yml", PROD, ["lock_wait=99999999999999999999"],
         "lock_wait='99999999999999999999' is not a whole number: " + LOCK_WAIT),
    case("serial-text", "deploy.yml -l production -e serial=abc (Ansible itself crashed on it after the plan)",
         "deploy.yml", PROD, ["serial=abc"], "serial='abc' is not a whole number: " + SERIAL),
    case("serial-percent", "deploy.yml -e serial=150%",
         "deploy.yml", PROD, ["serial=150%"], "serial='150%' is not a percentage from 1% to 100%: " + SERIAL),
    case("lock_ttl-role", "deploy.yml -e deploy_lock_ttl=5 (a role variable set directly: the role's own check, "
         "before it reads staging's state)",
         "deploy.yml", PROD, ["deploy_lock_ttl=5"],
         "deploy_lock_ttl='5' is out of range: use a whole number of seconds from 60 to 604800"),
    case("several-at-once", "deploy.yml with three bad values at once: each is named",
         "deploy.yml", PROD, ["force=maybe", "serial=0", {"version": "v1.5.0", "service": "core"}],
         "'v1.5.0' has a 'v' prefix", "force='maybe' " + BOOL, "serial='0' is out of range"),
]

ROLLBACK = [
    case("service-traversal", "rollback.yml -e service=../../etc/passwd (no version: it used to reach the hosts)",
         "rollback.yml", PROD, ["service=../../etc/passwd"], "service: '../../etc/passwd' " + SERVICE_RULE),
    case("service-unknown", "rollback.yml -e service=nosuch (no version: it used to reach the hosts)",
         "rollback.yml", PROD, ["service=nosuch"],
         "service: unknown service 'nosuch': the catalogue (aegee_services) has core, events, frontend, mailer"),
    case("version-shell", "rollback.yml -e version='1.4.1 && touch /tmp/pwned'",
         "rollback.yml", PROD, [{"service": "core", "version": "1.4.1 && touch /tmp/pwned"}],
         "version: '1.4.1 && touch /tmp/pwned' " + NOT_SEMVER),
    case("reason-empty", "rollback.yml -e reason= (empty)",
         "rollback.yml", PROD, ["service=core", "reason="],
         "reason is empty: use a line of text of at most 500 characters saying why, or leave it out"),
    case("reason-long", "rollback.yml -e reason=<%d characters>" % LONG,
         "rollback.yml", PROD, [{"service": "core", "reason": "x" * LONG}],
         "(%d characters) is %d characters long: %s" % (LONG, LONG, REASON), long_value="x" * LONG),
    case("reason-yaml", "rollback.yml -e reason='oops\\nmark_bad: {core: 1.5.0}' (YAML injection by a line break)",
         "rollback.yml", PROD, [{"service": "core", "reason": "oops\nmark_bad: {core: 1.5.0}"}],
         "has control characters (line breaks, tabs, escapes): " + REASON),
    case("reason-dict", "rollback.yml -e '{\"reason\": {\"a\": 1}}' (wrong type)",
         "rollback.yml", PROD, [{"service": "core", "reason": {"a": 1}}],
         "reason={'a': 1} is not text (got dict): " + REASON),
    case("force-maybe", "rollback.yml -e force=maybe",
         "rollback.yml", PROD, ["service=core", "force=maybe"], "force='maybe' " + BOOL),
    case("serial-text", "rollback.yml -e serial=abc (Ansible itself crashed on it)",
         "rollback.yml", PROD, ["service=core", "serial=abc"], "serial='abc' is not a whole number: " + SERIAL),
]

SMOKE_STATUS = [
    case("service-traversal", "smoke.yml -e service=../../etc/passwd (it used to reach the hosts)",
         "smoke.yml", STAGING, ["service=../../etc/passwd"], "service: '../../etc/passwd' " + SERVICE_RULE),
    case("services-json", "smoke.yml -e '{\"services\": 5}' (wrong type; a template error before)",
         "smoke.yml", STAGING, [{"services": 5}], "services must be a comma separated string or a list, got int"),
    case("html_path-traversal", "status.yml -e status_html_path=../../etc/passwd (a page written over any file)",
         "status.yml", None, ["status_html_path=../../etc/passwd"],
         "status_html_path='../../etc/passwd' is not a file name ending in .html or .htm: use the path of an .html "
         "file, or an empty string for no page"),
]


def check_bad_value(canary, reliability, play, argv, expected, long_value):
    out = run_bad(canary, reliability, play, argv)
    expect(out, reliability, *expected)
    if long_value:
        assert long_value[:200] not in out
        reliability.checked("the %d-character value is not echoed (shown cut to 60 characters)" % len(long_value))


@pytest.mark.parametrize(("play", "argv", "expected", "long_value"), DEPLOY)
def test_deploy_refuses(canary, reliability, play, argv, expected, long_value):
    check_bad_value(canary, reliability, play, argv, expected, long_value)


@pytest.mark.parametrize(("play", "argv", "expected", "long_value"), ROLLBACK)
def test_rollback_refuses(canary, reliability, play, argv, expected, long_value):
    check_bad_value(canary, reliability, play, argv, expected, long_value)


@pytest.mark.parametrize(("play", "argv", "expected", "long_value"), SMOKE_STATUS)
def test_smoke_and_status_refuse(canary, reliability, play, argv, expected, long_value):
    check_bad_value(canary, reliability, play, argv, expected, long_value)


# ------------------------------------------------------------------ inventory


def _drop(data, *names):
    for name in names:
        data.pop(name, None)


BROKEN_SCENARIOS = "/tmp/aegee-bad-input-scenarios"


def _broken_scenarios():
    """A scenario folder whose second scenario does not compile (an unclosed call)."""
    os.makedirs(BROKEN_SCENARIOS, exist_ok=True)
    with open(os.path.join(BROKEN_SCENARIOS, "test_home.py"), "w") as handle:
        handle.write("def test_home(page):\n    page.goto('/')\n")
    with open(os.path.join(BROKEN_SCENARIOS, "test_broken.py"), "w") as handle:
        handle.write("def test_broken(page):\n    page.goto('/'\n    page.click('#go')\n")
    return BROKEN_SCENARIOS


def _set(name, value):
    def change(data):
        data[name] = value
    return change


INVENTORY_CASES = [
    # (id, case, group_vars file, change, -l, expected texts)
    ("no-services", "inventory without aegee_services", "all.yml",
     lambda d: _drop(d, "aegee_services"), PROD, [
         "aegee_services is not set: define it in the inventory (the service catalogue, service name to {image: "
         "REPOSITORY}) (on production-1, production-2)"]),
    ("no-deploy-root", "inventory without aegee_deploy_root", "all.yml",
     lambda d: _drop(d, "aegee_deploy_root"), STAGING, [
         "aegee_deploy_root is not set: define it in the inventory (the deploy repo's checkout on the host, an "
         "absolute path such as /srv/myaegee) (on staging-1)"]),
    ("no-repo", "inventory without aegee_deploy_repo_url and aegee_deploy_repo_branch", "all.yml",
     lambda d: _drop(d, "aegee_deploy_repo_url", "aegee_deploy_repo_branch"), PROD, [
         "aegee_deploy_repo_url is not set", "aegee_deploy_repo_branch is not set"]),
    ("root-traversal", "aegee_deploy_root=/srv/myaegee/../../etc (path traversal)", "all.yml",
     _set("aegee_deploy_root", "/srv/myaegee/../../etc"), PROD, [
         "aegee_deploy_root must be an absolute path without '..' (not / itself), such as /srv/myaegee, got "
         "'/srv/myaegee/../../etc'"]),
    ("root-undefined", "aegee_deploy_root='{{ testbed_rooot }}/srv' (a typo in a template)", "all.yml",
     _set("aegee_deploy_root", "{{ testbed_rooot }}/srv"), STAGING, [
         "aegee_deploy_root of staging-1 cannot be used: 'testbed_rooot' is undefined"]),
    ("branch-option", "aegee_deploy_repo_branch='--upload-pack=touch /tmp/pwned' (an option for git)", "all.yml",
     _set("aegee_deploy_repo_branch", "--upload-pack=touch /tmp/pwned"), STAGING, [
         "aegee_deploy_repo_branch must be a git branch name such as stable (no spaces, '..', or leading '-')"]),
    ("image-tag", "a catalogue image with a tag (aegee_services.core.image=aegee/core:latest)", "all.yml",
     _set("aegee_services", {"core": {"image": "localhost:5000/aegee/core:latest"}}), STAGING, [
         "aegee_services core: image 'localhost:5000/aegee/core:latest' names a tag or digest (:latest)"]),
    ("check-no-url", "an extra check with neither url nor command (aegee_extra_checks=[{name: db}])", "all.yml",
     _set("aegee_extra_checks", [{"name": "db"}]), STAGING, [
         'aegee_extra_checks[0] "db": has neither url nor command: give a url to GET from the host, or a command '
         "to run on it"]),
    ("browser-no-python", "browser checks (aegee_browser_checks) but no aegee_browser_python", "all.yml",
     lambda d: _drop(d, "aegee_browser_python"), STAGING, [
         "aegee_browser_python is not set: the browser check of frontend needs a Python with Playwright on the "
         "host"]),
    ("scenarios-missing", "browser scenarios in a folder that does not exist (aegee_browser_scenarios)", "all.yml",
     _set("aegee_browser_scenarios", "/nonexistent/myaegee/tests/browser"), STAGING, [
         "aegee_browser_scenarios: /nonexistent/myaegee/tests/browser does not exist on the controller: name the "
         "folder of the browser scenarios (test_*.py files), or one scenario file (on staging-1)"]),
    ("scenarios-syntax", "a browser scenario with a syntax error (test_broken.py line 2: an unclosed call)", "all.yml",
     lambda d: d.update(aegee_browser_scenarios=_broken_scenarios()), STAGING, [
         "aegee_browser_scenarios: %s/test_broken.py line 2 does not compile: '(' was never closed"
         % BROKEN_SCENARIOS]),
    ("promote-from", "aegee_promote_from names no inventory group", "production.yml",
     _set("aegee_promote_from", "stagign"), PROD, [
         "aegee_promote_from='stagign' is not an inventory group with hosts"]),
]


@pytest.fixture(scope="module")
def inventory_copy(tmp_path_factory):
    def make(name, file, change):
        dest = tmp_path_factory.mktemp("inventory-" + name)
        shutil.copytree(os.path.join(REPO_ROOT, "inventories", "testbed"), str(dest), dirs_exist_ok=True)
        path = os.path.join(str(dest), "group_vars", file)
        with open(path) as handle:
            data = yaml.safe_load(handle)
        change(data)
        with open(path, "w") as handle:
            yaml.safe_dump(data, handle)
        return str(dest)
    return make


@pytest.mark.parametrize(
    ("name", "file", "change", "limit", "expected"),
    [pytest.param(n, f, c, lim, e, id=n, marks=pytest.mark.reliability("input", "inventory", text))
     for n, text, f, c, lim, e in INVENTORY_CASES],
)
def test_bad_inventory(canary, reliability, inventory_copy, name, file, change, limit, expected):
    inventory = inventory_copy(name, file, change)
    out = run_bad(canary, reliability, "deploy.yml", ["-l", limit], inventory=inventory)
    expect(out, reliability, *expected)


# ------------------------------------------------------------------ positive control


@pytest.mark.reliability("input", "control", "smoke.yml -l staging, a valid run: the canaries log it")
def test_the_canaries_log_a_run_that_reaches_a_host(canary, reliability):
    env = ansible_env()
    env.pop("SSH_CONNECTION", None)
    for log in canary["logs"].values():
        open(log, "w").close()
    proc = playbook("smoke.yml", "-l", "staging", "-e", "ansible_python_interpreter=" + canary["python"],
                    "-e", "ansible_ssh_executable=" + canary["ssh"], check=False, env=env)
    out = proc.stdout + proc.stderr
    interpreter, ssh = _read(canary["logs"]["interpreter"]), _read(canary["logs"]["ssh"])
    reliability.did("smoke.yml rc=%d; canary interpreter: %d line(s), canary ssh: %d line(s)"
                    % (proc.returncode, len(interpreter), len(ssh)))
    assert interpreter, "the canary interpreter logged nothing for a run that reached staging-1:\n" + out[-3000:]
    assert all(" 127.0.0.2 2222 " in line for line in interpreter), interpreter
    reliability.checked("the canary interpreter logged the module run on staging-1 (SSH_CONNECTION ... 127.0.0.2 "
                        "2222)")
    assert ssh and all("127.0.0.2" in line for line in ssh), ssh
    reliability.checked("the canary ssh logged the connection to 127.0.0.2")
    assert pwned() == []
