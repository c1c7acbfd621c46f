# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Private to the aegee.deploy collection: not a public API, may change at any
# time without notice.
"""Argument specs shared by several modules, each paired with the doc fragment that documents it.

* ``registry_login_spec()``: doc fragment ``aegee.deploy.registry`` (registry, username, password);
* ``registry_api_spec()``: doc fragment ``aegee.deploy.registry.api`` (validate_certs, timeout, retries);
* ``deploy_root_spec()``: doc fragment ``aegee.deploy.deploy_root`` (root, state_dir).

A change to an option changes both halves of its pair (``plugins/doc_fragments/``); the unit tests compare
them. No imports beyond the standard library: modules that run on the hosts take these without shipping
anything else.
"""

from __future__ import annotations

import os

STATE_DIR = ".aegee"


def registry_login_spec():
    """Who talks to the registry; ``registry_username``/``registry_password`` are the older names, kept as aliases."""
    return {
        "registry": {"type": "str"},
        "username": {"type": "str", "aliases": ["registry_username"]},
        "password": {"type": "str", "no_log": True, "aliases": ["registry_password"]},
    }


def registry_api_spec():
    """How modules that read the registry's HTTP API talk to it."""
    return {
        "validate_certs": {"type": "bool", "default": True},
        "timeout": {"type": "int", "default": 30},
        "retries": {"type": "int", "default": 3},
    }


def registry_spec():
    """Both registry specs: the options of a module that reads the registry's API."""
    spec = registry_login_spec()
    spec.update(registry_api_spec())
    return spec


def registry_login(params):
    """``{registry, username, password}`` to log in with, or None when the username is empty (no login).

    ValueError, naming what is missing, when a username comes without a password or a registry.
    """
    if not params.get("username"):
        return None
    missing = [name for name in ("registry", "password") if not params.get(name)]
    if missing:
        raise ValueError("username is set, so the module logs in to the registry, but %s %s empty: set %s too, or "
                         "leave username empty for no login" % (" and ".join(missing),
                                                                "is" if len(missing) == 1 else "are",
                                                                " and ".join(missing)))
    return {"registry": params["registry"], "username": params["username"], "password": params["password"]}


def deploy_root_spec():
    """The deploy repo checkout on the host and the folder of its release state inside it."""
    return {
        "root": {"type": "path", "required": True},
        "state_dir": {"type": "str", "default": STATE_DIR},
    }


def scenario_spec():
    """The browser scenarios a module runs on the host, and the browser (doc fragment ``aegee.deploy.scenarios``)."""
    return {
        "scenarios": {"type": "dict", "default": {}},
        "scenario_markers": {"type": "str", "default": ""},
        "scenario_base_url": {"type": "str"},
        "scenario_account": {"type": "dict", "no_log": True},
        "scenario_timeout": {"type": "int", "default": 30},
        "scenario_suite_timeout": {"type": "int", "default": 300},
        "scenario_retries": {"type": "int", "default": 1, "choices": [0, 1]},
        "browser_python": {"type": "str", "default": "python3"},
        "browser_executable": {"type": "path", "default": "/usr/bin/chromium"},
    }


def is_state_dir(value):
    """Whether ``value`` can be a ``state_dir``: a folder inside the root (relative, no ``..``, not the root itself)."""
    return (isinstance(value, str) and not value.startswith("/") and ".." not in value.split("/")
            and bool(value.strip("/.")))


def deploy_root_problem(params):
    """The message for a ``root`` or ``state_dir`` that cannot be used, or None."""
    root, state_dir = params["root"], params["state_dir"]
    if not os.path.isabs(root) or ".." in root.split("/"):
        return "root must be an absolute path without '..', got %r" % root
    if not is_state_dir(state_dir):
        return "state_dir must be a folder name inside root, got %r" % state_dir
    return None
