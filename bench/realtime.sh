#!/usr/bin/env bash
# Socket.IO benchmark: VisionSync's realtime server against a minimal Node
# socket.io 4.8 server running the same room scenario, on loopback.
#
#   bash bench/realtime.sh
#   CLIENTS_LARGE=2000 ROUNDS=10 bash bench/realtime.sh
#
# Prints, for both servers: server RSS increase per idle connected WebSocket
# client at CLIENTS_SMALL (1000) and CLIENTS_LARGE (5000) clients, and the
# latency from publishing an event to its arrival at LATENCY_CLIENTS (1000)
# clients in one room over ROUNDS (30) events (p50/p99), plus the ratios.
# Settings (environment): BIN (build/visionsync), CLIENTS_SMALL,
# CLIENTS_LARGE, LATENCY_CLIENTS, ROUNDS, PROCS (client processes, 2),
# PER_ADDRESS (clients per loopback source address, 40; ours allows 50),
# TARGETS (visionsync,node), REPEATS (3 alternating latency runs per
# server), PHASES (memory,latency), CLIENT (native: bench/realtime_client.cc
# compiled here, or node). See bench/README.md, section "Realtime".
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The project-local Node.js of scripts/setup-node, as the Makefile uses it.
[ -x "$root/.tools/node/bin/node" ] && PATH="$root/.tools/node/bin:$PATH"
export BIN="${BIN:-$root/build/visionsync}"
if [ ! -x "$BIN" ]; then
  echo "realtime bench: $BIN is missing; build first (cmake --build --preset release)" >&2
  exit 1
fi
bash "$root/scripts/setup-node-tests" >/dev/null

# Every client is a socket on both ends of loopback: 5000 clients need
# more than 10000 descriptors across the processes.
hard="$(ulimit -Hn)"
want=65536
if [ "$hard" != "unlimited" ] && [ "$hard" -lt "$want" ]; then want="$hard"; fi
ulimit -n "$want"
if [ "$(ulimit -n)" -lt 12000 ]; then
  echo "realtime bench: ulimit -n is $(ulimit -n); at least 12000 descriptors are needed" >&2
  exit 1
fi

# The load clients: native ones by default (a few microseconds per message,
# so that the figures measure the servers rather than the clients).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ "${CLIENT:-native}" = "native" ]; then
  if c++ -O2 -std=c++17 -o "$tmp/realtime_client" "$root/bench/realtime_client.cc" 2>"$tmp/cc.log"; then
    export NATIVE_CLIENT="$tmp/realtime_client"
  else
    echo "realtime bench: cannot compile bench/realtime_client.cc; using Node load clients" >&2
    cat "$tmp/cc.log" >&2
  fi
fi

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) before"
node "$root/bench/realtime.mjs" run
echo "load $(cut -d' ' -f1-3 /proc/loadavg) after"
