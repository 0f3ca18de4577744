"""The incident_timeline callback: a rehearsed incident leaves timeline.json and a post-mortem draft
whose order, durations and RTO verdicts are right, that never holds a no_log value, and whose HTML
page renders in a real browser."""
import json
import re
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import REPO, VENV_BIN, ansible_env

PLAYBOOK = Path(__file__).parent / "playbooks" / "milestones.yml"
WITH_RECORD = Path(__file__).parent / "playbooks" / "with_record.yml"
OUTPUT = REPO / "tests" / "output"
SENTINEL = "sentinel-9f8e7d6c5b4a-never-printed"


def run_rehearsal(timeline_dir, incident_id, t0, *args, playbook=PLAYBOOK, **extra_vars):
    env = ansible_env({"INCIDENT_TIMELINE_DIR": str(timeline_dir)})
    variables = dict({"incident_id": incident_id, "t0": t0, "sentinel": SENTINEL}, **extra_vars)
    res = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(variables), *args],
                         capture_output=True, text=True, cwd=REPO, env=env, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """One real run at -vvv, on a clock that ends about now."""
    folder = tmp_path_factory.mktemp("timeline")
    t0 = int(time.time()) - 1320
    res = run_rehearsal(folder, "INC-REHEARSAL-1", t0, "-vvv")
    return folder / "INC-REHEARSAL-1", res


def test_json_timeline_has_milestones_in_order_and_the_measures(rehearsal):
    folder, _ = rehearsal
    doc = json.loads((folder / "timeline.json").read_text())
    assert doc["incident_id"] == "INC-REHEARSAL-1"
    assert [m["milestone"] for m in doc["milestones"]] == [
        "started", "detected", "declared", "contained", "recovered", "resolved"]
    ats = [m["at"] for m in doc["milestones"]]
    assert ats == sorted(ats)
    m = doc["measures"]
    assert m["time_to_detect"]["seconds"] == 120
    assert (m["time_to_declare"]["seconds"], m["time_to_declare"]["verdict"]) == (120, "met")
    assert m["time_to_contain"]["seconds"] == 420
    assert (m["time_to_recover"]["seconds"], m["time_to_recover"]["verdict"]) == (899, "met")  # 14 min 59 s < 15
    assert m["time_to_resolve"]["seconds"] == 1200
    assert (doc["severity"], doc["commander"], doc["status"]) == ("P1", "alice", "resolved")


def test_json_timeline_records_every_task_with_status_and_duration(rehearsal):
    folder, _ = rehearsal
    [run] = json.loads((folder / "timeline.json").read_text())["runs"]
    tasks = {t["task"]: t for t in run["tasks"]}
    assert [t["task"] for t in run["tasks"]] == [
        "Mark the impact start, detection and declaration", "Apply a temporary fix", "Handle a secret",
        "A check that fails and is tolerated", "Fail on purpose", "Mark containment, recovery and resolution"]
    assert tasks["Apply a temporary fix"]["status"] == "changed"
    assert tasks["Apply a temporary fix"]["results"]["rc"] == 0
    assert tasks["Fail on purpose"]["status"] == "failed"
    assert tasks["Fail on purpose"]["error"] == "probe failed"
    assert tasks["Handle a secret"]["results"] == {"censored": "hidden: the task ran with no_log"}
    for task in run["tasks"]:
        assert task["started"] <= task["ended"]
        assert 0 <= task["duration"] < 60
        assert "invocation" not in task["results"]
    assert run["stats"]["localhost"]["changed"] == 2


def test_no_log_values_never_reach_the_timeline_or_the_output_at_vvv(rehearsal):
    folder, res = rehearsal
    assert "-vvv" in " ".join(res.args)
    for name in ("timeline.json", "postmortem.md", "postmortem.html"):
        assert SENTINEL not in (folder / name).read_text(), name
    assert SENTINEL not in res.stdout + res.stderr


def test_markdown_draft_reads_like_a_post_mortem(rehearsal):
    folder, _ = rehearsal
    text = (folder / "postmortem.md").read_text()
    assert "| Severity | P1 (High) |" in text
    assert "| Time to recover | 14 min 59 s | RTO API Service < 15 min | met |" in text
    order = [text.index("**%s**" % label) for label in
             ("Impact started", "Detected", "Declared", "Contained", "Recovered", "Resolved")]
    assert order == sorted(order)
    assert "Apply a temporary fix on localhost (milestones.yml" in text
    assert "## Root cause" in text
    assert "## Action items" in text


def test_html_draft_carries_the_chart_and_the_verdicts(rehearsal):
    folder, _ = rehearsal
    page = (folder / "postmortem.html").read_text()
    assert page.count('<line class="milestone"') == 6
    assert 'class="task changed"' in page
    assert 'class="task failed"' in page
    assert '<tr data-measure="time_to_recover"><td>Time to recover</td><td>14 min 59 s</td>' in page
    assert "Rehearsal &lt;API&gt; errors &amp; &quot;5xx&quot;" in page


def test_a_missed_rto_and_a_second_run_merge_into_one_incident(tmp_path):
    # Two runs of one incident meet in its record (here the local store; on a cluster, the ConfigMap).
    t0 = int(time.time()) - 1320
    records = str(tmp_path / "records")
    run_rehearsal(tmp_path, "INC-REHEARSAL-2", t0, playbook=WITH_RECORD, record_dir=records,
                  recover_offset=1020)  # recovered 15 min after detection
    run_rehearsal(tmp_path, "INC-REHEARSAL-2", t0 + 60, playbook=WITH_RECORD,
                  record_dir=records)  # a rerun marks every milestone again, later
    doc = json.loads((tmp_path / "INC-REHEARSAL-2" / "timeline.json").read_text())
    assert len(doc["runs"]) == 2
    assert doc["measures"]["time_to_recover"]["seconds"] == 900  # the first time counts
    assert doc["measures"]["time_to_recover"]["verdict"] == "missed"  # "< 15 minutes"
    assert {m["times_marked"] for m in doc["milestones"]} == {2}


def test_a_check_run_is_written_apart_and_never_merged(tmp_path):
    t0 = int(time.time()) - 1320
    run_rehearsal(tmp_path, "INC-REHEARSAL-3", t0, "--check")
    assert not (tmp_path / "INC-REHEARSAL-3" / "timeline.json").exists()
    dry = json.loads((tmp_path / "INC-REHEARSAL-3" / "dry-run" / "timeline.json").read_text())
    assert dry["runs"][0]["check_mode"] is True
    assert dry["milestones"] == []  # a dry run proves nothing about the incident's clock


def _png_pixels(path):
    """RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes), without an imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, interlace) == (8, 0)
    bpp = {2: 3, 6: 4}[colour]
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return rows, bpp


def test_html_draft_renders_in_headless_chromium(rehearsal, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed (optional: apt-get install chromium)")
    folder, _ = rehearsal
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "incident_timeline_postmortem.png"
    shot.unlink(missing_ok=True)
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", "--window-size=1280,1400"]
    dom = subprocess.run([*argv, "--dump-dom", (folder / "postmortem.html").as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.search(r'<svg[^>]+id="timeline-chart"', dom.stdout)
    assert "Post-mortem draft: INC-REHEARSAL-1" in dom.stdout
    res = subprocess.run([*argv, f"--screenshot={shot}", (folder / "postmortem.html").as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    rows, bpp = _png_pixels(shot)
    colours = {bytes(row[i:i + 3]) for row in rows for i in range(0, len(row), bpp)}
    # The chart was painted: the changed-task bar (orange), the failed one (red), the milestone lines (navy).
    for rgb in ("ff9800", "e53935", "1e3a8a"):
        assert bytes.fromhex(rgb) in colours, f"#{rgb} is not on the screenshot {shot}"
