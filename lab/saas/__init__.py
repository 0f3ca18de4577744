"""Stand-ins for the SaaS services incident response talks to: Statuspage, Slack, PagerDuty.

One aiohttp process serves all three plus a lab-only admin API under /_lab/v1; every call to a
stand-in is recorded so tests can read back exactly what a playbook sent.
"""
