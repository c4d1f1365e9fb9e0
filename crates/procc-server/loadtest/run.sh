#!/usr/bin/env bash
# Load test of `procc serve` on SQLite: start-process, then complete-step, with wrk (Debian
# package `wrk`) on loopback. Figures go to docs/performance.md.
#
#   crates/procc-server/loadtest/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
seconds=${1:-10}
connections=${2:-16}
threads=2
port=18390
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --locked -q -p procc
procc=target/release/procc
$procc serve examples/ --demo --db "$work/load.db" --listen 127.0.0.1:$port \
  --effects /dev/null 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "Ctrl-C stops" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
admin=$(grep -o 'procc_[0-9a-f]*' "$work/serve.log")
# The steps of seller_acquisition for P3 wait for its supervisor, j.becker.
becker=$($procc token create j.becker --db "$work/load.db")

echo "== start-process: $threads threads, $connections connections, ${seconds}s"
PROCC_TOKEN=$admin PROCC_COUNT_FILE=$work/started wrk -t$threads -c"$connections" -d"${seconds}s" --latency \
  -s crates/procc-server/loadtest/start.lua "http://127.0.0.1:$port/api/v1/instances"
started=$(cat "$work/started")
echo "== complete-step: $threads threads, $connections connections, the first step of $started processes"
PROCC_TOKEN=$becker PROCC_THREADS=$threads PROCC_INSTANCES=$started wrk -t$threads -c"$connections" -d"${seconds}s" --latency \
  -s crates/procc-server/loadtest/complete.lua "http://127.0.0.1:$port"
