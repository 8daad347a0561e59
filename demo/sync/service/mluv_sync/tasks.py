"""
Celery tasks. The worker runs a thread pool (`--pool threads`); each thread opens its own
PostgreSQL connection the first time it needs one and keeps it. Results go to the Redis result
backend, where the API reads a job's state (AsyncResult): PENDING, STARTED, SUCCESS.

    python3 -m celery -A mluv_sync.tasks worker -Q <queue> --pool threads --concurrency 6

    SYNC_TASK_SECONDS   a fixed task time (the backlog fault); default 0.05-0.15 s
    SYNC_READY_FILE     written once the worker consumes
"""
import os
import random
import threading
import time

import psycopg2
from celery import Celery, signals

from . import logsetup, settings

TRANSCRIBE = 'mluv_sync.transcribe'
TASK_SECONDS = float(os.environ['SYNC_TASK_SECONDS']) if os.environ.get('SYNC_TASK_SECONDS') else None

app = Celery('mluv_sync', broker=settings.BROKER_URL, backend=settings.RESULT_URL)
app.conf.update(
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    task_default_queue=settings.QUEUE,
    task_track_started=True,
    result_expires=3600,
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
)

_local = threading.local()
ASCII = str.maketrans('áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ', 'acdeeinorstuuyzACDEEINORSTUUYZ')


def _conn():
    conn = getattr(_local, 'conn', None)
    if conn is None or conn.closed:
        conn = psycopg2.connect(settings.DSN)
        _local.conn = conn
    return conn


@signals.worker_ready.connect
def _ready(sender=None, **_):
    logsetup.orphan_guard(settings.PARENT_PID)
    path = os.environ.get('SYNC_READY_FILE')
    if path:
        with open(path, 'w') as f:
            f.write(str(getattr(sender, 'hostname', '')))


@app.task(name=TRANSCRIBE)
def transcribe(account_id, hint, level, style):
    time.sleep(TASK_SECONDS if TASK_SECONDS is not None else random.uniform(0.05, 0.15))
    heard = (hint or 'Ahoj').strip()[:300]
    said = heard.translate(ASCII) if style != 'gentle' else heard
    mistakes = sum(1 for a, b in zip(said, heard) if a != b)
    score = max(5, 100 - 6 * mistakes)
    conn = _conn()
    with conn, conn.cursor() as cur:
        cur.execute('INSERT INTO recordings (account_id, transcript, corrected, mistakes, words, score) VALUES (%s, %s, %s, %s, %s, %s)',
                    (account_id, said, heard, mistakes, len(heard.split()), score))
        if mistakes and random.random() < 0.25:
            cur.execute('INSERT INTO vocabulary (account_id, word, meaning) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING',
                        (account_id, max(heard.split(), key=len), level))
    return {'transcript': said, 'corrected': heard, 'mistakes': mistakes, 'score': score}
