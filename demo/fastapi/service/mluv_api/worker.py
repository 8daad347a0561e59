"""
The Celery side: `mluv.transcribe` stands in for the paid AI calls (speech-to-text, then an
LLM correction) by sleeping, then stores the message in PostgreSQL and the result in the
job's Redis hash, which the API's poll endpoint reads.

    python3 -m celery -A mluv_api.worker worker -Q <queue> --pool prefork --concurrency 8

Each pool process keeps one PostgreSQL connection (psycopg2) for its whole life, opened when
the process starts: the database always holds the workers' sessions beside the API's pool.

    MLUV_TASK_SECONDS   fixed task time (the backlog fault); default 0.04-0.12 s
    MLUV_READY_FILE     written once the worker consumes
"""
import os
import random
import time

import psycopg2
import redis
from celery import Celery, signals

from . import settings, watch

TASK_NAME = 'mluv.transcribe'
TASK_SECONDS = float(os.environ['MLUV_TASK_SECONDS']) if os.environ.get('MLUV_TASK_SECONDS') else None

celery_app = Celery('mluv', broker=settings.BROKER_URL)
celery_app.conf.update(
    task_serializer='json',
    accept_content=['json'],
    task_ignore_result=True,
    task_default_queue=settings.QUEUE,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
)

_db = None
_redis = None

PLAIN = str.maketrans('áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ', 'acdeeinorstuuyzACDEEINORSTUUYZ')


def job_key(job_id):
    return f'mv:job:{job_id}'


@signals.worker_process_init.connect
def open_connections(**_):
    global _db, _redis
    _db = psycopg2.connect(settings.DSN)
    _redis = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


@signals.worker_ready.connect
def ready(sender=None, **_):
    watch.stop_with_parent(settings.PARENT_PID)
    path = os.environ.get('MLUV_READY_FILE')
    if path:
        with open(path, 'w') as f:
            f.write(str(getattr(sender, 'hostname', '')))


@celery_app.task(name=TASK_NAME)
def transcribe(job_id, learner_id, text_hint, level, style):
    _redis.hset(job_key(job_id), 'status', 'processing')
    time.sleep(TASK_SECONDS if TASK_SECONDS is not None else random.uniform(0.04, 0.12))
    heard = (text_hint or 'Dobrý den').strip()[:300]
    # the learner dropped some diacritics: the correction puts them back
    said = heard.translate(PLAIN) if style != 'gentle' else heard
    mistakes = sum(1 for a, b in zip(said, heard) if a != b)
    words = len(heard.split())
    score = max(10, 100 - 7 * mistakes)
    with _db:
        with _db.cursor() as cur:
            cur.execute('INSERT INTO voice_messages (learner_id, transcript, corrected, mistakes, word_count, score) '
                        'VALUES (%s, %s, %s, %s, %s, %s) RETURNING id', (learner_id, said, heard, mistakes, words, score))
            if mistakes and random.random() < 0.3:
                word = max(heard.split(), key=len)
                cur.execute('INSERT INTO saved_words (learner_id, word, translation) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING',
                            (learner_id, word, f'({level})'))
    _redis.hset(job_key(job_id), mapping={'status': 'done', 'transcript': said, 'corrected': heard,
                                          'mistakes': mistakes, 'score': score})
    _redis.expire(job_key(job_id), settings.JOB_TTL)
