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

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import BadInput, ToolError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.connection import connection_kwargs

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")
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
        return env

    def start_dump(self, params, dbname, target, jobs, snapshot, compression=None):
        argv = [self.paths["pg_dump"], "--format=directory", "--jobs=%d" % jobs, "--file=%s" % target,
                "--snapshot=%s" % snapshot, "--no-password"]
        if compression is not None:
            argv.append("--compress=%d" % compression)
        argv.append("--dbname=%s" % dbname)
        return subprocess.Popen(argv, env=self.environment(params, dbname), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def restore(self, params, dbname, source, jobs):
        argv = [self.paths["pg_restore"], "--jobs=%d" % jobs, "--exit-on-error", "--no-password",
                "--dbname=%s" % dbname, source]
        proc = subprocess.Popen(argv, env=self.environment(params, dbname), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        finish(proc, "pg_restore")


def finish(proc, name):
    """Wait for a tool; raise ToolError with its own words when it failed or was killed."""
    try:
        _out, err = proc.communicate()
    except BaseException:
        stop(proc)
        raise
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
