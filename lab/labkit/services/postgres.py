"""A real PostgreSQL 15 cluster from the machine's binaries, on loopback, with the Pynomaly schema."""
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from labkit.config import HOST
from labkit.errors import LabError
from labkit.process import ensure_port_free, port_open
from labkit.services import pg_seed
from labkit.services.base import Service

SUPERUSER = "postgres"
APP_USER = "pynomaly"
DATABASE = "pynomaly"


def _find_bindir():
    candidates = [os.environ.get("LAB_PG_BINDIR", "")]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists():
            return Path(cand)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise LabError("PostgreSQL server binaries (initdb) not found; install the 'postgresql' Debian package")


class PostgresService(Service):
    name = "postgres"

    @property
    def datadir(self):
        return self.dir / "data"

    @property
    def sockdir(self):
        return self.dir / "run"

    def _run_as_owner(self, argv, **kw):
        """PostgreSQL refuses to run as root: run its tools as the 'postgres' system user then."""
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, **kw, check=False)

    def _chown_tree(self, path):
        if os.geteuid() != 0:
            return
        pw = pwd.getpwnam("postgres")
        for p in [path, *path.rglob("*")]:
            os.lchown(p, pw.pw_uid, pw.pw_gid)

    def is_running(self):
        pidfile = self.datadir / "postmaster.pid"
        if not pidfile.exists():
            return False
        res = self._run_as_owner([str(_find_bindir() / "pg_ctl"), "status", "-D", str(self.datadir)])
        return res.returncode == 0

    def _check_reachable(self):
        """As root, the data folder is owned by 'postgres', which must be able to reach it."""
        if os.geteuid() != 0:
            return
        for parent in self.dir.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise LabError(
                    f"the PostgreSQL data folder is under {parent}, which the 'postgres' user cannot enter; "
                    "choose a LAB_STATE_DIR whose parent folders are world-executable"
                )

    def _initdb(self, bindir):
        self._check_reachable()
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.config.secret("pg_superuser_password") + "\n")
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(parents=True, exist_ok=True)
        self._chown_tree(self.dir)
        pwfile.chmod(0o600)
        res = self._run_as_owner([
            str(bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER, "--pwfile", str(pwfile),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        ])
        pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            shutil.rmtree(self.datadir, ignore_errors=True)
            raise LabError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# lab settings\n"
                f"listen_addresses = '{HOST}'\n"
                f"port = {self.config.port(self.name)}\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "max_connections = 100\n"
                "shared_buffers = 128MB\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "log_line_prefix = '%m [%p] %q%u@%d '\n"
            )

    def start(self):
        port = self.config.port(self.name)
        if self.is_running():
            return
        ensure_port_free(port, self.name)
        bindir = _find_bindir()
        if not (self.datadir / "PG_VERSION").exists():
            self._initdb(bindir)
        self._chown_tree(self.dir)
        res = self._run_as_owner([
            str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.datadir),
            "-l", str(self.logfile), "-o", f"-p {port} -k {self.sockdir}",
        ])
        if res.returncode != 0:
            tail = self.logfile.read_text()[-800:] if self.logfile.exists() else ""
            raise LabError(f"PostgreSQL did not start: {res.stderr.strip()} {tail}")
        pg_seed.ensure_schema({**self.connect_params(), "app_password": self.config.secret("pg_app_password")})

    def stop(self):
        if not (self.datadir / "postmaster.pid").exists():
            return
        self._run_as_owner([str(_find_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.datadir)])

    def connect_params(self, dbname=DATABASE):
        return {
            "host": HOST,
            "port": self.config.port(self.name),
            "user": SUPERUSER,
            "password": self.config.secret("pg_superuser_password"),
            "dbname": dbname,
            "connect_timeout": 3,
        }

    def health(self):
        port = self.config.port(self.name)
        if not port_open(port):
            return False, f"nothing listens on {HOST}:{port}"
        try:
            import psycopg2

            with psycopg2.connect(**self.connect_params()) as conn, conn.cursor() as cur:
                cur.execute("SELECT current_setting('server_version'), count(*) FROM anomalies")
                version, rows = cur.fetchone()
            conn.close()
        except Exception as exc:  # noqa: BLE001 - health reports any failure as a line
            return False, f"{HOST}:{port} does not answer queries: {exc}".strip()
        return True, f"PostgreSQL {version} on {HOST}:{port}, database {DATABASE} ({rows} anomalies)"

    def env(self):
        return {
            "PGHOST": HOST,
            "PGPORT": str(self.config.port(self.name)),
            "PGUSER": SUPERUSER,
            "PGPASSWORD": self.config.secret("pg_superuser_password"),
            "PGDATABASE": DATABASE,
            "LAB_PG_APP_USER": APP_USER,
            "LAB_PG_APP_PASSWORD": self.config.secret("pg_app_password"),
            "LAB_PG_BINDIR": str(_find_bindir()),
        }
