# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared with the hosts' side: the deploy root that test_status_table reads through collect()."""

from __future__ import annotations

from ansible_collections.aegee.deploy.tests.unit.plugins.module_utils.test_status import root  # noqa: F401 pylint: disable=unused-import
