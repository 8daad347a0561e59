"""
python3 -m mluv_sync.seed: schema and data, once (SYNC_DSN names the database, which exists).

40,000 accounts, 1,000,000 recordings, 60,000 vocabulary entries. The schema `noidx` keeps a
copy of recordings without its account index, for the slow-query fault.
"""
import sys
import time

import psycopg2

from . import settings

VERSION = 'mluv-sync-seed-1'
ACCOUNTS = 40_000
RECORDINGS = 1_000_000
VOCABULARY = 60_000

DDL = """
CREATE TABLE IF NOT EXISTS seed_info (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  id bigserial PRIMARY KEY,
  telegram_id bigint UNIQUE NOT NULL,
  username text, first_name text,
  level text NOT NULL DEFAULT 'A1', correction_style text NOT NULL DEFAULT 'balanced', native_language text NOT NULL DEFAULT 'en',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS recordings (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  transcript text NOT NULL, corrected text NOT NULL,
  mistakes int NOT NULL, words int NOT NULL, score int NOT NULL
);
CREATE TABLE IF NOT EXISTS vocabulary (
  account_id bigint NOT NULL, word text NOT NULL, meaning text NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, word)
);
CREATE TABLE IF NOT EXISTS audio_uploads (
  id text PRIMARY KEY, account_id bigint NOT NULL, bytes int NOT NULL, uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE SCHEMA IF NOT EXISTS noidx;
"""

DATA = f"""
DROP TABLE IF EXISTS noidx.recordings;
TRUNCATE accounts, recordings, vocabulary, audio_uploads RESTART IDENTITY;
DROP INDEX IF EXISTS recordings_account;
INSERT INTO accounts (telegram_id, username, first_name, level, correction_style, native_language, created_at)
SELECT 9000000000000000 + g, 'acc' || g, 'Account', (ARRAY['A1','A2','B1','B2','C1'])[1 + g % 5],
       (ARRAY['gentle','balanced','strict'])[1 + g % 3], (ARRAY['en','ru','de','uk'])[1 + g % 4], now() - (g % 300) * interval '1 day'
FROM generate_series(1, {ACCOUNTS}) g;
INSERT INTO recordings (account_id, recorded_at, transcript, corrected, mistakes, words, score)
SELECT 1 + (g::bigint * 7919) % {ACCOUNTS}, now() - (g % 90) * interval '1 day' - (g % 1000) * interval '1 minute',
       'Dobry den', 'Dobrý den', g % 4, 2 + g % 9, 40 + g % 60
FROM generate_series(1, {RECORDINGS}) g;
INSERT INTO vocabulary (account_id, word, meaning)
SELECT 1 + g % {ACCOUNTS}, 'slovo' || (g / {ACCOUNTS}), 'word'
FROM generate_series(0, {VOCABULARY - 1}) g ON CONFLICT DO NOTHING;
CREATE TABLE noidx.recordings (LIKE public.recordings INCLUDING DEFAULTS);
INSERT INTO noidx.recordings SELECT * FROM public.recordings;
ALTER TABLE noidx.recordings ADD PRIMARY KEY (id);
"""

INDEX = 'CREATE INDEX IF NOT EXISTS recordings_account ON public.recordings (account_id, recorded_at)'


def main():
    t0 = time.time()
    conn = psycopg2.connect(settings.DSN, application_name='mluv-sync-seed')
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute('SELECT pg_advisory_lock(8124011)')
    cur.execute(DDL)
    cur.execute("SELECT value FROM seed_info WHERE name = 'seed'")
    row = cur.fetchone()
    if not row or row[0] != VERSION:
        print(f'seeding {ACCOUNTS} accounts, {RECORDINGS} recordings, {VOCABULARY} vocabulary entries (once)...', flush=True)
        conn.autocommit = False
        cur.execute(DATA)
        cur.execute(INDEX)
        cur.execute("INSERT INTO seed_info VALUES ('seed', %s) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", (VERSION,))
        conn.commit()
        conn.autocommit = True
        cur.execute('ANALYZE accounts; ANALYZE recordings; ANALYZE vocabulary; ANALYZE noidx.recordings')
        try:
            cur.execute('CHECKPOINT')
        except psycopg2.Error:
            pass
        print(f'seeded in {time.time() - t0:.1f} s', flush=True)
    else:
        cur.execute(INDEX)
    cur.execute('SELECT pg_advisory_unlock(8124011)')
    conn.close()


if __name__ == '__main__':
    try:
        main()
    except Exception as err:
        print(f'seed failed: {type(err).__name__}: {err}', file=sys.stderr, flush=True)
        sys.exit(1)
