# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_dump and pg_restore: where they are, which version, and running them with the password in the environment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import signal
import subprocess
import threading

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import BadInput, ToolError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.connection import connection_kwargs

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")
# `pg_restore --list`: "3347; 0 16486 TABLE DATA public events postgres"
_DATA_ITEM = re.compile(r"^(\d+); \d+ \d+ TABLE DATA ")
# `pg_restore --verbose --jobs=N` once a worker is done with an item (and has committed it)
_FINISHED_ITEM = re.compile(r"^pg_restore: finished item (\d+) ")
# What pg_restore prints on stderr besides its progress: levelled messages and the lines that follow them.
_LEVELS = ("error:", "warning:", "detail:", "hint:", "fatal:", "[")
# libpq environment variables that would silently change which server or database the tools reach.
_LIBPQ_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE",
               "PGSSLMODE", "PGSSLROOTCERT", "PGCONNECT_TIMEOUT", "PGOPTIONS", "PGAPPNAME", "PGPASSFILE")


def _candidates(name, bindir):
    if bindir:
        return [os.path.join(bindir, name)]
    found = []
    # Debian's /usr/bin/pg_dump is a wrapper that may choose another version; prefer the real binaries.
    found += sorted(glob.glob("/usr/lib/postgresql/*/bin/%s" % name),
                    key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0, reverse=True)
    found += [os.path.join(folder, name) for folder in os.environ.get("PATH", "").split(os.pathsep) if folder]
    return found


class PgTools(object):
    """The client tools of one PostgreSQL version."""

    def __init__(self, bindir=None):
        self.paths = {}
        for name in ("pg_dump", "pg_restore"):
            path = next((p for p in _candidates(name, bindir) if os.path.isfile(p) and os.access(p, os.X_OK)), None)
            if not path:
                where = bindir or "PATH and /usr/lib/postgresql/*/bin"
                raise BadInput("%s not found in %s; install the PostgreSQL client or set pg_bindir" % (name, where))
            self.paths[name] = path
        self.versions = dict((name, self._version(path)) for name, path in self.paths.items())

    @staticmethod
    def _version(path):
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise ToolError("%s --version failed: %s" % (path, out.stderr.strip()))
        return out.stdout.strip().split(") ", 1)[-1].split()[0] if ") " in out.stdout else out.stdout.strip()

    def major(self, name):
        match = _VERSION.match(self.versions[name])
        return int(match.group(1)) if match else 0

    def check_server(self, server_version_num):
        """pg_dump refuses to dump a newer server; say so before starting rather than after."""
        server_major = server_version_num // 10000
        if self.major("pg_dump") < server_major:
            raise BadInput("pg_dump %s cannot dump a PostgreSQL %d server; set pg_bindir to the tools of %d or newer"
                           % (self.versions["pg_dump"], server_major, server_major))

    @staticmethod
    def environment(params, dbname):
        """libpq environment for the tools: the password never appears on a command line."""
        env = dict((k, v) for k, v in os.environ.items() if k not in _LIBPQ_VARS)
        kwargs = connection_kwargs(params, dbname=dbname)
        mapping = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
                   "dbname": "PGDATABASE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
                   "connect_timeout": "PGCONNECT_TIMEOUT"}
        for key, var in mapping.items():
            if kwargs.get(key) is not None:
                env[var] = str(kwargs[key])
        env["PGAPPNAME"] = "pynomaly_backup_restore"
        # Messages in English whatever the operator's locale: pg_restore's progress lines are parsed, and its
        # errors are quoted. LC_ALL would override LC_MESSAGES, so its value moves to LANG.
        if env.get("LC_ALL"):
            env["LANG"] = env.pop("LC_ALL")
        env["LC_MESSAGES"] = "C"
        return env

    def start_dump(self, params, dbname, target, jobs, snapshot, compression=None):
        argv = [self.paths["pg_dump"], "--format=directory", "--jobs=%d" % jobs, "--file=%s" % target,
                "--snapshot=%s" % snapshot, "--no-password"]
        if compression is not None:
            argv.append("--compress=%d" % compression)
        argv.append("--dbname=%s" % dbname)
        return subprocess.Popen(argv, env=self.environment(params, dbname), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def data_items(self, source):
        """Ids of the TABLE DATA entries of a directory-format dump (empty when its TOC cannot be listed)."""
        out = subprocess.run([self.paths["pg_restore"], "--list", source], capture_output=True, text=True,
                             check=False)
        if out.returncode != 0:
            return set()  # the restore itself reports why
        return set(int(m.group(1)) for m in map(_DATA_ITEM.match, out.stdout.splitlines()) if m)

    def restore(self, params, dbname, source, jobs, on_data_loaded=None, abandon=None):
        """pg_restore --jobs into dbname.

        on_data_loaded() is called as soon as every table's data is committed, while pg_restore goes on with
        indexes and constraints (parallel restores only: a serial one does not say when an item is done).
        abandon: a threading.Event; when it is set, pg_restore is stopped and the restore fails.
        """
        pending = self.data_items(source) if on_data_loaded and jobs > 1 else set()
        argv = [self.paths["pg_restore"], "--jobs=%d" % jobs, "--exit-on-error", "--no-password",
                "--dbname=%s" % dbname] + (["--verbose"] if pending else []) + [source]
        proc = subprocess.Popen(argv, env=self.environment(params, dbname), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        if abandon is not None:
            threading.Thread(target=_stop_when_set, args=(proc, abandon), name="abandon-restore", daemon=True).start()
        if not pending:
            finish(proc, "pg_restore")
            return
        messages = []
        try:
            for line in proc.stderr:
                finished = _FINISHED_ITEM.match(line)
                if finished is None:
                    if not _is_progress(line):
                        messages.append(line)
                elif pending:
                    pending.discard(int(finished.group(1)))
                    if not pending:
                        on_data_loaded()
            proc.wait()
        except BaseException:
            stop(proc)
            raise
        check_exit(proc, "pg_restore", "".join(messages))


def _is_progress(line):
    """A --verbose progress line ("pg_restore: creating INDEX ..."), as opposed to an error and its context."""
    if not line.startswith("pg_restore: "):
        return False
    return not line[len("pg_restore: "):].lower().startswith(_LEVELS)


def _stop_when_set(proc, event):
    while proc.poll() is None:
        if event.wait(0.1):
            stop(proc)
            return


def finish(proc, name):
    """Wait for a tool; raise ToolError with its own words when it failed or was killed."""
    try:
        _out, err = proc.communicate()
    except BaseException:
        stop(proc)
        raise
    return check_exit(proc, name, err)


def check_exit(proc, name, err):
    """Raise ToolError with the tool's own words when it failed or was killed; return its stderr otherwise."""
    if proc.returncode != 0:
        if proc.returncode < 0:
            reason = "killed by signal %s" % signal.Signals(-proc.returncode).name
        else:
            reason = "exit code %d" % proc.returncode
        lines = [line for line in (err or "").strip().splitlines() if line.strip()]
        detail = "; ".join(lines[-3:]) if lines else "no error output"
        raise ToolError("%s failed (%s): %s" % (name, reason, detail))
    return err


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
