# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules' command runner on a real AnsibleModule and real processes: a program that cannot be started is a
failed command (rc 127, the reason on stderr), never the module's end (found by the fleet benchmark: a missing
browser Python ended compose_release inside a release, its pins left on disk and nothing recorded)."""

from __future__ import annotations

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.aegee.deploy.plugins.module_utils._command import NOT_STARTED, runner, timed


def _module():
    with patch_module_args({}):
        return basic.AnsibleModule(argument_spec={})


def test_a_program_that_runs_answers_as_usual():
    run = runner(_module())
    assert run(["sh", "-c", "printf out; printf err >&2; exit 3"]) == (3, "out", "err")


def test_data_and_environment_reach_the_program():
    run = runner(_module(), binary_data=True)
    rc, out, _err = run(["sh", "-c", 'cat; printf " $AEGEE_X $LC_ALL"'], data="in", env={"AEGEE_X": "x"})
    assert (rc, out) == (0, "in x C")


def test_a_missing_program_is_a_failed_command_not_the_modules_end(tmp_path):
    missing = str(tmp_path / "no-such-python")
    rc, out, err = runner(_module())([missing, "-c", "pass"])
    assert rc == NOT_STARTED
    assert out == ""
    assert err.startswith("cannot run %s: " % missing)
    assert "No such file" in err


def test_the_timings_say_a_command_run_again_and_again_once():
    timings, seen = [], []
    run = timed(lambda argv, cwd=None, data=None: seen.append(argv) or (0, "", ""), timings)
    for cid in ("c1", "c1", "c2", "c1"):
        assert run(["docker", "inspect", "--type", "container", "--format", "{{json .State}}", cid]) == (0, "", "")
    run(["docker", "ps"])
    run(["docker", "inspect", "--type", "container", "--format", "{{json .State}}", "c1"])
    assert len(seen) == 6
    assert [t.split("s ", 1)[1] for t in timings] == ["docker inspect container {{json .State}} (4 times)",
                                                      "docker ps", "docker inspect container {{json .State}}"]
