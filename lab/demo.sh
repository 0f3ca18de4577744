#!/usr/bin/env bash
# The main job on the lab: a bad release takes the API down, and the API downtime playbook
# assesses, declares, rolls back, verifies and resolves it, leaving a post-mortem draft.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
incident="INC-demo-$(date -u +%Y%m%dT%H%M%S)"

echo "== lab/labctl inject api_down   (a bad release: pynomaly-api on a crash-looping image)"
lab/labctl inject api_down

echo
echo "== ansible-playbook playbooks/incident_api_down.yml -e incident_id=$incident -e incident_resolve=true --check"
.venv/bin/ansible-playbook playbooks/incident_api_down.yml -e "incident_id=$incident" -e incident_resolve=true --check \
  | tail -n 4

echo
echo "== ansible-playbook playbooks/incident_api_down.yml -e incident_id=$incident -e incident_resolve=true"
.venv/bin/ansible-playbook playbooks/incident_api_down.yml -e "incident_id=$incident" -e incident_resolve=true

echo
echo "== the same again: nothing left to do, nothing sent twice"
.venv/bin/ansible-playbook playbooks/incident_api_down.yml -e "incident_id=$incident" -e incident_resolve=true \
  | tail -n 4

echo
echo "== lab/labctl heal   (clears only what the lab injected)"
lab/labctl heal
