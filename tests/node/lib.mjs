// Shared helpers of the realtime tests and benchmark: start the real
// visionsync binary on a free loopback port, call its HTTP API, connect
// socket.io-client sockets.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const MEDIA_DIR = process.env.VS_MEDIA_DIR || path.resolve(REPO, "../shared/media");
export const WEBHOOK_SECRET = "realtime-tests-webhook-secret-0123456789";
export const GENEROUS_LIMITS =
  "upload=1000/60,general=1000/60,status=1000/60,search=1000/60,webhook=1000/60,streaming=100000/60," +
  "auth=1000/60,transfer=100000/60";

export function binaryPath(argv = process.argv) {
  return argv[2] || process.env.VS_BINARY || path.join(REPO, "build/visionsync");
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `pred` every 20 ms; throws after `ms` with `what` in the message.
export async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

// Starts `visionsync serve` with a fresh DATA_DIR; resolves once it listens.
// The log is kept (last 256 KiB) for failure reports.
export async function startServer(bin, extraEnv = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "vs-realtime-"));
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    WEBHOOK_SECRET,
    RATE_LIMITS: GENEROUS_LIMITS,
    LOG_LEVEL: "warn",
    ...extraEnv,
  };
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const append = (d) => {
    log += String(d);
    if (log.length > 256 * 1024) log = log.slice(-128 * 1024);
  };
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20000);
    const onData = (d) => {
      append(d);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? sig}) before listening:\n${log}`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  const exited = new Promise((r) => child.once("exit", (code, sig) => r(code ?? sig)));
  return {
    child,
    pid: child.pid,
    port,
    base: `http://127.0.0.1:${port}`,
    dataDir,
    log: () => log,
    // SIGTERM by PID, SIGKILL if it lingers; removes the data folder.
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, "SIGTERM");
        const t = setTimeout(() => {
          try {
            process.kill(child.pid, "SIGKILL");
          } catch {}
        }, 15000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Runs `tests` ({name, fn}) one after the other against one server started
// with startServer(bin, env) and handed to onStart (which may be async: it
// runs before the first test); `cleanup` runs before the server stops. A test
// that fails after `stopWhen()` turns true ends the run. Prints
// "N passed, M failed" last and exits non-zero on failure.
export async function runTests(tests, { onStart, env = {}, cleanup = () => {}, stopWhen = () => false, timeoutMs = 180000 }) {
  return runSuites([{ tests, onStart, env, cleanup, stopWhen }], { timeoutMs });
}

// Like runTests, for several suites ({name, env, tests, onStart, cleanup,
// stopWhen}) in turn, each against its own server started with its `env`
// (e.g. ANONYMOUS_UPLOADS=1); one server runs at a time. A suite whose
// server (or onStart) fails counts all its tests as failed. One summary line
// for all suites.
export async function runSuites(suites, { timeoutMs = 180000 } = {}) {
  const bin = binaryPath();
  let passed = 0;
  let failed = 0;
  for (const suite of suites) {
    const { name, env = {}, tests, onStart = () => {}, cleanup = () => {}, stopWhen = () => false } = suite;
    if (name) console.log(`---- ${name} ----`);
    let server;
    try {
      server = await startServer(bin, env);
      await onStart(server);
    } catch (e) {
      console.error(`cannot start ${bin}${name ? ` for ${name}` : ""}: ${e.stack || e.message}`);
      if (server) {
        console.log("---- server log (tail) ----\n" + server.log().slice(-4000));
        await server.stop();
      }
      failed += tests.length;
      continue;
    }
    let failedHere = 0;
    try {
      for (const t of tests) {
        const t0 = Date.now();
        try {
          await Promise.race([
            t.fn(),
            sleep(timeoutMs).then(() => {
              throw new Error(`test timed out after ${timeoutMs / 1000} s`);
            }),
          ]);
          passed++;
          console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
        } catch (e) {
          failedHere++;
          console.log(`FAIL ${t.name} (${Date.now() - t0} ms)\n     ${String(e.stack || e).replace(/\n/g, "\n     ")}`);
          if (stopWhen()) break;
        }
      }
    } finally {
      cleanup();
      if (failedHere) console.log("---- server log (tail) ----\n" + server.log().slice(-4000));
      await server.stop();
    }
    failed += failedHere;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

export async function api(base, method, p, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" || body instanceof Buffer ? body : JSON.stringify(body);
    if (!init.headers["Content-Type"]) init.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(base + p, init);
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

export const bearer = (token) => (token ? { Authorization: `Bearer ${token}` } : {});

// Registers a fresh account (POST /api/auth/register, 201); returns
// {user, token, cookie ("vs_session=..."), email, password, answer}.
export async function register(base, who = "user", headers = {}) {
  const email = `${who}-${Date.now()}-${crypto.randomBytes(4).toString("hex")}@example.test`;
  const password = "correct horse battery staple";
  const answer = await api(base, "POST", "/api/auth/register", { email, password, name: who }, headers);
  if (answer.status !== 201) throw new Error(`register: ${answer.status} ${answer.text}`);
  const { user, token } = answer.json.data;
  if (!user?.id || !token) throw new Error(`register: ${answer.text}`);
  const cookie = answer.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith("vs_session="));
  return { user, token, cookie, email, password, answer };
}

// Presigns an upload of `file`; returns {videoId, answer, upload()} where
// upload() PUTs the bytes and confirms, which hands the video to the worker,
// and resolves to those two answers ({put, confirm}); `answer` is the
// presign's own. Anonymous unless `token` (a bearer token, used for the
// presign and the confirmation; the PUT carries the signed URL only);
// `visibility` goes into the presign body when given.
export async function presign(base, file, { token, visibility } = {}) {
  const bytes = fs.readFileSync(file);
  const body = { fileName: path.basename(file), fileType: "video/mp4", fileSize: bytes.length };
  if (visibility) body.visibility = visibility;
  const pre = await api(base, "POST", "/api/upload/generate-presigned-url", body, bearer(token));
  if (pre.status !== 201) throw new Error(`presign: ${pre.status} ${pre.text}`);
  const { presignedUrl, videoId } = pre.json.data;
  const url = new URL(presignedUrl);
  return {
    videoId,
    answer: pre,
    async upload() {
      const put = await api(base, "PUT", url.pathname + url.search, bytes, { "Content-Type": "video/mp4" });
      if (put.status >= 300) throw new Error(`upload: ${put.status} ${put.text}`);
      const confirm = await api(base, "POST", `/api/upload/confirm/${videoId}`, undefined, bearer(token));
      if (confirm.status >= 300) throw new Error(`confirm: ${confirm.status} ${confirm.text}`);
      return { put, confirm };
    },
  };
}

// A signed webhook call (X-VisionSync-Signature = sha256=HMAC(secret, ts.body)).
export async function webhook(base, body, secret = WEBHOOK_SECRET) {
  const text = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = crypto.createHmac("sha256", secret).update(`${ts}.${text}`).digest("hex");
  return api(base, "POST", "/api/webhook/processing-complete", text, {
    "Content-Type": "application/json",
    "X-VisionSync-Timestamp": ts,
    "X-VisionSync-Signature": `sha256=${sig}`,
  });
}

// A socket.io-client socket on its own Manager (io() would otherwise share
// one connection per URL). Resolves once connected.
export function connect(base, opts = {}, nsp = "/") {
  const socket = io(base + nsp, { forceNew: true, reconnection: false, timeout: 10000, ...opts });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("connect timed out")), 15000);
    socket.once("connect", () => {
      clearTimeout(t);
      resolve(socket);
    });
    socket.once("connect_error", (e) => {
      clearTimeout(t);
      socket.close();
      reject(e);
    });
  });
}
