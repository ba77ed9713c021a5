// Helper of bench/realtime.sh: the same Socket.IO room scenario against
// VisionSync's server and a minimal Node socket.io 4.8 server.
//
//   node bench/realtime.mjs run            the benchmark (driver)
//   node bench/realtime.mjs node-server    the Node reference server
//   node bench/realtime.mjs clients        a load-client process (forked)
//
// Load clients speak WebSocket + Engine.IO 4 / Socket.IO 5 on bare TCP
// sockets (upgrade, open -> "40", join with an ack, pong every ping, record
// event arrivals) instead of running socket.io-client: the servers see
// exactly the protocol a real client speaks, and the client processes, which
// share the machine's cores with the server, spend as little time per
// message as possible, so the latency figures say more about the servers. Clients are spread over several loopback source addresses
// (127.0.1.x) because our server caps sockets per client address.
import { fork, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, "..");
// The npm packages are dev dependencies of tests/node.
const require = createRequire(path.join(REPO, "tests/node/package.json"));
const lib = await import(path.join(REPO, "tests/node/lib.mjs"));

const env = (name, def) => (process.env[name] ? Number(process.env[name]) : def);
const now = () => performance.timeOrigin + performance.now();  // ms, sub-ms resolution
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- node server

function nodeServer() {
  const { Server } = require("socket.io");
  const seq = new Map();
  const httpServer = http.createServer((req, res) => {
    if (req.method === "POST" && req.url === "/emit") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const { room, event, payload } = JSON.parse(body);
        const n = (seq.get(room) || 0) + 1;
        seq.set(room, n);
        io.to(room).emit(event, { ...payload, timestamp: Date.now(), seq: n });
        res.end("ok");
      });
      return;
    }
    if (req.url === "/gc") {
      // Measured after a full collection, so garbage does not count against it.
      if (global.gc) global.gc();
      res.end(JSON.stringify(process.memoryUsage()));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  const io = new Server(httpServer, { cors: { origin: "*" } });
  io.on("connection", (socket) => {
    socket.on("join-video", (id, ack) => {
      if (typeof id === "string") socket.join("video-" + id);
      if (typeof ack === "function") ack({ ok: true });
    });
    socket.on("leave-video", (id, ack) => {
      if (typeof id === "string") socket.leave("video-" + id);
      if (typeof ack === "function") ack({ ok: true });
    });
  });
  httpServer.listen(0, "127.0.0.1", () => console.log(`listening ${httpServer.address().port}`));
}

// ---------------------------------------------------------------- load clients

function clientsProcess() {
  const clients = [];
  let armedFor = null;  // video id whose next video-status is measured
  const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

  // Client frames must be masked; an all-zero key leaves the payload as is.
  const frame = (text) => {
    const body = Buffer.from(text);
    const n = body.length;
    const head = n < 126 ? Buffer.from([0x81, 0x80 | n, 0, 0, 0, 0])
                         : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255, 0, 0, 0, 0]);
    return Buffer.concat([head, body]);
  };

  // A WebSocket client on a bare TCP socket: the HTTP upgrade by hand, then
  // unmasked server frames parsed only as far as needed. The arrival time is
  // taken when the bytes come in, before any parsing.
  class Client {
    constructor(port, localAddress) {
      this.acks = new Map();
      this.nextAck = 0;
      this.arrivals = [];
      this.buf = null;
      this.upgraded = false;
      this.sock = net.connect({ port, host: "127.0.0.1", localAddress, noDelay: true });
      this.connected = new Promise((resolve, reject) => {
        this.onConnected = resolve;
        this.sock.on("error", reject);
        this.sock.on("close", () => reject(new Error("closed")));
      });
      this.sock.on("connect", () =>
        this.sock.write(
          `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
            `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\n` +
            "Sec-WebSocket-Version: 13\r\n\r\n",
        ),
      );
      this.sock.on("data", (chunk) => this.onData(chunk, now()));
    }
    send(text) {
      this.sock.write(frame(text));
    }
    onData(chunk, t) {
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
      if (!this.upgraded) {
        const end = this.buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!this.buf.subarray(0, 12).toString().includes("101")) throw new Error("upgrade refused");
        this.upgraded = true;
        this.buf = this.buf.subarray(end + 4);
      }
      while (this.buf.length >= 2) {
        let len = this.buf[1] & 127;
        let off = 2;
        if (len === 126) {
          if (this.buf.length < 4) return;
          len = this.buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (this.buf.length < 10) return;
          len = Number(this.buf.readBigUInt64BE(2));
          off = 10;
        }
        if (this.buf.length < off + len) return;
        const opcode = this.buf[0] & 15;
        const m = opcode === 1 ? this.buf.toString("utf8", off, off + len) : "";
        this.buf = this.buf.length === off + len ? null : this.buf.subarray(off + len);
        if (opcode === 1) this.onMessage(m, t);
        if (!this.buf) return;
      }
    }
    onMessage(m, t) {
      switch (m[0]) {
        case "0":
          return this.send("40");
        case "2":
          return this.send("3");
        case "4":
          if (m[1] === "0") return this.onConnected();
          if (m[1] === "3") {
            const id = Number(/^43(\d+)/.exec(m)[1]);
            this.acks.get(id)?.();
            this.acks.delete(id);
            return;
          }
          if (armedFor && m.startsWith('42["video-status"')) this.arrivals.push([t, m]);
      }
    }
    emitWithAck(event, arg) {
      const id = this.nextAck++;
      return new Promise((resolve) => {
        this.acks.set(id, resolve);
        this.send(`42${id}${JSON.stringify([event, arg])}`);
      });
    }
    close() {
      this.sock.destroy();
    }
  }

  const inBatches = async (items, size, fn) => {
    for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
  };

  process.on("message", async (msg) => {
    try {
      if (msg.cmd === "connect") {
        await inBatches(msg.addresses, 100, async (a) => {
          const c = new Client(msg.port, a);
          clients.push(c);
          await c.connected;
        });
        process.send({ ok: true, count: clients.length });
      } else if (msg.cmd === "join") {
        await inBatches(clients, 500, async (c) => {
          if (msg.leave) await c.emitWithAck("leave-video", msg.leave);
          await c.emitWithAck("join-video", msg.videoId);
        });
        process.send({ ok: true });
      } else if (msg.cmd === "arm") {
        armedFor = msg.videoId;
        for (const c of clients) c.arrivals = [];
        process.send({ ok: true });
      } else if (msg.cmd === "collect") {
        const deadline = Date.now() + msg.timeoutMs;
        while (clients.some((c) => c.arrivals.length === 0) && Date.now() < deadline) await sleep(5);
        const out = [];
        for (const c of clients) {
          const a = c.arrivals.find(([, m]) => m.includes(armedFor));
          if (!a) continue;
          const payload = JSON.parse(a[1].slice(2))[1];
          out.push([a[0], payload.timestamp]);
        }
        const sample = clients[0]?.arrivals[0]?.[1];
        armedFor = null;
        process.send({ ok: true, arrivals: out, sample });
      } else if (msg.cmd === "close") {
        for (const c of clients) c.close();
        clients.length = 0;
        process.send({ ok: true });
      }
    } catch (e) {
      process.send({ ok: false, error: String(e && e.message) });
    }
  });
}

// ---------------------------------------------------------------- driver

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]);
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

class Workers {
  constructor(n) {
    this.procs = [];
    for (let i = 0; i < n; i++) this.procs.push(fork(fileURLToPath(import.meta.url), ["clients"]));
    this.total = 0;
  }
  ask(proc, msg) {
    return new Promise((resolve, reject) => {
      proc.once("message", (r) => (r.ok ? resolve(r) : reject(new Error(r.error))));
      proc.send(msg);
    });
  }
  all(msg) {
    return Promise.all(this.procs.map((p) => this.ask(p, msg)));
  }
  // `n` more clients, round-robin over the processes; source addresses
  // 127.0.1.1, 127.0.1.2, ... with `perAddress` clients each.
  async connect(port, n, perAddress) {
    const lists = this.procs.map(() => []);
    for (let i = 0; i < n; i++) {
      const idx = this.total + i;
      const a = Math.floor(idx / perAddress);
      lists[i % this.procs.length].push(`127.0.${1 + Math.floor(a / 250)}.${1 + (a % 250)}`);
    }
    this.total += n;
    await Promise.all(this.procs.map((p, k) => this.ask(p, { cmd: "connect", port, addresses: lists[k] })));
  }
  async stop() {
    await this.all({ cmd: "close" });
    for (const p of this.procs) p.kill();
  }
}

// The same interface over native load clients (bench/realtime_client.cc,
// compiled by realtime.sh): one process per share of the clients, driven by
// line commands.
class NativeWorkers {
  constructor(bin, n) {
    this.bin = bin;
    this.n = n;
    this.procs = [];
    this.total = 0;
  }
  spawnOne(args) {
    const p = spawn(this.bin, args.map(String), { stdio: ["pipe", "pipe", "inherit"] });
    p.lines = [];
    p.waiting = null;
    readline.createInterface({ input: p.stdout }).on("line", (l) => {
      p.lines.push(l);
      if (p.waiting) p.waiting();
    });
    p.exited = new Promise((r) => p.once("exit", r));
    this.procs.push(p);
    return p;
  }
  async line(p) {
    while (!p.lines.length) {
      await Promise.race([new Promise((r) => (p.waiting = r)), p.exited.then(() => {
        throw new Error("load client exited");
      })]);
    }
    return p.lines.shift();
  }
  async request(p, cmd) {
    p.stdin.write(cmd + "\n");
    const head = await this.line(p);
    if (!head.startsWith("ok")) throw new Error(`load client: ${head}`);
    if (!cmd.startsWith("collect")) return { ok: true };
    const n = Number(head.split(" ")[1]);
    const arrivals = [];
    for (let i = 0; i < n; i++) arrivals.push((await this.line(p)).split(" ").map(Number));
    const sample = (await this.line(p)).slice("sample ".length) || undefined;
    return { ok: true, arrivals, sample };
  }
  all(msg) {
    let cmd = msg.cmd;
    if (msg.cmd === "join") cmd = `join ${msg.videoId}${msg.leave ? " " + msg.leave : ""}`;
    if (msg.cmd === "arm") cmd = `arm ${msg.videoId}`;
    if (msg.cmd === "collect") cmd = `collect ${msg.timeoutMs}`;
    if (msg.cmd === "close") {
      const procs = this.procs;
      this.procs = [];
      return Promise.all(procs.map(async (p) => {
        p.stdin.write("close\n");  // it answers and exits; the exit is what counts
        await p.exited;
      }));
    }
    return Promise.all(this.procs.map((p) => this.request(p, cmd)));
  }
  async connect(port, n, perAddress) {
    const fresh = [];
    const share = Math.ceil(n / this.n);
    for (let first = 0; first < n; first += share) {
      fresh.push(this.spawnOne([port, this.total + first, Math.min(share, n - first), perAddress]));
    }
    this.total += n;
    await Promise.all(fresh.map((p) => this.request(p, "connect")));
  }
  async stop() {
    await this.all({ cmd: "close" });
  }
}

function newWorkers(cfg) {
  return cfg.nativeClient ? new NativeWorkers(cfg.nativeClient, cfg.procs) : new Workers(cfg.procs);
}

const running = new Set();  // servers to stop if the run fails

async function startTarget(name, bin) {
  const t = await startTargetProcess(name, bin);
  const stop = t.stop.bind(t);
  t.stop = async () => {
    running.delete(t);
    await stop();
  };
  running.add(t);
  return t;
}

async function startTargetProcess(name, bin) {
  if (name === "visionsync") {
    const s = await lib.startServer(bin, { WORKERS: "0", ANONYMOUS_UPLOADS: "1" });
    return {
      pid: s.pid,
      port: s.port,
      gc: async () => {},
      stop: () => s.stop(),
      async newRoom() {
        const pre = await lib.api(s.base, "POST", "/api/upload/generate-presigned-url", {
          fileName: "bench.mp4",
          fileType: "video/mp4",
          fileSize: 1000,
        });
        return pre.json.data.videoId;
      },
      async publish(videoId) {
        const r = await lib.webhook(s.base, { videoId, status: "error", error: "benchmark event" });
        if (r.status !== 200) throw new Error(`webhook: ${r.status} ${r.text}`);
      },
    };
  }
  const child = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "node-server"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      const m = /listening (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (c) => reject(new Error(`node server exited: ${c}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  let round = 0;
  return {
    pid: child.pid,
    port,
    gc: () => fetch(base + "/gc").then((r) => r.text()),
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
    newRoom: async () => `bench-${++round}`,
    samplePayload: null,
    async publish(videoId) {
      const payload = this.samplePayload ? { ...this.samplePayload, videoId } : { videoId, status: "ERROR" };
      const r = await fetch(base + "/emit", {
        method: "POST",
        body: JSON.stringify({ room: "video-" + videoId, event: "video-status", payload }),
      });
      if (r.status !== 200) throw new Error(`emit: ${r.status}`);
    },
  };
}

async function memoryPhase(name, bin, cfg) {
  const t = await startTarget(name, bin);
  const w = newWorkers(cfg);
  try {
    // Warm-up: code paths, allocator pools and the JIT see some traffic
    // before the baseline is taken.
    await w.connect(t.port, 50, cfg.perAddress);
    await w.all({ cmd: "join", videoId: "warmup" });
    await w.all({ cmd: "close" });
    w.total = 0;
    await sleep(1500);
    await t.gc();
    const base = rssKb(t.pid);
    const out = { base };
    let connected = 0;
    for (const n of cfg.sizes) {
      await w.connect(t.port, n - connected, cfg.perAddress);
      connected = n;
      await w.all({ cmd: "join", videoId: "bench" });
      await sleep(2000);
      await t.gc();
      out[n] = rssKb(t.pid);
    }
    return out;
  } finally {
    await w.stop().catch(() => {});
    await t.stop();
  }
}

async function latencyPhase(name, bin, cfg, sample) {
  const t = await startTarget(name, bin);
  if (sample) t.samplePayload = sample;
  const w = newWorkers(cfg);
  const fromPublish = [];
  const endToEnd = [];
  let payloadSample = null;
  let missing = 0;
  try {
    await w.connect(t.port, cfg.latencyClients, cfg.perAddress);
    let prev = null;
    for (let r = 0; r < cfg.rounds; r++) {
      const videoId = await t.newRoom();
      await w.all({ cmd: "join", videoId, leave: prev });
      prev = videoId;
      await w.all({ cmd: "arm", videoId });
      await sleep(100);  // let the join traffic (and our replay of UPLOADING) settle
      const t0 = now();
      await t.publish(videoId);
      const res = await w.all({ cmd: "collect", timeoutMs: 10000 });
      let got = 0;
      for (const part of res) {
        payloadSample ??= part.sample;
        for (const [arrival, ts] of part.arrivals) {
          got++;
          if (r === 0) continue;  // first round: warm-up
          fromPublish.push(arrival - ts);
          endToEnd.push(arrival - t0);
        }
      }
      missing += cfg.latencyClients - got;
    }
  } finally {
    await w.stop().catch(() => {});
    await t.stop();
  }
  return { fromPublish, endToEnd, missing, payloadSample };
}

function summarize(fromPublish, endToEnd, missing) {
  fromPublish.sort((a, b) => a - b);
  endToEnd.sort((a, b) => a - b);
  return {
    samples: fromPublish.length,
    missing,
    p50: percentile(fromPublish, 50),
    p99: percentile(fromPublish, 99),
    min: fromPublish[0],
    max: fromPublish.at(-1),
    e2e50: percentile(endToEnd, 50),
    e2e99: percentile(endToEnd, 99),
  };
}

async function run() {
  const cfg = {
    bin: process.env.BIN || lib.binaryPath([]),
    sizes: [env("CLIENTS_SMALL", 1000), env("CLIENTS_LARGE", 5000)],
    latencyClients: env("LATENCY_CLIENTS", 1000),
    rounds: env("ROUNDS", 30) + 1,
    procs: env("PROCS", 2),
    perAddress: env("PER_ADDRESS", 40),
    phases: (process.env.PHASES || "memory,latency").split(","),
    repeats: env("REPEATS", 3),
    nativeClient: process.env.NATIVE_CLIENT || "",
  };
  const targets = (process.env.TARGETS || "visionsync,node").split(",");
  const results = {};
  for (const name of targets) {
    let mem = { base: NaN };
    if (cfg.phases.includes("memory")) {
      console.error(`[${name}] memory: ${cfg.sizes.join(" and ")} idle clients ...`);
      mem = await memoryPhase(name, cfg.bin, cfg);
    }
    results[name] = { mem, fromPublish: [], endToEnd: [], missing: 0 };
  }
  if (cfg.phases.includes("latency")) {
    // Runs alternate (ours first, then Node first, ...) so that other load on
    // the machine falls on both sides alike; the samples are pooled.
    let sample = null;
    for (let rep = 0; rep < cfg.repeats; rep++) {
      for (const name of rep % 2 === 0 ? targets : [...targets].reverse()) {
        const r = await latencyPhase(name, cfg.bin, cfg, sample);
        if (name === "visionsync" && r.payloadSample && !sample) {
          // Node emits the same payload (minus seq/timestamp): equal bytes on the wire.
          sample = JSON.parse(r.payloadSample.slice(2))[1];
          delete sample.seq;
          delete sample.timestamp;
        }
        const one = summarize([...r.fromPublish], [...r.endToEnd], r.missing);
        console.error(`[${name}] run ${rep + 1}/${cfg.repeats}: ${cfg.latencyClients} clients, ` +
                      `${one.samples} arrivals, p50 ${one.p50.toFixed(2)} ms, p99 ${one.p99.toFixed(2)} ms`);
        results[name].fromPublish.push(...r.fromPublish);
        results[name].endToEnd.push(...r.endToEnd);
        results[name].missing += r.missing;
      }
    }
  }
  for (const r of Object.values(results)) r.lat = summarize(r.fromPublish, r.endToEnd, r.missing);
  const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const perClient = (m, n) => ((m[n] - m.base) * 1024) / n / 1024;  // KiB per client
  console.log(`\nSocket.IO room scenario on loopback (${new Date().toISOString()}, ${cfg.procs} ` +
              `${cfg.nativeClient ? "native" : "Node"} load-client processes)`);
  console.log("\nMemory: server RSS increase per idle connected websocket client (KiB)");
  console.log("server          baseline MiB   " + cfg.sizes.map((n) => `@${n}`.padStart(10)).join(""));
  for (const [name, r] of Object.entries(results)) {
    console.log(
      name.padEnd(16) + fmt(r.mem.base / 1024).padStart(12) + "   " +
        cfg.sizes.map((n) => fmt(perClient(r.mem, n), 2).padStart(10)).join(""),
    );
  }
  console.log(`\nLatency: publish -> arrival at ${cfg.latencyClients} clients in one room (ms; ` +
              `${cfg.repeats} runs x ${cfg.rounds - 1} events, pooled)`);
  console.log("server          samples  missing      min      p50      p99      max   e2e p50  e2e p99");
  for (const [name, r] of Object.entries(results)) {
    const l = r.lat;
    console.log(
      name.padEnd(16) + String(l.samples).padStart(7) + String(l.missing).padStart(9) +
        fmt(l.min, 2).padStart(9) + fmt(l.p50, 2).padStart(9) + fmt(l.p99, 2).padStart(9) +
        fmt(l.max, 2).padStart(9) + fmt(l.e2e50, 2).padStart(10) +
        fmt(l.e2e99, 2).padStart(9),
    );
  }
  if (results.visionsync && results.node) {
    const o = results.visionsync, n = results.node;
    console.log("\nRatios node / visionsync (above 1: ours uses less memory / is faster)");
    for (const s of cfg.sizes)
      console.log(`  memory per client @${s}: ${fmt(perClient(n.mem, s) / perClient(o.mem, s), 2)}x`);
    console.log(`  latency p50: ${fmt(n.lat.p50 / o.lat.p50, 2)}x   p99: ${fmt(n.lat.p99 / o.lat.p99, 2)}x`);
    console.log(`  end-to-end p50: ${fmt(n.lat.e2e50 / o.lat.e2e50, 2)}x   p99: ${fmt(n.lat.e2e99 / o.lat.e2e99, 2)}x`);
  }
}

const mode = process.argv[2];
if (mode === "node-server") nodeServer();
else if (mode === "clients") clientsProcess();
else if (mode === "run") {
  run().catch(async (e) => {
    console.error(e);
    for (const t of running) await t.stop().catch(() => {});
    process.exit(1);
  });
} else {
  console.error("usage: node bench/realtime.mjs run | node-server | clients");
  process.exit(2);
}
