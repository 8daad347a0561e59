"""
Configuration (environment variables, read at import).

    SYNC_DSN             the app's PostgreSQL database (required)
    SYNC_CACHE_URL       Redis for the cache (db 0 of the one Redis server, by default)
    SYNC_BROKER_URL      the Celery broker (default: db 1 of the cache's server)
    SYNC_RESULT_URL      the Celery result backend (default: db 2 of the cache's server)
    SYNC_QUEUE           the Celery queue (default "transcribe")
    SYNC_POOL_SIZE       PostgreSQL connections per API process, all opened at start (default 4)
    SYNC_SEARCH_PATH     search_path of the app's sessions (default: the server's)
    SYNC_FAULTS          JSON object of fault toggles, e.g. {"pool": 1, "leak": 64}
    SYNC_LOG_FILE        where to log (default stderr)
    SYNC_PARENT_PID      stop when this process is gone
"""
import json
import os


def _db_of(url, db):
    base = url.rsplit('/', 1)[0] if url.count('/') >= 3 else url.rstrip('/')
    return f'{base}/{db}'


DSN = os.environ.get('SYNC_DSN', '')
CACHE_URL = os.environ.get('SYNC_CACHE_URL', 'redis://127.0.0.1:6379/0')
BROKER_URL = os.environ.get('SYNC_BROKER_URL') or _db_of(CACHE_URL, 1)
RESULT_URL = os.environ.get('SYNC_RESULT_URL') or _db_of(CACHE_URL, 2)
QUEUE = os.environ.get('SYNC_QUEUE', 'transcribe')
FAULTS = json.loads(os.environ.get('SYNC_FAULTS') or '{}')
POOL_SIZE = int(FAULTS.get('pool') or os.environ.get('SYNC_POOL_SIZE', '4'))
SEARCH_PATH = os.environ.get('SYNC_SEARCH_PATH', '')
LOG_FILE = os.environ.get('SYNC_LOG_FILE', '')
PARENT_PID = int(os.environ.get('SYNC_PARENT_PID') or '0')

# cache lifetimes, seconds: accounts change rarely, the rest is recomputed often
ACCOUNT_TTL = int(FAULTS.get('cache-ttl') or 900)
VOCABULARY_TTL = int(FAULTS.get('cache-ttl') or 300)
CALENDAR_TTL = int(FAULTS.get('cache-ttl') or 300)
STATS_TTL = int(FAULTS.get('cache-ttl') or 30)
CACHE_OFF = 'cache-off' in FAULTS
# the audio goes to object storage while the request waits (ms)
STORAGE_MS = (40, 120)
