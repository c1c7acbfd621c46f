#!/usr/bin/python
# Copyright (c) aegee.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: notify
short_description: Tell Slack, Mattermost, Matrix or a webhook how a release went
version_added: 0.2.0
description:
  - Runs once at the end of a deploy, promote or rollback (the roles C(aegee.deploy.deploy) and
    C(aegee.deploy.rollback) call it from their report step, on the controller) with the hosts' records of the
    release (filter C(aegee.deploy.release_record)).
  - The run's events are C(success) (a deploy or promote that ended well, also with nothing to change), C(failure)
    (a host failed, restored or not, or was locked), C(rollback) (a rollback that ended well) and C(hold_released)
    (a deploy released the hold on a bad version). Each target gets one message when one of its O(targets[].events)
    is among them. Nothing is sent in check mode.
  - The message carries the environment, the hosts, each service's from and to, the actor, the result and the
    status page's address (O(status_url)) when there is one.
  - Slack through M(community.general.slack), Mattermost through M(community.general.mattermost), Matrix (the
    client-server API's C(m.room.message)) and the generic webhook (a JSON C(POST)) through M(ansible.builtin.uri)
    with O(timeout).
  - The webhook's JSON has C(events), C(action), C(environment), C(hosts), C(actor), C(result), C(services) (a list
    of C(host), C(service), C(from), C(to), C(digest), C(result)), C(status_url) and C(text) (the chat message).
  - A target that cannot be reached or answers an error is a warning naming its type and name, never its URL or
    token; the task never fails. Give the task C(no_log=true) (the roles do) so that no URL or token appears in the
    output, also at C(-vvv).
  - An action that runs on the controller (the modules it calls run through the task's connection; the roles
    delegate it to C(localhost)). This file only documents it (the code is the action plugin of the same name).
options:
  targets:
    description: The notification targets (C(aegee_notify)).
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: The kind of target.
        type: str
        required: true
        choices: [slack, mattermost, matrix, webhook]
      name:
        description: A name for the warnings (never the URL).
        type: str
      url:
        description:
          - Mattermost's address, the Matrix homeserver's address, or the webhook's URL. Keep it in a vault.
        type: str
      token:
        description:
          - Slack's webhook token (C(T000/B000/XXX)), Mattermost's hook key, Matrix's access token, or a bearer token
            for the webhook. Keep it in a vault.
        type: str
      room:
        description: The Matrix room id (C(!abc:example.org)).
        type: str
      channel:
        description: Slack's or Mattermost's channel, when not the hook's own.
        type: str
      headers:
        description: Extra HTTP headers of the webhook.
        type: dict
      events:
        description: The events this target hears of.
        type: list
        elements: str
        choices: [success, failure, rollback, hold_released]
        default: [success, failure, rollback]
  records:
    description: The hosts' records of the release (filter C(aegee.deploy.release_record)).
    type: list
    elements: dict
    required: true
  status_url:
    description: The status page's address, for the message.
    type: str
  timeout:
    description:
      - Seconds to wait for the webhook and Matrix. The Slack and Mattermost modules have their own fixed timeout
        (10 s).
    type: int
    default: 5
extends_documentation_fragment:
  - aegee.deploy.attributes
attributes:
  check_mode:
    support: full
    details: A run in check mode has no events, so nothing is sent.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Each run sends its message again.
author:
  - aegee.deploy contributors (@aegee)
seealso:
  - module: community.general.slack
  - module: community.general.mattermost
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Tell the team
  aegee.deploy.notify:
    targets: "{{ aegee_notify }}"
    records: "{{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('__release_record', 'defined')
                 | map(attribute='__release_record') | list }}"
    status_url: https://status.example.org/
  delegate_to: localhost
  run_once: true
  no_log: true
"""

RETURN = r"""
sent:
  description: The targets that got the message (type and name).
  returned: always
  type: list
  elements: str
events:
  description: The run's events.
  returned: always
  type: list
  elements: str
"""
