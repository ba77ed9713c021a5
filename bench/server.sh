#!/usr/bin/env bash
# Server benchmark: `visionsync serve` vs nginx on loopback, same machine,
# same run.
#   1. segment GETs: a 4 s 1080p chunk, from us and from nginx serving the
#      same file;
#   2. API reads: GET /api/videos/:id from us vs nginx serving the same JSON
#      bytes as a static file;
#   3. peak RSS of our server while a 2 GB upload streams through it.
# Usage: bash bench/server.sh     env: DURATION (s per wrk run, default 5),
#        ROUNDS (default 5; medians are printed), CONNECTIONS
#        (default 32), BIN, VS_MEDIA_DIR. Installs wrk and nginx if missing.
set -euo pipefail
export LC_ALL=C
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN="${BIN:-$ROOT/build/visionsync}"
MEDIA="${VS_MEDIA_DIR:-$ROOT/../shared/media}"
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-5}"
CONNECTIONS="${CONNECTIONS:-32}"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# --- our server, with rate limits high enough not to refuse the load --------
DATA="$WORK/data"
DATA_DIR="$DATA" PORT=0 HOST=127.0.0.1 LOG_LEVEL=warn HTTP_THREADS=2 WORKERS=1 \
  RATE_LIMITS="upload=100000/60,general=100000000/60,streaming=100000000/60,status=100000/60" \
  WEBHOOK_SECRET=bench-secret-0123456789abcdef ANONYMOUS_UPLOADS=1 \
  "$BIN" serve > "$WORK/server.log" 2>&1 &
SPID=$!; PIDS+=("$SPID")
for _ in $(seq 100); do grep -q "listening on" "$WORK/server.log" && break; sleep 0.1; done
PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/server.log" | grep -o '[0-9]*$')
API="http://127.0.0.1:$PORT"

CLIP="$MEDIA/src-1080p30-20s.mp4"
SIZE=$(stat -c %s "$CLIP")
RESP=$(curl -sf -X POST "$API/api/upload/generate-presigned-url" -H 'Content-Type: application/json' \
  -d "{\"fileName\":\"bench.mp4\",\"fileType\":\"video/mp4\",\"fileSize\":$SIZE}")
URL=$(echo "$RESP" | sed -E 's/.*"presignedUrl":"([^"]*)".*/\1/')
ID=$(echo "$RESP" | sed -E 's/.*"videoId":"([^"]*)".*/\1/')
curl -sf -X PUT -H 'Content-Type: video/mp4' --data-binary @"$CLIP" "$URL" >/dev/null
curl -sf -X POST "$API/api/upload/confirm/$ID" >/dev/null
echo "processing the 1080p clip for the segment test..."
for _ in $(seq 300); do
  curl -sf "$API/api/videos/$ID/status" | grep -q '"READY"' && break; sleep 1
done
SEG="chunk-0-2.m4s"   # a full 4 s segment of the 1080p rendition
SEG_BYTES=$(stat -c %s "$DATA/storage/processed/$ID/$SEG")

# --- nginx serving the same bytes --------------------------------------------
NG="$WORK/nginx"; mkdir -p "$NG/root" "$NG/tmp"
cp "$DATA/storage/processed/$ID/$SEG" "$NG/root/$SEG"
curl -sf "$API/api/videos/$ID" > "$NG/root/video.json"
NPORT=$((PORT + 1)); while ss -ltn | grep -q ":$NPORT "; do NPORT=$((NPORT + 1)); done
cat > "$NG/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $NG/tmp; proxy_temp_path $NG/tmp; fastcgi_temp_path $NG/tmp;
  uwsgi_temp_path $NG/tmp; scgi_temp_path $NG/tmp;
  types { video/iso.segment m4s; application/json json; }
  server { listen 127.0.0.1:$NPORT; root $NG/root; etag on; }
}
NGINX
chmod 755 "$WORK" "$NG" "$NG/root"; chmod 644 "$NG/root/"*   # nginx workers run as nobody
"$NGINX" -c "$NG/nginx.conf" -p "$NG" &
NPID=$!; PIDS+=("$NPID")
sleep 0.5
# Both sides must answer 200 with the same bytes, or the comparison is void.
for pair in "$API/media/$ID/$SEG|http://127.0.0.1:$NPORT/$SEG" "$API/api/videos/$ID|http://127.0.0.1:$NPORT/video.json"; do
  a=${pair%%|*}; b=${pair##*|}
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$a")" = 200 ] || { echo "ours: $a is not 200" >&2; exit 1; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$b")" = 200 ] || { echo "nginx: $b is not 200" >&2; exit 1; }
  [ "$(curl -s "$a" | sha256sum)" = "$(curl -s "$b" | sha256sum)" ] || { echo "different bytes for $a" >&2; exit 1; }
done

rps() { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo
echo "== $(date -u '+%F %T') UTC, $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, server HTTP_THREADS=2 vs nginx worker_processes 2"
echo "   $ROUNDS rounds; each round runs both sides, the first side alternating, so load on the machine hits both"
printf "%-5s %-34s %12s %12s %8s\n" "round" "test" "visionsync" "nginx" "ratio"
# one KEY LABEL OURS NGINX ROUND: one wrk run on each side, the first side
# alternating by round; prints the row and keeps the figures for med_row.
declare -A SUMS
one() {
  local key=$1 label=$2 ours=$3 theirs=$4 r=$5 s n
  if (( r % 2 )); then s=$(rps "$ours"); n=$(rps "$theirs"); else n=$(rps "$theirs"); s=$(rps "$ours"); fi
  SUMS[$key.s]+="$s "; SUMS[$key.n]+="$n "
  printf "%-5s %-34s %12s %12s %7.2fx\n" "$r" "$label" "$s" "$n" "$(echo "$s / $n" | bc -l)"
}
med_row() {
  local key=$1 label=$2 s n
  # shellcheck disable=SC2086
  s=$(median ${SUMS[$key.s]}); n=$(median ${SUMS[$key.n]})
  printf "%-5s %-34s %12.2f %12.2f %7.2fx\n" "med" "$label" "$s" "$n" "$(echo "$s / $n" | bc -l)"
}
for (( r = 1; r <= ROUNDS; r++ )); do
  one seg "segment GET ($((SEG_BYTES / 1024)) KiB) req/s" "$API/media/$ID/$SEG" "http://127.0.0.1:$NPORT/$SEG" "$r"
  one api "GET /api/videos/:id req/s" "$API/api/videos/$ID" "http://127.0.0.1:$NPORT/video.json" "$r"
done
med_row seg "segment GET req/s"
med_row api "GET /api/videos/:id req/s"

# --- peak RSS during a 2 GB upload -------------------------------------------
BIG="$WORK/big.mp4"
printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2' > "$BIG"
truncate -s 2G "$BIG"   # sparse: the bytes cost no disk to read
BIGSIZE=$(stat -c %s "$BIG")
RESP=$(curl -sf -X POST "$API/api/upload/generate-presigned-url" -H 'Content-Type: application/json' \
  -d "{\"fileName\":\"big.mp4\",\"fileType\":\"video/mp4\",\"fileSize\":$BIGSIZE}")
URL=$(echo "$RESP" | sed -E 's/.*"presignedUrl":"([^"]*)".*/\1/')
BEFORE=$(awk '/VmRSS/ {print $2}' /proc/$SPID/status)
echo 5 > /proc/$SPID/clear_refs 2>/dev/null || true   # reset the RSS high-water mark (VmHWM)
T0=$(date +%s.%N)
curl -sf -X PUT -H 'Content-Type: video/mp4' -H 'Expect:' -T "$BIG" "$URL" >/dev/null
T1=$(date +%s.%N)
PEAK=$(awk '/VmHWM/ {print $2}' /proc/$SPID/status)
printf "%-34s %12s\n" "2 GiB upload: RSS before (MiB)" "$((BEFORE / 1024))"
printf "%-34s %12s\n" "2 GiB upload: peak RSS (MiB)" "$((PEAK / 1024))"
printf "%-34s %12.0f\n" "2 GiB upload: throughput (MiB/s)" "$(echo "2048 / ($T1 - $T0)" | bc -l)"
echo "(peak RSS: the high-water mark reset just before the upload)"
