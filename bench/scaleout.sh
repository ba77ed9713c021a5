#!/usr/bin/env bash
# Scale-out benchmark: the PostgreSQL, Redis and S3 adapters against the
# embedded defaults (SQLite, in-process events, local disk), on loopback,
# each comparison inside one run of this script.
#
#   bash bench/scaleout.sh                 every part (about 4 minutes)
#   bash bench/scaleout.sh claims          one part; several may be given
#
# Parts:
#   reads   `visionsync api` on SQLite vs on PostgreSQL (both on local disk),
#           VIDEOS videos seeded through the presign endpoint, then wrk on
#           GET /api/videos/:id and GET /api/videos?limit=20, ROUNDS rounds
#           alternating the first side; medians, ratio PostgreSQL / SQLite,
#           and CPU per request of the api process (and of PostgreSQL).
#   claims  bench/queue_bench: JOBS jobs enqueued, then 1, 2, 4 threads
#           Claim -> Complete until empty; claims/s, claim p50/p99, ratio
#           (two runs per adapter and thread count, ABBA order, with the
#           disk's flush latency before each: the figures follow it); then
#           the same with both databases on tmpfs, where flushes are free.
#   events  two api processes A and B; 1000 Socket.IO clients on B over 50
#           videos; the videos are uploaded and confirmed through A; the
#           UPLOADED video-status event's delay at every client on B.
#           Baseline: shared DATA_DIR, SQLite, no Redis. Subject: PostgreSQL
#           + Redis, separate DATA_DIRs. Third row: the database relay as
#           it is used, a `visionsync worker`'s PROCESSING event reaching B
#           through the shared SQLite file (250 ms polling).
#   upload  a UPLOAD_MIB MiB file PUT to the server's own upload URL (local
#           disk) vs straight to s3rver through the presigned S3 URL;
#           MiB/s and the api process's peak RSS during the upload.
#
# Settings (environment): BIN (build/visionsync), QUEUE_BENCH (bench/queue_bench
# next to BIN), DURATION (s per wrk run, 6), ROUNDS (3), CONNECTIONS (32),
# VIDEOS (200), JOBS (300), JOBS_TMPFS (2000), THREADS ("1 2 4"), SOCKETS (1000),
# EVENT_VIDEOS (50), PER_ADDRESS (50 clients per loopback source address),
# CONFIRM_GAP_MS (50), UPLOAD_MIB (512), UPLOAD_RUNS (2), VS_MEDIA_DIR.
# PostgreSQL, redis-server and s3rver are started here on 127.0.0.1 (free
# ports from 55532 and 55632 (tmpfs), 56479 and 54669) and stopped at exit
# by their PIDs.
# See bench/README.md, section "Scale-out".
set -euo pipefail
export LC_ALL=C

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# The project-local Node.js of scripts/setup-node, as the Makefile uses it.
[ -x "$ROOT/.tools/node/bin/node" ] && PATH="$ROOT/.tools/node/bin:$PATH"
BIN="${BIN:-$ROOT/build/visionsync}"
QUEUE_BENCH="${QUEUE_BENCH:-$(dirname "$BIN")/bench/queue_bench}"
MEDIA="${VS_MEDIA_DIR:-$ROOT/../shared/media}"
DURATION="${DURATION:-6}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
VIDEOS="${VIDEOS:-200}"
JOBS="${JOBS:-300}"
JOBS_TMPFS="${JOBS_TMPFS:-2000}"
CLAIM_DBS=0
THREADS="${THREADS:-1 2 4}"
SOCKETS="${SOCKETS:-1000}"
EVENT_VIDEOS="${EVENT_VIDEOS:-50}"
PER_ADDRESS="${PER_ADDRESS:-50}"
CONFIRM_GAP_MS="${CONFIRM_GAP_MS:-50}"
UPLOAD_MIB="${UPLOAD_MIB:-512}"
UPLOAD_RUNS="${UPLOAD_RUNS:-2}"
LIMITS="upload=1000000/60,general=100000000/60,streaming=100000000/60,status=1000000/60,search=1000000/60,webhook=1000000/60,auth=1000000/60"
SECRET="scaleout-bench-secret-0123456789abcdef"

PARTS=("$@")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(reads claims events upload)
for p in "${PARTS[@]}"; do
  case "$p" in reads | claims | events | upload) ;; *) echo "scaleout: unknown part '$p' (reads, claims, events, upload)" >&2; exit 2 ;; esac
done
has_part() { local p; for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

[ -x "$BIN" ] || { echo "scaleout: $BIN is missing; build first (or set BIN)" >&2; exit 1; }
if has_part claims && [ ! -x "$QUEUE_BENCH" ]; then
  echo "scaleout: $QUEUE_BENCH is missing; build the queue_bench target (or set QUEUE_BENCH)" >&2
  exit 1
fi
if has_part reads && ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q wrk >/dev/null
fi
if has_part events || has_part upload; then
  [ -f "$ROOT/tests/node/node_modules/socket.io-client/package.json" ] &&
    [ -f "$ROOT/tests/node/node_modules/s3rver/bin/s3rver.js" ] || bash "$ROOT/scripts/setup-node-tests" >/dev/null
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vs-scaleout-XXXXXX")"
chmod 755 "$WORK"   # PostgreSQL runs as the postgres user and needs to reach its folder
PIDS=()
SHM=""   # the tmpfs folder of the claims part, when it made one
cleanup() {
  trap - EXIT INT TERM
  # Newest first: the api processes before the servers they use.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # The postmaster is not our child (runuser is): wait for it by its PID.
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$WORK"
  [ -z "$SHM" ] || rm -rf "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ helpers
free_port() {  # the first port from $1 up that nothing listens on
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "scaleout: nothing listens on port $1 (logs in $WORK)" >&2
  exit 1
}
forget_pid() {  # stop one of our processes and drop it from PIDS
  local pid=$1 keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() {  # a / b, or n/a when either is not a number or b is 0
  awk -v a="$1" -v b="$2" 'BEGIN { n = "^[0-9]+([.][0-9]*)?$"
    if (a !~ n || b !~ n || b + 0 == 0) print "n/a"; else printf "%.2fx", a / b }'
}
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {  # user + system ticks of the given PIDs
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
children_of() {  # direct children of a PID (PostgreSQL's backends)
  cat /proc/[0-9]*/stat 2>/dev/null | sed 's/ (.*) / /' | awk -v pp="$1" '$3 == pp { print $1 }'
}

# --- PostgreSQL / Redis / s3rver, started once, on demand -------------------
PG_PORT="" PG_PID="" PG_BIN=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# pg_instance DIR BASEPORT: initdb + postgres in DIR; sets PGI_PORT and PGI_PID.
pg_instance() {
  local dir=$1
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$PG_BIN" ] || { echo "scaleout: PostgreSQL is not installed (run scripts/setup)" >&2; exit 1; }
  PGI_PORT=$(free_port "$2")
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust >"$dir.initdb.log" 2>&1
  # Default settings (fsync and synchronous_commit on), like SQLite's full sync.
  as_pg "$PG_BIN/postgres" -D "$dir/data" -k "$dir" -c listen_addresses=127.0.0.1 \
    -p "$PGI_PORT" >"$dir.log" 2>&1 &
  PIDS+=($!)
  wait_port "$PGI_PORT"
  for _ in $(seq 1 50); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGI_PORT" && break; sleep 0.1; done
  # The postmaster itself (runuser's child when root): for CPU figures and a clean stop.
  PGI_PID=$(head -n 1 "$dir/data/postmaster.pid")
  PIDS+=("$PGI_PID")
}
start_postgres() {
  [ -n "$PG_PID" ] && return 0
  pg_instance "$WORK/pg" 55532
  PG_PORT=$PGI_PORT PG_PID=$PGI_PID
}
PG_URL=""
pg_fresh_db() {  # a new empty database NAME [PORT]; sets PG_URL (not in a subshell: it may start the server)
  local port=${2:-}
  if [ -z "$port" ]; then start_postgres; port=$PG_PORT; fi
  as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$1" >/dev/null
  PG_URL="postgresql://postgres@127.0.0.1:$port/$1"
}
SHM_PG_PORT=""
start_shm_postgres() {  # a second server with its data on tmpfs (/dev/shm): flushes cost nothing
  [ -n "$SHM_PG_PORT" ] && return 0
  SHM="$(mktemp -d /dev/shm/vs-scaleout-XXXXXX)"
  chmod 755 "$SHM"
  pg_instance "$SHM/pg" 55632
  SHM_PG_PORT=$PGI_PORT
}
REDIS_PORT="" REDIS_PID=""
start_redis() {
  [ -n "$REDIS_PID" ] && return 0
  command -v redis-server >/dev/null || { echo "scaleout: redis-server is not installed (run scripts/setup)" >&2; exit 1; }
  REDIS_PORT=$(free_port 56479)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!; PIDS+=("$REDIS_PID")
  wait_port "$REDIS_PORT"
}
S3_PORT="" S3_PID="" S3_BUCKET_NAME=bench
start_s3rver() {
  [ -n "$S3_PID" ] && return 0
  S3_PORT=$(free_port 54669)
  mkdir -p "$WORK/s3"
  node --openssl-legacy-provider "$ROOT/tests/node/node_modules/s3rver/bin/s3rver.js" --directory "$WORK/s3" \
    --address 127.0.0.1 --port "$S3_PORT" --silent --configure-bucket "$S3_BUCKET_NAME" >"$WORK/s3rver.log" 2>&1 &
  S3_PID=$!; PIDS+=("$S3_PID")
  wait_port "$S3_PORT"
}

# start_api NAME [VAR=value ...]: `visionsync api` on a free loopback port
# with WORKERS=0 and generous rate limits; sets API_PID and API_URL.
API_PID="" API_URL=""
start_api() {
  local name=$1; shift
  mkdir -p "$WORK/$name"
  env DATA_DIR="$WORK/$name" PORT=0 HOST=127.0.0.1 WORKERS=0 HTTP_THREADS=2 LOG_LEVEL=warn \
    RATE_LIMITS="$LIMITS" WEBHOOK_SECRET="$SECRET" ANONYMOUS_UPLOADS=1 "$@" "$BIN" api >"$WORK/$name.log" 2>&1 &
  API_PID=$!; PIDS+=("$API_PID")
  for _ in $(seq 1 200); do
    grep -qs "listening on" "$WORK/$name.log" && break
    kill -0 "$API_PID" 2>/dev/null || { echo "scaleout: api $name exited:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  local port
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/$name.log" | grep -o '[0-9]*$' | head -n 1)
  [ -n "$port" ] || { echo "scaleout: api $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  API_URL="http://127.0.0.1:$port"
}
presign() {  # presign URL NAME SIZE -> the JSON answer
  curl -sf -X POST "$1/api/upload/generate-presigned-url" -H 'Content-Type: application/json' \
    -d "{\"fileName\":\"$2\",\"fileType\":\"video/mp4\",\"fileSize\":$3}"
}
json_field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\\1/"; }

echo "== scaleout bench, $(date -u '+%F %T') UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) before"
echo "   binary $BIN"

# ============================================================== part: reads
part_reads() {
  echo
  echo "== reads: visionsync api on SQLite vs PostgreSQL (local disk both), $VIDEOS videos, wrk -t2 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds"
  pg_fresh_db bench_reads
  local url=$PG_URL
  start_api reads-sqlite; local SQ_PID=$API_PID SQ=$API_URL
  start_api reads-pg DATABASE_URL="$url"; local PQ_PID=$API_PID PQ=$API_URL
  local i id_sq="" id_pg="" mid=$((VIDEOS / 2))
  for ((i = 1; i <= VIDEOS; i++)); do
    local a b
    a=$(presign "$SQ" "clip-$i.mp4" $((1000000 + i)) | json_field videoId)
    b=$(presign "$PQ" "clip-$i.mp4" $((1000000 + i)) | json_field videoId)
    if [ "$i" -eq "$mid" ]; then id_sq=$a; id_pg=$b; fi
  done
  # Both must answer 200 with the same shape, or the comparison is void.
  local n
  for u in "$SQ/api/videos/$id_sq" "$PQ/api/videos/$id_pg" "$SQ/api/videos?limit=20" "$PQ/api/videos?limit=20"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$u")" = 200 ] || { echo "scaleout: $u is not 200" >&2; exit 1; }
  done
  n=$(curl -s "$PQ/api/videos?limit=20" | grep -o '"id":"' | wc -l)
  local want=$((VIDEOS < 20 ? VIDEOS : 20))
  [ "$n" -eq "$want" ] || { echo "scaleout: PostgreSQL list has $n items, not $want" >&2; exit 1; }
  echo "   GET /api/videos/:id bytes: sqlite $(curl -s "$SQ/api/videos/$id_sq" | wc -c), postgres $(curl -s "$PQ/api/videos/$id_pg" | wc -c);" \
    "list bytes: sqlite $(curl -s "$SQ/api/videos?limit=20" | wc -c), postgres $(curl -s "$PQ/api/videos?limit=20" | wc -c)"

  # run SIDE URL -> "req/s api_us_per_req pg_us_per_req"
  declare -A R
  run() {
    local side=$1 u=$2 pid out reqs rps t0 t1 p0=0 p1=0 backends=()
    [ "$side" = sq ] && pid=$SQ_PID || pid=$PQ_PID
    if [ "$side" = pq ]; then mapfile -t backends < <(children_of "$PG_PID"); fi
    t0=$(cpu_ticks "$pid"); [ "$side" = pq ] && p0=$(cpu_ticks "$PG_PID" "${backends[@]}")
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$u")
    t1=$(cpu_ticks "$pid")
    if [ "$side" = pq ]; then  # backends started during the run count whole
      mapfile -t -O "${#backends[@]}" backends < <(children_of "$PG_PID")
      mapfile -t backends < <(printf '%s\n' "${backends[@]}" | sort -u)
      p1=$(cpu_ticks "$PG_PID" "${backends[@]}")
    fi
    if grep -q "Non-2xx" <<<"$out"; then echo "scaleout: non-2xx answers from $u:" >&2; echo "$out" >&2; exit 1; fi
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    awk -v r="$rps" -v n="$reqs" -v a=$((t1 - t0)) -v p=$((p1 - p0)) -v hz="$CLK_TCK" \
      'BEGIN { printf "%s %.1f %.1f\n", r, a * 1e6 / hz / n, p * 1e6 / hz / n }'
  }
  # warm-up: a second on each
  wrk -t1 -c4 -d1s "$SQ/api/videos/$id_sq" >/dev/null; wrk -t1 -c4 -d1s "$PQ/api/videos/$id_pg" >/dev/null
  wrk -t1 -c4 -d1s "$SQ/api/videos?limit=20" >/dev/null; wrk -t1 -c4 -d1s "$PQ/api/videos?limit=20" >/dev/null
  printf "%-5s %-28s %12s %12s %10s %12s %12s %12s\n" round test sqlite postgres "pg/sqlite" "api-us/req" "" "pg-us/req"
  printf "%-5s %-28s %12s %12s %10s %12s %12s %12s\n" "" "" "req/s" "req/s" "" sqlite postgres postgres
  local r key label u_sq u_pg s p
  for ((r = 1; r <= ROUNDS; r++)); do
    for key in one list; do
      if [ $key = one ]; then label="GET /api/videos/:id"; u_sq="$SQ/api/videos/$id_sq"; u_pg="$PQ/api/videos/$id_pg"
      else label="GET /api/videos?limit=20"; u_sq="$SQ/api/videos?limit=20"; u_pg="$PQ/api/videos?limit=20"; fi
      if (( r % 2 )); then s=$(run sq "$u_sq"); p=$(run pq "$u_pg"); else p=$(run pq "$u_pg"); s=$(run sq "$u_sq"); fi
      set -- $s $p
      R[$key.s]+="$1 "; R[$key.p]+="$4 "; R[$key.sc]+="$2 "; R[$key.pc]+="$5 "; R[$key.pg]+="$6 "
      printf "%-5s %-28s %12.0f %12.0f %10s %12s %12s %12s\n" "$r" "$label" "$1" "$4" "$(ratio "$4" "$1")" "$2" "$5" "$6"
    done
  done
  for key in one list; do
    [ $key = one ] && label="GET /api/videos/:id" || label="GET /api/videos?limit=20"
    local ms mp msc mpc mpg
    ms=$(median ${R[$key.s]}); mp=$(median ${R[$key.p]}); msc=$(median ${R[$key.sc]}); mpc=$(median ${R[$key.pc]}); mpg=$(median ${R[$key.pg]})
    printf "%-5s %-28s %12.0f %12.0f %10s %12s %12s %12s\n" med "$label" "$ms" "$mp" "$(ratio "$mp" "$ms")" "$msc" "$mpc" "$mpg"
  done
  echo "(api-us/req: CPU of the api process per request; pg-us/req: CPU of the PostgreSQL server and its backends)"
  forget_pid "$PQ_PID"; forget_pid "$SQ_PID"
}

# ============================================================= part: claims
flush_ms() {  # the disk's flush latency now: ms per 4 KiB O_DSYNC write (100 of them)
  dd if=/dev/zero of="$WORK/flush.test" bs=4k count=100 oflag=dsync 2>&1 | awk -F', ' '/copied/ { printf "%.2f", $(NF-1) * 10 }'
  rm -f "$WORK/flush.test"
}
part_claims() {
  local where
  for where in disk tmpfs; do
    local jobs=$JOBS dir=$WORK pgport=""
    if [ $where = tmpfs ]; then
      jobs=$JOBS_TMPFS; start_shm_postgres; dir=$SHM; pgport=$SHM_PG_PORT
    fi
    echo
    if [ $where = disk ]; then
      echo "== claims on disk: queue_bench, $jobs jobs (video + ConfirmUpload each), then T threads Claim -> Complete until empty"
      echo "   each T: sqlite, postgres, postgres, sqlite; flush = ms per 4 KiB O_DSYNC write measured just before the run"
    else
      echo "== claims on tmpfs: the same with the SQLite file and a second PostgreSQL's data in /dev/shm ($jobs jobs):"
      echo "   every flush is free, so this is the adapters' own cost (CPU, locks, round trips), not the disk's"
    fi
    printf "%-3s %-9s %10s %11s %11s %11s %11s %10s %7s\n" T adapter "claims/s" "claim p50" "claim p99" "claim max" "compl p50" "enqueue/s" flush
    local t db out line url
    for t in $THREADS; do
      declare -A C=()
      for db in sqlite postgres postgres sqlite; do
        local fl="-"
        [ $where = disk ] && fl=$(flush_ms)
        if [ $db = sqlite ]; then
          rm -f "$dir/q.db" "$dir/q.db-wal" "$dir/q.db-shm"
          out=$("$QUEUE_BENCH" --sqlite "$dir/q.db" --jobs "$jobs" --threads "$t")
        else
          CLAIM_DBS=$((CLAIM_DBS + 1)); pg_fresh_db "bench_claims_$CLAIM_DBS" $pgport; url=$PG_URL
          out=$("$QUEUE_BENCH" --postgres "$url" --jobs "$jobs" --threads "$t")
        fi
        line=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                      printf "%s %s %s %s %s %s", v["claims_per_s"], v["claim_p50_ms"], v["claim_p99_ms"], v["claim_max_ms"], v["complete_p50_ms"], v["enqueue_per_s"] }' <<<"$out")
        C[$db]+="$line "
        set -- $line
        printf "%-3s %-9s %10.1f %9.2fms %9.2fms %9.2fms %9.2fms %10.1f %7s\n" "$t" "$db" "$1" "$2" "$3" "$4" "$5" "$6" "$fl"
      done
      # the mean of each adapter's two runs, then the ratio
      local s p
      read -ra s < <(awk '{ for (i = 1; i <= 6; i++) printf "%s ", ($i + $(i + 6)) / 2; print "" }' <<<"${C[sqlite]}")
      read -ra p < <(awk '{ for (i = 1; i <= 6; i++) printf "%s ", ($i + $(i + 6)) / 2; print "" }' <<<"${C[postgres]}")
      printf "%-3s %-9s %10.1f %9.2fms %9.2fms   (mean of the two runs)\n" "$t" "sqlite" "${s[0]}" "${s[1]}" "${s[2]}"
      printf "%-3s %-9s %10.1f %9.2fms %9.2fms   (mean of the two runs)\n" "$t" "postgres" "${p[0]}" "${p[1]}" "${p[2]}"
      printf "%-3s %-9s %10s %11s %11s\n" "$t" "pg/sqlite" "$(ratio "${p[0]}" "${s[0]}")" "$(ratio "${p[1]}" "${s[1]}")" "$(ratio "${p[2]}" "${s[2]}")"
    done
    rm -f "$dir/q.db" "$dir/q.db-wal" "$dir/q.db-shm"
  done
}

# ============================================================= part: events
part_events() {
  echo
  echo "== events: $SOCKETS Socket.IO clients on api B over $EVENT_VIDEOS videos, uploads + confirms through api A"
  local hard want=65536
  hard="$(ulimit -Hn)"
  if [ "$hard" != "unlimited" ] && [ "$hard" -lt "$want" ]; then want="$hard"; fi
  ulimit -n "$want"
  local file
  file=$(ls -S "$MEDIA"/*.mp4 | tail -n 1)   # the smallest clip
  local args=(--sockets "$SOCKETS" --videos "$EVENT_VIDEOS" --per-address "$PER_ADDRESS" --gap "$CONFIRM_GAP_MS" --file "$file")
  echo "   file $(basename "$file") ($(stat -c %s "$file") bytes); clients $PER_ADDRESS per source address 127.0.0.x; confirms $CONFIRM_GAP_MS ms apart"
  printf "%-36s %9s %7s %7s %7s %7s %8s %8s %8s\n" "" "" "timestamp" "" "" "" "origin" "" ""
  printf "%-36s %9s %7s %7s %7s %7s %8s %8s %8s\n" setup received p50 p99 max "<=100ms" p50 p99 "<=100ms"

  # Baseline: one DATA_DIR (SQLite file and storage) shared by A and B.
  start_api ev-base-a; local A_PID=$API_PID A=$API_URL
  start_api ev-base-b DATA_DIR="$WORK/ev-base-a"; local B_PID=$API_PID B=$API_URL
  node "$HERE/events.mjs" --a "$A" --b "$B" --label "sqlite shared, no Redis: A's event" "${args[@]}" --out "$WORK/ev-base.txt"
  forget_pid "$B_PID"; forget_pid "$A_PID"

  # Subject: PostgreSQL + Redis, a DATA_DIR each.
  pg_fresh_db bench_events
  local url=$PG_URL
  start_redis
  start_api ev-a DATABASE_URL="$url" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"; A_PID=$API_PID A=$API_URL
  start_api ev-b DATABASE_URL="$url" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"; B_PID=$API_PID B=$API_URL
  node "$HERE/events.mjs" --a "$A" --b "$B" --label "postgres + redis: A's event" "${args[@]}" --out "$WORK/ev-subj.txt"
  forget_pid "$B_PID"; forget_pid "$A_PID"

  # The database relay as it exists: events of a separate `visionsync worker`
  # (its PROCESSING event when it claims the job; the garbage file then
  # fails at once, nothing is transcoded) reach B through the shared SQLite
  # file, polled every 250 ms.
  start_api ev-rel-a; A_PID=$API_PID A=$API_URL
  start_api ev-rel-b DATA_DIR="$WORK/ev-rel-a"; B_PID=$API_PID B=$API_URL
  env DATA_DIR="$WORK/ev-rel-a" WORKERS=1 LOG_LEVEL=warn WEBHOOK_SECRET="$SECRET" "$BIN" worker >"$WORK/ev-rel-worker.log" 2>&1 &
  local W_PID=$!; PIDS+=("$W_PID")
  node "$HERE/events.mjs" --a "$A" --b "$B" --label "sqlite shared: worker's event, relay" "${args[@]}" \
    --status PROCESSING --garbage 1 --wait 60000 --out "$WORK/ev-rel.txt"
  forget_pid "$W_PID"; forget_pid "$B_PID"; forget_pid "$A_PID"

  # ratios against the subject: received p50 p99 max within src_p50 src_p99 src_within
  local b s w
  read -ra b <"$WORK/ev-base.txt"; read -ra s <"$WORK/ev-subj.txt"; read -ra w <"$WORK/ev-rel.txt"
  printf "%-36s %9s %7s %7s %7s %7s %8s %8s\n" "ratio A's event, sqlite / redis" "" \
    "$(ratio "${b[1]}" "${s[1]}")" "$(ratio "${b[2]}" "${s[2]}")" "$(ratio "${b[3]}" "${s[3]}")" "" \
    "$(ratio "${b[5]}" "${s[5]}")" "$(ratio "${b[6]}" "${s[6]}")"
  printf "%-36s %9s %7s %7s %7s %7s %8s %8s\n" "ratio worker relay / redis" "" \
    "$(ratio "${w[1]}" "${s[1]}")" "$(ratio "${w[2]}" "${s[2]}")" "$(ratio "${w[3]}" "${s[3]}")" "" \
    "$(ratio "${w[5]}" "${s[5]}")" "$(ratio "${w[6]}" "${s[6]}")"
  echo "(ms. timestamp: arrival at the client minus the event's timestamp field; origin: arrival minus the"
  echo " event's data.updatedAt, written by the publishing process just before it published; p50/p99/max"
  echo " over the deliveries received, <=100ms over all expected deliveries. The relay publishes without a"
  echo " timestamp, so B stamps it on receipt: for relayed events only the origin columns include the poll.)"
}

# ============================================================= part: upload
part_upload() {
  echo
  echo "== upload: ${UPLOAD_MIB} MiB PUT, the server's own upload URL (local disk) vs the presigned URL straight to s3rver"
  start_s3rver
  start_api up-local; local L_PID=$API_PID L=$API_URL
  start_api up-s3 S3_BUCKET="$S3_BUCKET_NAME" S3_ENDPOINT="http://127.0.0.1:$S3_PORT" \
    S3_ACCESS_KEY_ID=S3RVER S3_SECRET_ACCESS_KEY=S3RVER; local S_PID=$API_PID S=$API_URL
  local big="$WORK/big.mp4"
  # A real MP4 file-type box first (the upload checks the first bytes), then random bytes.
  printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2' >"$big"
  head -c $((UPLOAD_MIB * 1048576 - 24)) /dev/urandom >>"$big"
  local size
  size=$(stat -c %s "$big")
  cat "$big" >/dev/null   # in the page cache for both sides
  printf "%-4s %-22s %9s %11s %13s %13s %13s\n" run target "MiB/s" "seconds" "api RSS MiB" "api peak MiB" "api CPU s"
  declare -A U
  up() {  # up SIDE -> prints the row, records MiB/s and peak
    local side=$1 base pid resp url id ct before peak c0 c1 res code secs s3peak=""
    if [ "$side" = local ]; then base=$L; pid=$L_PID; else base=$S; pid=$S_PID; fi
    resp=$(presign "$base" big.mp4 "$size")
    url=$(json_field presignedUrl <<<"$resp" | sed 's/\\u0026/\&/g')
    id=$(json_field videoId <<<"$resp")
    ct=$(grep -o '"Content-Type":"[^"]*"' <<<"$resp" | head -n 1 | cut -d'"' -f4)
    before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true   # reset the peak RSS (VmHWM)
    [ "$side" = s3 ] && { echo 5 >"/proc/$S3_PID/clear_refs" 2>/dev/null || true; }
    c0=$(cpu_ticks "$pid")
    res=$(curl -sS -X PUT -H "Content-Type: $ct" -H 'Expect:' -T "$big" -o "$WORK/put.out" \
      -w '%{http_code} %{time_total}' "$url")
    c1=$(cpu_ticks "$pid")
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    [ "$side" = s3 ] && s3peak=$(awk '/VmHWM/ {print $2}' "/proc/$S3_PID/status")
    code=${res%% *}; secs=${res##* }
    [ "${code:0:1}" = 2 ] || { echo "scaleout: PUT to $side answered $code:" >&2; cat "$WORK/put.out" >&2; exit 1; }
    # The confirm checks that the stored object has the declared size.
    code=$(curl -s -o "$WORK/confirm.out" -w '%{http_code}' -X POST "$base/api/upload/confirm/$id")
    [ "$code" = 200 ] || { echo "scaleout: confirm after the $side upload answered $code:" >&2; cat "$WORK/confirm.out" >&2; exit 1; }
    curl -s -o /dev/null -X DELETE "$base/api/videos/$id"   # frees the disk space
    local mibs
    mibs=$(awk -v b="$size" -v s="$secs" 'BEGIN { printf "%.1f", b / 1048576 / s }')
    U[$side.r]+="$mibs "; U[$side.p]+="$((peak / 1024)) "; U[$side.b]+="$((before / 1024)) "
    printf "%-4s %-22s %9s %11.2f %13d %13d %13.2f%s\n" "$2" "$side" "$mibs" "$secs" $((before / 1024)) $((peak / 1024)) \
      "$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { print t / hz }')" \
      "${s3peak:+   (s3rver peak $((s3peak / 1024)) MiB)}"
  }
  local r
  for ((r = 1; r <= UPLOAD_RUNS; r++)); do
    if (( r % 2 )); then up local "$r"; up s3 "$r"; else up s3 "$r"; up local "$r"; fi
  done
  local ml ms
  ml=$(median ${U[local.r]}); ms=$(median ${U[s3.r]})
  printf "%-4s %-22s %9s\n" med "local (server's URL)" "$ml"
  printf "%-4s %-22s %9s\n" med "s3 (presigned, s3rver)" "$ms"
  printf "%-4s %-22s %9s\n" "" "ratio s3 / local" "$(ratio "$ms" "$ml")"
  printf "%-4s %-22s %9s MiB local, %s MiB s3 (median peak RSS of the api process during the PUT)\n" "" "api peak RSS" \
    "$(median ${U[local.p]})" "$(median ${U[s3.p]})"
  rm -f "$big"
  forget_pid "$S_PID"; forget_pid "$L_PID"
}

for p in "${PARTS[@]}"; do
  "part_$p"
  echo "(load $(cut -d' ' -f1-3 /proc/loadavg) after part $p)"
done
echo
echo "load $(cut -d' ' -f1-3 /proc/loadavg) after"
