#!/usr/bin/env node
// Integration tests of the realtime module with the real npm
// socket.io-client 4.8 against the real server binary.
//
//   node tests/node/realtime.test.mjs [path/to/visionsync]
//
// The binary defaults to $VS_BINARY, then build/visionsync; media comes from
// $VS_MEDIA_DIR or ../shared/media beside the repository. Prints
// "N passed, M failed" last and exits non-zero on failure.
import assert from "node:assert/strict";
import path from "node:path";
import WebSocket from "ws";

import {
  MEDIA_DIR,
  api,
  bearer,
  connect,
  presign,
  register,
  runSuites,
  sleep,
  waitFor,
} from "./lib.mjs";

const CLIP = path.join(MEDIA_DIR, "src-720p25-6s-noaudio.mp4");
// The transport tests run against a server in the open mode
// (ANONYMOUS_UPLOADS=1: anonymous uploads make ownerless public videos);
// the accounts tests against one in the default mode (accounts required).
const tests = [];
const accountTests = [];
let into = tests;
const test = (name, fn) => into.push({ name, fn });

let server;  // the running suite's server
// Open mode: a user (the first account, so an admin) for join-user, and a
// video presigned anonymously and never uploaded: a real id to join whose
// room holds one event (UPLOADING).
let me;
let quiet;
const open = new Set();  // sockets to close at the end, whatever happens

function track(s) {
  open.add(s);
  return s;
}

// Records status events (name, payload) in arrival order.
function record(socket) {
  const got = [];
  for (const name of ["video-status", "processing-progress", "error"])
    socket.on(name, (payload) => got.push({ name, payload }));
  return got;
}

const seqs = (events) => events.filter((e) => e.name !== "error").map((e) => e.payload.seq);
const isReady = (e) => e.name === "video-status" && e.payload.status === "READY";

// A raw WebSocket speaking Engine.IO by hand, for what a well-behaved client
// never sends.
function rawWs(query = "EIO=4&transport=websocket", opts = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?${query}`, opts);
  const messages = [];
  const closed = new Promise((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) }));
    ws.on("error", () => {});
  });
  const response = new Promise((resolve) => {
    ws.on("unexpected-response", (req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", () => resolve({ status: res.statusCode, body }));
    });
    ws.on("open", () => resolve({ status: 101 }));
    ws.on("error", (e) => resolve({ status: 0, error: e }));
  });
  ws.on("message", (data, isBinary) => messages.push(isBinary ? data : String(data)));
  const handle = { ws, messages, closed, response, close: () => ws.terminate() };
  open.add(handle);
  return handle;
}

async function health() {
  const r = await api(server.base, "GET", "/api/webhook/health");
  assert.equal(r.status, 200);
  return r.json.connections;
}

// ---- transports ----

test("default options: polling handshake, then upgrade to websocket", async () => {
  const { io } = await import("socket.io-client");
  const s = track(io(server.base, { forceNew: true, reconnection: false, autoConnect: false }));
  let first;
  s.io.on("open", () => (first = s.io.engine.transport.name));
  s.connect();
  await waitFor(() => s.connected, 10000, "connect");
  assert.equal(first, "polling");
  await waitFor(() => s.io.engine.transport.name === "websocket", 10000, "the upgrade");
  const ack = await s.timeout(5000).emitWithAck("join-video", quiet.videoId);
  assert.deepEqual(ack, { ok: true });
  s.disconnect();
});

test("transports: ['websocket'] connects without polling", async () => {
  const s = track(await connect(server.base, { transports: ["websocket"], auth: { token: me.token } }));
  assert.equal(s.io.engine.transport.name, "websocket");
  assert.match(s.id, /^[0-9a-f]{20}$/);
  assert.deepEqual(await s.timeout(5000).emitWithAck("join-user", me.user.id), { ok: true });
  s.disconnect();
});

test("transports: ['polling'] works on its own", async () => {
  const s = track(await connect(server.base, { transports: ["polling"] }));
  assert.equal(s.io.engine.transport.name, "polling");
  assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", quiet.videoId), { ok: true });
  s.disconnect();
});

test("handshake packet and polling headers are what the reference server sends", async () => {
  const r = await api(server.base, "GET", "/socket.io/?EIO=4&transport=polling&t=abc", undefined, {
    Origin: "http://ui.example",
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/plain; charset=UTF-8");
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(r.headers.get("access-control-allow-origin"), "http://ui.example");
  assert.equal(r.headers.get("access-control-allow-credentials"), "true");
  assert.equal(r.text[0], "0");
  const o = JSON.parse(r.text.slice(1));
  assert.match(o.sid, /^[0-9a-f]{20}$/);
  assert.deepEqual(
    { ...o, sid: "x" },
    { sid: "x", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
  );
  // Close it politely so it does not count against later tests.
  const q = `/socket.io/?EIO=4&transport=polling&sid=${o.sid}`;
  assert.equal((await api(server.base, "POST", q, "1", { "Content-Type": "text/plain" })).status, 200);
});

test("an unknown namespace is refused with connect_error", async () => {
  await assert.rejects(connect(server.base, {}, "/admin"), /Invalid namespace/);
});

// ---- rooms, events, replay ----

let flow;  // what the processing test saw, for the late-joiner test

test("a joined client receives PROCESSING, monotonic progress and READY; others nothing; a dropped client recovers", async () => {
  const up = await presign(server.base, CLIP);
  const a = track(await connect(server.base));
  const b = track(await connect(server.base, { transports: ["websocket"] }));
  const d = track(
    await connect(server.base, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 }),
  );
  const gotA = record(a);
  const gotB = record(b);
  assert.deepEqual(await a.timeout(5000).emitWithAck("join-video", up.videoId), { ok: true });
  // b joins another real video: its replay (UPLOADING) arrives before the
  // ack, and nothing of up's may follow.
  assert.deepEqual(await b.timeout(5000).emitWithAck("join-video", quiet.videoId), { ok: true });
  const bReplay = [...gotB];
  assert.equal(bReplay.length, 1, JSON.stringify(bReplay));
  assert.equal(bReplay[0].payload.videoId, quiet.videoId);
  assert.equal(bReplay[0].payload.status, "UPLOADING");

  // d drops its connection on the first progress event, reconnects on its
  // own and joins again: the replay fills the gap, seq removes duplicates.
  const gotD = [];
  let dropped = false;
  let rejoined = false;
  const onEvent = (name) => (payload) => {
    gotD.push({ name, payload });
    if (!dropped && name === "processing-progress") {
      dropped = true;
      d.io.engine.close();
    }
  };
  d.on("video-status", onEvent("video-status"));
  d.on("processing-progress", onEvent("processing-progress"));
  d.on("connect", () => {
    if (dropped) d.emit("join-video", up.videoId, () => (rejoined = true));
  });
  assert.deepEqual(await d.timeout(5000).emitWithAck("join-video", up.videoId), { ok: true });

  await up.upload();
  await waitFor(() => gotA.some(isReady), 120000, "READY on the first client");
  await waitFor(() => gotD.some(isReady), 10000, "READY on the dropped client");
  assert.ok(dropped && rejoined, "the client dropped and re-joined");

  // a: everything from seq 1 (UPLOADING, replayed on join) in order.
  assert.deepEqual(seqs(gotA), seqs(gotA).map((_, i) => i + 1), "contiguous seqs from 1");
  const statuses = gotA.filter((e) => e.name === "video-status").map((e) => e.payload.status);
  assert.equal(statuses[0], "UPLOADING");
  assert.ok(statuses.indexOf("PROCESSING") > 0, `PROCESSING among ${statuses}`);
  assert.equal(statuses.at(-1), "READY");
  const processingAt = gotA.findIndex((e) => e.payload.status === "PROCESSING");
  const progress = gotA.filter((e) => e.name === "processing-progress");
  assert.ok(progress.length >= 2, `progress events: ${progress.length}`);
  assert.ok(gotA.indexOf(progress[0]) > processingAt, "progress after PROCESSING");
  for (let i = 1; i < progress.length; i++)
    assert.ok(progress[i].payload.progress >= progress[i - 1].payload.progress, "monotonic progress");
  for (const e of gotA) {
    assert.equal(e.payload.videoId, up.videoId);
    assert.equal(typeof e.payload.timestamp, "number");
  }
  for (let i = 1; i < gotA.length; i++)
    assert.ok(gotA[i].payload.timestamp >= gotA[i - 1].payload.timestamp, "timestamps in order");
  assert.ok(gotA.findIndex(isReady) === gotA.length - 1, "READY is last");

  // b listened to another room only: nothing after its replay.
  assert.deepEqual(gotB, bReplay);

  // d: after de-duplication by seq, exactly what a saw.
  const seen = new Map();
  let duplicates = 0;
  for (const e of gotD) {
    if (seen.has(e.payload.seq)) {
      duplicates++;
      assert.deepEqual(seen.get(e.payload.seq), e.payload, "a replayed event is the same event");
    } else {
      seen.set(e.payload.seq, e.payload);
    }
  }
  assert.deepEqual([...seen.keys()].sort((x, y) => x - y), seqs(gotA), "nothing lost");
  assert.ok(duplicates > 0, "the re-join replayed events it had seen");
  console.log(`     ${gotA.length} events (${progress.length} progress); the dropped client got ` +
              `${gotD.length} with ${duplicates} duplicates and missed none`);
  flow = { videoId: up.videoId, events: gotA };
  for (const s of [a, b, d]) s.disconnect();
});

test("a client joining after READY gets the last 20 events in order, ending in READY", async () => {
  assert.ok(flow, "needs the processing test");
  for (const transports of [["websocket"], ["polling"]]) {
    const e = track(await connect(server.base, { transports }));
    const got = record(e);
    // The ack comes after the replay: by then every replayed event is in.
    assert.deepEqual(await e.timeout(5000).emitWithAck("join-video", flow.videoId), { ok: true });
    const want = flow.events.slice(-20);
    assert.equal(got.length, want.length, `${transports}: replay length`);
    assert.deepEqual(got, want, `${transports}: the same events, in order, no duplicates`);
    assert.ok(isReady(got.at(-1)));
    e.disconnect();
  }
});

test("invalid join arguments get an error event and a failed ack, not a disconnect", async () => {
  const s = track(await connect(server.base, { transports: ["websocket"] }));
  const got = record(s);
  for (const bad of [42, "", "../etc", "x".repeat(65), { id: "a" }, null]) {
    const ack = await s.timeout(5000).emitWithAck("join-video", bad);
    assert.equal(ack.ok, false, JSON.stringify(bad));
  }
  await waitFor(() => got.filter((e) => e.name === "error").length === 6, 5000, "6 error events");
  for (const e of got) {
    assert.equal(e.name, "error");
    assert.match(e.payload.message, /^join-video expects an id/, "the format error, not the access refusal");
  }
  assert.ok(s.connected);
  // A well-formed id of no video passes the format check and gets the
  // access refusal instead.
  const missing = "0".repeat(24);
  assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", missing),
                   { ok: false, error: `not allowed to join video ${missing}` });
  assert.equal(got.length, 7);
  assert.equal(got[6].payload.message, `not allowed to join video ${missing}`);
  assert.ok(s.connected);
  assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", quiet.videoId), { ok: true });
  s.disconnect();
});

test("websocket framing: pings answered, fragmented messages joined, close handshake", async () => {
  const w = rawWs();
  await waitFor(() => w.messages.length > 0, 5000, "open packet");
  assert.match(w.messages[0], /^0\{"sid":"[0-9a-f]{20}","upgrades":\[\],"pingInterval":25000/);
  w.ws.send("40");
  await waitFor(() => w.messages.some((m) => m.startsWith("40{")), 5000, "CONNECT reply");
  const pong = new Promise((r) => w.ws.once("pong", (d) => r(String(d))));
  w.ws.ping("are you there");
  assert.equal(await pong, "are you there");
  const id = quiet.videoId;
  w.ws.send('427["join-', { fin: false });
  w.ws.send(`video","${id.slice(0, 10)}`, { fin: false });
  w.ws.send(`${id.slice(10)}"]`, { fin: true });
  await waitFor(() => w.messages.includes('437[{"ok":true}]'), 5000, "the ack of a fragmented emit");
  w.ws.close(1000, "bye");
  const c = await w.closed;
  assert.equal(c.code, 1000);
});

// ---- refusals ----

test("unknown sids are refused (polling GET/POST: 400 code 1; websocket: 400)", async () => {
  for (const method of ["GET", "POST"]) {
    const r = await api(server.base, method, "/socket.io/?EIO=4&transport=polling&sid=nosuchsid", method === "POST" ? "40" : undefined, { "Content-Type": "text/plain;charset=UTF-8" });
    assert.equal(r.status, 400, method);
    assert.deepEqual(r.json, { code: 1, message: "Session ID unknown" });
  }
  const w = rawWs("EIO=4&transport=websocket&sid=nosuchsid");
  const res = await w.response;
  assert.equal(res.status, 400);
  assert.deepEqual(JSON.parse(res.body), { code: 1, message: "Session ID unknown" });
  const v = await api(server.base, "GET", "/socket.io/?EIO=3&transport=polling");
  assert.deepEqual([v.status, v.json], [400, { code: 5, message: "Unsupported protocol version" }]);
  const t = await api(server.base, "GET", "/socket.io/?EIO=4&transport=flash");
  assert.deepEqual([t.status, t.json], [400, { code: 0, message: "Transport unknown" }]);
});

test("bad packets disconnect only the client that sent them", async () => {
  const good = track(await connect(server.base));
  const goodEvents = record(good);
  let goodDisconnected = false;
  good.on("disconnect", () => (goodDisconnected = true));

  const cases = [
    ["42{}", "event payload that is not an array"],
    ['42["connect"]', "reserved event name"],
    ["4x", "unknown Socket.IO type"],
    ["9", "unknown Engine.IO type"],
    ["2", "client ping (v4 servers ping)"],
    ["", "empty packet"],
  ];
  for (const [packet, why] of cases) {
    const w = rawWs();
    assert.equal((await w.response).status, 101, why);
    await waitFor(() => w.messages.length > 0, 5000, "open packet");
    w.ws.send("40");
    await waitFor(() => w.messages.some((m) => String(m).startsWith("40{")), 5000, "CONNECT reply");
    w.ws.send(packet);
    const c = await Promise.race([w.closed, sleep(5000).then(() => null)]);
    assert.ok(c, `closed after ${why}`);
  }
  // Anything but CONNECT first.
  const early = rawWs();
  await waitFor(() => early.messages.length > 0, 5000, "open packet");
  early.ws.send('42["join-video","abc"]');
  assert.ok(await Promise.race([early.closed, sleep(5000).then(() => null)]), "closed: no CONNECT");

  // A binary frame: refused with an explanation, then closed.
  const bin = rawWs();
  await waitFor(() => bin.messages.length > 0, 5000, "open packet");
  bin.ws.send("40");
  await waitFor(() => bin.messages.some((m) => String(m).startsWith("40{")), 5000, "CONNECT reply");
  bin.ws.send(Buffer.from([1, 2, 3]));
  await bin.closed;
  assert.ok(bin.messages.some((m) => /^42\["error",\{"message":"binary packets are not supported"\}\]$/.test(m)));

  // Polling: 400 and the session is gone.
  const hs = await api(server.base, "GET", "/socket.io/?EIO=4&transport=polling");
  const sid = JSON.parse(hs.text.slice(1)).sid;
  const q = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const bad = await api(server.base, "POST", q, "42{}", { "Content-Type": "text/plain;charset=UTF-8" });
  assert.equal(bad.status, 400);
  assert.equal((await api(server.base, "GET", q)).status, 400);

  assert.ok(good.connected && !goodDisconnected, "the well-behaved client stayed connected");
  assert.deepEqual(goodEvents, [], "nothing reached the well-behaved client");
  assert.deepEqual(await good.timeout(5000).emitWithAck("join-video", quiet.videoId), { ok: true });
  // Only the replay of the room it joined.
  assert.deepEqual(goodEvents.map((e) => [e.name, e.payload.videoId, e.payload.status]),
                   [["video-status", quiet.videoId, "UPLOADING"]]);
  good.disconnect();
});

test("oversize payloads are refused: websocket close 1009, polling POST 413", async () => {
  const good = track(await connect(server.base, { transports: ["websocket"] }));
  const w = rawWs();
  await waitFor(() => w.messages.length > 0, 5000, "open packet");
  w.ws.send("40");
  await waitFor(() => w.messages.some((m) => String(m).startsWith("40{")), 5000, "CONNECT reply");
  w.ws.send('42["join-video","' + "x".repeat(1000001) + '"]');
  const c = await w.closed;
  assert.equal(c.code, 1009);

  const hs = await api(server.base, "GET", "/socket.io/?EIO=4&transport=polling");
  const sid = JSON.parse(hs.text.slice(1)).sid;
  const q = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const big = await api(server.base, "POST", q, "4" + "x".repeat(1000100), { "Content-Type": "text/plain;charset=UTF-8" });
  assert.equal(big.status, 413);
  // Beyond the HTTP server's own body limit the answer is the same.
  const bigger = await api(server.base, "POST", q, "4" + "x".repeat(2000000), { "Content-Type": "text/plain;charset=UTF-8" });
  assert.equal(bigger.status, 413);

  assert.ok(good.connected);
  assert.deepEqual(await good.timeout(5000).emitWithAck("join-video", quiet.videoId), { ok: true });
  good.disconnect();
});

test("at most 50 sockets per client address (the 51st gets 403)", async () => {
  const from = { localAddress: "127.0.0.77" };
  const socks = [];
  for (let i = 0; i < 50; i++) socks.push(rawWs(undefined, from));
  for (const s of socks) assert.equal((await s.response).status, 101);
  await waitFor(() => socks.every((s) => s.messages.length > 0), 10000, "50 open packets");
  const extra = rawWs(undefined, from);
  const res = await extra.response;
  assert.equal(res.status, 403);
  assert.deepEqual(JSON.parse(res.body), { code: 4, message: "Forbidden" });
  // Another address is not affected.
  const other = track(await connect(server.base, { transports: ["websocket"], localAddress: "127.0.0.78" }));
  other.disconnect();
  // Freed slots can be used again.
  socks[0].close();
  await sleep(200);
  const again = rawWs(undefined, from);
  assert.equal((await again.response).status, 101);
  for (const s of [...socks, again]) s.close();
});

test("GET /api/webhook/health reports the live connection count", async () => {
  await waitFor(async () => (await health()) === 0, 10000, "no connections left from earlier tests");
  const a = track(await connect(server.base));
  const b = track(await connect(server.base, { transports: ["websocket"] }));
  const c = track(await connect(server.base, { transports: ["polling"] }));
  await waitFor(async () => (await health()) === 3, 5000, "3 connections");
  a.disconnect();
  b.disconnect();
  await waitFor(async () => (await health()) === 1, 5000, "1 connection");
  c.disconnect();
  await waitFor(async () => (await health()) === 0, 5000, "0 connections");
});

// ---- accounts (issue 12) ----

// Against a server in the default mode (accounts required). An admin is
// registered first (the first account becomes admin), so users A and B are
// plain users. A's private video is A's alone: B (token or cookie) and
// anonymous clients get an error event and no events; A and the admin get
// them.
into = accountTests;
let admin;
const refusal = (id) => ({ ok: false, error: `not allowed to join video ${id}` });
const MISSING = "0".repeat(24);  // a well-formed id of no video

test("accounts: anonymous uploads are refused (401), cookie changes need our Origin, others' videos are 404", async () => {
  const A = await register(server.base, "a");
  const B = await register(server.base, "b");
  assert.equal(A.user.isAdmin, false);
  const body = { fileName: "clip.mp4", fileType: "video/mp4", fileSize: 1000 };
  const anon = await api(server.base, "POST", "/api/upload/generate-presigned-url", body);
  assert.equal(anon.status, 401, anon.text);
  assert.equal(anon.json.error.code, "unauthenticated");
  // The cookie alone is not enough for a change: CSRF rule.
  const noOrigin = await api(server.base, "POST", "/api/upload/generate-presigned-url", body, { Cookie: A.cookie });
  assert.equal(noOrigin.status, 403, noOrigin.text);
  assert.equal(noOrigin.json.error.code, "csrf_rejected");
  const foreign = await api(server.base, "POST", "/api/upload/generate-presigned-url", body,
                            { Cookie: A.cookie, Origin: "http://evil.example" });
  assert.equal(foreign.status, 403, foreign.text);
  const withOrigin = await api(server.base, "POST", "/api/upload/generate-presigned-url", body,
                               { Cookie: A.cookie, Origin: server.base });
  assert.equal(withOrigin.status, 201, withOrigin.text);
  const id = withOrigin.json.data.videoId;
  const video = await api(server.base, "GET", `/api/videos/${id}`);
  assert.equal(video.json.data.ownerId, A.user.id);
  assert.equal(video.json.data.visibility, "public");
  // Confirm: anonymous 401; B 404 with the body of a missing video.
  const anonConfirm = await api(server.base, "POST", `/api/upload/confirm/${id}`);
  assert.equal(anonConfirm.status, 401, anonConfirm.text);
  const none = await api(server.base, "POST", `/api/upload/confirm/${MISSING}`, undefined, bearer(B.token));
  assert.equal(none.status, 404, none.text);
  const bConfirm = await api(server.base, "POST", `/api/upload/confirm/${id}`, undefined, bearer(B.token));
  assert.equal(bConfirm.status, 404, bConfirm.text);
  assert.equal(bConfirm.text, none.text.replace(MISSING, id), "the same body as for no video");
  // A public video: anyone's socket may join it.
  const s = track(await connect(server.base));
  assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", id), { ok: true });
  s.disconnect();
});

test("accounts: only the owner's (and admins') sockets get a private video's events (token, cookie, anonymous)", async () => {
  const A = await register(server.base, "a");
  const B = await register(server.base, "b");
  const up = await presign(server.base, CLIP, { token: A.token, visibility: "private" });
  assert.equal(up.answer.status, 201);

  const a = track(await connect(server.base, { auth: { token: A.token } }));
  const aCookie = track(await connect(server.base, { transports: ["websocket"], extraHeaders: { Cookie: A.cookie } }));
  const adm = track(await connect(server.base, { transports: ["polling"], auth: { token: admin.token } }));
  const b = track(await connect(server.base, { auth: { token: B.token } }));
  const bCookie = track(await connect(server.base, { transports: ["polling"], extraHeaders: { Cookie: B.cookie } }));
  const anon = track(await connect(server.base));
  const owners = [a, aCookie, adm];
  const others = [b, bCookie, anon];
  const got = new Map([...owners, ...others].map((s) => [s, record(s)]));

  for (const s of owners)
    assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", up.videoId), { ok: true });
  for (const s of others)
    assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", up.videoId), refusal(up.videoId));
  // The same refusal for a video that does not exist: no existence oracle.
  assert.deepEqual(await b.timeout(5000).emitWithAck("join-video", MISSING), refusal(MISSING));

  await up.upload();
  await waitFor(() => owners.every((s) => got.get(s).some(isReady)), 120000, "READY on A's and the admin's sockets");
  await sleep(500);  // anything misrouted would have arrived by now
  for (const s of owners) {
    const events = got.get(s);
    assert.equal(events.filter((e) => e.name === "error").length, 0);
    assert.equal(events.find((e) => e.name === "video-status").payload.status, "UPLOADING");
    assert.ok(events.some((e) => e.name === "processing-progress"), "progress events");
    for (const e of events) assert.equal(e.payload.videoId, up.videoId);
  }
  for (const s of others) {
    const events = got.get(s);
    assert.deepEqual(events.filter((e) => e.name !== "error"), [], "no video-status or progress");
    assert.ok(events.length >= 1);
    assert.equal(events[0].payload.message, `not allowed to join video ${up.videoId}`);
    assert.ok(s.connected, "a refusal is not a disconnect");
  }
  for (const s of [...owners, ...others]) s.disconnect();
});

test("accounts: join-user only for oneself", async () => {
  const A = await register(server.base, "a");
  const B = await register(server.base, "b");
  const b = track(await connect(server.base, { auth: { token: B.token } }));
  assert.deepEqual(await b.timeout(5000).emitWithAck("join-user", B.user.id), { ok: true });
  assert.deepEqual(await b.timeout(5000).emitWithAck("join-user", A.user.id),
                   { ok: false, error: `not allowed to join user ${A.user.id}` });
  const bCookie = track(await connect(server.base, { transports: ["websocket"], extraHeaders: { Cookie: B.cookie } }));
  assert.deepEqual(await bCookie.timeout(5000).emitWithAck("join-user", B.user.id), { ok: true });
  assert.equal((await bCookie.timeout(5000).emitWithAck("join-user", A.user.id)).ok, false);
  const anon = track(await connect(server.base));
  assert.deepEqual(await anon.timeout(5000).emitWithAck("join-user", A.user.id),
                   { ok: false, error: `not allowed to join user ${A.user.id}` });
  // A token that is not one identifies nobody.
  const forged = track(await connect(server.base, { auth: { token: `${B.token}x` } }));
  assert.equal((await forged.timeout(5000).emitWithAck("join-user", B.user.id)).ok, false);
  for (const s of [b, bCookie, anon, forged]) s.disconnect();
});

test("accounts: another user's event stream is a 404 like a missing video's", async () => {
  const A = await register(server.base, "a");
  const B = await register(server.base, "b");
  const up = await presign(server.base, CLIP, { token: A.token, visibility: "private" });
  const none = await api(server.base, "GET", `/api/videos/${MISSING}/events`);
  assert.equal(none.status, 404);
  assert.equal(none.json.error.code, "not_found");
  for (const headers of [{ Cookie: B.cookie }, bearer(B.token), {}]) {
    const r = await api(server.base, "GET", `/api/videos/${up.videoId}/events`, undefined, headers);
    assert.equal(r.status, 404, JSON.stringify(headers));
    assert.equal(r.text, none.text.replace(MISSING, up.videoId), "the same body as for no video");
  }
  // The owner's stream opens (cookie or bearer).
  for (const headers of [{ Cookie: A.cookie }, bearer(A.token)]) {
    const ctl = new AbortController();
    const own = await fetch(`${server.base}/api/videos/${up.videoId}/events`, { headers, signal: ctl.signal });
    assert.equal(own.status, 200);
    assert.match(own.headers.get("content-type"), /^text\/event-stream/);
    ctl.abort();
  }
});

test("accounts: a socket and an event stream that joined a public video are cut off when it is made private", async () => {
  const A = await register(server.base, "a");
  const B = await register(server.base, "b");
  const up = await presign(server.base, CLIP, { token: A.token });  // public; its room holds UPLOADING
  const a = track(await connect(server.base, { auth: { token: A.token } }));
  const b = track(await connect(server.base, { auth: { token: B.token } }));
  const gotA = record(a);
  const gotB = record(b);
  for (const s of [a, b])
    assert.deepEqual(await s.timeout(5000).emitWithAck("join-video", up.videoId), { ok: true });
  await waitFor(() => [gotA, gotB].every((g) => g.some((e) => e.name === "video-status")), 5000,
                "the replay of UPLOADING on both sockets");

  // B's event stream of the video (bearer token) opens too.
  const ctl = new AbortController();
  const stream = await fetch(`${server.base}/api/videos/${up.videoId}/events`,
                             { headers: bearer(B.token), signal: ctl.signal });
  assert.equal(stream.status, 200);
  let text = "";
  let ended = false;
  const reader = stream.body.getReader();
  const reading = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    } catch {
      // a close the client sees as an error ends the stream all the same
    } finally {
      ended = true;
    }
  })();
  await waitFor(() => text.includes("event: video-status"), 5000, "the event stream's replay");

  // A makes it private: B's socket is taken out of the room (an error event,
  // as for a refused join, and still connected) and B's stream is ended.
  const put = await api(server.base, "PUT", `/api/videos/${up.videoId}`, { visibility: "private" }, bearer(A.token));
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.data.visibility, "private");
  await waitFor(() => gotB.some((e) => e.name === "error"), 10000, "the error event on B's socket");
  assert.equal(gotB.find((e) => e.name === "error").payload.message, `not allowed to join video ${up.videoId}`);
  assert.ok(b.connected, "taken out of the room, not disconnected");
  await waitFor(() => ended, 10000, "the end of B's event stream");
  await reading;
  assert.ok(!text.includes("video-access"), text);
  // Joining again is refused like any other user's join of a private video.
  assert.deepEqual(await b.timeout(5000).emitWithAck("join-video", up.videoId), refusal(up.videoId));

  // A later event of the video (its deletion) reaches A's socket, not B's.
  const del = await api(server.base, "DELETE", `/api/videos/${up.videoId}`, undefined, bearer(A.token));
  assert.equal(del.status, 200, del.text);
  await waitFor(() => gotA.some((e) => e.name === "video-status" && e.payload.status === "DELETED"), 10000,
                "DELETED on A's socket");
  await sleep(500);  // anything misrouted would have arrived by now
  assert.equal(gotA.filter((e) => e.name === "error").length, 0);
  assert.deepEqual(gotB.filter((e) => e.name !== "error").map((e) => e.payload.status), ["UPLOADING"]);
  ctl.abort();
  for (const s of [a, b]) s.disconnect();
});

into = tests;

// ---- runner ----

// Sockets left open by a failed test.
function closeAll() {
  for (const s of open) {
    try {
      s.close();
    } catch {}
  }
  open.clear();
}

runSuites([
  {
    name: "open mode (ANONYMOUS_UPLOADS=1)",
    env: { ANONYMOUS_UPLOADS: "1" },
    tests,
    async onStart(s) {
      server = s;
      me = await register(s.base, "me");
      quiet = await presign(s.base, CLIP);
      const v = await api(s.base, "GET", `/api/videos/${quiet.videoId}`);
      assert.equal(v.json?.data?.ownerId, null, `an anonymous upload has no owner: ${v.text}`);
      assert.equal(v.json.data.visibility, "public");
    },
    cleanup: closeAll,
  },
  {
    name: "accounts required (default)",
    // Stated, so an ANONYMOUS_UPLOADS in the caller's environment cannot leak in.
    env: { ANONYMOUS_UPLOADS: "0", REGISTRATION: "open" },
    tests: accountTests,
    async onStart(s) {
      server = s;
      admin = await register(s.base, "admin");
      assert.equal(admin.user.isAdmin, true, "the first account is an admin");
    },
    cleanup: closeAll,
  },
]);
