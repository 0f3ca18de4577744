#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: http_probe
short_description: Probe an HTTP endpoint N times and judge it against error-rate and latency thresholds
version_added: 0.1.0
description:
  - Sends O(count) requests to O(url) from one process over at most O(concurrency) kept-alive connections,
    then returns the status code distribution, the error rate, and p50/p95/max latency.
  - Judges the endpoint against O(max_error_rate) and O(max_p95_seconds) (the incident playbook's
    5 % and 2 s) and returns RV(healthy). The task fails on an unhealthy endpoint only when
    O(fail_on_threshold=true).
  - An unreachable host is reported as errors (connection refused, timeout, name resolution) with a
    clear message, never a traceback.
  - Read-only; runs the same in check mode and never reports a change.
author:
  - Pynomaly Platform Engineering (@pynomaly)
options:
  url:
    description: The http:// or https:// URL to request.
    type: str
    required: true
  method:
    description: HTTP method. Only safe methods are offered, so probing never changes the service.
    type: str
    choices: [GET, HEAD]
    default: GET
  headers:
    description: Extra request headers (for example an C(Authorization) header). Never logged.
    type: dict
  count:
    description: How many requests to send in total.
    type: int
    default: 20
  concurrency:
    description: How many requests may be in flight at once.
    type: int
    default: 4
  timeout:
    description: Seconds to wait for each response; a request that takes longer counts as an error.
    type: float
    default: 5.0
  expected_status:
    description: Status codes that count as success; any other status is an error.
    type: list
    elements: int
    default: [200]
  max_error_rate:
    description: Highest acceptable share of failed requests, between 0 and 1.
    type: float
    default: 0.05
  max_p95_seconds:
    description: Highest acceptable 95th percentile latency, in seconds.
    type: float
    default: 2.0
  fail_on_threshold:
    description: Fail the task when a threshold is exceeded (by default only RV(healthy) says so).
    type: bool
    default: false
  validate_certs:
    description: Verify the server's TLS certificate for https URLs.
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify the server's certificate with, instead of the system's.
    type: path
attributes:
  check_mode:
    support: full
    description: Probing only reads; check mode sends the same requests and reports the same figures.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
notes:
  - Latency is measured from sending the request to reading the whole response body, per request.
  - Percentiles use the nearest-rank method over every request, failed ones included.
'''

EXAMPLES = r'''
- name: Is the API healthy? (the playbook's "curl -f .../health" done 50 times)
  pynomaly.incident_response.http_probe:
    url: https://api.example.com/health
    count: 50
    concurrency: 5
  register: probe

- name: Verify the rollback fixed it, failing the play otherwise
  pynomaly.incident_response.http_probe:
    url: "{{ pynomaly_api_url }}/health"
    count: 100
    max_error_rate: 0.01
    max_p95_seconds: 1.5
    fail_on_threshold: true
'''

RETURN = r'''
requests:
  description: Number of requests sent.
  returned: always
  type: int
  sample: 50
failed_requests:
  description: Requests that got no response or a status outside O(expected_status).
  returned: always
  type: int
  sample: 1
status_codes:
  description: How many responses had each status code (keys are the codes as strings).
  returned: always
  type: dict
  sample: {"200": 49, "503": 1}
errors:
  description: Requests that got no response at all, counted by reason.
  returned: always
  type: dict
  sample: {"connection refused": 3, "timeout": 1}
error_rate:
  description: RV(failed_requests) divided by RV(requests), between 0 and 1.
  returned: always
  type: float
  sample: 0.02
latency:
  description: Latency in seconds over all requests.
  returned: always
  type: dict
  contains:
    p50:
      description: Median.
      type: float
      returned: always
    p95:
      description: 95th percentile.
      type: float
      returned: always
    max:
      description: Slowest request.
      type: float
      returned: always
    min:
      description: Fastest request.
      type: float
      returned: always
    mean:
      description: Average.
      type: float
      returned: always
  sample: {"p50": 0.012, "p95": 0.031, "max": 0.2, "min": 0.004, "mean": 0.015}
healthy:
  description: Whether the error rate and p95 latency are within the thresholds.
  returned: always
  type: bool
  sample: true
problems:
  description: One sentence per exceeded threshold; empty when healthy.
  returned: always
  type: list
  elements: str
  sample: ["error rate 12.0% is above 5.0%"]
thresholds:
  description: The thresholds the endpoint was judged against.
  returned: always
  type: dict
  sample: {"max_error_rate": 0.05, "max_p95_seconds": 2.0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.http_probe import (
    HttpProbe,
    ProbeError,
    summarize,
)


def validate(params):
    if params['count'] < 1:
        raise ProbeError('count must be at least 1, got %d' % params['count'])
    if params['concurrency'] < 1:
        raise ProbeError('concurrency must be at least 1, got %d' % params['concurrency'])
    if params['timeout'] <= 0:
        raise ProbeError('timeout must be a positive number of seconds, got %s' % params['timeout'])
    if not 0 <= params['max_error_rate'] <= 1:
        raise ProbeError('max_error_rate must be between 0 and 1 (0.05 means 5 %%), got %s' % params['max_error_rate'])
    if params['max_p95_seconds'] <= 0:
        raise ProbeError('max_p95_seconds must be positive, got %s' % params['max_p95_seconds'])
    if not params['expected_status']:
        raise ProbeError('expected_status must list at least one status code')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            method=dict(type='str', default='GET', choices=['GET', 'HEAD']),
            headers=dict(type='dict', no_log=True),
            count=dict(type='int', default=20),
            concurrency=dict(type='int', default=4),
            timeout=dict(type='float', default=5.0),
            expected_status=dict(type='list', elements='int', default=[200]),
            max_error_rate=dict(type='float', default=0.05),
            max_p95_seconds=dict(type='float', default=2.0),
            fail_on_threshold=dict(type='bool', default=False),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate(params)
        probe = HttpProbe(params['url'], method=params['method'], headers=params['headers'],
                          timeout=params['timeout'], validate_certs=params['validate_certs'],
                          ca_path=params['ca_path'])
        outcomes = probe.run(params['count'], params['concurrency'])
    except (ProbeError, OSError, ValueError) as exc:
        module.fail_json(msg='http_probe: %s' % exc, changed=False)
    result = summarize(outcomes, params['expected_status'], params['max_error_rate'], params['max_p95_seconds'])
    result['thresholds'] = dict(max_error_rate=params['max_error_rate'], max_p95_seconds=params['max_p95_seconds'])
    result['changed'] = False
    if result['healthy']:
        msg = '%s is healthy: %d requests, error rate %.1f%%, p95 %.3fs' % (
            params['url'], result['requests'], result['error_rate'] * 100, result['latency']['p95'])
    else:
        msg = '%s is unhealthy: %s' % (params['url'], '; '.join(result['problems']))
        if result['errors'] and not result['status_codes']:
            msg += ' (unreachable: %s)' % ', '.join(sorted(result['errors']))
    result['msg'] = msg
    if params['fail_on_threshold'] and not result['healthy']:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
