"""
Settings from the environment, read once at import (twelve-factor style).

    MLUV_DSN            PostgreSQL DSN of the app's database (required)
    MLUV_REDIS_URL      Redis for the cache and the job store (required)
    MLUV_BROKER_URL     the Celery broker (default: MLUV_REDIS_URL, one server for both)
    MLUV_QUEUE          the Celery queue (default "voice")
    MLUV_POOL_MIN       asyncpg pool min_size (default 10: asyncpg opens them all at start)
    MLUV_POOL_MAX       asyncpg pool max_size (default 10)
    MLUV_SEARCH_PATH    search_path of the app's sessions (default: the server's)
    MLUV_FAULTS         JSON object of fault toggles, e.g. {"pool": 2, "leak": 64}
    MLUV_LOG_FILE       where the app logs (default: stderr)
    MLUV_WORKER_CONCURRENCY, MLUV_TASK_SECONDS   the worker's side (see worker.py)
    MLUV_PARENT_PID     the process stops itself when this process is gone
"""
import json
import os

DSN = os.environ.get('MLUV_DSN', '')
REDIS_URL = os.environ.get('MLUV_REDIS_URL', 'redis://127.0.0.1:6379/0')
BROKER_URL = os.environ.get('MLUV_BROKER_URL') or REDIS_URL
QUEUE = os.environ.get('MLUV_QUEUE', 'voice')
FAULTS = json.loads(os.environ.get('MLUV_FAULTS') or '{}')
POOL_MAX = int(FAULTS.get('pool') or os.environ.get('MLUV_POOL_MAX', '10'))
POOL_MIN = min(POOL_MAX, int(os.environ.get('MLUV_POOL_MIN', str(POOL_MAX))))
SEARCH_PATH = os.environ.get('MLUV_SEARCH_PATH', '')
LOG_FILE = os.environ.get('MLUV_LOG_FILE', '')
PARENT_PID = int(os.environ.get('MLUV_PARENT_PID') or '0')

# what the cache keeps, and for how long (seconds)
PROFILE_TTL = int(FAULTS.get('cache-ttl') or 600)
WORDS_TTL = int(FAULTS.get('cache-ttl') or 120)
CALENDAR_TTL = int(FAULTS.get('cache-ttl') or 60)
CACHE_OFF = 'cache-off' in FAULTS
# a job's record in Redis lives this long after its last update
JOB_TTL = 3600
# simulated object storage upload of the audio (ms)
STORAGE_MS = (60, 140)
