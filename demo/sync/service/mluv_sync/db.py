"""
The connection pool: a fixed set of psycopg2 connections per API process, all opened when the
process starts, handed out through a queue (a request that finds none free waits for one).
psycopg2's own pools raise PoolError when empty instead of waiting, so teams wrap them; this
is such a wrapper.
"""
import contextlib
import queue
import threading
import time

import psycopg2
import psycopg2.extras

from . import settings

_free = None
_lock = threading.Lock()
counters = {'checkouts': 0, 'waits': 0, 'wait_ms_max': 0.0, 'size': 0}


def open_pool(size):
    global _free
    _free = queue.Queue()
    for _ in range(size):
        conn = psycopg2.connect(settings.DSN, options=f'-c search_path={settings.SEARCH_PATH}' if settings.SEARCH_PATH else None)
        conn.autocommit = True
        _free.put(conn)
    counters['size'] = size


def close_pool():
    while _free is not None and not _free.empty():
        _free.get_nowait().close()


@contextlib.contextmanager
def connection():
    """A pooled connection; given back when the block ends."""
    t0 = time.perf_counter()
    conn = _free.get(timeout=30)
    waited = (time.perf_counter() - t0) * 1000
    with _lock:
        counters['checkouts'] += 1
        if waited > 2:
            counters['waits'] += 1
            counters['wait_ms_max'] = max(counters['wait_ms_max'], waited)
    try:
        yield conn
    finally:
        if conn.closed:
            conn = psycopg2.connect(settings.DSN)
            conn.autocommit = True
        _free.put(conn)


def one(conn, sql, *args):
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def many(conn, sql, *args):
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, args)
        return cur.fetchall()
