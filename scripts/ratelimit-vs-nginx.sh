#!/usr/bin/env bash
# Runs one request pattern against nginx's limit_req (nodelay and queueing) and against the
# Portcullis gateway with the same limit (30 per minute = one every 2 s, burst 5), all on
# loopback, and prints how many requests each admitted. README "Rate limiting: compared with
# nginx" quotes its output. Needs nginx (apt-get install nginx) and curl; builds the module.
#
# The pattern: 20 requests back to back at t0, then 10 more back to back from t0 + 5 s; and
# 20 at once on a fresh limit. A token is 2 s apart and the pause leaves half a token of slack
# either way, so the few hundred milliseconds curl takes do not change the counts: reruns
# print the same numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nginx >/dev/null || { echo "nginx is not installed: apt-get install nginx" >&2; exit 1; }
make build >/dev/null
go build -o build/portcullis-gateway ./e2e/cmd/portcullis-gateway

dir=$(mktemp -d)
trap 'kill $(cat "$dir"/pids 2>/dev/null) 2>/dev/null || true; nginx -p "$dir" -c "$dir/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$dir"' EXIT
NGINX=127.0.0.1:18480 GATEWAY=127.0.0.1:18481 ADMIN=127.0.0.1:18482

mkdir -p "$dir/logs" "$dir/www"
echo ok > "$dir/www/ok.txt"
chmod -R a+rX "$dir" # nginx workers read it as their own user
cat > "$dir/nginx.conf" <<CONF
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events {}
http {
  access_log off;
  limit_req_zone \$binary_remote_addr zone=nodelay:1m rate=30r/m;
  limit_req_zone \$binary_remote_addr zone=queue:1m rate=30r/m;
  limit_req_status 429;
  server {
    listen $NGINX;
    # try_files, not return: return answers in the rewrite phase, before limit_req runs.
    root $dir/www;
    location /nodelay { limit_req zone=nodelay burst=5 nodelay; try_files /ok.txt =404; }
    location /queue   { limit_req zone=queue burst=5; try_files /ok.txt =404; }
    location /plain   { try_files /ok.txt =404; }
  }
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf"

cat > "$dir/portcullis.json" <<CONF
{"policy": {"version": 1, "routes": [{"name": "plain", "match": {"path_prefix": "/plain"}, "auth": {"type": "none"},
  "rate_limits": [{"by": "ip", "rate": 30, "per": "minute", "burst": 5}]}]}}
CONF
build/portcullis-gateway -config "$dir/portcullis.json" -upstream "http://$NGINX" -listen "$GATEWAY" -admin "$ADMIN" \
  -workers 2 -log-level error >"$dir/gateway.log" 2>&1 &
echo $! >> "$dir/pids"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://$GATEWAY/plain" 2>/dev/null && break; sleep 0.1; done
sleep 2.5 # the readiness probe took a token: let it come back (one every 2 s)

# burst N URL: N requests back to back; prints how many got 200.
burst() {
  local ok=0
  for _ in $(seq 1 "$1"); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$2")" = 200 ] && ok=$((ok + 1))
  done
  echo "$ok"
}
# concurrent N URL: N requests at once; prints how many got 200 and how long the last took.
concurrent() {
  local start=$(date +%s.%N)
  for i in $(seq 1 "$1"); do curl -s -o /dev/null -w '%{http_code}\n' "$2" > "$dir/c.$i" & done
  wait
  echo "$(cat "$dir"/c.* | grep -c 200) in $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s"
  rm -f "$dir"/c.*
}

run() { # name url
  local a b
  local t0; t0=$(date +%s.%N)
  a=$(burst 20 "$2")
  sleep "$(echo "$t0 + 5 - $(date +%s.%N)" | bc)" # until 5 s after the first request, however long the burst took
  b=$(burst 10 "$2")
  printf '%-36s t0: %2s of 20   after 5 s: %2s of 10\n' "$1" "$a" "$b"
}
run "nginx limit_req burst=5 nodelay" "http://$NGINX/nodelay"
run "portcullis 30/minute burst 5" "http://$GATEWAY/plain"
sleep 12 # the gateway's bucket refills (5 tokens, one every 2 s)
printf '%-36s %s\n' "nginx limit_req burst=5 (queueing)" "20 at once: $(concurrent 20 "http://$NGINX/queue")"
printf '%-36s %s\n' "portcullis 30/minute burst 5" "20 at once: $(concurrent 20 "http://$GATEWAY/plain")"
