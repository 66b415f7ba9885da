#!/usr/bin/env bash
# Starts the local services the test suite talks to, when the machine does not already run them.
# PostgreSQL: the control-server store tests use it on 127.0.0.1:5432 (PORTCULLIS_TEST_PG_DSN
# overrides the address). Chromium: e2e/browser drives /usr/bin/chromium headless (not a
# service; installed here so that CI and a fresh machine have it).
set -euo pipefail

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if command -v pg_isready >/dev/null 2>&1 && pg_ready; then
  echo "services: postgresql already running"
else
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "services: installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || { echo "services: postgresql did not start" >&2; exit 1; }
  echo "services: postgresql started"
fi

if [ -x /usr/bin/chromium ]; then
  echo "services: chromium present"
else
  echo "services: installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  [ -x /usr/bin/chromium ] || { echo "services: chromium did not install" >&2; exit 1; }
fi

# Redis: the global rate-limit tests count in it on 127.0.0.1:6379 (PORTCULLIS_TEST_REDIS_ADDR
# overrides the address). In memory only: nothing is saved.
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if command -v redis-cli >/dev/null 2>&1 && redis_ready; then
  echo "services: redis already running"
else
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "services: installing redis"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  fi
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_ready && break; sleep 1; done
  redis_ready || { echo "services: redis did not start" >&2; exit 1; }
  echo "services: redis started"
fi
