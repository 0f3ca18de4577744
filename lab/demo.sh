#!/usr/bin/env bash
# The main job on the lab, as an on-call engineer would run it.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
echo "== ansible-playbook playbooks/lab_health.yml (inventory/lab)"
.venv/bin/ansible-playbook playbooks/lab_health.yml
