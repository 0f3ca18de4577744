# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can go wrong sending an incident update. Messages never hold a routing key, webhook URL or API key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError


class NotifyOptionsError(IncidentResponseError):
    """The options cannot be used (a channel without its connection values, an update key too long, ...)."""


class ChannelFailed(IncidentResponseError):
    """One channel refused or never answered the update, after the bounded retries."""
