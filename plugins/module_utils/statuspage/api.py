# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin wrappers over the Statuspage API v1 calls incident response makes, one per call.

Listings page through every result (never assume one page). Return values are the API's own
objects, keys untouched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import (
    StatuspageErrorHandler,
)

PAGE_SIZE = 100
# A page with more than this many pages of results is not a status page we should be scanning.
MAX_PAGES = 100


def _incident_path(incident_id):
    return "/incidents/%s" % quote(incident_id, safe="")


def _paginate(client, path, size_param, extra=None, stop=None):
    """Every item of a paged listing, page after page until a short page; `stop(item)` ends it early."""
    for page in range(1, MAX_PAGES + 1):
        query = dict(extra or {})
        query.update({"page": page, size_param: PAGE_SIZE})
        items = client.get(path, query=query) or []
        for item in items:
            yield item
            if stop is not None and stop(item):
                return
        if len(items) < PAGE_SIZE:
            return


@StatuspageErrorHandler.common_error_handler("list the page's unresolved incidents")
def list_unresolved_incidents(client):
    return list(_paginate(client, "/incidents/unresolved", "per_page"))


@StatuspageErrorHandler.common_error_handler("search the page's incidents")
def find_latest_incident_named(client, name):
    """The newest incident (any status) whose name is exactly `name`, or None."""
    found = []

    def exact(item):
        if item.get("name") == name:
            found.append(item)
            return True
        return False

    for _item in _paginate(client, "/incidents", "limit", extra={"q": name}, stop=exact):
        pass
    return found[0] if found else None


@StatuspageErrorHandler.list_error_handler("read the incident")
def get_incident(client, incident_id):
    return client.get(_incident_path(incident_id))


@StatuspageErrorHandler.common_error_handler("create the incident")
def create_incident(client, fields):
    return client.post("/incidents", {"incident": fields})


@StatuspageErrorHandler.common_error_handler("update the incident")
def update_incident(client, incident_id, fields):
    return client.patch(_incident_path(incident_id), {"incident": fields})


@StatuspageErrorHandler.list_error_handler("delete the incident")
def delete_incident(client, incident_id):
    return client.delete(_incident_path(incident_id))


@StatuspageErrorHandler.common_error_handler("list the page's components")
def list_components(client):
    return list(_paginate(client, "/components", "per_page"))
