"""
Schema and seed data: python3 -m mluv_api.seed (MLUV_DSN names the database, which must exist).

30,000 learners, 1,200,000 voice messages and 90,000 saved words, so that a query without its
index has real work to do. Written once; a marker in app_meta says which seed is there. The
schema `noidx` holds a copy of voice_messages without the learner index (the slow-query fault
points the API's search_path at it), so the fault never changes the healthy tables.
"""
import asyncio
import sys
import time

import asyncpg

from . import settings

SEED = 'mluv-fastapi-seed-1'
LEARNERS = 30_000
MESSAGES = 1_200_000
WORDS = 90_000
# seeded learners' telegram ids sit above any id a load test makes
TELEGRAM_BASE = 8_000_000_000_000_000

PHRASES = [
    'Dobrý den, jak se máte?', 'Chtěl bych si objednat kávu s mlékem.', 'Kde je nádraží, prosím?',
    'Zítra jedu vlakem do Brna.', 'Moje sestra bydlí v Praze.', 'Rád bych se naučil česky.',
    'Kolik to stojí?', 'V sobotu půjdeme na procházku do parku.', 'Nerozumím, můžete to zopakovat?',
    'Potřebuji koupit chléb a máslo.'
]
WORD_LIST = [('nádraží', 'railway station'), ('jízdenka', 'ticket'), ('procházka', 'walk'), ('rozumět', 'to understand'),
             ('chléb', 'bread'), ('máslo', 'butter'), ('sestra', 'sister'), ('zítra', 'tomorrow'), ('vlak', 'train'),
             ('káva', 'coffee'), ('mléko', 'milk'), ('sobota', 'Saturday'), ('koupit', 'to buy'), ('cesta', 'journey'),
             ('potřebovat', 'to need')]

SCHEMA = """
CREATE TABLE IF NOT EXISTS app_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS learners (
  id serial PRIMARY KEY,
  telegram_id bigint NOT NULL UNIQUE,
  username text,
  first_name text,
  level varchar(2) NOT NULL,
  correction_style text NOT NULL,
  native_language varchar(8) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS voice_messages (
  id bigserial PRIMARY KEY,
  learner_id int NOT NULL REFERENCES learners (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  transcript text NOT NULL,
  corrected text NOT NULL,
  mistakes smallint NOT NULL,
  word_count smallint NOT NULL,
  score smallint NOT NULL
);
CREATE TABLE IF NOT EXISTS saved_words (
  id serial PRIMARY KEY,
  learner_id int NOT NULL,
  word text NOT NULL,
  translation text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (learner_id, word)
);
CREATE TABLE IF NOT EXISTS uploads (
  id uuid PRIMARY KEY,
  learner_id int NOT NULL,
  size_bytes int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SCHEMA IF NOT EXISTS noidx;
"""


def sql_array(items):
    return 'ARRAY[' + ', '.join("'" + s.replace("'", "''") + "'" for s in items) + ']'


def seed_sql():
    phrases = sql_array(PHRASES)
    n = len(PHRASES)
    words = sql_array([w for w, _ in WORD_LIST])
    trans = sql_array([t for _, t in WORD_LIST])
    return f"""
DROP TABLE IF EXISTS noidx.voice_messages;
TRUNCATE learners, voice_messages, saved_words, uploads RESTART IDENTITY CASCADE;
DROP INDEX IF EXISTS voice_messages_learner_idx;
INSERT INTO learners (telegram_id, username, first_name, level, correction_style, native_language, created_at)
SELECT {TELEGRAM_BASE} + g, 'learner_' || g, 'Learner ' || g,
  (ARRAY['A1','A2','B1','B2','C1','C2'])[1 + g % 6], (ARRAY['gentle','balanced','strict'])[1 + g % 3],
  (ARRAY['en','ru','uk','de','pl','vi','es'])[1 + g % 7], now() - ((g % 400) || ' days')::interval
FROM generate_series(1, {LEARNERS}) g;
INSERT INTO voice_messages (learner_id, created_at, transcript, corrected, mistakes, word_count, score)
SELECT 1 + (g::bigint * 104729) % {LEARNERS},
  now() - ((g % 120) || ' days')::interval - ((g % 720) || ' minutes')::interval,
  ({phrases})[1 + (g / 3) % {n}], ({phrases})[1 + (g / 3) % {n}], g % 5, 3 + g % 8, 50 + g % 50
FROM generate_series(1, {MESSAGES}) g;
INSERT INTO saved_words (learner_id, word, translation, created_at)
SELECT 1 + g % {LEARNERS}, ({words})[1 + (g / {LEARNERS}) % {len(WORD_LIST)}], ({trans})[1 + (g / {LEARNERS}) % {len(WORD_LIST)}],
  now() - ((g % 50) || ' days')::interval
FROM generate_series(0, {WORDS - 1}) g;
CREATE TABLE noidx.voice_messages (LIKE public.voice_messages INCLUDING DEFAULTS);
INSERT INTO noidx.voice_messages SELECT * FROM public.voice_messages;
ALTER TABLE noidx.voice_messages ADD PRIMARY KEY (id);
"""


INDEX = 'CREATE INDEX IF NOT EXISTS voice_messages_learner_idx ON public.voice_messages (learner_id, created_at DESC)'


async def main():
    t0 = time.time()
    conn = await asyncpg.connect(settings.DSN, server_settings={'application_name': 'mluv-seed'})
    try:
        await conn.execute('SELECT pg_advisory_lock(8124007)')
        await conn.execute(SCHEMA)
        have = await conn.fetchval("SELECT value FROM app_meta WHERE key = 'seed'")
        if have != SEED:
            print(f'seeding: {LEARNERS} learners, {MESSAGES} voice messages, {WORDS} saved words (once)...', flush=True)
            async with conn.transaction():
                await conn.execute(seed_sql())
                await conn.execute(INDEX)
                await conn.execute("INSERT INTO app_meta VALUES ('seed', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", SEED)
            await conn.execute('ANALYZE learners; ANALYZE voice_messages; ANALYZE saved_words; ANALYZE noidx.voice_messages')
            try:
                await conn.execute('CHECKPOINT')
            except asyncpg.PostgresError:
                pass
            print(f'seeded in {time.time() - t0:.1f} s', flush=True)
        else:
            await conn.execute(INDEX)
        await conn.execute('SELECT pg_advisory_unlock(8124007)')
    finally:
        await conn.close()


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except Exception as err:  # one line for the launcher
        print(f'seed failed: {type(err).__name__}: {err}', file=sys.stderr, flush=True)
        sys.exit(1)
