#!/usr/bin/env bash
# What `npm test` needs besides the npm packages, made ready before the tests run (npm runs this
# as the "pretest" script; .ci/run runs `npm test`, so CI takes the same steps):
#   - the Debian packages the tests use (.ci/debian-packages): installed when run as root,
#     otherwise one line naming them;
#   - PostgreSQL and Redis answering on 127.0.0.1 (started with the machine's own commands
#     when they are down and this runs as root);
#   - pg_stat_statements preloaded by PostgreSQL (one restart, as root).
# Set LOADLENS_TEST_SETUP=skip to do none of it.
set -u
cd "$(dirname "$0")/.."
[ "${LOADLENS_TEST_SETUP:-}" = "skip" ] && exit 0
root=0; [ "$(id -u)" = 0 ] && root=1
say() { printf 'test setup: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

# --- Debian packages -------------------------------------------------------------------
if command -v dpkg >/dev/null 2>&1 && [ -f .ci/debian-packages ]; then
  need=()
  for pkg in $(grep -v '^#' .ci/debian-packages); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    if [ $root = 1 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing Debian packages: ${need[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; } \
        || fail "could not install ${need[*]}"
    else
      fail "the tests need the Debian packages ${need[*]}: sudo apt-get install ${need[*]}"
    fi
  fi
fi

# --- services ----------------------------------------------------------------------------
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
if ! pg_up; then
  if [ $root = 1 ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
  fi
fi
if ! redis_up; then
  if [ $root = 1 ] && command -v redis-server >/dev/null 2>&1; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  fi
fi
for _ in $(seq 1 30); do pg_up && redis_up && break; sleep 1; done
pg_up || fail "PostgreSQL does not answer on 127.0.0.1:5432 (trust auth for user postgres): start it, e.g. sudo service postgresql start"
redis_up || fail "Redis does not answer on 127.0.0.1:6379: start it, e.g. sudo service redis-server start"

# --- pg_stat_statements preloaded ------------------------------------------------------------
if ! psql -h 127.0.0.1 -U postgres -tAc 'show shared_preload_libraries' 2>/dev/null | grep -q pg_stat_statements; then
  if [ $root = 1 ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    say "preloading pg_stat_statements (restarts PostgreSQL)"
    psql -h 127.0.0.1 -U postgres -tAc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main restart >/dev/null 2>&1
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || fail "PostgreSQL did not come back after the restart"
  else
    fail "the tests need pg_stat_statements preloaded: as a superuser run ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' and restart PostgreSQL"
  fi
fi
exit 0
