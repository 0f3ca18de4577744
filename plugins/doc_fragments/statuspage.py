# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Statuspage connection and retry options, shared by every Statuspage module.
    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the Statuspage REST API v1.
      - Falls back to the E(STATUSPAGE_API_URL) environment variable, then the real API.
      - Point it at a stand-in (the lab exports E(STATUSPAGE_API_URL)) to rehearse.
    type: str
    default: https://api.statuspage.io/v1
  api_key:
    description:
      - "Statuspage API key, sent as C(Authorization: OAuth <key>). Never logged."
      - Falls back to the E(STATUSPAGE_API_KEY) environment variable.
    type: str
    required: true
  page_id:
    description:
      - Id of the status page the incident belongs to.
      - Falls back to the E(STATUSPAGE_PAGE_ID) environment variable.
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: float
    default: 10.0
  max_attempts:
    description:
      - Most attempts per API call. A 429 (rate limit) waits what its C(Retry-After) header asks;
        a 5xx answer or a connection error backs off exponentially with jitter.
      - A create or update that got a 5xx or lost its connection may have taken effect, so it is never
        resent as is; the incident is read again and only what still differs is written.
      - C(1) disables retries.
    type: int
    default: 5
  max_retry_time:
    description:
      - Most seconds spent retrying one API call. A wait that would cross it is not started and the
        task fails with the last answer.
    type: float
    default: 60.0
requirements:
  - tenacity (Python library) on the host that runs the module
notes:
  - Statuspage limits each API key to one request per second on a rolling 60-second window;
    the module reads before it writes and writes only what differs, so reruns cost only reads.
'''
