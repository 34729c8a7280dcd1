#!/usr/bin/env bash
# A local cluster for trying router-nats / registry-nats: three nats-servers forming one JetStream
# cluster and three gateways (examples/configs/cluster.config.ts), all on 127.0.0.1.
#
#   examples/cluster/start-local-cluster.sh start    # starts everything, waits until all answer
#   examples/cluster/start-local-cluster.sh status   # what runs
#   examples/cluster/start-local-cluster.sh stop     # stops everything and removes the state dir
#
# Needs nats-server (>= 2.9) on PATH. Runs the built gateway (npm run build) if there is one, else
# the sources through tsx. Settings (environment):
#   OPENCLAW_CLUSTER_DIR        state: configs, stores, logs, pids   (default ./.local-cluster)
#   OPENCLAW_CLUSTER_BASE_PORT  NATS clients base+0..2, NATS routes base+10..12,
#                               gateway gRPC base+20..22, Prometheus base+30..32 (default 14220)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$(mkdir -p "${OPENCLAW_CLUSTER_DIR:-./.local-cluster}" && cd "${OPENCLAW_CLUSTER_DIR:-./.local-cluster}" && pwd)"
BASE="${OPENCLAW_CLUSTER_BASE_PORT:-14220}"
NATS_BIN="${NATS_SERVER:-$(command -v nats-server || true)}"
CLI=(node "$ROOT/bin/openclaw-gateway.js")
NAMES=(a b c)

nats_urls() {
  local urls=()
  for i in 0 1 2; do urls+=("nats://127.0.0.1:$((BASE + i))"); done
  (IFS=,; echo "${urls[*]}")
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() { # pid file, seconds before SIGKILL
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $(($2 * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  for name in "${NAMES[@]}"; do stop_pid "$DIR/gateway-$name.pid" 20; done
  for i in 1 2 3; do stop_pid "$DIR/nats-$i.pid" 10; done
  rm -rf "$DIR"
  echo "local cluster stopped"
}

start() {
  [ -n "$NATS_BIN" ] || { echo "nats-server not found (install it or set NATS_SERVER)" >&2; exit 1; }
  if alive "$DIR/nats-1.pid" || alive "$DIR/gateway-a.pid"; then echo "already running (state in $DIR); stop it first" >&2; exit 1; fi
  for i in 1 2 3; do
    local client=$((BASE + i - 1)) cluster=$((BASE + 9 + i)) routes=()
    for j in 1 2 3; do [ "$j" = "$i" ] || routes+=("nats-route://127.0.0.1:$((BASE + 9 + j))"); done
    mkdir -p "$DIR/nats-$i"
    cat > "$DIR/nats-$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$client
jetstream { store_dir: "$DIR/nats-$i" }
cluster {
  name: openclaw-local
  listen: 127.0.0.1:$cluster
  routes: [$(IFS=,; echo "${routes[*]}")]
}
CONF
    "$NATS_BIN" -c "$DIR/nats-$i.conf" > "$DIR/nats-$i.log" 2>&1 &
    echo $! > "$DIR/nats-$i.pid"
  done
  # The gateways start at once, as systemd would: they wait for JetStream (jetstreamSetup.timeoutMs).
  local servers
  servers="$(nats_urls)"
  for k in 0 1 2; do
    local name="${NAMES[$k]}"
    OPENCLAW_GATEWAY_ID="gw-$name" OPENCLAW_NATS="$servers" OPENCLAW_NATS_REPLICAS=3 OPENCLAW_NATS_PREFIX=local \
      OPENCLAW_DATA_DIR="$DIR/data-$name" OPENCLAW_GRPC_PORT=$((BASE + 20 + k)) OPENCLAW_MONITOR_PORT=$((BASE + 30 + k)) \
      "${CLI[@]}" start -c "$ROOT/examples/configs/cluster.config.ts" > "$DIR/gateway-$name.log" 2>&1 &
    echo $! > "$DIR/gateway-$name.pid"
  done
  for k in 0 1 2; do
    local name="${NAMES[$k]}" target="127.0.0.1:$((BASE + 20 + k))"
    for _ in $(seq 1 240); do
      if ! alive "$DIR/gateway-$name.pid"; then
        echo "gateway $name exited; its log:" >&2; cat "$DIR/gateway-$name.log" >&2; stop >&2; exit 1
      fi
      "${CLI[@]}" status --target "$target" --timeout 2000 > /dev/null 2>&1 && break
      sleep 0.5
    done
    "${CLI[@]}" status --target "$target" --timeout 5000 > /dev/null 2>&1 || { echo "gateway $name does not answer at $target" >&2; stop >&2; exit 1; }
    echo "gateway gw-$name ready at $target (NATS $servers)"
  done
  echo "local cluster running; state and logs in $DIR; stop with: $0 stop"
}

status() {
  for i in 1 2 3; do alive "$DIR/nats-$i.pid" && echo "nats n$i: running (pid $(cat "$DIR/nats-$i.pid"))" || echo "nats n$i: stopped"; done
  for k in 0 1 2; do
    local name="${NAMES[$k]}"
    alive "$DIR/gateway-$name.pid" && echo "gateway gw-$name: running at 127.0.0.1:$((BASE + 20 + k))" || echo "gateway gw-$name: stopped"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
