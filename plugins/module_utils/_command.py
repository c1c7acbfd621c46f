# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""The ``run(argv, cwd=None, data=None, env=None)`` callable the modules hand to the release code.

``AnsibleModule.run_command`` ends the module at once (``fail_json``) when a
command cannot be started at all (a missing program, a Python interpreter that
is not there). Inside a release that would skip the restore, the history and
the unlock: the files would stay pinned with nobody's record of it. Here such
a command is a failed command like any other: rc 127 and the reason on
stderr, which the release handles (restore, record, a message naming the
program).
"""

from __future__ import annotations

import time

NOT_STARTED = 127  # what a shell answers for a command it cannot find


def runner(module, binary_data=False):
    """``run(argv, cwd=None, data=None, env=None)`` -> ``(rc, stdout, stderr)`` through ``module``; never exits."""

    def run(argv, cwd=None, data=None, env=None):
        try:
            return module.run_command(argv, cwd=cwd, data=data, binary_data=binary_data and data is not None,
                                      environ_update=dict(env or {}, LC_ALL="C"), handle_exceptions=False)
        except OSError as exc:
            return NOT_STARTED, "", "cannot run %s: %s" % (argv[0] if argv else "(nothing)", exc.strerror or exc)

    return run


def timed(run, timings):
    """``run`` that appends ``"<seconds>s <what>"`` to ``timings`` for each command (its first words, no options
    or paths); the same command again and again (a health wait's looks) stays one line: their sum, how many."""
    last = {}

    def timed_run(argv, cwd=None, data=None, **env):
        start = time.time()
        try:
            return run(argv, cwd=cwd, data=data, **env)
        finally:
            words = " ".join([a for a in argv if not a.startswith("-") and "/" not in a][:4])
            took = time.time() - start
            if timings and last.get("words") == words:
                last["took"] += took
                last["times"] += 1
                timings[-1] = "%.2fs %s (%d times)" % (last["took"], words, last["times"])
            else:
                last.update(words=words, took=took, times=1)
                timings.append("%.2fs %s" % (took, words))

    return timed_run
