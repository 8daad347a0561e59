"""
Celery tasks of the loadlens Mluv.Me demo target (demo/mluvme).

The API publishes `mluvme.process_voice` to the Redis broker; this worker simulates what the
real backend pays an AI provider for (speech-to-text, then an LLM correction) by sleeping,
with no external call, and writes the result to PostgreSQL with psycopg2: the message, a new
saved word now and then, and the job's status, which the client polls.

Started by demo/mluvme/launch.ts as
    /usr/bin/python3 -m celery -A mluvme_tasks worker -n <name>@%h -Q <queue> --pool threads ...
and configured by environment variables:
    MLUVME_BROKER_URL      the Redis broker (required)
    MLUVME_PG_DSN          the demo database (required)
    MLUVME_QUEUE           the queue to consume (default "celery")
    MLUVME_APPLICATION     PostgreSQL application_name (default "mluvme-worker")
    MLUVME_SEARCH_PATH     a search_path for the sessions (the slow-query fault)
    MLUVME_TASK_SECONDS    fixed simulated task time (the backlog fault); default 0.3-0.7 s
    MLUVME_POOL_SIZE       most PostgreSQL connections (default 8)
    MLUVME_READY_FILE      written with the worker's name once it is ready
    MLUVME_PARENT_PID      the worker stops itself when this process is gone
"""
import os
import random
import re
import signal
import threading
import time

import psycopg2
import psycopg2.pool
from celery import Celery
from celery.signals import worker_ready

QUEUE = os.environ.get('MLUVME_QUEUE', 'celery')
TASK_SECONDS = float(os.environ['MLUVME_TASK_SECONDS']) if os.environ.get('MLUVME_TASK_SECONDS') else None

app = Celery('mluvme', broker=os.environ['MLUVME_BROKER_URL'])
app.conf.update(
    task_serializer='json',
    accept_content=['json'],
    task_ignore_result=True,
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=1,
    worker_redirect_stdouts=False,
)

_pool = None
_pool_lock = threading.Lock()


def pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            options = '-c search_path=%s' % os.environ['MLUVME_SEARCH_PATH'] if os.environ.get('MLUVME_SEARCH_PATH') else None
            kwargs = {'application_name': os.environ.get('MLUVME_APPLICATION', 'mluvme-worker')}
            if options:
                kwargs['options'] = options
            _pool = psycopg2.pool.ThreadedConnectionPool(1, int(os.environ.get('MLUVME_POOL_SIZE', '8')), os.environ['MLUVME_PG_DSN'], **kwargs)
        return _pool


def run_sql(fn):
    """Runs fn(cursor) in one transaction on a pooled connection."""
    conn = pool().getconn()
    try:
        with conn:
            with conn.cursor() as cur:
                return fn(cur)
    finally:
        pool().putconn(conn)


# ---------------------------------------------------------------------------------------
# the simulated speech-to-text and correction

PLAIN = str.maketrans('áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ', 'acdeeinorstuuyzACDEEINORSTUUYZ')
STYLE_ERRORS = {'gentle': 1, 'balanced': 2, 'strict': 3}


def learner_version(phrase, rng):
    """What the recogniser hears from a learner: a few diacritics lost, no final punctuation."""
    words = phrase.split(' ')
    for i in rng.sample(range(len(words)), k=min(len(words), rng.randint(0, 2))):
        words[i] = words[i].translate(PLAIN)
    text = ' '.join(words)
    if rng.random() < 0.5:
        text = text.rstrip('.?!')
    return text


def correct(transcript, phrase, style):
    """The correction: the learner's words against the right ones; strict style also counts punctuation."""
    heard = transcript.split(' ')
    right = phrase.split(' ')
    mistakes = sum(1 for a, b in zip(heard, right) if a.strip('.,?!') != b.strip('.,?!'))
    if STYLE_ERRORS.get(style, 2) >= 3 and transcript[-1:] != phrase[-1:]:
        mistakes += 1
    return phrase, mistakes


def sleep_for(low, high):
    if TASK_SECONDS is not None:
        time.sleep(TASK_SECONDS / 2 * random.uniform(0.8, 1.2))
    else:
        time.sleep(random.uniform(low, high))


@app.task(name='mluvme.process_voice', bind=True)
def process_voice(self, job_id, user_id, audio_bytes, text_hint, settings):
    rng = random.Random()
    worker = self.request.hostname or 'mluvme-worker'
    run_sql(lambda cur: cur.execute(
        "UPDATE voice_jobs SET status = 'processing', started_at = now(), worker = %s WHERE id = %s", (worker, job_id)))
    try:
        phrase = text_hint or 'Dobrý den, jak se máte?'
        sleep_for(0.15, 0.35)  # speech-to-text
        transcript = learner_version(phrase, rng)
        sleep_for(0.15, 0.35)  # LLM correction
        corrected, mistakes = correct(transcript, phrase, (settings or {}).get('correction_style', 'balanced'))
        words = len(corrected.split())
        score = max(30.0, 100.0 - mistakes * 12 - rng.random() * 8)
        candidates = [w for w in re.findall(r'\w+', corrected.lower()) if len(w) > 4]
        new_word = rng.choice(candidates) if candidates and rng.random() < 0.3 else None

        def save(cur):
            cur.execute(
                'INSERT INTO messages (user_id, transcript, corrected, mistakes, words, score) '
                'VALUES (%s, %s, %s, %s, %s, %s) RETURNING id',
                (user_id, transcript, corrected, mistakes, words, score))
            message_id = cur.fetchone()[0]
            if new_word:
                cur.execute(
                    'INSERT INTO saved_words (user_id, word, translation) VALUES (%s, %s, %s) '
                    'ON CONFLICT (user_id, word) DO NOTHING', (user_id, new_word, '(from a voice message)'))
            cur.execute(
                "UPDATE voice_jobs SET status = 'done', finished_at = now(), transcript = %s, corrected = %s, "
                'mistakes = %s, score = %s, message_id = %s WHERE id = %s',
                (transcript, corrected, mistakes, score, message_id, job_id))
        run_sql(save)
    except Exception as err:
        run_sql(lambda cur: cur.execute(
            "UPDATE voice_jobs SET status = 'failed', finished_at = now(), error = %s WHERE id = %s", (str(err)[:500], job_id)))
        raise
    return {'job_id': job_id, 'mistakes': mistakes}


# ---------------------------------------------------------------------------------------
# lifecycle: tell the launcher when ready, stop when the launcher is gone

@worker_ready.connect
def _ready(sender=None, **_kwargs):
    path = os.environ.get('MLUVME_READY_FILE')
    if path:
        with open(path, 'w') as f:
            f.write(getattr(sender, 'hostname', '') or 'ready')


def _watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(15)
    os.kill(os.getpid(), signal.SIGKILL)


if os.environ.get('MLUVME_PARENT_PID'):
    threading.Thread(target=_watch_parent, args=(int(os.environ['MLUVME_PARENT_PID']),), daemon=True, name='parent-watch').start()
