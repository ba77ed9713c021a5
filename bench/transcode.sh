#!/usr/bin/env bash
# Transcoder benchmark: `visionsync transcode` vs the original ffmpeg-CLI ladder
# (shared/bench/reference-ladder.sh), on the same input.
#
# Usage: bash bench/transcode.sh [INPUT]          (what `make bench` runs)
#   INPUT   source video (default: $VS_MEDIA_DIR/src-1080p30-20s.mp4)
#   RUNS    number of alternating pairs (default 3); odd runs: ours first,
#           even runs: reference first
#   BIN     visionsync binary (default: build/visionsync under the repo root)
#   PRESET  x264 preset passed to the reference only (its default: veryfast);
#           our side always runs with its own defaults
#   REF     reference script (default: ../shared/bench/reference-ladder.sh
#           beside the clone)
#   VS_MEDIA_DIR  media folder (default: ../shared/media beside the clone)
#   QTHREADS      decoder threads for the quality pass (default: nproc)
#   MATCH         1 (default): where ours spent more bits on a rung than the
#                 reference, re-encode ours with that target lowered and
#                 compare again; 0 skips that
#
# Prints per-run and median wall / CPU / peak-RSS figures with ratios, then
# (once, from the last run's outputs) per-rung SSIM, PSNR and actual bitrate
# of both ladders against the source scaled to each rung with bicubic.
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
MEDIA="${VS_MEDIA_DIR:-$(dirname "$0")/../../shared/media}"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

INPUT="${1:-${INPUT:-$MEDIA/src-1080p30-20s.mp4}}"
RUNS="${RUNS:-3}"
MATCH="${MATCH:-1}"
BIN="${BIN:-$ROOT/build/visionsync}"
REF="${REF:-$ROOT/../shared/bench/reference-ladder.sh}"
PRESET="${PRESET:-}"
QTHREADS="${QTHREADS:-$(nproc)}"
TIME=/usr/bin/time

die() { echo "bench/transcode.sh: error: $*" >&2; exit 1; }
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
[[ -f "$INPUT" ]] || die "input not found: $INPUT (set INPUT or VS_MEDIA_DIR)"
[[ -x "$BIN" ]] || die "binary not found or not executable: $BIN (build it first: make build)"
[[ -f "$REF" ]] || die "reference script not found: $REF (set REF)"
[[ -x "$TIME" ]] || die "GNU time not found at $TIME (apt-get install time)"
for t in ffmpeg ffprobe awk; do
  command -v "$t" >/dev/null || die "$t not found"
done
INPUT="$(abspath "$INPUT")"
BIN="$(abspath "$BIN")"
REF="$(abspath "$REF")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vs-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- helpers ---

# median of the arguments (mean of the two middle values for an even count)
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{a[NR]=$1} END{ if (NR%2) printf "%.3f", a[(NR+1)/2];
                         else printf "%.3f", (a[NR/2]+a[NR/2+1])/2 }'
}
# a / b with 2 decimals ("n/a" when b is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0==0) print "n/a"; else printf "%.2f", a/b }'; }

# run_side SIDE RUN: transcode once with SIDE (ours|ref), timed.
# Appends "wall user sys rss_kib" to $WORK/SIDE.times and sets LAST_* vars.
run_side() {
  local side=$1 run=$2
  local out="$WORK/$side" tf="$WORK/$side.time" log="$WORK/$side.log"
  rm -rf "$out"
  local rc=0
  if [[ $side == ours ]]; then
    "$TIME" -o "$tf" -f '%e %U %S %M' \
      "$BIN" transcode "$INPUT" "$out" --progress json >"$log" 2>&1 || rc=$?
  else
    local args=("$INPUT" "$out")
    [[ -n "$PRESET" ]] && args+=("$PRESET")
    "$TIME" -o "$tf" -f '%e %U %S %M' bash "$REF" "${args[@]}" >"$log" 2>&1 || rc=$?
  fi
  if (( rc != 0 )); then
    echo "---- $side (run $run) failed with exit code $rc; last lines of its output:" >&2
    tail -n 20 "$log" >&2
    die "$side transcode failed"
  fi
  if [[ $side == ours ]] && ! tail -n 1 "$log" | grep -q '"stage":"done"'; then
    tail -n 5 "$log" >&2
    die "visionsync did not print a final \"done\" progress line"
  fi
  # GNU time may prefix a "Command exited..." line; the figures are the last line
  read -r LAST_WALL LAST_USER LAST_SYS LAST_RSS < <(tail -n 1 "$tf")
  LAST_CPU=$(awk -v u="$LAST_USER" -v s="$LAST_SYS" 'BEGIN{printf "%.2f", u+s}')
  LAST_MIB=$(awk -v k="$LAST_RSS" 'BEGIN{printf "%.1f", k/1024}')
  echo "$LAST_WALL $LAST_CPU $LAST_MIB" >>"$WORK/$side.times"
}

# ----------------------------------------------------------------- header ---

probe_src=$(ffprobe -v error -select_streams v:0 \
  -show_entries stream=width,height,avg_frame_rate:format=duration -of default=nw=1 "$INPUT")
SRC_W=$(sed -n 's/^width=//p' <<<"$probe_src")
SRC_H=$(sed -n 's/^height=//p' <<<"$probe_src")
SRC_FPS=$(sed -n 's/^avg_frame_rate=//p' <<<"$probe_src")
SRC_DUR=$(sed -n 's/^duration=//p' <<<"$probe_src")
SRC_FRAMES=$(ffprobe -v error -select_streams v:0 -count_packets \
  -show_entries stream=nb_read_packets -of csv=p=0 "$INPUT")

echo "== VisionSync transcode benchmark"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:   $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the runs)"
echo "ffmpeg:    $(ffmpeg -hide_banner -version | head -n 1 | cut -d' ' -f1-3)"
echo "commit:    $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]] && echo ' (dirty tree)')"
echo "input:     $INPUT (${SRC_W}x${SRC_H}, ${SRC_FPS} fps, ${SRC_DUR} s, ${SRC_FRAMES} frames)"
BIN_SUM=$(sha256sum "$BIN" | cut -c1-12)
echo "ours:      $BIN transcode IN OUT --progress json"
echo "binary:    built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $BIN_SUM..."
echo "reference: bash $REF IN OUT${PRESET:+ $PRESET}   (preset ${PRESET:-veryfast (default)})"
echo "runs:      $RUNS alternating pairs (odd: ours first, even: reference first)"
for v in VS_DECODE_THREADS VS_X264_THREADS VS_TOP_THREADS VS_X264_PARAMS VS_TOP_PARAMS VS_MID_PARAMS \
  VS_SMALL_PARAMS VS_X264_PARAMS_1080 VS_X264_PARAMS_720 VS_X264_PARAMS_480 VS_X264_PARAMS_360 \
  VS_SCALER VS_CASCADE VS_QUEUE_FRAMES; do
  [[ -n "${!v:-}" ]] && echo "WARNING:   $v=${!v} is set: our side does NOT run with its defaults"
done
echo

# warm the page cache so that the first measured run does not pay for the read
cat "$INPUT" >/dev/null

# ------------------------------------------------------------------- runs ---

echo "== Runs (wall s, CPU s = user+sys, peak RSS MiB)"
printf '%-4s %-6s %-10s %8s %8s %8s %8s %6s %10s\n' run first side wall user sys cpu cpu/wl rss_MiB
for (( i = 1; i <= RUNS; i++ )); do
  if (( i % 2 )); then order=(ours ref); first=ours; else order=(ref ours); first=ref; fi
  for side in "${order[@]}"; do
    run_side "$side" "$i"
    printf '%-4s %-6s %-10s %8s %8s %8s %8s %6s %10s\n' "$i" "$first" \
      "$([[ $side == ours ]] && echo ours || echo reference)" \
      "$LAST_WALL" "$LAST_USER" "$LAST_SYS" "$LAST_CPU" "$(ratio "$LAST_CPU" "$LAST_WALL")" "$LAST_MIB"
  done
done
echo "(cpu/wl = CPU s / wall s: cores kept busy on average; load after the runs: $(cut -d' ' -f1-3 /proc/loadavg))"
echo

col() { awk -v c="$1" '{print $c}' "$2"; }
# shellcheck disable=SC2046
{
  OW=$(median $(col 1 "$WORK/ours.times")); RW=$(median $(col 1 "$WORK/ref.times"))
  OC=$(median $(col 2 "$WORK/ours.times")); RC=$(median $(col 2 "$WORK/ref.times"))
  OM=$(median $(col 3 "$WORK/ours.times")); RM=$(median $(col 3 "$WORK/ref.times"))
}
echo "== Medians over $RUNS run(s); ratio = reference / ours (> 1: ours is faster / leaner)"
printf '%-14s %10s %10s %8s\n' metric ours reference ratio
printf '%-14s %10.2f %10.2f %7sx   (speedup)\n' "wall s"      "$OW" "$RW" "$(ratio "$RW" "$OW")"
printf '%-14s %10.2f %10.2f %7sx   (CPU ratio)\n' "CPU s"     "$OC" "$RC" "$(ratio "$RC" "$OC")"
printf '%-14s %10.1f %10.1f %7sx   (RSS ratio)\n' "peak RSS MiB" "$OM" "$RM" "$(ratio "$RM" "$OM")"
echo

# ---------------------------------------------------------------- quality ---

# Assemble every video representation of SIDE into $WORK/q/SIDE-<short>.mp4,
# keyed by its short side (= height for landscape), and record its figures.
mkdir -p "$WORK/q"
assemble() {
  local side=$1 dir="$WORK/$1" init rep f chunks n
  for init in "$dir"/init-*.m4s; do
    rep=${init##*/init-}; rep=${rep%.m4s}
    f="$WORK/q/$side-rep$rep.mp4"
    # chunks in numeric order (glob order would put chunk-R-10 before chunk-R-2)
    chunks=()
    n=1
    while [[ -f "$dir/chunk-$rep-$n.m4s" ]]; do chunks+=("$dir/chunk-$rep-$n.m4s"); n=$((n + 1)); done
    local total
    total=$(find "$dir" -maxdepth 1 -name "chunk-$rep-*.m4s" | wc -l)
    (( total == ${#chunks[@]} )) ||
      die "$side rep $rep: chunk numbering has a gap (${#chunks[@]} contiguous of $total)"
    cat "$init" "${chunks[@]}" >"$f"
    local info w h dur bytes frames short
    info=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
      -of csv=p=0 "$f" || true)
    if [[ -z "$info" ]]; then rm -f "$f"; continue; fi   # audio representation
    w=${info%%,*}; h=${info#*,}
    dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
    frames=$(ffprobe -v error -select_streams v:0 -count_packets \
      -show_entries stream=nb_read_packets -of csv=p=0 "$f")
    bytes=$(cat "$init" "${chunks[@]}" | wc -c)
    short=$(( w < h ? w : h ))
    [[ -e "$WORK/q/$side-$short.mp4" ]] && die "$side: two video rungs with short side $short"
    mv "$f" "$WORK/q/$side-$short.mp4"
    echo "$short $rep $w $h $dur $bytes $frames" >>"$WORK/q/$side.rungs"
  done
  [[ -s "$WORK/q/$side.rungs" ]] || die "$side: no video representation found"
}
assemble ours
assemble ref

# quality SIDE SHORT: prints "ssim psnr" of that rung against the scaled source
quality() {
  local side=$1 short=$2 w h log ssim psnr
  read -r _ _ w h _ _ _ < <(awk -v s="$short" '$1==s' "$WORK/q/$side.rungs")
  log="$WORK/q/$side-$short.log"
  ffmpeg -hide_banner -nostdin -nostats -loglevel info -threads "$QTHREADS" \
    -i "$WORK/q/$side-$short.mp4" -threads "$QTHREADS" -i "$INPUT" -lavfi \
    "[0:v]setpts=PTS-STARTPTS,setsar=1,format=yuv420p,split[a0][a1];\
[1:v]setpts=PTS-STARTPTS,scale=${w}:${h}:flags=bicubic,setsar=1,format=yuv420p,split[b0][b1];\
[a0][b0]ssim;[a1][b1]psnr" -f null - >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "quality pass failed for $side ${short}p"; }
  ssim=$(grep -o 'SSIM .*All:[0-9.]*' "$log" | tail -n 1 | sed 's/.*All://')
  psnr=$(grep -o 'PSNR .*average:[0-9.inf]*' "$log" | tail -n 1 | sed 's/.*average://')
  [[ -n "$ssim" && -n "$psnr" ]] || { tail -n 20 "$log" >&2; die "cannot parse SSIM/PSNR for $side ${short}p"; }
  echo "$ssim $psnr"
}

echo "== Quality (last run), each rung vs the source scaled to its size with bicubic"
echo "   kbps = (init + chunks bytes) * 8 / duration; rungs matched by short side"
COMMON=$(awk '{print $1}' "$WORK/q/ours.rungs" | sort -n | while read -r s; do
  awk -v s="$s" '$1==s{print s}' "$WORK/q/ref.rungs"; done | sort -rn)
ONLY_OURS=$(awk 'NR==FNR{r[$1]=1; next} !($1 in r){printf "%sp ", $1}' "$WORK/q/ref.rungs" "$WORK/q/ours.rungs")
ONLY_REF=$(awk 'NR==FNR{r[$1]=1; next} !($1 in r){printf "%sp ", $1}' "$WORK/q/ours.rungs" "$WORK/q/ref.rungs")
[[ -n "$COMMON" ]] || die "the two ladders have no rung in common"
# kbps SIDE SHORT: that rung's real bitrate, (init + chunks) bytes * 8 / duration
kbps() {
  awk -v s="$2" '$1==s{printf "%.0f", $6*8/$5/1000}' "$WORK/q/$1.rungs"
}
WARN=()
# table SIDE SHORT...: one row per rung, SIDE against the reference
table() {
  local mine=$1 short side ssim psnr w h dur bytes frames
  shift
  printf '%-6s | %-9s %7s %6s %7s | %-9s %7s %6s %7s | %8s %7s %8s\n' \
    rung "$mine" SSIM PSNR kbps "reference" SSIM PSNR kbps dSSIM dPSNR dkbps%
  for short in "$@"; do
    local row=()
    for side in "$mine" ref; do
      read -r _ _ w h dur bytes frames < <(awk -v s="$short" '$1==s' "$WORK/q/$side.rungs")
      (( frames == SRC_FRAMES )) ||
        WARN+=("$side ${short}p has $frames frames, the source $SRC_FRAMES: SSIM/PSNR compare the first $(( frames < SRC_FRAMES ? frames : SRC_FRAMES ))")
      read -r ssim psnr < <(quality "$side" "$short")
      row+=("${w}x${h}" "$ssim" "$psnr" "$(kbps "$side" "$short")")
    done
    local dssim dpsnr dkbps
    dssim=$(awk -v a="${row[1]}" -v b="${row[5]}" 'BEGIN{printf "%+.4f", a-b}')
    dpsnr=$(awk -v a="${row[2]}" -v b="${row[6]}" 'BEGIN{printf "%+.2f", a-b}')
    dkbps=$(awk -v a="${row[3]}" -v b="${row[7]}" 'BEGIN{ if (b+0==0) print "n/a"; else printf "%+.1f", (a-b)*100/b }')
    printf '%-6s | %-9s %7.4f %6.2f %7s | %-9s %7.4f %6.2f %7s | %8s %7s %8s\n' "${short}p" \
      "${row[0]}" "${row[1]}" "${row[2]}" "${row[3]}" "${row[4]}" "${row[5]}" "${row[6]}" "${row[7]}" \
      "$dssim" "$dpsnr" "$dkbps"
  done
}
# shellcheck disable=SC2086
table ours $COMMON
echo "(d = ours - reference; dkbps% relative to the reference; SSIM 'All', PSNR 'average' in dB)"
[[ -n "$ONLY_OURS" ]] && echo "only in ours (not compared):      $ONLY_OURS"
[[ -n "$ONLY_REF" ]] && echo "only in reference (not compared): $ONLY_REF"
[[ -n "$ONLY_OURS$ONLY_REF" ]] &&
  echo "NOTE: the two ladders differ, so the time/CPU/RSS figures above are not like for like"

# ------------------------------------------------------- matched bitrate ---
# x264's average-bitrate control lands a little off its target, differently
# for the two programs. Where ours spent more bits than the reference on a
# rung, encode ours once more with that rung's target lowered by the excess
# (and half a percent more, as the rate control does not land exactly)
# and compare again: the quality claim must hold with no more bits.
if [[ "$MATCH" == 1 ]]; then
  declare -A TARGET=([1080]=4500 [720]=2500 [480]=1200 [360]=600)
  OVER=() LADDER=()
  for short in $(awk '{print $1}' "$WORK/q/ours.rungs" | sort -rn); do
    t=${TARGET[$short]:-}
    [[ -n "$t" ]] || { LADDER=(); break; }   # not the default ladder: skip the check
    if [[ " $(echo $COMMON) " == *" $short "* ]] && (( $(kbps ours "$short") > $(kbps ref "$short") )); then
      t=$(awk -v t="$t" -v o="$(kbps ours "$short")" -v r="$(kbps ref "$short")" 'BEGIN{printf "%d", t*r/o*0.995}')
      OVER+=("$short")
    fi
    LADDER+=("$short:$t")
  done
  echo
  if (( ${#OVER[@]} == 0 )); then
    echo "== Matched bitrate: ours spent no more bits than the reference on any rung; nothing to redo"
  elif (( ${#LADDER[@]} == 0 )); then
    echo "== Matched bitrate: skipped (our ladder is not the default one)"
  else
    echo "== Matched bitrate: ours again with --ladder $(IFS=,; echo "${LADDER[*]}")"
    echo "   (the rungs where ours spent more bits above, targets lowered by the excess)"
    "$BIN" transcode "$INPUT" "$WORK/matched" --ladder "$(IFS=,; echo "${LADDER[*]}")" \
      >"$WORK/matched.log" 2>&1 || { tail -n 5 "$WORK/matched.log" >&2; die "matched re-run failed"; }
    assemble matched
    table matched "${OVER[@]}"
    for short in "${OVER[@]}"; do
      (( $(kbps matched "$short") <= $(kbps ref "$short") )) ||
        WARN+=("matched ${short}p still spends more bits than the reference")
    done
  fi
fi
[[ "$(sha256sum "$BIN" | cut -c1-12)" == "$BIN_SUM" ]] ||
  WARN+=("$BIN changed during the benchmark (rebuilt?): the figures may mix two builds")
for w in "${WARN[@]}"; do echo "WARNING: $w"; done
exit 0
