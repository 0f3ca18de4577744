"""Fixtures for backup_restore: a source database of known content, a fresh repository, direct reads of
the real state (PostgreSQL catalogs, files on disk) that never go through the module under test."""
import hashlib
import json
import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from tests.conftest import REPO, VENV_BIN

SUFFIX = "%d" % os.getpid()
SOURCE_DB = "bk_src_" + SUFFIX
SOURCE_SCHEMA = [
    "CREATE TABLE items (id bigint PRIMARY KEY, digest text NOT NULL, note text)",
    "INSERT INTO items SELECT g, md5(g::text) || md5((g * 7)::text), "
    "CASE WHEN g %% 100 = 0 THEN E'multi\\nline\\ttext' END FROM generate_series(1, %(items)s) g",
    'CREATE SCHEMA "Mixed Case"',
    'CREATE TABLE "Mixed Case"."Events" (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())',
    'INSERT INTO "Mixed Case"."Events" (at) SELECT now() - g * interval \'1 minute\' FROM generate_series(1, 1234) g',
    "CREATE TABLE empty_table (id int)",
]
EXPECTED_COUNTS = {"public.items": 20000, "Mixed Case.Events": 1234, "public.empty_table": 0}


class Pg:
    """Direct access to the lab's PostgreSQL as its superuser."""

    def __init__(self, lab):
        self.params = {"host": lab["PGHOST"], "port": int(lab["PGPORT"]), "user": lab["PGUSER"],
                       "password": lab["PGPASSWORD"], "connect_timeout": 5}
        self.app_user = lab["LAB_PG_APP_USER"]

    def connect(self, dbname="postgres"):
        conn = psycopg2.connect(dbname=dbname, **self.params)
        conn.autocommit = True
        return conn

    def execute(self, dbname, statement, args=None):
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def exists(self, name):
        return bool(self.execute("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))

    def drop(self, name):
        self.execute("postgres", sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def create(self, name, owner=None):
        self.drop(name)
        self.execute("postgres", sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(owner or self.app_user)))

    def counts(self, dbname):
        """Row count of every user table, counted here (not by the module)."""
        rows = self.execute(dbname, "SELECT table_schema, table_name FROM information_schema.tables "
                                    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
                                    "('pg_catalog', 'information_schema')")
        out = {}
        for schema, table in rows:
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            out["%s.%s" % (schema, table)] = self.execute(dbname, query)[0][0]
        return out

    def comment(self, dbname):
        rows = self.execute("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                        "WHERE datname = %s", (dbname,))
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def databases(self, like):
        return sorted(r[0] for r in self.execute("postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s",
                                                 (like,)))


@pytest.fixture(scope="session")
def pg(lab):
    return Pg(lab)


@pytest.fixture(scope="session")
def source_db(pg):
    """A database of known content owned by the app role: 20000 rows with escapes, a quoted schema, an empty table."""
    pg.create(SOURCE_DB)
    conn = pg.connect(SOURCE_DB)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(pg.app_user)))
        for statement in SOURCE_SCHEMA:
            cur.execute(statement, {"items": 20000})
    conn.close()
    assert pg.counts(SOURCE_DB) == EXPECTED_COUNTS
    yield SOURCE_DB
    for name in pg.databases("bk\\_%\\_" + SUFFIX + "%"):
        pg.drop(name)


@pytest.fixture
def repo(tmp_path):
    return tmp_path / "repo"


@pytest.fixture
def target_db(pg, request):
    name = "bk_t%d_%s" % (abs(hash(request.node.name)) % 100000, SUFFIX)
    pg.drop(name)
    yield name
    pg.drop(name)


@pytest.fixture
def backup(run_module, repo, source_db):
    """Run backup_restore against the test's repository and source database."""

    def _run(state, check=False, diff=False, verbosity=0, raw=False, **args):
        args = dict({"state": state, "repository": str(repo), "login_db": source_db}, **args)
        return run_module("backup_restore", args, check=check, diff=diff, verbosity=verbosity, raw=raw)

    return _run


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listed_ids(repo, backup_type="database"):
    """Ids of complete backups, read from disk: folders with a complete manifest."""
    folder = Path(repo) / backup_type
    if not folder.is_dir():
        return []
    out = []
    for child in folder.iterdir():
        manifest = child / "manifest.json"
        if child.is_dir() and not child.name.startswith(".") and manifest.exists():
            if json.loads(manifest.read_text()).get("status") == "complete":
                out.append(child.name)
    return sorted(out, reverse=True)


def module_command(lab_environ, args):
    """argv and env to run the module in the background (same as tests.conftest.ModuleRunner)."""
    argv = [str(VENV_BIN / "ansible"), "localhost", "-i", str(REPO / "inventory" / "lab"), "-m",
            "pynomaly.incident_response.backup_restore", "-a", json.dumps(args)]
    env = dict(lab_environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    return argv, env


def run_background(lab_environ, args):
    argv, env = module_command(lab_environ, args)
    return subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
