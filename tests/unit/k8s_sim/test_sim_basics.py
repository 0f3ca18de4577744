"""Selectors, durations, hashes, image references and profiles."""
import pytest

from k8s_sim.errors import ApiError
from k8s_sim.profiles import ProfileError, Profiles, validate
from k8s_sim.registry import Registry, add, listing, normalize, remove
from k8s_sim.selectors import (
    check_field_selector,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)
from k8s_sim.util import human_duration, template_hash


@pytest.mark.parametrize(("expr", "labels", "expected"), [
    ("app=web", {"app": "web"}, True),
    ("app==web,tier!=db", {"app": "web", "tier": "fe"}, True),
    ("app in (web, api)", {"app": "api"}, True),
    ("app notin (web)", {"app": "web"}, False),
    ("app", {}, False),
    ("!app", {}, True),
    ("tier!=db", {}, True),
])
def test_label_selectors(expr, labels, expected):
    assert labels_match(parse_label_selector(expr), labels) is expected


def test_field_selectors_and_errors():
    pod = {"metadata": {"name": "p", "namespace": "n"}, "status": {"phase": "Running"}, "spec": {}}
    assert fields_match(parse_field_selector("status.phase=Running,metadata.name!=q"), pod)
    assert not fields_match(parse_field_selector("spec.nodeName=x"), pod)
    with pytest.raises(ApiError):
        parse_label_selector("app in web")
    check_field_selector("/pods", parse_field_selector("status.phase=Running"))
    with pytest.raises(ApiError, match="field label not supported: spec.replicas"):
        check_field_selector("apps/deployments", parse_field_selector("spec.replicas=3"))


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"),
                                               (3 * 3600 + 5 * 60, "3h5m"), (30 * 3600, "30h"),
                                               (3 * 86400 + 7200, "3d2h"), (40 * 86400, "40d")])
def test_human_duration_matches_kubernetes(seconds, text):
    assert human_duration(seconds) == text


def test_template_hash_is_stable_and_safe():
    tpl = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    h = template_hash(tpl)
    assert h == template_hash(dict(tpl)) and h != template_hash(tpl, 1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


@pytest.mark.parametrize(("image", "expected"), [
    ("nginx", ("nginx", "latest", None)),
    ("docker.io/library/nginx:1.27", ("nginx", "1.27", None)),
    ("ghcr.io/pynomaly/api:1.0@sha256:ab", ("ghcr.io/pynomaly/api", "1.0", "sha256:ab")),
    ("localhost:5000/app", ("localhost:5000/app", "latest", None)),
])
def test_image_reference_normalisation(image, expected):
    assert normalize(image) == expected


def test_registry_rule_and_faults(tmp_path):
    path = tmp_path / "registry.json"
    reg = Registry(path)
    Registry.ensure(path)
    assert reg.resolve("nginx:1.27") == (True, None, None)
    ok, fault, msg = reg.resolve("nginx:1.27.99")
    assert not ok and "not found" in msg
    ok, _, msg = reg.resolve("ngnix:1.27")
    assert not ok and "repository does not exist" in msg
    assert reg.resolve("pynomaly-api:1.3.0-crashloop")[:2] == (True, "crashloop")
    assert reg.resolve("pynomaly-api:1.3.0-pullerror")[:2] == (False, "pullerror")
    add(path, "myapp:2.0", "unready")
    assert reg.resolve("myapp:2.0")[:2] == (True, "unready")
    assert ("myapp:2.0", "unready") in listing(path)
    remove(path, "myapp:2.0")
    assert reg.resolve("myapp:2.0")[0] is False
    with pytest.raises(ValueError, match="unknown fault"):
        add(path, "x:1", "explode")


def test_profiles_keep_history():
    profiles = Profiles()
    profiles.set("ns", "api", {"error_rate": 0.5}, at=100)
    profiles.reset("ns", "api", at=200)
    assert profiles.custom("ns", "api", at=50) is None
    assert profiles.custom("ns", "api", at=150)["error_rate"] == 0.5
    assert profiles.custom("ns", "api", at=250) is None
    with pytest.raises(ProfileError):
        validate({"error_rate": 1.5})
    with pytest.raises(ProfileError):
        validate({"status_mix": {"700": 1}})
