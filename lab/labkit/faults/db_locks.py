"""db_locks: a lock pile-up. An idle-in-transaction session (app role, application_name lab-fault-db_locks)
holds a row lock on detectors, and a chain of three sessions waits behind it, each holding the row the next
one wants. Terminating the blocker lets the chain drain; heal removes whatever is left."""
from labkit.errors import LabError
from labkit.faults import background, pg

NAME = "db_locks"
DESCRIPTION = "idle-in-transaction blocker holding a row lock, with a chain of 3 blocked sessions"
PREFIX = "lab-fault-db_locks"
CHAIN = 3
ROW = "UPDATE detectors SET name = name WHERE id = {}"


class PileUp:
    def __init__(self, group):
        self.group = group

    def describe(self):
        return f"{len(self.group.sessions)} sessions: blocker pid {self.group.sessions[0].pid}"

    def close(self):
        self.group.close()


def hold(config):
    """Open the blocker, then each victim in turn once the one before it waits (so the chain is exact)."""
    group = pg.group(config, PREFIX)
    try:
        group.open("", [ROW.format(1)])
        for i in range(1, CHAIN + 1):
            own = [ROW.format(i + 1)] if i < CHAIN else []
            victim = group.open(f"-victim-{i}", [*own, ROW.format(i)], hold=False)
            group.wait_blocked([victim])
    except BaseException:
        group.close()
        raise
    return PileUp(group)


def _symptom(config):
    rows = pg.group(config, PREFIX).query(
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
        "count(*) FILTER (WHERE application_name = %s AND state = 'idle in transaction') "
        "FROM pg_stat_activity WHERE starts_with(application_name, %s)", (PREFIX, PREFIX))
    return rows[0]


def status(config):
    if not background.running(config, NAME):
        return False, "not injected"
    waiting, blockers = _symptom(config)
    detail = f"{blockers} idle-in-transaction blocker(s), {waiting} session(s) waiting on a lock"
    return bool(waiting or blockers), detail


def inject(config):
    pg.require_server(config)
    if background.running(config, NAME):
        waiting, blockers = _symptom(config)
        if waiting == CHAIN and blockers == 1:
            return "already injected: " + status(config)[1]
        heal(config)  # partly repaired (say pg_locks ended the blocker): start over cleanly
    background.start(config, NAME)
    active, detail = status(config)
    if not active:
        raise LabError(f"db_locks helper started but no lock pile-up is visible: {detail}")
    return detail


def heal(config):
    was_running = background.running(config, NAME)
    background.stop(config, NAME)
    leftover = pg.end_sessions(config, PREFIX)
    if not was_running and not leftover:
        return "nothing to heal"
    return f"helper stopped, {leftover} leftover session(s) ended"
