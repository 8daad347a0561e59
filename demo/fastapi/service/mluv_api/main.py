"""
The API (FastAPI on uvicorn):

    POST /api/v1/users                       register (JSON) -> 201 new, 200 known telegram_id
    GET  /api/v1/users/{id}                  profile, through the cache
    GET  /api/v1/users/{id}/stats            live aggregates over the learner's voice messages
    GET  /api/v1/users/{id}/saved-words      saved words, cached
    GET  /api/v1/users/{id}/streak-calendar  messages per day over 5 weeks, cached
    POST /api/v1/voice/process               multipart (user_id, text_hint, audio WAV) -> 202 {job_id}
    GET  /api/v1/voice/jobs/{id}             the job's record in Redis
    GET  /health, /debug/stats

How it holds resources: every endpoint that reads learners takes a pooled connection through
the `db` dependency for the whole request (FastAPI's usual pattern), and the upload keeps it
while the audio goes to object storage (~100 ms): that endpoint is slow by design. The pool is
asyncpg's, 10 connections opened at start (min_size = max_size). Redis is the cache (profile
10 min, saved words 2 min, calendar 1 min), the daily quota counter and the job store; the
Celery broker may live on the same server. Each fault toggle changes one thing.
"""
import asyncio
import json
import os
import random
import time
import traceback
import uuid
from datetime import date, datetime, timedelta, timezone

import asyncpg
import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from . import logs, settings, watch
from .worker import TASK_NAME, celery_app, job_key

log = logs.setup('mluv_api')
app = FastAPI(title='Mluv.Me API (loadlens demo, FastAPI)')

LEVELS = {'A1', 'A2', 'B1', 'B2', 'C1', 'C2'}
STYLES = {'gentle', 'balanced', 'strict'}
LANGUAGES = {'en', 'ru', 'uk', 'de', 'pl', 'vi', 'es', 'fr'}
LEAK_CAP = 1024 * 2 ** 20

F = settings.FAULTS
LEAK_KB = F.get('leak')
CPU_MS = F.get('cpu')
ERROR_PCT = F.get('errors')
IDLE_TX_MS = F.get('idle-tx')

state = {}
retained = []  # the leak fault: request contexts nobody empties
stats = {'requests': 0, 'cache_hits': 0, 'cache_misses': 0, 'pool_waits': 0, 'pool_wait_ms_max': 0.0,
         'checkouts': 0, 'registered': 0, 'uploads': 0, 'jobs': 0, 'injected_errors': 0, 'leaked_bytes': 0}


class UpstreamError(Exception):
    """What the errors fault raises: the speech service failing."""


@app.on_event('startup')
async def startup():
    server_settings = {'search_path': settings.SEARCH_PATH} if settings.SEARCH_PATH else {}
    state['pool'] = await asyncpg.create_pool(settings.DSN, min_size=settings.POOL_MIN, max_size=settings.POOL_MAX,
                                              server_settings=server_settings)
    state['redis'] = aioredis.from_url(settings.REDIS_URL, decode_responses=True)
    await state['redis'].ping()
    watch.stop_with_parent(settings.PARENT_PID)
    log.info('ready: asyncpg pool %d..%d, faults %s', settings.POOL_MIN, settings.POOL_MAX, json.dumps(F))


@app.on_event('shutdown')
async def shutdown():
    await state['pool'].close()
    await state['redis'].close()


async def db():
    """One pooled connection for the whole request."""
    t0 = time.perf_counter()
    stats['checkouts'] += 1
    async with state['pool'].acquire() as conn:
        waited = (time.perf_counter() - t0) * 1000
        if waited > 2:
            stats['pool_waits'] += 1
            stats['pool_wait_ms_max'] = max(stats['pool_wait_ms_max'], waited)
        yield conn


def burn(ms):
    end = time.perf_counter() + ms / 1000
    x = 0.0
    while time.perf_counter() < end:
        for i in range(500):
            x += (i * x) % 7
    return x


@app.middleware('http')
async def faults(request: Request, call_next):
    if not request.url.path.startswith('/api/'):
        return await call_next(request)
    stats['requests'] += 1
    if LEAK_KB and stats['leaked_bytes'] < LEAK_CAP:
        retained.append((time.time(), request.url.path, os.urandom(int(LEAK_KB) * 1024)))
        stats['leaked_bytes'] += int(LEAK_KB) * 1024
    if CPU_MS:
        burn(float(CPU_MS))
    if ERROR_PCT and random.random() * 100 < float(ERROR_PCT):
        stats['injected_errors'] += 1
        try:
            raise UpstreamError(f'speech service answered 502 Bad Gateway (errors fault, {ERROR_PCT}% of requests)')
        except UpstreamError:
            log.error('unhandled error in %s %s\n%s', request.method, request.url.path, traceback.format_exc().rstrip())
        return JSONResponse({'detail': 'internal server error'}, status_code=500)
    return await call_next(request)


def jsonable(row):
    out = dict(row)
    for k, v in out.items():
        if isinstance(v, (datetime, date)):
            out[k] = v.isoformat()
    return out


async def cached(key, ttl, load):
    r = state['redis']
    raw = await r.get(key)
    if raw is not None:
        stats['cache_hits'] += 1
        return json.loads(raw)
    stats['cache_misses'] += 1
    value = await load()
    if value is not None and not settings.CACHE_OFF:
        await r.set(key, json.dumps(value), ex=ttl)
    return value


PROFILE = 'SELECT id, telegram_id, username, first_name, level, correction_style, native_language, created_at FROM learners WHERE id = $1'


async def learner(conn, learner_id):
    async def load():
        row = await conn.fetchrow(PROFILE, learner_id)
        return jsonable(row) if row else None
    found = await cached(f'mv:learner:{learner_id}', settings.PROFILE_TTL, load)
    if found is None:
        raise HTTPException(404, f'no learner {learner_id}')
    return found


class NewLearner(BaseModel):
    telegram_id: int = Field(gt=0, lt=2 ** 63)
    username: str | None = None
    first_name: str | None = None
    level: str = 'A1'
    correction_style: str = 'balanced'
    native_language: str = 'en'


@app.post('/api/v1/users')
async def register(body: NewLearner, conn=Depends(db)):
    if body.level not in LEVELS or body.correction_style not in STYLES or body.native_language not in LANGUAGES:
        raise HTTPException(422, 'level, correction_style or native_language is not one of the known values')
    row = await conn.fetchrow(
        'INSERT INTO learners (telegram_id, username, first_name, level, correction_style, native_language) '
        'VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (telegram_id) DO UPDATE SET username = EXCLUDED.username '
        'RETURNING id, telegram_id, username, first_name, level, correction_style, native_language, created_at, (xmax = 0) AS inserted',
        body.telegram_id, body.username, body.first_name, body.level, body.correction_style, body.native_language)
    profile = jsonable(row)
    inserted = profile.pop('inserted')
    stats['registered'] += 1
    if not settings.CACHE_OFF:
        await state['redis'].set(f'mv:learner:{profile["id"]}', json.dumps(profile), ex=settings.PROFILE_TTL)
    return JSONResponse(profile, status_code=201 if inserted else 200)


@app.get('/api/v1/users/{learner_id}')
async def profile(learner_id: int, conn=Depends(db)):
    return await learner(conn, learner_id)


STATS = """SELECT count(*) AS messages, coalesce(sum(word_count), 0) AS words_spoken,
  coalesce(round(avg(score)::numeric, 1), 0)::float AS average_score, coalesce(sum(mistakes), 0) AS mistakes,
  count(DISTINCT created_at::date) AS active_days, max(created_at) AS last_message_at
FROM voice_messages WHERE learner_id = $1"""


@app.get('/api/v1/users/{learner_id}/stats')
async def learner_stats(learner_id: int, conn=Depends(db)):
    await learner(conn, learner_id)
    row = jsonable(await conn.fetchrow(STATS, learner_id))
    row['saved_words'] = await conn.fetchval('SELECT count(*) FROM saved_words WHERE learner_id = $1', learner_id)
    return {'user_id': learner_id, **row}


@app.get('/api/v1/users/{learner_id}/saved-words')
async def saved_words(learner_id: int, conn=Depends(db)):
    await learner(conn, learner_id)

    async def load():
        rows = await conn.fetch('SELECT word, translation, created_at::date AS saved_on FROM saved_words '
                                'WHERE learner_id = $1 ORDER BY created_at DESC LIMIT 50', learner_id)
        return [jsonable(r) for r in rows]
    return {'user_id': learner_id, 'words': await cached(f'mv:words:{learner_id}', settings.WORDS_TTL, load)}


@app.get('/api/v1/users/{learner_id}/streak-calendar')
async def streak_calendar(learner_id: int, conn=Depends(db)):
    await learner(conn, learner_id)

    async def load():
        rows = await conn.fetch("SELECT created_at::date AS day, count(*) AS messages FROM voice_messages "
                                "WHERE learner_id = $1 AND created_at >= now() - interval '35 days' GROUP BY 1 ORDER BY 1", learner_id)
        return [jsonable(r) for r in rows]
    days = await cached(f'mv:calendar:{learner_id}', settings.CALENDAR_TTL, load)
    active = {d['day'] for d in days}
    streak = 0
    d = datetime.now(timezone.utc).date()
    if d.isoformat() not in active:
        d -= timedelta(days=1)
    while d.isoformat() in active:
        streak += 1
        d -= timedelta(days=1)
    return {'user_id': learner_id, 'current_streak': streak, 'days': days}


def is_wav(b):
    return len(b) >= 44 and b[0:4] == b'RIFF' and b[8:12] == b'WAVE' and b[12:16] == b'fmt '


async def to_storage():
    """object storage PUT of the audio"""
    await asyncio.sleep(random.uniform(*settings.STORAGE_MS) / 1000)


@app.post('/api/v1/voice/process', status_code=202)
async def process_voice(user_id: int = Form(...), audio: UploadFile = Form(...), text_hint: str = Form(''), conn=Depends(db)):
    data = await audio.read()
    if not is_wav(data):
        raise HTTPException(415, 'audio must be a WAV file (RIFF/WAVE)')
    who = await learner(conn, user_id)
    r = state['redis']
    day = datetime.now(timezone.utc).strftime('%Y%m%d')
    quota = f'mv:quota:{user_id}:{day}'
    today = await r.incr(quota)
    await r.expire(quota, 2 * 86400)
    job_id = str(uuid.uuid4())
    stats['uploads'] += 1
    if IDLE_TX_MS:
        # the idle-tx fault: the upload row's transaction stays open across the storage call
        async with conn.transaction():
            await conn.execute('INSERT INTO uploads (id, learner_id, size_bytes) VALUES ($1, $2, $3)', uuid.UUID(job_id), user_id, len(data))
            await asyncio.sleep(random.uniform(0.5, 1.5) * float(IDLE_TX_MS) / 1000)
    else:
        await conn.execute('INSERT INTO uploads (id, learner_id, size_bytes) VALUES ($1, $2, $3)', uuid.UUID(job_id), user_id, len(data))
        await to_storage()
    await r.hset(job_key(job_id), mapping={'status': 'queued', 'learner_id': user_id, 'created_at': time.time()})
    await r.expire(job_key(job_id), settings.JOB_TTL)
    celery_app.send_task(TASK_NAME, args=[job_id, user_id, text_hint[:500], who['level'], who['correction_style']], queue=settings.QUEUE)
    stats['jobs'] += 1
    return {'job_id': job_id, 'status': 'queued', 'messages_today': today}


@app.get('/api/v1/voice/jobs/{job_id}')
async def voice_job(job_id: uuid.UUID):
    job = await state['redis'].hgetall(job_key(str(job_id)))
    if not job:
        raise HTTPException(404, f'no job {job_id}')
    out = {'job_id': str(job_id), 'status': job['status']}
    if job['status'] == 'done':
        out.update(transcript=job['transcript'], corrected=job['corrected'], mistakes=int(job['mistakes']), score=int(job['score']))
    return out


@app.get('/health')
async def health():
    pool = state['pool']
    return {'ok': True, 'pid': os.getpid(), 'pool': {'min': pool.get_min_size(), 'max': pool.get_max_size(), 'size': pool.get_size(), 'idle': pool.get_idle_size()}, 'faults': F}


@app.get('/debug/stats')
async def debug_stats():
    pool = state['pool']
    return {**stats, 'pool': {'min': pool.get_min_size(), 'max': pool.get_max_size(), 'size': pool.get_size(), 'idle': pool.get_idle_size()}, 'retained': len(retained)}
