"""
The API: FastAPI with plain (sync) handlers, which Starlette runs in its thread pool, served
by `uvicorn --workers 2` (two processes, each with its own pool of PostgreSQL connections).

    POST /api/v1/users                        register -> 201 (200 when the telegram_id exists)
    GET  /api/v1/users/{id}                   account, cache-aside (a connection only on a miss)
    GET  /api/v1/users/{id}/stats             aggregates over the account's recordings, cached 30 s
    GET  /api/v1/users/{id}/saved-words       vocabulary, cached
    GET  /api/v1/users/{id}/streak-calendar   recordings per day, cached
    POST /api/v1/voice/process                multipart upload -> 202 {job_id}; the handler holds its
                                              connection while the audio goes to object storage
    GET  /api/v1/voice/jobs/{id}              the Celery task's state from the result backend
    GET  /health, /debug/stats
"""
import json
import os
import random
import threading
import time
import traceback
import uuid
from datetime import date, datetime, timedelta, timezone

import redis
from celery.result import AsyncResult
from fastapi import Depends, FastAPI, Form, HTTPException, UploadFile
from fastapi.responses import JSONResponse

from . import db, logsetup, settings
from .tasks import TRANSCRIBE, app as celery

log = logsetup.configure('mluv_sync.api')
api = FastAPI(title='Mluv.Me (loadlens demo: sync handlers, psycopg2)')
F = settings.FAULTS
cache = redis.Redis.from_url(settings.CACHE_URL, decode_responses=True)
kept = []  # the leak fault
counts = {'requests': 0, 'hits': 0, 'misses': 0, 'errors_injected': 0, 'kept_bytes': 0, 'uploads': 0, 'registered': 0}
_count_lock = threading.Lock()


def bump(key, n=1):
    with _count_lock:
        counts[key] += n


@api.on_event('startup')
def startup():
    db.open_pool(settings.POOL_SIZE)
    cache.ping()
    logsetup.orphan_guard(settings.PARENT_PID)
    log.info('process %d ready: %d PostgreSQL connections, faults %s', os.getpid(), settings.POOL_SIZE, json.dumps(F))


@api.on_event('shutdown')
def shutdown():
    db.close_pool()


class Upstream(RuntimeError):
    pass


def spin(ms):
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += sum(i * i for i in range(300))
    return n


def faults():
    """Every API route passes here first (in the thread pool)."""
    bump('requests')
    if F.get('leak') and counts['kept_bytes'] < 1024 * 2 ** 20:
        kept.append(bytearray(os.urandom(int(F['leak']) * 1024)))
        bump('kept_bytes', int(F['leak']) * 1024)
    if F.get('cpu'):
        spin(float(F['cpu']))
    if F.get('errors') and random.random() * 100 < float(F['errors']):
        bump('errors_injected')
        try:
            raise Upstream('speech-to-text provider returned 503')
        except Upstream:
            log.error('request failed\n%s', traceback.format_exc().rstrip())
        raise HTTPException(500, 'internal error')


def hold_connection():
    """A connection for the whole request (a dependency with yield)."""
    with db.connection() as conn:
        yield conn


def from_cache(key, ttl, compute):
    raw = cache.get(key)
    if raw is not None:
        bump('hits')
        return json.loads(raw)
    bump('misses')
    value = compute()
    if value is not None and not settings.CACHE_OFF:
        cache.setex(key, ttl, json.dumps(value, default=str))
    return value


def plain(row):
    if row is None:
        return None
    return {k: (v.isoformat() if isinstance(v, (datetime, date)) else v) for k, v in dict(row).items()}


ACCOUNT = 'SELECT id, telegram_id, username, first_name, level, correction_style, native_language, created_at FROM accounts WHERE id = %s'


def account(account_id, conn=None):
    """The account, from the cache or the database (on the caller's connection when it holds one:
    a second checkout while holding one can wait forever once every connection is held so)."""
    def load():
        if conn is not None:
            return plain(db.one(conn, ACCOUNT, account_id))
        with db.connection() as own:
            return plain(db.one(own, ACCOUNT, account_id))
    found = from_cache(f'account:{account_id}', settings.ACCOUNT_TTL, load)
    if found is None:
        raise HTTPException(404, 'unknown account')
    return found


@api.post('/api/v1/users', dependencies=[Depends(faults)])
def register(body: dict):
    try:
        telegram_id = int(body['telegram_id'])
    except (KeyError, TypeError, ValueError):
        raise HTTPException(422, 'telegram_id is required')
    with db.connection() as conn:
        row = db.one(conn, 'INSERT INTO accounts (telegram_id, username, first_name, level, correction_style, native_language) '
                           'VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (telegram_id) DO UPDATE SET username = EXCLUDED.username '
                           'RETURNING id, telegram_id, username, first_name, level, correction_style, native_language, created_at, (xmax = 0) AS new',
                     telegram_id, body.get('username'), body.get('first_name'), body.get('level', 'A1'),
                     body.get('correction_style', 'balanced'), body.get('native_language', 'en'))
    out = plain(row)
    new = out.pop('new')
    bump('registered')
    if not settings.CACHE_OFF:
        cache.setex(f'account:{out["id"]}', settings.ACCOUNT_TTL, json.dumps(out))
    return JSONResponse(out, status_code=201 if new else 200)


@api.get('/api/v1/users/{account_id}', dependencies=[Depends(faults)])
def get_account(account_id: int):
    return account(account_id)


STATS = ('SELECT count(*) AS messages, coalesce(sum(words), 0) AS words_spoken, coalesce(avg(score), 0)::float AS average_score, '
         'coalesce(sum(mistakes), 0) AS mistakes, max(recorded_at) AS last_message_at FROM recordings WHERE account_id = %s')


@api.get('/api/v1/users/{account_id}/stats', dependencies=[Depends(faults)])
def get_stats(account_id: int):
    account(account_id)

    def load():
        with db.connection() as conn:
            row = plain(db.one(conn, STATS, account_id))
            row['saved_words'] = db.one(conn, 'SELECT count(*) AS n FROM vocabulary WHERE account_id = %s', account_id)['n']
            return row
    return {'user_id': account_id, **from_cache(f'stats:{account_id}', settings.STATS_TTL, load)}


@api.get('/api/v1/users/{account_id}/saved-words', dependencies=[Depends(faults)])
def get_words(account_id: int):
    account(account_id)

    def load():
        with db.connection() as conn:
            return [plain(r) for r in db.many(conn, 'SELECT word, meaning, added_at FROM vocabulary WHERE account_id = %s ORDER BY added_at DESC LIMIT 100', account_id)]
    return {'user_id': account_id, 'words': from_cache(f'words:{account_id}', settings.VOCABULARY_TTL, load)}


@api.get('/api/v1/users/{account_id}/streak-calendar', dependencies=[Depends(faults)])
def get_calendar(account_id: int):
    account(account_id)

    def load():
        with db.connection() as conn:
            rows = db.many(conn, "SELECT recorded_at::date AS day, count(*) AS n FROM recordings WHERE account_id = %s "
                                 "AND recorded_at > now() - interval '5 weeks' GROUP BY 1 ORDER BY 1", account_id)
            return [{'day': r['day'].isoformat(), 'messages': r['n']} for r in rows]
    days = from_cache(f'calendar:{account_id}', settings.CALENDAR_TTL, load)
    have = {d['day'] for d in days}
    streak, d = 0, datetime.now(timezone.utc).date()
    while d.isoformat() in have:
        streak += 1
        d -= timedelta(days=1)
    return {'user_id': account_id, 'current_streak': streak, 'days': days}


def put_to_storage():
    time.sleep(random.uniform(*settings.STORAGE_MS) / 1000)


@api.post('/api/v1/voice/process', status_code=202, dependencies=[Depends(faults)])
def upload(user_id: int = Form(...), audio: UploadFile = Form(...), text_hint: str = Form(''), conn=Depends(hold_connection)):
    data = audio.file.read()
    if len(data) < 44 or data[:4] != b'RIFF' or data[8:12] != b'WAVE':
        raise HTTPException(415, 'a WAV file is expected')
    who = account(user_id, conn)
    job_id = str(uuid.uuid4())
    if F.get('idle-tx'):
        # the idle-tx fault: the row's transaction stays open while the audio is stored
        conn.autocommit = False
        try:
            with conn.cursor() as cur:
                cur.execute('INSERT INTO audio_uploads (id, account_id, bytes) VALUES (%s, %s, %s)', (job_id, user_id, len(data)))
            time.sleep(random.uniform(0.5, 1.5) * float(F['idle-tx']) / 1000)
            conn.commit()
        finally:
            conn.autocommit = True
    else:
        with conn.cursor() as cur:
            cur.execute('INSERT INTO audio_uploads (id, account_id, bytes) VALUES (%s, %s, %s)', (job_id, user_id, len(data)))
        put_to_storage()
    celery.send_task(TRANSCRIBE, args=[user_id, text_hint[:400], who['level'], who['correction_style']], task_id=job_id, queue=settings.QUEUE)
    bump('uploads')
    return {'job_id': job_id, 'status': 'PENDING'}


@api.get('/api/v1/voice/jobs/{job_id}', dependencies=[Depends(faults)])
def job(job_id: str):
    r = AsyncResult(job_id, app=celery)
    out = {'job_id': job_id, 'status': r.state}
    if r.state == 'SUCCESS':
        out['result'] = r.result
        out['corrected'] = r.result.get('corrected')
    return out


@api.get('/health')
def health():
    return {'ok': True, 'pid': os.getpid(), 'pool': db.counters}


@api.get('/debug/stats')
def debug_stats():
    return {**counts, 'pid': os.getpid(), 'pool': db.counters, 'kept': len(kept)}
