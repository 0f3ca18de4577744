"""Fixtures for statuspage_update: the lab's Statuspage stand-in on a clean page, read back directly."""
import pytest
import requests


class PageReader:
    """Reads the stand-in's real state (never through the module under test)."""

    def __init__(self, lab_values):
        self.base = f"{lab_values['STATUSPAGE_API_URL']}/pages/{lab_values['STATUSPAGE_PAGE_ID']}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"OAuth {lab_values['STATUSPAGE_API_KEY']}"

    def get(self, path, **params):
        resp = self.http.get(self.base + path, params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def incidents(self):
        found, page = [], 1
        while True:
            batch = self.get("/incidents", page=page, limit=100)
            found += batch
            if len(batch) < 100:
                return found
            page += 1

    def incident(self, incident_id):
        return self.get(f"/incidents/{incident_id}")

    def component_status(self, name):
        return next(c["status"] for c in self.get("/components") if c["name"] == name)


@pytest.fixture
def page(lab, saas_admin):
    """A clean page with the rate limit off (it has its own test) and an empty call log."""
    saas_admin.rate_limit(enabled=False)
    return PageReader(lab)


@pytest.fixture
def conn(lab):
    """Connection options for the module, given explicitly (the env fallbacks have their own test)."""
    return {"api_url": lab["STATUSPAGE_API_URL"], "page_id": lab["STATUSPAGE_PAGE_ID"],
            "api_key": lab["STATUSPAGE_API_KEY"]}


@pytest.fixture
def writes(saas_admin):
    """The non-GET calls the stand-in received since the last clear."""
    def _writes():
        return [(c["method"], c["path"]) for c in saas_admin.calls("statuspage") if c["method"] != "GET"]
    return _writes
