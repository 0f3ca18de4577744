"""pg_restore as the restore drives it: told when every table's data is in, stopped when the backup is damaged,
its failures reported in its own words without the progress lines around them."""
import os
import stat
import threading
import time

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import ToolError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.pgtools import PgTools

# A stand-in for pg_restore 15: --list prints a TOC with two TABLE DATA entries; a restore prints what a
# parallel --verbose run prints, then (FAKE_RESTORE=fail) fails on an index or (hang) never ends.
FAKE_PG_RESTORE = r"""#!/bin/sh
case "$1" in
  --version) echo "pg_restore (PostgreSQL) 15.4"; exit 0 ;;
  --list) printf '%s\n' ';' '; Selected TOC Entries:' ';' \
            '214; 1259 16486 TABLE public events postgres' \
            '3347; 0 16486 TABLE DATA public events postgres' \
            '3348; 0 16493 TABLE DATA public sources postgres' \
            '3200; 1259 16500 INDEX public events_at_idx postgres'; exit 0 ;;
esac
echo "$*" > "$FAKE_ARGV"
[ "$FAKE_RESTORE" = hang ] && exec sleep 30
{
  echo 'pg_restore: connecting to database for restore'
  echo 'pg_restore: creating TABLE "public.events"'
  echo 'pg_restore: entering main parallel loop'
  echo 'pg_restore: launching item 3347 TABLE DATA events'
  echo 'pg_restore: finished item 3348 TABLE DATA sources'
  echo 'pg_restore: finished item 3347 TABLE DATA events'
  echo 'pg_restore: launching item 3200 INDEX events_at_idx'
} >&2
sleep 0.3
if [ "$FAKE_RESTORE" = fail ]; then
  {
    echo 'pg_restore: creating INDEX "public.events_at_idx"'
    echo 'pg_restore: error: could not execute query: ERROR:  could not extend file: No space left on device'
    echo 'Command was: CREATE INDEX events_at_idx ON public.events USING btree (at);'
  } >&2
  exit 1
fi
echo 'pg_restore: finished item 3200 INDEX events_at_idx' >&2
touch "$FAKE_DONE"
"""
PARAMS = {"login_host": "127.0.0.1", "login_port": 5432, "login_user": "postgres", "login_password": None}


@pytest.fixture
def tools(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, script in (("pg_restore", FAKE_PG_RESTORE),
                         ("pg_dump", '#!/bin/sh\necho "pg_dump (PostgreSQL) 15.4"\n')):
        (bindir / name).write_text(script)
        (bindir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("FAKE_ARGV", str(tmp_path / "argv"))
    monkeypatch.setenv("FAKE_DONE", str(tmp_path / "done"))
    return PgTools(str(bindir))


def test_the_data_items_are_read_from_the_dump_listing(tools, tmp_path):
    assert tools.data_items(str(tmp_path)) == {3347, 3348}


def test_a_parallel_restore_says_once_when_every_table_is_loaded_while_it_still_runs(tools, tmp_path):
    calls = []
    tools.restore(PARAMS, "copy", str(tmp_path), 2,
                  on_data_loaded=lambda: calls.append(os.path.exists(os.environ["FAKE_DONE"])))
    assert calls == [False], "called once, before pg_restore had finished"
    assert "--verbose" in (tmp_path / "argv").read_text().split()


def test_a_serial_restore_is_not_asked_for_progress_and_never_calls_back(tools, tmp_path):
    calls = []
    tools.restore(PARAMS, "copy", str(tmp_path), 1, on_data_loaded=lambda: calls.append(True))
    assert calls == []
    assert "--verbose" not in (tmp_path / "argv").read_text().split()


def test_a_failure_is_reported_in_pg_restores_words_without_its_progress_lines(tools, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RESTORE", "fail")
    with pytest.raises(ToolError) as failed:
        tools.restore(PARAMS, "copy", str(tmp_path), 2, on_data_loaded=lambda: None)
    message = str(failed.value)
    assert message.startswith("pg_restore failed (exit code 1): pg_restore: error: could not execute query")
    assert "No space left on device" in message and "Command was: CREATE INDEX events_at_idx" in message
    assert "creating" not in message and "finished item" not in message


def test_a_restore_is_stopped_as_soon_as_it_is_abandoned(tools, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RESTORE", "hang")
    abandon = threading.Event()
    threading.Timer(0.3, abandon.set).start()
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"pg_restore failed \(killed by signal SIGTERM\)"):
        tools.restore(PARAMS, "copy", str(tmp_path), 2, on_data_loaded=lambda: None, abandon=abandon)
    assert time.monotonic() - started < 5, "pg_restore ran on after the restore was abandoned"


def test_the_tools_speak_english_whatever_the_operators_locale(monkeypatch):
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("PGHOST", "elsewhere.example")
    env = PgTools.environment({"login_host": "127.0.0.1", "login_port": 5432, "login_user": "postgres",
                               "login_password": "s3cret"}, "pynomaly")
    assert env["LC_MESSAGES"] == "C"
    assert "LC_ALL" not in env and env["LANG"] == "de_DE.UTF-8"  # the other categories keep the locale
    assert env["PGHOST"] == "127.0.0.1" and env["PGPASSWORD"] == "s3cret"
