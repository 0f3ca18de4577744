# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Blocking chains from pg_blocking_pids(): who holds up whom. Pure functions over session dicts.

A session dict has at least ``pid`` and ``blocking_pids`` (the pids it waits on). A waiter queued
behind other waiters lists all of them, so the edges form a graph, not a tree: the tree returned
here places every blocked session once, under the blocker closest to a root (breadth first), and
keeps the full ``blocked_by`` list on each node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import deque

NODE_FIELDS = ("pid", "user", "application", "database", "state", "backend_type", "wait_seconds",
               "xact_age", "query_age", "query")


def blocks_map(sessions):
    """Blocker pid -> set of the pids it blocks directly."""
    blocks = {}
    for session in sessions:
        for blocker in session.get("blocking_pids") or ():
            blocks.setdefault(blocker, set()).add(session["pid"])
    return blocks


def held_up(pid, blocks):
    """Every pid waiting on ``pid`` directly or through a chain (cycles are safe)."""
    seen = set()
    queue = deque(blocks.get(pid, ()))
    while queue:
        current = queue.popleft()
        if current in seen or current == pid:
            continue
        seen.add(current)
        queue.extend(blocks.get(current, ()))
    return seen


def _placeholder(pid):
    # A blocker pg_stat_activity does not show: a prepared transaction (pid 0) or a session that just ended.
    return {"pid": pid, "user": None, "application": None, "state": None, "backend_type": None,
            "blocking_pids": [], "visible": False}


class LockTree(object):
    """The blocking graph of one snapshot: roots, what each holds up, and a printable tree."""

    def __init__(self, sessions):
        self.by_pid = dict((s["pid"], s) for s in sessions)
        self.blocks = blocks_map(sessions)
        for pid in self.blocks:
            if pid not in self.by_pid:
                self.by_pid[pid] = _placeholder(pid)
        self.root_pids = sorted(
            pid for pid in self.blocks if not self.by_pid[pid].get("blocking_pids"))
        self.held_up = dict((pid, held_up(pid, self.blocks)) for pid in self.root_pids)

    def blocked_pids(self):
        return set(s["pid"] for s in self.by_pid.values() if s.get("blocking_pids"))

    def max_victim_wait(self, pid):
        """Longest wait among the sessions ``pid`` holds up (0 when unknown)."""
        waits = [self.by_pid[v].get("wait_seconds") or 0 for v in self.held_up.get(pid) or held_up(pid, self.blocks)]
        return max(waits) if waits else 0

    def in_cycles(self):
        """Blocked sessions no root reaches: they wait on each other (a deadlock the server will break)."""
        reached = set()
        for victims in self.held_up.values():
            reached |= victims
        return sorted(self.blocked_pids() - reached)

    def _node(self, pid):
        session = self.by_pid[pid]
        node = dict((key, session.get(key)) for key in NODE_FIELDS if key in session)
        node["pid"] = pid
        node["blocked_by"] = sorted(session.get("blocking_pids") or [])
        node["holds_up"] = len(held_up(pid, self.blocks)) if pid in self.blocks else 0
        node["children"] = []
        return node

    def forest(self):
        """One nested tree per root blocker; every session appears once, at its shallowest place."""
        placed = set(self.root_pids)
        trees = []
        nodes = {}
        queue = deque()
        for pid in self.root_pids:
            nodes[pid] = self._node(pid)
            trees.append(nodes[pid])
            queue.append(pid)
        while queue:
            parent = queue.popleft()
            for child in sorted(self.blocks.get(parent, ())):
                if child in placed:
                    continue
                placed.add(child)
                nodes[child] = self._node(child)
                nodes[parent]["children"].append(nodes[child])
                queue.append(child)
        trees.sort(key=lambda n: (-n["holds_up"], n["pid"]))
        return trees

    def root_blockers(self):
        """Sessions that block others and wait on nobody, the most harmful first."""
        roots = []
        for pid in self.root_pids:
            session = self.by_pid[pid]
            root = dict(session)
            root.pop("blocking_pids", None)
            root["holds_up"] = len(self.held_up[pid])
            root["blocks_directly"] = len(self.blocks.get(pid, ()))
            root["max_victim_wait"] = self.max_victim_wait(pid)
            roots.append(root)
        roots.sort(key=lambda r: (-r["holds_up"], -r["max_victim_wait"], r["pid"]))
        return roots
