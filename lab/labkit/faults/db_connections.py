"""db_connections: connection exhaustion. Idle sessions of the app role (application_name
lab-fault-db_connections) fill the server up to LAB_FAULT_DB_CONNECTIONS_PERCENT (default 90) % of
max_connections."""
import os

import psycopg2

from labkit.faults import background, pg

NAME = "db_connections"
DESCRIPTION = "idle app-role sessions up to 90% of max_connections"
PREFIX = "lab-fault-db_connections"


def target_percent():
    return int(os.environ.get("LAB_FAULT_DB_CONNECTIONS_PERCENT", "90"))


class IdleConnections:
    def __init__(self, conns):
        self.conns = conns

    def describe(self):
        return f"{len(self.conns)} idle sessions"

    def close(self):
        for conn in self.conns:
            try:
                conn.close()
            except psycopg2.Error:
                pass


def _usage(config):
    rows = pg.group(config, PREFIX).query(
        "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), "
        "count(*) FILTER (WHERE starts_with(application_name, %s)), current_setting('max_connections')::int "
        "FROM pg_stat_activity", (PREFIX,))
    return rows[0]


def hold(config):
    total, _ours, max_connections = _usage(config)
    wanted = max(0, max_connections * target_percent() // 100 - total)
    params = dict(pg.app_params(config), application_name=PREFIX)
    conns = []
    try:
        for _ in range(wanted):
            conn = psycopg2.connect(**params)
            conn.autocommit = True
            conns.append(conn)
    except BaseException:
        IdleConnections(conns).close()
        raise
    return IdleConnections(conns)


def status(config):
    if not background.running(config, NAME):
        return False, "not injected"
    total, ours, max_connections = _usage(config)
    return bool(ours), f"{ours} idle lab-fault sessions; {total}/{max_connections} client connections in use"


def inject(config):
    pg.require_server(config)
    if background.running(config, NAME):
        return "already injected: " + status(config)[1]
    background.start(config, NAME)
    return status(config)[1]


def heal(config):
    was_running = background.running(config, NAME)
    background.stop(config, NAME)
    leftover = pg.end_sessions(config, PREFIX)
    if not was_running and not leftover:
        return "nothing to heal"
    return f"helper stopped, {leftover} leftover session(s) ended"
