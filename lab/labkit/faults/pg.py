"""Connection values for the database incidents: the app role for the sessions, the superuser to watch and heal."""
import psycopg2

from labkit.errors import LabError
from labkit.faults.pg_sessions import SessionGroup
from labkit.services.postgres import APP_USER, PostgresService


def admin_params(config):
    return PostgresService(config).connect_params()


def app_params(config):
    return dict(admin_params(config), user=APP_USER, password=config.secret("pg_app_password"))


def group(config, prefix):
    return SessionGroup(app_params(config), admin_params(config), prefix)


def end_sessions(config, prefix):
    """Terminate whatever is left on the server under ``prefix``; a stopped server has nothing left."""
    try:
        leftover = group(config, prefix)
        count = len(leftover.server_sessions())
        leftover.close()
        return count
    except psycopg2.OperationalError:
        return 0


def require_server(config):
    """Fail before starting anything when the lab's PostgreSQL does not answer."""
    params = admin_params(config)
    try:
        psycopg2.connect(**params).close()
    except psycopg2.OperationalError as exc:
        raise LabError(f"PostgreSQL does not answer on {params['host']}:{params['port']} ({str(exc).strip()}); "
                       "start the lab with `labctl up` first") from None
