"""The API service's traffic model: the status split, the Prometheus series and the per-request picks
follow the traffic profile exactly as the simulator's pod logs do."""
import math
import statistics

import pytest
from apiservice import traffic
from prometheus_client.parser import text_string_to_metric_families


def profile(**values):
    return traffic.effective_profile(values)


def scrape(meter):
    """{(name, frozenset(labels)): value} from the meter's exposition, parsed by Prometheus' own parser."""
    samples = {}
    for family in text_string_to_metric_families(meter.render()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def five_xx_share(shares):
    return sum(share for status, share in shares.items() if status >= 500)


@pytest.mark.parametrize(("error_rate", "auth"), [(0.0, 0.0), (0.002, 0.0), (0.25, 0.0), (0.1, 0.3), (1.0, 0.0)])
def test_status_shares_add_up_and_carry_the_error_rate(error_rate, auth):
    shares = traffic.status_shares(profile(error_rate=error_rate, auth_failure_rate=auth))
    assert math.isclose(sum(shares.values()), 1.0)
    assert math.isclose(five_xx_share(shares), (1 - auth) * error_rate, abs_tol=1e-12)
    assert math.isclose(shares.get(401, 0) + shares.get(403, 0), auth, abs_tol=1e-12)


def test_status_mix_decides_which_errors():
    shares = traffic.status_shares(profile(error_rate=0.2, status_mix={"503": 3, "500": 1}))
    assert math.isclose(shares[503], 0.15)
    assert math.isclose(shares[500], 0.05)
    assert 502 not in shares and 504 not in shares


def test_default_errors_use_the_simulators_mix():
    shares = traffic.status_shares(profile(error_rate=0.1))
    assert set(s for s in shares if s >= 500) == {500, 502, 503, 504}
    assert math.isclose(shares[500], 0.05)


def test_health_checks_never_fail_logins():
    shares = traffic.status_shares(profile(auth_failure_rate=0.5, error_rate=0.0), with_auth=False)
    assert set(shares) == {200}


def test_counters_grow_at_the_profile_rate_per_ready_pod():
    meter = traffic.TrafficMeter()
    meter.advance(60, 3, profile(rps=2.0, error_rate=0.25, status_mix={"500": 1}))
    series = scrape(meter)
    total = sum(v for (name, _), v in series.items() if name == "http_requests_total")
    assert abs(total - 360) <= 2  # each status is floored
    assert series[("http_requests_total", (("status", "500"),))] == 90
    assert series[("http_request_duration_seconds_count", ())] == 360


def test_no_ready_pods_serve_nothing():
    meter = traffic.TrafficMeter()
    meter.advance(60, 0, profile(rps=5.0))
    series = scrape(meter)
    assert not [key for key in series if key[0] == "http_requests_total"]
    assert series[("http_request_duration_seconds_count", ())] == 0


def bucket_share(series, le):
    count = series[("http_request_duration_seconds_count", ())]
    return series[("http_request_duration_seconds_bucket", (("le", str(float(le))),))] / count


def test_histogram_is_consistent_with_the_median_latency():
    meter = traffic.TrafficMeter()
    meter.advance(600, 3, profile(latency_ms=40.0, error_rate=0.0))
    series = scrape(meter)
    # the 40 ms median sits between the 25 ms and 50 ms buckets; nothing near the 2 s threshold
    assert bucket_share(series, 0.025) < 0.5 < bucket_share(series, 0.05)
    assert bucket_share(series, 2.0) == 1.0
    mean = series[("http_request_duration_seconds_sum", ())] / series[("http_request_duration_seconds_count", ())]
    assert 0.040 < mean < 0.045  # lognormal mean = median * exp(sigma^2 / 2)


def test_slow_profile_puts_most_requests_over_two_seconds():
    meter = traffic.TrafficMeter()
    meter.advance(120, 3, profile(latency_ms=3000.0, error_rate=0.0))
    series = scrape(meter)
    assert bucket_share(series, 2.0) < 0.15
    assert bucket_share(series, 2.5) < 0.5 < bucket_share(series, 5.0)


def test_buckets_are_cumulative_and_end_at_the_count():
    meter = traffic.TrafficMeter()
    meter.advance(30, 2, profile(latency_ms=800.0, error_rate=0.3))
    meter.observe(200, 0.3)
    series = scrape(meter)
    values = [series[("http_request_duration_seconds_bucket", (("le", str(float(le))),))] for le in traffic.BUCKETS]
    assert values == sorted(values)
    assert series[("http_request_duration_seconds_bucket", (("le", "+Inf"),))] == \
        series[("http_request_duration_seconds_count", ())]


def test_real_requests_are_counted():
    meter = traffic.TrafficMeter()
    meter.observe(503, 0.01)
    meter.observe(503, 3.0)
    series = scrape(meter)
    assert series[("http_requests_total", (("status", "503"),))] == 2
    assert series[("http_request_duration_seconds_bucket", (("le", "0.01"),))] == 1
    assert series[("http_request_duration_seconds_bucket", (("le", "2.0"),))] == 1


@pytest.mark.parametrize("error_rate", [0.0, 0.05, 0.1, 0.25, 0.5])
def test_any_window_of_requests_carries_the_error_rate(error_rate):
    picker = traffic.StatusPicker()
    shares = traffic.status_shares(profile(error_rate=error_rate), with_auth=False)
    statuses = [picker.next(shares) for _ in range(400)]
    errors = [s >= 500 for s in statuses]
    for start in range(0, 380, 7):
        window = errors[start:start + 20]
        assert abs(sum(window) - 20 * error_rate) <= 1.5, (start, sum(window))


def test_status_picker_restarts_when_the_profile_changes():
    picker = traffic.StatusPicker()
    bad = traffic.status_shares(profile(error_rate=0.5, status_mix={"500": 1}), with_auth=False)
    good = traffic.status_shares(profile(error_rate=0.0), with_auth=False)
    assert 500 in [picker.next(bad) for _ in range(4)]
    assert all(picker.next(good) < 500 for _ in range(50))


def test_latency_picks_span_the_distribution_from_the_first_requests():
    picker = traffic.LatencyPicker()
    picks = [picker.next(3.0) for _ in range(5)]
    assert math.isclose(statistics.median(picks), 3.0, rel_tol=1e-6)
    assert all(p > 2.0 for p in picks[:3])
    assert min(picks) < 3.0 < max(picks)


def test_quantile_inverts_the_cdf():
    for q in (0.05, 0.25, 0.5, 0.9, 0.99):
        x = traffic.lognormal_quantile(q, 0.2)
        assert math.isclose(traffic.lognormal_cdf(x, 0.2), q, rel_tol=1e-6)
