# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted ``run(argv, cwd, data)``: what the module_utils get instead of AnsibleModule.run_command."""

from __future__ import annotations


class FakeRun:
    """Answers commands by their argv prefix; records every call as ``(argv, cwd, data)``.

    ``answers`` maps an argv prefix (a tuple) to ``(rc, stdout, stderr)`` or to
    an exception to raise, or to a list of those, answered in turn (the last
    one repeats); the first matching prefix wins, ``default`` answers the rest.
    """

    def __init__(self, answers=None, default=(0, "", "")):
        self.answers = list((answers or {}).items())
        self.default = default
        self.calls = []

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append((list(argv), cwd, data))
        for prefix, answer in self.answers:
            if list(argv[: len(prefix)]) == list(prefix):
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if isinstance(answer, Exception):
                    raise answer
                return answer
        return self.default
