# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text that must fit an API's limit (a page's summary, a Slack header)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def clip(text, limit):
    """At most `limit` characters, cut at a word with '...' when it is longer."""
    if len(text) <= limit:
        return text
    head = text[:limit - 3]
    return (head.rsplit(' ', 1)[0] if ' ' in head else head) + '...'
