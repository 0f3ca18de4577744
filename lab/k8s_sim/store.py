"""In-memory object storage with a rising resourceVersion and watch fan-out.

Stored objects are never mutated in place: writers pass a new dict, readers may hold on to
what they were given. That keeps reads cheap (no copies) and watch events consistent.
"""
import asyncio
import collections
import copy
import uuid

from k8s_sim import errors
from k8s_sim.util import now, rfc3339

HISTORY = 20000  # watch events kept for resuming from an older resourceVersion


class Watcher:
    def __init__(self, rtype, namespace, predicate):
        self.rtype = rtype
        self.namespace = namespace
        self.predicate = predicate
        self.queue = asyncio.Queue()

    def offer(self, rtype, event_type, obj):
        if rtype.key != self.rtype.key:
            return
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return
        if self.predicate(obj):
            self.queue.put_nowait((event_type, obj))


class Store:
    def __init__(self):
        self.rv = 0
        self.objects = collections.defaultdict(dict)  # type key -> {(ns, name): obj}
        self.history = collections.deque(maxlen=HISTORY)  # (rv, type key, event type, obj)
        self.watchers = set()
        self.listeners = []

    # -- reads -------------------------------------------------------------------------
    def get(self, rtype, namespace, name):
        return self.objects[rtype.key].get((namespace or "", name))

    def must_get(self, rtype, namespace, name):
        obj = self.get(rtype, namespace, name)
        if obj is None:
            raise errors.not_found(rtype, name)
        return obj

    def list(self, rtype, namespace=None):
        items = self.objects[rtype.key]
        if namespace:
            return [o for (ns, _), o in items.items() if ns == namespace]
        return list(items.values())

    def oldest_rv(self):
        return self.history[0][0] if self.history else self.rv

    # -- writes ------------------------------------------------------------------------
    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _emit(self, rtype, event_type, obj):
        self.history.append((self.rv, rtype.key, event_type, obj))
        for w in list(self.watchers):
            w.offer(rtype, event_type, obj)
        for listener in self.listeners:
            listener(rtype, event_type, obj)

    def create(self, rtype, obj, created_at=None):
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if rtype.namespaced else ""
        key = (ns, meta["name"])
        if key in self.objects[rtype.key]:
            raise errors.already_exists(rtype, meta["name"])
        if not rtype.namespaced:
            meta.pop("namespace", None)
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = self._next_rv()
        meta["creationTimestamp"] = rfc3339(created_at or now())
        if rtype.generation:
            meta["generation"] = 1
        meta.pop("deletionTimestamp", None)
        self._order_metadata(obj)
        self.objects[rtype.key][key] = obj
        self._emit(rtype, "ADDED", obj)
        return obj

    def update(self, rtype, obj, expect_rv=None):
        """Store obj in place of the current object; bump generation when spec changed."""
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if rtype.namespaced else ""
        key = (ns, meta["name"])
        old = self.objects[rtype.key].get(key)
        if old is None:
            raise errors.not_found(rtype, meta["name"])
        if expect_rv and expect_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, meta["name"])
        for fixed in ("uid", "creationTimestamp"):
            meta[fixed] = old["metadata"][fixed]
        if rtype.generation:
            gen = old["metadata"].get("generation", 1)
            if obj.get("spec") != old.get("spec"):
                gen += 1
            meta["generation"] = gen
        if _same_object(old, obj):
            return old
        meta["resourceVersion"] = self._next_rv()
        self._order_metadata(obj)
        self.objects[rtype.key][key] = obj
        self._emit(rtype, "MODIFIED", obj)
        return obj

    def delete(self, rtype, namespace, name):
        key = (namespace or "" if rtype.namespaced else "", name)
        old = self.objects[rtype.key].pop(key, None)
        if old is None:
            raise errors.not_found(rtype, name)
        gone = copy.copy(old)
        gone["metadata"] = dict(old["metadata"], resourceVersion=self._next_rv())
        self._emit(rtype, "DELETED", gone)
        return gone

    @staticmethod
    def _order_metadata(obj):
        # kind/apiVersion/metadata first, as the apiserver serialises them.
        keys = ["kind", "apiVersion", "metadata"]
        rest = {k: v for k, v in obj.items() if k not in keys}
        head = {k: obj[k] for k in keys if k in obj}
        obj.clear()
        obj.update(head)
        obj.update(rest)

    # -- watch -------------------------------------------------------------------------
    def add_watcher(self, watcher):
        self.watchers.add(watcher)

    def remove_watcher(self, watcher):
        self.watchers.discard(watcher)

    def events_since(self, rtype, rv):
        return [(t, o) for (erv, key, t, o) in self.history if erv > rv and key == rtype.key]


def _same_object(old, new):
    if old.keys() != new.keys():
        return False
    om, nm = old["metadata"], new["metadata"]
    for k in set(om) | set(nm):
        if k == "resourceVersion":
            continue
        if om.get(k) != nm.get(k):
            return False
    return all(old[k] == new[k] for k in old if k != "metadata")
