"""The timeline document, its measures against the seed's targets, and the post-mortem renderings."""
import json
import re

import pytest

from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.timeline_report import (
    build_document,
    human_duration,
    render_html,
    render_markdown,
    timeline_events,
)


def at(minutes, seconds=0):
    total = minutes * 60 + seconds
    return "2026-01-02T%02d:%02d:%02d.000000Z" % (3 + total // 3600, (total // 60) % 60, total % 60)


def mark(name, minute, seconds=0, **extra):
    return dict({"incident_id": "INC-7", "milestone": name, "at": at(minute, seconds)}, **extra)


def task(name, minute, status="ok", duration=30):
    return {"task": name, "host": "localhost", "started": at(minute), "ended": at(minute, duration),
            "duration": duration, "status": status, "changed": status == "changed", "results": {}}


def run(milestones, tasks=(), playbook="incident_declare.yml", check_mode=False, start=0, end=60):
    return {"playbook": playbook, "started": at(start), "ended": at(end), "check_mode": check_mode,
            "milestones": list(milestones), "tasks": list(tasks), "stats": {}}


def test_measures_follow_the_milestones_and_the_seed_targets():
    doc = build_document("INC-7", [
        run([mark("started", 0), mark("detected", 2), mark("declared", 10, severity="P0", component="database")]),
        run([mark("contained", 20), mark("recovered", 31), mark("resolved", 45)], playbook="incident_resolve.yml"),
    ])
    m = doc["measures"]
    assert m["time_to_detect"]["seconds"] == 120
    assert (m["time_to_declare"]["seconds"], m["time_to_declare"]["verdict"]) == (480, "met")  # P0: < 15 min
    assert m["time_to_contain"]["seconds"] == 18 * 60
    assert m["time_to_recover"]["seconds"] == 29 * 60
    assert m["time_to_recover"]["verdict"] == "met"  # Database RTO < 30 min
    assert m["time_to_recover"]["target_minutes"] == 30
    assert m["time_to_resolve"]["human"] == "43 min"
    assert (doc["severity"], doc["component"], doc["status"]) == ("P0", "database", "resolved")


@pytest.mark.parametrize(("recover_after", "verdict"), [
    ((14, 59), "met"),
    ((15, 0), "missed"),  # "< 15 minutes": exactly 15 misses it
    ((15, 1), "missed"),
])
def test_api_rto_verdict_is_strict(recover_after, verdict):
    minutes, seconds = recover_after
    doc = build_document("INC-7", [run([mark("detected", 0, severity="P1"),
                                        mark("recovered", minutes, seconds)])])
    assert doc["measures"]["time_to_recover"]["verdict"] == verdict
    assert doc["measures"]["time_to_recover"]["target"] == "RTO API Service < 15 min"


def test_open_incident_has_open_verdicts():
    doc = build_document("INC-7", [run([mark("declared", 0, severity="P2", component="ml_models")])])
    assert doc["measures"]["clock_starts_at"] == at(0)  # declared starts the clock when nothing was detected
    assert doc["measures"]["time_to_recover"]["verdict"] == "open"
    assert doc["measures"]["time_to_recover"]["target_minutes"] == 60
    assert doc["status"] == "open"


def test_a_rerun_does_not_move_a_milestone_and_check_runs_do_not_count():
    doc = build_document("INC-7", [
        run([mark("declared", 5, severity="P1")]),
        run([mark("declared", 9, severity="P1")]),            # idempotent rerun of declare
        run([mark("recovered", 6)], check_mode=True),          # a dry run
    ])
    assert [(m["milestone"], m["at"], m["times_marked"]) for m in doc["milestones"]] == [("declared", at(5), 2)]
    assert doc["measures"]["time_to_recover"]["seconds"] is None


def test_severity_raised_during_the_incident_wins():
    doc = build_document("INC-7", [run([mark("declared", 0, severity="P2")]),
                                   run([mark("contained", 5, severity="P1")])])
    assert doc["severity"] == "P1"
    assert doc["severity_policy"]["response_target"] == "< 1 hour"


def test_events_are_ordered_milestones_first_then_changed_tasks():
    doc = build_document("INC-7", [run(
        [mark("declared", 1), mark("detected", 0)],
        [task("Post to Slack", 1, "changed"), task("Read state", 0, "ok"), task("Page", 2, "failed")])])
    events = [(e["kind"], e["name"]) for e in timeline_events(doc)]
    assert events == [("milestone", "detected"), ("milestone", "declared"), ("changed", "Post to Slack"),
                      ("failed", "Page")]


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0, "0 s"), (2.5, "2.5 s"), (60, "1 min"), (75, "1 min 15 s"), (3600, "1 h"), (3720, "1 h 2 min"),
])
def test_human_durations(seconds, text):
    assert human_duration(seconds) == text


def _resolved_doc():
    return build_document("INC-7", [
        run([mark("detected", 0, summary="API <down> & \"5xx\"", commander="alice"),
             mark("declared", 3, severity="P0")], [task("Open the Statuspage incident", 3, "changed")]),
        run([mark("recovered", 20), mark("resolved", 25)], [task("Remove the scale override", 19, "changed")],
            playbook="incident_resolve.yml", start=18, end=26),
    ])


def test_markdown_draft_has_the_sections_and_the_verdict():
    text = render_markdown(_resolved_doc())
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings == ["Summary", "Measured times", "Timeline", "Actions taken", "Runs", "Root cause",
                        "Action items", "Lessons learned"]
    assert "| Severity | P0 (Critical) |" in text
    assert "| Time to recover | 20 min | RTO API Service < 15 min | missed |" in text
    assert "| Time to declare (detected -> declared) | 3 min | response target Immediate (< 15 minutes) (P0) | met |" \
        in text
    assert text.index("**Detected**") < text.index("**Declared**") < text.index("**Recovered**")
    assert "- 2026-01-02 03:19:00 UTC: Remove the scale override on localhost (incident_resolve.yml, 30 s)" in text


def test_html_is_self_contained_escaped_and_carries_the_chart():
    page = render_html(_resolved_doc())
    assert page.startswith("<!DOCTYPE html>")
    assert "API &lt;down&gt; &amp; &quot;5xx&quot;" in page
    assert "<down>" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # nothing fetched from elsewhere
    assert page.count('class="task changed"') == 2
    assert page.count('<line class="milestone"') == 4
    assert '<td class="missed">missed</td>' in page
    data = json.loads(re.search(r'<script type="application/json" id="timeline-data">(.*?)</script>', page).group(1))
    assert data["measures"]["time_to_recover"]["seconds"] == 1200


def test_html_of_a_run_without_events_still_renders():
    page = render_html(build_document("run-1", [run([])]))
    assert "No timed events recorded." in page
    assert "No task changed anything." in page


def test_chart_leaves_out_bookkeeping_and_skipped_tasks_unless_they_failed():
    bookkeeping = dict(task("Work out the state", 0), action="ansible.builtin.set_fact")
    skipped = dict(task("Mark when the impact began", 0, "skipped"), action="incident_milestone")
    failed_check = dict(task("communicate : Check the update", 1, "failed"), action="ansible.builtin.assert")
    probe = dict(task("post_incident : Probe the service", 2), action="pynomaly.incident_response.http_probe")
    tasks = [bookkeeping, skipped, failed_check, probe]
    page = render_html(build_document("INC-7", [run([mark("detected", 0)], tasks)]))
    assert page.count('<rect class="task') == 2
    assert ">Probe the service<" in page  # the role prefix stays in timeline.json, not on the chart
    assert "Work out the state</title>" not in page
