"""Fixtures for the SaaS stand-in tests: authenticated Statuspage calls on a clean page."""
import pytest
import requests


class StatuspageApi:
    def __init__(self, lab_values, api_key=None):
        self.base = f"{lab_values['STATUSPAGE_API_URL']}/pages/{lab_values['STATUSPAGE_PAGE_ID']}"
        self.http = requests.Session()
        key = lab_values["STATUSPAGE_API_KEY"] if api_key is None else api_key
        if key:
            self.http.headers["Authorization"] = f"OAuth {key}"

    def __call__(self, method, path, **kw):
        return self.http.request(method, self.base + path, timeout=10, **kw)


@pytest.fixture
def statuspage(lab, saas_admin):
    """Statuspage API with the lab's key, rate limit off (the rate limit has its own tests)."""
    saas_admin.rate_limit(enabled=False)
    return StatuspageApi(lab)
