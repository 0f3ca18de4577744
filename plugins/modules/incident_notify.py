#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: incident_notify
short_description: Send an incident update to PagerDuty, Slack and Statuspage, once per update
version_added: 0.2.0
description:
  - One call sends one incident update to every enabled channel, in this order - a PagerDuty Events API v2
    event, a Slack incoming-webhook message, the Statuspage incident - so paging never waits for the status page.
  - Each channel gets each update once. What every channel was sent is kept in the incident record (see
    M(pynomaly.incident_response.incident)), so a rerun, another runner or an AWX job sends nothing twice.
    An update is known by O(update), O(severity) and O(status), never by its wording, so a rerun that words
    it differently is still the same update.
  - PagerDuty follows the severity policy - P0 pages (critical), P1 notifies (warning), P2 and P3 do not
    page; V(investigating) triggers, V(identified) and V(monitoring) acknowledge, V(resolved) resolves, a
    raised severity triggers again. The incident id is the C(dedup_key).
  - The Statuspage incident is opened by the first update; its id and shortlink are kept in the record, so
    every later update and the resolve go to the same incident, and Slack links to it.
  - Two runs sending the same update at once - one claims it in the record (a resourceVersion-guarded write)
    and sends it; the other reports it as sent by another run. A claim older than 60 seconds was left by a
    run that died and is taken over.
  - A channel that fails (an HTTP error after the retries, no connection) does not stop the others and
    does not fail the task unless O(fail_on_error=true); the update is kept in the record as pending
    and the next call sends it first. A 429 waits what its C(Retry-After) asks, a 5xx is retried with a
    short backoff, up to O(retries) attempts within 30 seconds of waiting.
  - When the cluster does not answer (it may be the incident), the updates are still sent and what was
    sent is kept aside in O(spool_dir), written into the record by the next run that reaches the cluster.
    Without the record to compare with, a channel may get an update it was already sent (PagerDuty folds
    a repeated event into the same alert).
  - Runs on the controller (an action plugin); it is in the C(k8s) action group.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
  - pynomaly.incident_response.incident_record
options:
  incident_id:
    description:
      - The incident. Its record must exist (open it with M(pynomaly.incident_response.incident)), unless
        the cluster is unreachable.
      - Also the PagerDuty C(dedup_key).
    type: str
    required: true
  severity:
    description: The incident's severity now; it decides whether PagerDuty pages and what Statuspage shows.
    type: str
    required: true
    choices: [P0, P1, P2, P3]
  status:
    description: The incident's status, as Statuspage names it.
    type: str
    choices: [investigating, identified, monitoring, resolved]
    default: investigating
  update:
    description:
      - The update's key, for example V(declared), V(contained) or V(resolved). With O(severity) and O(status)
        it names the update; a channel already sent it is not sent it again.
      - 1 to 64 letters, digits, C(.), C(_), C(:) or C(-). Defaults to O(status).
    type: str
  title:
    description:
      - A one-line title (the page's summary, the Slack header, the Statuspage incident's name).
      - Defaults to the record's title, then the incident id.
    type: str
  message:
    description: The update's text. Required unless O(pending_only=true).
    type: str
  commander:
    description: The incident commander. Defaults to the record's; C(unassigned) when there is none.
    type: str
  service_name:
    description: The PagerDuty event's C(source).
    type: str
    default: pynomaly-api
  pagerduty:
    description: PagerDuty Events API v2.
    type: dict
    suboptions:
      enabled:
        description: Send PagerDuty events. V(false) needs no connection values.
        type: bool
        default: true
      events_url:
        description: The Events API v2 endpoint. Falls back to E(PAGERDUTY_EVENTS_URL).
        type: str
        default: https://events.pagerduty.com/v2/enqueue
      routing_key:
        description:
          - The integration's routing key. Falls back to E(PAGERDUTY_ROUTING_KEY). Never logged.
          - Required while O(pagerduty.enabled=true).
        type: str
      action:
        description:
          - V(auto) follows the severity policy; V(none) sends no event for this update; an action forces it
            (still once).
        type: str
        choices: [auto, none, trigger, acknowledge, resolve]
        default: auto
  slack:
    description: Slack incoming webhook.
    type: dict
    suboptions:
      enabled:
        description: Post to Slack. V(false) needs no webhook.
        type: bool
        default: true
      webhook_url:
        description:
          - The incoming webhook's URL (the URL is the secret). Falls back to E(SLACK_WEBHOOK_URL). Never logged.
          - Required while O(slack.enabled=true).
        type: str
  statuspage:
    description: Atlassian Statuspage API v1.
    type: dict
    suboptions:
      enabled:
        description: Update the status page. V(false) needs no connection values.
        type: bool
        default: true
      api_url:
        description: Base URL of the Statuspage REST API v1. Falls back to E(STATUSPAGE_API_URL).
        type: str
        default: https://api.statuspage.io/v1
      page_id:
        description:
          - Id of the status page. Falls back to E(STATUSPAGE_PAGE_ID).
          - Required while O(statuspage.enabled=true).
        type: str
      api_key:
        description:
          - Statuspage API key. Falls back to E(STATUSPAGE_API_KEY). Never logged.
          - Required while O(statuspage.enabled=true).
        type: str
      components:
        description:
          - Component statuses to set with this update, component name (or id) to status - C(operational),
            C(under_maintenance), C(degraded_performance), C(partial_outage) or C(major_outage).
        type: dict
      impact:
        description: The impact shown. Defaults to the severity's (P0 critical, P1 major, P2 minor, P3 none).
        type: str
        choices: [none, minor, major, critical]
      deliver_notifications:
        description: Whether Statuspage notifies the page's subscribers.
        type: bool
        default: true
  pending_only:
    description:
      - Send only what earlier calls owe (updates a channel failed to take), nothing new. O(message) is then
        not needed.
    type: bool
    default: false
  fail_on_error:
    description:
      - Fail the task when a channel did not take the update. By default the task succeeds and reports
        RV(failed_channels), so the other channels still get later updates; fail at the end of the run.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each HTTP answer. 1 to 120.
    type: int
    default: 10
  retries:
    description: Most attempts per request (V(1) - no retry). 1 to 10.
    type: int
    default: 3
  spool_dir:
    description: Where what was sent waits while the cluster does not answer. Nothing is written here otherwise.
    type: path
    default: ~/.ansible/incident_spool
attributes:
  check_mode:
    support: full
    description: Sends nothing and writes nothing; RV(would_send) lists what a real run would send per channel.
  diff_mode:
    support: full
    description: The channels' state in the record before and after (in check mode, after a real run).
notes:
  - The channels' state in the record - C(sent) (the updates delivered, as C(update|severity|status)),
    C(pending) (owed, with the error and attempts), C(claims) (sends in flight), C(log), and PagerDuty's
    C(last_action) and C(severity), Statuspage's C(incident_id), C(shortlink) and C(status). Read it with
    M(pynomaly.incident_response.incident_info).
seealso:
  - module: pynomaly.incident_response.incident
  - module: pynomaly.incident_response.statuspage_update
'''

EXAMPLES = r'''
- name: Declare - page, post and open the status page incident
  pynomaly.incident_response.incident_notify:
    incident_id: "{{ incident.incident_id }}"
    update: declared
    severity: P0
    title: Checkout API failing
    message: Declared P0; the API answers 503 to every request.
    commander: alice
    pagerduty:
      routing_key: "{{ incident_pagerduty_routing_key }}"
    slack:
      webhook_url: "{{ incident_slack_webhook_url }}"
    statuspage:
      page_id: "{{ incident_statuspage_page_id }}"
      api_key: "{{ incident_statuspage_api_key }}"
      components:
        API: major_outage
  register: notified

- name: Contained - acknowledges the page, posts and updates the same Statuspage incident
  pynomaly.incident_response.incident_notify:
    incident_id: "{{ incident.incident_id }}"
    update: contained
    severity: P0
    status: identified
    message: A bad deploy was rolled back; error rate is falling.

- name: Send what an earlier call could not deliver
  pynomaly.incident_response.incident_notify:
    incident_id: "{{ incident.incident_id }}"
    severity: P0
    pending_only: true

- name: Fail the run at its end when a channel did not take an update
  ansible.builtin.fail:
    msg: "{{ notified.msg }}"
  when: notified.failed_channels | length > 0
'''

RETURN = r'''
incident_id:
  description: The incident.
  returned: always
  type: str
  sample: INC-20261204-163005-api_down
sent:
  description: The update keys each channel was sent by this call (pending ones first). Empty in check mode.
  returned: always
  type: dict
  sample: {"pagerduty": ["declared"], "slack": ["declared"], "statuspage": ["declared"]}
would_send:
  description: In check mode, the update keys each channel would be sent.
  returned: in check mode
  type: dict
  sample: {"pagerduty": ["declared"], "slack": ["declared"]}
skipped_channels:
  description:
    - Why a channel was not sent this call's update - C(already sent), C(sent by another run ...),
      PagerDuty's reason (C(P2 does not page ...), C(already triggered ...)), C(nothing differs),
      C(nothing pending) (with O(pending_only)), C(disabled).
    - Not named C(skipped), which would mark the task as skipped.
  returned: always
  type: dict
  sample: {"statuspage": "disabled", "slack": "already sent"}
failed_channels:
  description: The channels that did not take an update, with the reason (never a secret).
  returned: always
  type: dict
  sample: {"statuspage": "Gave up on GET /incidents/unresolved after 3 attempt(s) ..."}
pending:
  description: The update keys each channel still owes after this call (kept in the record, sent by the next call).
  returned: always
  type: dict
  sample: {"statuspage": ["declared"]}
pagerduty:
  description:
    - PagerDuty's decision for this call's update (with O(pending_only), for the last one owed) - C(action) (null
      when there is nothing to send), C(severity) (of a trigger) and C(reason). RV(failed_channels) says whether
      it reached PagerDuty.
  returned: always
  type: dict
  sample: {"action": "trigger", "severity": "critical", "reason": "P0: Page on-call engineer immediately"}
statuspage:
  description:
    - The Statuspage incident the record knows - C(incident_id), C(shortlink), C(status) (nulls before the first
      update reached Statuspage).
  returned: always
  type: dict
  sample: {"incident_id": "p31zjtct2jer", "shortlink": "https://stspg.io/abcde", "status": "investigating"}
retry_waits:
  description: Seconds waited before each retry, per channel that waited (a 429's Retry-After, or backoff).
  returned: always
  type: dict
  sample: {"statuspage": [2.0]}
store:
  description: V(cluster), V(local), or V(deferred) when the cluster did not answer.
  returned: always
  type: str
store_error:
  description: Why the cluster could not be reached.
  returned: when RV(store) is V(deferred)
  type: str
deferred:
  description: The spool file what was sent was kept in (null in check mode or when nothing changed).
  returned: when RV(store) is V(deferred)
  type: str
run_id:
  description: This run's id, as the record's claims and log name it.
  returned: always
  type: str
msg:
  description: What each channel was sent, or why not.
  returned: always
  type: str
'''
