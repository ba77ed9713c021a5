// Helper of bench/scaleout.sh (part "events"): live events across two api
// processes. Connects SOCKETS socket.io-client sockets (WebSocket transport)
// to api B, spread round robin over VIDEOS videos presigned through api A
// (join-video, acknowledged), PUTs a small file to each video's presigned
// URL, then confirms the videos one by one through A, GAP ms apart. Each
// confirm publishes one video-status UPLOADED event carrying a `timestamp`
// (ms, stamped by the process that publishes it); every socket on B records
// its arrival.
//
//   node bench/events.mjs --a URL --b URL --file FILE [--sockets 1000] [--videos 50]
//        [--per-address 50] [--gap 50] [--wait 5000] [--label TEXT] [--out FILE]
//        [--status UPLOADED] [--garbage 0]
//
// Prints one table row: deliveries received / expected; arrival - timestamp
// p50/p99/max over those received and the share of expected deliveries that
// arrived within 100 ms of their timestamp; and the same from the event's
// origin: arrival - data.updatedAt, the time the publishing process wrote
// the status to the database just before publishing (ms precision), which
// still holds when a relay re-stamps `timestamp` on the receiving side.
// --out gets the figures as bare numbers: received p50 p99 max within
// src_p50 src_p99 src_within ("-" when none).
//
// --status PROCESSING --garbage 1: the files are garbage after a valid MP4
// header, and the measured event is the PROCESSING one that a separate
// `visionsync worker` publishes when it claims the job (it then fails the
// transcode at once): events from a worker process instead of from A.
//
// Sockets bind source addresses 127.0.0.1, 127.0.0.2, ... (`per-address`
// each, socket.io-client's `localAddress` option, passed on to `ws`) because
// the realtime server accepts at most 50 sockets per client address.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, "..");
// The npm packages are dev dependencies of tests/node.
const require = createRequire(path.join(REPO, "tests/node/package.json"));
const { io } = require("socket.io-client");

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const A = opt.a, B = opt.b, FILE = opt.file;
const SOCKETS = Number(opt.sockets || 1000);
const VIDEOS = Number(opt.videos || 50);
const PER_ADDRESS = Number(opt["per-address"] || 50);
const GAP = Number(opt.gap || 50);
const WAIT = Number(opt.wait || 5000);
const LABEL = opt.label || "";
const STATUS = opt.status || "UPLOADED";
const GARBAGE = opt.garbage === "1";
if (!A || !B || !FILE) {
  console.error("usage: node bench/events.mjs --a URL --b URL --file FILE [--sockets N] [--videos N] ...");
  process.exit(2);
}
const now = () => performance.timeOrigin + performance.now();  // ms, sub-ms resolution
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(base, method, p, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(base + p, init);
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return JSON.parse(text);
}

// 1. the videos, through A
const bytes = fs.readFileSync(FILE);
// Garbage: keep the first 32 bytes (the file-type box the upload checks), then zeros.
if (GARBAGE) bytes.fill(0, 32);
const videos = [];
for (let i = 0; i < VIDEOS; i++) {
  const pre = await call(A, "POST", "/api/upload/generate-presigned-url", {
    fileName: `event-${i}.mp4`,
    fileType: "video/mp4",
    fileSize: bytes.length,
  });
  videos.push({ id: pre.data.videoId, url: pre.data.presignedUrl, type: pre.data.headers?.["Content-Type"] || "video/mp4" });
}

// 2. the sockets, on B; each joins one video
const sockets = [];
const arrivals = [];  // {lag, src} in ms
function connectOne(k) {
  const video = videos[k % VIDEOS];
  const localAddress = `127.0.0.${1 + Math.floor(k / PER_ADDRESS)}`;
  const socket = io(B, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 20000, localAddress });
  let seen = false;
  socket.on("video-status", (p) => {
    const t = now();
    if (seen || p.videoId !== video.id || p.status !== STATUS) return;
    seen = true;
    const src = Date.parse(p.data?.updatedAt ?? "");
    arrivals.push({ lag: t - p.timestamp, src: Number.isNaN(src) ? NaN : t - src });
  });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", async () => {
      try {
        const ack = await socket.timeout(20000).emitWithAck("join-video", video.id);
        if (ack && ack.ok === false) throw new Error(`join-video refused: ${JSON.stringify(ack)}`);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
    socket.once("connect_error", (e) => reject(new Error(`socket ${k} from ${localAddress}: ${e.message}`)));
  });
}
const c0 = now();
for (let k = 0; k < SOCKETS; k += 50) {
  const batch = [];
  for (let j = k; j < Math.min(SOCKETS, k + 50); j++) batch.push(connectOne(j));
  await Promise.all(batch);
}
const connectMs = now() - c0;

// 3. the bytes, through A's presigned URLs (no event yet: still UPLOADING)
for (const v of videos) {
  const r = await fetch(v.url, { method: "PUT", headers: { "Content-Type": v.type }, body: bytes });
  if (r.status >= 300) throw new Error(`PUT ${v.id}: ${r.status} ${await r.text()}`);
}
await sleep(300);

// 4. the confirms, one by one through A
for (const v of videos) {
  await call(A, "POST", `/api/upload/confirm/${v.id}`);
  await sleep(GAP);
}
const end = Date.now() + WAIT;
while (arrivals.length < SOCKETS && Date.now() < end) await sleep(20);
for (const s of sockets) s.close();

// 5. figures
const pct = (arr, p) => arr[Math.min(arr.length - 1, Math.round(p * (arr.length - 1)))];
const lags = arrivals.map((a) => a.lag).sort((x, y) => x - y);
const srcs = arrivals.map((a) => a.src).filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
const within = arrivals.filter((a) => a.lag <= 100).length / SOCKETS;
const srcWithin = arrivals.filter((a) => a.src <= 100).length / SOCKETS;
const f = (x) => (x === undefined ? "-" : x.toFixed(1));
const row = [
  `${arrivals.length}/${SOCKETS}`,
  f(pct(lags, 0.5)), f(pct(lags, 0.99)), f(lags[lags.length - 1]),
  `${(within * 100).toFixed(1)}%`,
  f(pct(srcs, 0.5)), f(pct(srcs, 0.99)),
  `${(srcWithin * 100).toFixed(1)}%`,
];
console.log(
  `${LABEL.padEnd(36)} ${row[0].padStart(9)} ${row[1].padStart(7)} ${row[2].padStart(7)} ${row[3].padStart(7)} ` +
    `${row[4].padStart(7)} ${row[5].padStart(8)} ${row[6].padStart(8)} ${row[7].padStart(8)}` +
    `   (connect+join ${(connectMs / 1000).toFixed(1)} s)`,
);
if (opt.out) {
  fs.writeFileSync(
    opt.out,
    [arrivals.length, f(pct(lags, 0.5)), f(pct(lags, 0.99)), f(lags[lags.length - 1]), within.toFixed(4),
     f(pct(srcs, 0.5)), f(pct(srcs, 0.99)), srcWithin.toFixed(4)].join(" ") + "\n",
  );
}
process.exit(0);
