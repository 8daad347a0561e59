/**
 * The demo target's PostgreSQL database: created when missing, with a schema and enough seed
 * rows (20,000 users, 1,000,000 messages, 100,000 saved words) that a missing index matters.
 * The seed is made once with generate_series and reused while its version matches.
 *
 * Schema `public` is the healthy one. Schema `noindex` holds a copy of `messages` without the
 * index on (user_id): the slow-query fault puts it first in the search_path, so that fault
 * never changes what a healthy target running at the same time sees.
 */
import pg from 'pg'
import { withPath } from './settings.js'
import { CZECH_PHRASES } from '../../scenarios/mluvme/data.js'

/** Bump when the schema or the seed changes: the database is re-seeded. */
export const SEED_VERSION = 'mluvme-seed-1'
export const SEED_USERS = 20_000
export const SEED_MESSAGES = 1_000_000
export const SEED_WORDS = 100_000
/** Seed users' telegram ids start above any id the scenario makes with uniqueInt(). */
export const SEED_TELEGRAM_BASE = 7_000_000_000_000_000

const LOCK_KEY = 742_315_001

/** the scenario's own Czech phrases: the seeded messages read like the ones users send */
const PHRASES = CZECH_PHRASES

const WORDS: Array<[string, string]> = [
  ['nádraží', 'railway station'], ['jízdenka', 'ticket'], ['svíčková', 'beef in cream sauce'], ['procházka', 'walk'],
  ['rozumět', 'to understand'], ['potřebovat', 'to need'], ['chléb', 'bread'], ['máslo', 'butter'], ['sestra', 'sister'],
  ['bydlet', 'to live'], ['zítra', 'tomorrow'], ['vlak', 'train'], ['objednat', 'to order'], ['káva', 'coffee'],
  ['mléko', 'milk'], ['pomoct', 'to help'], ['stát', 'to cost'], ['sobota', 'Saturday'], ['park', 'park'],
  ['kuchyně', 'cuisine'], ['hlavní', 'main'], ['promiňte', 'excuse me'], ['učit se', 'to learn'], ['rok', 'year'],
  ['koupit', 'to buy'], ['jet', 'to go (by vehicle)'], ['den', 'day'], ['dobrý', 'good'], ['česky', 'in Czech'],
  ['cesta', 'journey']
]

const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`
const sqlArray = (items: readonly string[]): string => `ARRAY[${items.map(sqlText).join(', ')}]`

const SCHEMA = `
CREATE TABLE IF NOT EXISTS demo_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id serial PRIMARY KEY,
  telegram_id bigint NOT NULL UNIQUE,
  username text,
  first_name text,
  level text NOT NULL,
  correction_style text NOT NULL,
  native_language text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS messages (
  id bigserial PRIMARY KEY,
  user_id int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  transcript text NOT NULL,
  corrected text NOT NULL,
  mistakes int NOT NULL,
  words int NOT NULL,
  score real NOT NULL
);
CREATE TABLE IF NOT EXISTS saved_words (
  id serial PRIMARY KEY,
  user_id int NOT NULL,
  word text NOT NULL,
  translation text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, word)
);
CREATE TABLE IF NOT EXISTS voice_jobs (
  id uuid PRIMARY KEY,
  user_id int NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  audio_bytes int NOT NULL,
  text_hint text,
  transcript text,
  corrected text,
  mistakes int,
  score real,
  message_id bigint,
  worker text,
  error text
);
ALTER TABLE voice_jobs ADD COLUMN IF NOT EXISTS polls int NOT NULL DEFAULT 0;
CREATE SCHEMA IF NOT EXISTS noindex;
CREATE TABLE IF NOT EXISTS noindex.messages (LIKE public.messages INCLUDING DEFAULTS);
`

function seedSql (): string {
  const phrases = sqlArray(PHRASES)
  const n = PHRASES.length
  return `
TRUNCATE users, messages, saved_words, voice_jobs, noindex.messages RESTART IDENTITY;
DROP INDEX IF EXISTS messages_user_id_idx;
INSERT INTO users (telegram_id, username, first_name, level, correction_style, native_language, created_at, last_seen_at)
SELECT ${SEED_TELEGRAM_BASE} + g, 'seed_user_' || g, 'Seed ' || g,
  (ARRAY['A1','A2','B1','B2','C1'])[1 + g % 5],
  (ARRAY['gentle','balanced','strict'])[1 + g % 3],
  (ARRAY['en','ru','uk','de','pl','vi'])[1 + g % 6],
  now() - ((g % 365) || ' days')::interval, now() - ((g % 30) || ' days')::interval
FROM generate_series(1, ${SEED_USERS}) g;
INSERT INTO messages (user_id, created_at, transcript, corrected, mistakes, words, score)
SELECT 1 + (g::bigint * 7919) % ${SEED_USERS},
  now() - ((g % 90) || ' days')::interval - ((g % 1440) || ' minutes')::interval,
  (${phrases})[1 + (g / 7) % ${n}],
  (${phrases})[1 + (g / 7) % ${n}],
  g % 4, 4 + g % 6, 55 + (g % 45)
FROM generate_series(1, ${SEED_MESSAGES}) g;
INSERT INTO saved_words (user_id, word, translation, created_at)
SELECT 1 + g % ${SEED_USERS}, (${sqlArray(WORDS.map(w => w[0]))})[x.i], (${sqlArray(WORDS.map(w => w[1]))})[x.i],
  now() - ((g % 60) || ' days')::interval
FROM generate_series(0, ${SEED_WORDS - 1}) g,
LATERAL (SELECT 1 + ((g / ${SEED_USERS}) + g % 20) % ${WORDS.length} AS i) x;
INSERT INTO noindex.messages SELECT * FROM public.messages;
`
}

/** Indexes of the healthy schema (the slow-query fault's copy has only its primary key). */
const INDEXES = `
CREATE INDEX IF NOT EXISTS messages_user_id_idx ON public.messages (user_id, created_at);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'noindex' AND tablename = 'messages' AND indexname = 'messages_pkey') THEN
    ALTER TABLE noindex.messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
  END IF;
END $$;
`

export interface EnsureOutcome {
  /** the database was created by this call */
  created: boolean
  /** the seed rows were written by this call */
  seeded: boolean
  ms: number
}

/** Creates the demo database when missing, then its schema and seed rows when their version differs. */
export async function ensureDemoDatabase (serverUrl: string, database: string, log: (line: string) => void = () => {}): Promise<EnsureOutcome> {
  const t0 = Date.now()
  const maintenanceDb = new URL(serverUrl).pathname.replace(/^\//, '') || 'postgres'
  const admin = new pg.Client({ connectionString: withPath(serverUrl, maintenanceDb === database ? 'postgres' : maintenanceDb), application_name: 'loadlens-demo-setup' })
  await admin.connect()
  let created = false
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
      created = true
      log(`created database ${database}`)
    }
    await admin.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY])
  } finally {
    await admin.end().catch(() => {})
  }

  const db = new pg.Client({ connectionString: withPath(serverUrl, database), application_name: 'loadlens-demo-setup' })
  await db.connect()
  let seeded = false
  try {
    await db.query('SELECT pg_advisory_lock($1)', [LOCK_KEY + 1])
    await db.query(SCHEMA)
    // the pg probe reads query times from pg_stat_statements where the server preloads it
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => {})
    const meta = await db.query<{ value: string }>("SELECT value FROM demo_meta WHERE key = 'seed'")
    if (meta.rows[0]?.value !== SEED_VERSION) {
      log(`seeding ${database}: ${SEED_USERS} users, ${SEED_MESSAGES} messages, ${SEED_WORDS} saved words (once; reused by later runs)...`)
      await db.query('BEGIN')
      await db.query(seedSql())
      await db.query(INDEXES)
      await db.query("INSERT INTO demo_meta (key, value) VALUES ('seed', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [SEED_VERSION])
      await db.query('COMMIT')
      await db.query('ANALYZE users; ANALYZE messages; ANALYZE saved_words; ANALYZE noindex.messages')
      // write the seed out now, so the checkpointer does not flush it during the first run
      // (commits then wait for a busy disk); needs a superuser or pg_checkpoint, else skipped
      await db.query('CHECKPOINT').catch(() => {})
      seeded = true
      log(`seeded ${database} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    } else {
      await db.query(INDEXES)
    }
    await db.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY + 1])
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    await db.end().catch(() => {})
  }
  return { created, seeded, ms: Date.now() - t0 }
}
