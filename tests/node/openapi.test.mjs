#!/usr/bin/env node
// Real answers of the real server binary against the schemas of the OpenAPI
// description it serves (GET /api/openapi.json), compiled by ajv (JSON
// Schema 2020-12, the dialect of OpenAPI 3.1). One video goes through
// upload, confirmation and processing; the answers on the way, a few
// refusals and the operational endpoints are validated. The server runs in
// the default mode (accounts required): a user registers first and uploads
// with its bearer token; the accounts endpoints (register, login, me,
// sessions, logout) and the playback endpoint are validated too, and a second
// video, private, is played through its token URLs. That the paths and
// methods match the router is the api module's test (OpenApiTest).
//
//   node tests/node/openapi.test.mjs [path/to/visionsync]
//
// The binary defaults to $VS_BINARY, then build/visionsync; media comes from
// $VS_MEDIA_DIR or ../shared/media beside the repository. Prints
// "N passed, M failed" last and exits non-zero on failure.
import assert from "node:assert/strict";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";

import { MEDIA_DIR, api, bearer, presign, register, runTests, waitFor, webhook } from "./lib.mjs";

const CLIP = path.join(MEDIA_DIR, "src-720p25-6s-noaudio.mp4");
const NO_SUCH_ID = "0123456789abcdef01234567";
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

let server;
let doc;  // the description as served
let ajv;
let video;  // the presigned upload of CLIP (public)
let secret;  // the same clip uploaded as a private video
let owner;  // the account that uploads (the first one, so an admin)
let other;  // a second, plain account
let auth;  // owner's Authorization header

// "/api/videos/{id}" and its segments as one JSON Pointer fragment.
const pointer = (...parts) =>
  "#/" + parts.map((p) => encodeURIComponent(String(p).replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");

// Follows a local $ref of the description to the object it names.
function deref(obj) {
  while (obj && obj.$ref) {
    obj = obj.$ref
      .slice(2)
      .split("/")
      .reduce((o, k) => o?.[decodeURIComponent(k).replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  return obj;
}

// Checks a real answer against the description of (method, template):
// its status must be described, a JSON answer must say so in its
// Content-Type and match the schema. ajv's errors are printed on failure.
function check(method, template, answer) {
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${template} is not described`);
  const status = String(answer.status);
  const described = deref(op.responses[status]);
  assert.ok(described, `${method} ${template}: status ${status} is not described (${answer.text.slice(0, 300)})`);
  const media = Object.keys(described.content ?? {});
  if (!media.includes("application/json")) {
    if (media.length) {
      const ct = answer.headers.get("content-type") ?? "";
      assert.ok(media.some((m) => ct.startsWith(m)), `${method} ${template} ${status}: Content-Type ${ct}, described ${media}`);
    }
    return;
  }
  assert.match(answer.headers.get("content-type") ?? "", /^application\/json/, `${method} ${template} ${status}`);
  // The schema where the response is defined (a component when it is a $ref).
  const at = op.responses[status].$ref ?? pointer("paths", template, method.toLowerCase(), "responses", status);
  const ref = `openapi.json${at}/content/application~1json/schema`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  if (!validate(answer.json)) {
    throw new Error(
      `${method} ${template} ${status} does not match its schema:\n` +
        `${JSON.stringify(validate.errors, null, 2)}\nanswer: ${answer.text.slice(0, 2000)}`,
    );
  }
}

// Calls the server and checks the answer; returns it.
async function call(method, template, p, body, headers) {
  const answer = await api(server.base, method, p, body, headers);
  check(method, template, answer);
  return answer;
}

test("GET /api/openapi.json is the OpenAPI 3.1 description and compiles", async () => {
  const r = await api(server.base, "GET", "/api/openapi.json");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^application\/json/);
  assert.equal(r.headers.get("cache-control"), "public, max-age=300");
  doc = r.json;
  assert.equal(doc.openapi, "3.1.0");
  ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    formats: {
      // ajv brings no formats of its own; these are the ones used.
      "date-time": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
      uri: (s) => URL.canParse(s),
      email: /^[^@\s]+@[^@\s]+$/,
    },
  });
  ajv.addSchema(doc, "openapi.json");
  // Every schema of the description compiles (and so every $ref in it resolves).
  for (const name of Object.keys(doc.components.schemas))
    assert.ok(ajv.getSchema(`openapi.json${pointer("components", "schemas", name)}`), name);
  check("GET", "/api/openapi.json", r);
});

test("operations: /healthz, /readyz, /metrics, /api/webhook/health", async () => {
  await call("GET", "/healthz", "/healthz");
  const ready = await call("GET", "/readyz", "/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(Object.keys(ready.json.dependencies).sort(), ["database", "storage"]);
  const metrics = await call("GET", "/metrics", "/metrics");
  assert.equal(metrics.status, 200);
  const health = await call("GET", "/api/webhook/health", "/api/webhook/health");
  assert.equal(health.status, 200);
});

test("accounts: register 201, login 200, me, sessions, logout, and their refusals", async () => {
  const reg = "/api/auth/register";
  owner = await register(server.base, "owner");
  check("POST", reg, owner.answer);
  assert.equal(owner.answer.status, 201);
  assert.equal(owner.user.isAdmin, true, "the first account is an admin");
  assert.ok(owner.cookie, "register sets the vs_session cookie");
  auth = bearer(owner.token);
  other = await register(server.base, "other");
  check("POST", reg, other.answer);
  assert.equal(other.user.isAdmin, false);
  // Refusals of register: validation 400, a taken email 409.
  const short = await call("POST", reg, reg, { email: "x@example.test", password: "short" });
  assert.equal(short.status, 400);
  assert.equal(short.json.error.code, "invalid_field");
  const taken = await call("POST", reg, reg, { email: owner.email, password: "another long password" });
  assert.equal(taken.status, 409);
  assert.equal(taken.json.error.code, "registration_failed");
  const notJson = await call("POST", reg, reg, "{}", { "Content-Type": "text/plain" });
  assert.equal(notJson.status, 415);

  const login = await call("POST", "/api/auth/login", "/api/auth/login", { email: other.email, password: other.password });
  assert.equal(login.status, 200);
  assert.equal(login.json.data.user.id, other.user.id);
  const wrong = await call("POST", "/api/auth/login", "/api/auth/login", { email: other.email, password: "wrong password" });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error.code, "invalid_credentials");
  const noSuch = await call("POST", "/api/auth/login", "/api/auth/login", { email: "nobody@example.test", password: "wrong password" });
  assert.equal(noSuch.status, 401);
  assert.equal(noSuch.text, wrong.text, "one answer for an unknown email and a wrong password");

  const me = await call("GET", "/api/auth/me", "/api/auth/me", undefined, auth);
  assert.equal(me.status, 200);
  assert.deepEqual(me.json.data.user, owner.user);
  const meCookie = await call("GET", "/api/auth/me", "/api/auth/me", undefined, { Cookie: owner.cookie });
  assert.equal(meCookie.status, 200);
  const anonMe = await call("GET", "/api/auth/me", "/api/auth/me");
  assert.equal(anonMe.status, 401);
  assert.equal((await call("GET", "/api/auth/sessions", "/api/auth/sessions")).status, 401);

  // other has two sessions now (register, login): newest first, the
  // calling one marked.
  const sessions = await call("GET", "/api/auth/sessions", "/api/auth/sessions", undefined, bearer(login.json.data.token));
  assert.equal(sessions.status, 200);
  assert.equal(sessions.json.data.length, 2, sessions.text);
  assert.deepEqual(sessions.json.data.map((x) => x.current), [true, false]);
  const registered = sessions.json.data[1].id;
  assert.equal(other.token.split(".")[0], registered, "token = <session id>.<secret>");
  // Another user's session: 404; one's own: 200, and its token is dead.
  const foreign = await call("DELETE", "/api/auth/sessions/{id}", `/api/auth/sessions/${registered}`, undefined, auth);
  assert.equal(foreign.status, 404);
  const revoke = await call("DELETE", "/api/auth/sessions/{id}", `/api/auth/sessions/${registered}`, undefined,
                            bearer(login.json.data.token));
  assert.equal(revoke.status, 200);
  const dead = await call("GET", "/api/auth/me", "/api/auth/me", undefined, bearer(other.token));
  assert.equal(dead.status, 401);
  // Logout with the cookie: our Origin is required (CSRF), then 200.
  const csrf = await call("POST", "/api/auth/logout", "/api/auth/logout", undefined, { Cookie: `vs_session=${login.json.data.token}` });
  assert.equal(csrf.status, 403);
  assert.equal(csrf.json.error.code, "csrf_rejected");
  const out = await call("POST", "/api/auth/logout", "/api/auth/logout", undefined,
                         { Cookie: `vs_session=${login.json.data.token}`, Origin: server.base });
  assert.equal(out.status, 200);
  assert.match(out.headers.get("set-cookie") ?? "", /^vs_session=;.*Max-Age=0/);
  assert.equal((await call("GET", "/api/auth/me", "/api/auth/me", undefined, bearer(login.json.data.token))).status, 401);
  // other signs in again for the checks below.
  const again = await api(server.base, "POST", "/api/auth/login", { email: other.email, password: other.password });
  assert.equal(again.status, 200);
  other.token = again.json.data.token;
});

test("upload: presign 201, PUT 200, confirm 200 (signed in); anonymous 401", async () => {
  const anon = await call("POST", "/api/upload/generate-presigned-url", "/api/upload/generate-presigned-url", {
    fileName: "clip.mp4",
    fileType: "video/mp4",
    fileSize: 1000,
  });
  assert.equal(anon.status, 401);
  assert.equal(anon.json.error.code, "unauthenticated");
  // Both videos are uploaded before any answer is checked: a mismatch fails
  // this test only, not the ones that need the videos.
  video = await presign(server.base, CLIP, { token: owner.token });
  const anonConfirm = await api(server.base, "POST", `/api/upload/confirm/${video.videoId}`);
  const { put, confirm } = await video.upload();
  secret = await presign(server.base, CLIP, { token: owner.token, visibility: "private" });
  const done = await secret.upload();

  check("POST", "/api/upload/generate-presigned-url", video.answer);
  assert.equal(video.answer.status, 201);
  check("POST", "/api/upload/confirm/{id}", anonConfirm);
  assert.equal(anonConfirm.status, 401);
  check("POST", "/api/upload/confirm/{id}", confirm);
  assert.equal(confirm.status, 200);
  assert.equal(confirm.json.data.ownerId, owner.user.id);
  assert.equal(confirm.json.data.visibility, "public");
  check("POST", "/api/upload/generate-presigned-url", secret.answer);
  check("POST", "/api/upload/confirm/{id}", done.confirm);
  assert.equal(done.confirm.json.data.visibility, "private");
  assert.equal(put.status, 200);
  check("PUT", "/upload/{id}", put);
  check("PUT", "/upload/{id}", done.put);
});

test("the video, its status, the lists, search, stats and notifications", async () => {
  const id = video.videoId;
  const one = await call("GET", "/api/videos/{id}", `/api/videos/${id}`);
  assert.equal(one.status, 200);
  assert.equal(one.json.data.ownerId, owner.user.id);
  assert.equal(one.json.data.visibility, "public");
  // The private one: its owner sees it, others get the 404 of no video.
  const mine = await call("GET", "/api/videos/{id}", `/api/videos/${secret.videoId}`, undefined, auth);
  assert.equal(mine.status, 200);
  assert.equal(mine.json.data.visibility, "private");
  const hidden = await call("GET", "/api/videos/{id}", `/api/videos/${secret.videoId}`, undefined, bearer(other.token));
  assert.equal(hidden.status, 404);
  const own = await call("GET", "/api/videos", "/api/videos?mine=1", undefined, auth);
  assert.deepEqual(own.json.data.map((v) => v.id).sort(), [id, secret.videoId].sort());
  assert.equal((await call("GET", "/api/videos", "/api/videos?mine=1")).status, 401);
  assert.equal((await call("GET", "/api/videos/{id}/status", `/api/videos/${id}/status`)).status, 200);
  const list = await call("GET", "/api/videos", "/api/videos?limit=5");
  assert.ok(list.json.data.some((v) => v.id === id));
  const found = await call("GET", "/api/videos/search", "/api/videos/search?q=src%20720p25");
  assert.ok(found.json.data.some((v) => v.id === id), found.text);
  await call("GET", "/api/videos/status/{status}", "/api/videos/status/uploaded");
  assert.ok(!list.json.data.some((v) => v.id === secret.videoId), "no private video in an anonymous list");
  const stats = await call("GET", "/api/videos/stats/overview", "/api/videos/stats/overview");
  assert.equal(stats.json.data.total, 1, "anonymous: the public video only");
  const ownStats = await call("GET", "/api/videos/stats/overview", "/api/videos/stats/overview", undefined, auth);
  assert.equal(ownStats.json.data.total, 2);
  const notes = await call("GET", "/api/notifications", `/api/notifications?videoId=${id}`);
  assert.ok(notes.json.data.length >= 2, notes.text);
});

test("refusals: 400, 401, 403, 404, 415", async () => {
  assert.equal((await call("GET", "/api/videos/{id}", "/api/videos/not-an-id")).status, 400);
  assert.equal((await call("GET", "/api/videos/{id}", `/api/videos/${NO_SUCH_ID}`)).status, 404);
  assert.equal((await call("GET", "/api/videos/search", "/api/videos/search")).status, 400);
  assert.equal((await call("GET", "/api/videos", "/api/videos?limit=0")).status, 400);
  assert.equal((await call("GET", "/api/videos/status/{status}", "/api/videos/status/DONE")).status, 400);
  const bad = await call("POST", "/api/upload/generate-presigned-url", "/api/upload/generate-presigned-url", {
    fileName: "notes.txt",
    fileType: "text/plain",
    fileSize: 10,
  }, auth);
  assert.equal(bad.status, 400);
  const notJson = await call("POST", "/api/upload/generate-presigned-url", "/api/upload/generate-presigned-url", "{}", {
    "Content-Type": "text/plain",
    ...auth,
  });
  assert.equal(notJson.status, 415);
  const put = await call("PUT", "/upload/{id}", `/upload/${video.videoId}?type=video%2Fmp4&size=1&expires=1&sig=00`, "x", {
    "Content-Type": "video/mp4",
  });
  assert.equal(put.status, 403);
  const retry = await call("POST", "/api/videos/{id}/retry", `/api/videos/${NO_SUCH_ID}/retry`, undefined, auth);
  assert.equal(retry.status, 404);
  assert.equal((await call("POST", "/api/videos/{id}/retry", `/api/videos/${NO_SUCH_ID}/retry`)).status, 401);
  // A bearer token that names no session: 401 invalid_token.
  const forged = await call("GET", "/api/auth/me", "/api/auth/me", undefined, bearer(`${owner.token}x`));
  assert.equal(forged.status, 401);
  assert.equal(forged.json.error.code, "invalid_token");
  // A cookie-authenticated change from elsewhere: 403 csrf_rejected.
  const csrf = await call("PUT", "/api/videos/{id}", `/api/videos/${video.videoId}`, { title: "x" },
                          { Cookie: owner.cookie, Origin: "http://evil.example" });
  assert.equal(csrf.status, 403);
  assert.equal(csrf.json.error.code, "csrf_rejected");
  // Someone else's video: the 404 of no video.
  const theirs = await call("PUT", "/api/videos/{id}", `/api/videos/${video.videoId}`, { title: "x" }, bearer(other.token));
  assert.equal(theirs.status, 404);
  // Playback of a video still waiting for its file: 409 not_ready.
  const waiting = await presign(server.base, CLIP, { token: other.token });
  const notReady = await call("GET", "/api/videos/{id}/playback", `/api/videos/${waiting.videoId}/playback`);
  assert.equal(notReady.status, 409, notReady.text);
  assert.equal(notReady.json.error.code, "not_ready");
  assert.equal((await call("GET", "/api/videos/{id}/playback", `/api/videos/${NO_SUCH_ID}/playback`)).status, 404);
  const unsigned = await call("POST", "/api/webhook/processing-complete", "/api/webhook/processing-complete", {
    videoId: video.videoId,
    status: "ready",
  });
  assert.equal(unsigned.status, 401);
  const update = await call("PUT", "/api/videos/{id}", `/api/videos/${video.videoId}`, {}, auth);
  assert.equal(update.status, 400);
  const anonUpdate = await call("PUT", "/api/videos/{id}", `/api/videos/${video.videoId}`, { title: "x" });
  assert.equal(anonUpdate.status, 401);
  const missing = await call("GET", "/media/{id}/{file}", `/media/${NO_SUCH_ID}/manifest.mpd`);
  assert.equal(missing.status, 404);
  const noManifest = await call("GET", "/api/videos/{id}/manifest.mpd", `/api/videos/${NO_SUCH_ID}/manifest.mpd`);
  assert.equal(noManifest.status, 404);
});

test("READY: the video view, media redirects and files, and retry refused (409)", async () => {
  const id = video.videoId;
  const status = await waitFor(
    async () => {
      const r = await call("GET", "/api/videos/{id}/status", `/api/videos/${id}/status`);
      if (r.json.data.status === "ERROR") throw new Error(`processing failed: ${r.text}`);
      return r.json.data.status === "READY" && r;
    },
    240000,
    "READY",
  );
  assert.equal(status.json.data.progress, 100);
  const ready = await call("GET", "/api/videos/{id}", `/api/videos/${id}`);
  assert.equal(ready.json.data.status, "READY");
  assert.ok(ready.json.data.renditions.length > 0, ready.text);
  assert.ok(ready.json.data.manifestUrl, ready.text);
  await call("GET", "/api/videos/status/{status}", "/api/videos/status/READY");
  // fetch follows the redirect to the manifest itself; ask once without following.
  const manifest = await api(server.base, "GET", `/api/videos/${id}/manifest.mpd`);
  check("GET", "/media/{id}/{file}", manifest);
  assert.equal(manifest.status, 200);
  const r302 = await fetch(`${server.base}/api/videos/${id}/master.m3u8`, { redirect: "manual" });
  check("GET", "/api/videos/{id}/master.m3u8", { status: r302.status, headers: r302.headers, text: "" });
  assert.equal(r302.status, 302);
  const thumb = await api(server.base, "GET", `/api/videos/${id}/segments/thumbnail.jpg`);
  check("GET", "/api/videos/{id}/segments/{segment}", thumb);
  const part = await api(server.base, "GET", `/media/${id}/thumbnail.jpg`, undefined, { Range: "bytes=0-9" });
  check("GET", "/media/{id}/{file}", part);
  assert.equal(part.status, 206);
  // A report for a video already READY changes nothing.
  const late = await webhook(server.base, { videoId: id, status: "ready" });
  check("POST", "/api/webhook/processing-complete", late);
  assert.equal(late.status, 200);
  assert.equal(late.json.data.applied, false);
  const retry = await call("POST", "/api/videos/{id}/retry", `/api/videos/${id}/retry`, undefined, auth);
  assert.equal(retry.status, 409);
  assert.equal(retry.json.error.code, "not_retryable");
  await call("GET", "/api/notifications", "/api/notifications?limit=100");
  await call("GET", "/api/videos/stats/overview", "/api/videos/stats/overview");
  // Playback of a public video: its plain URLs, no expiry.
  const playback = await call("GET", "/api/videos/{id}/playback", `/api/videos/${id}/playback`);
  assert.equal(playback.status, 200);
  assert.equal(playback.json.data.videoId, id);
  assert.equal(playback.json.data.visibility, "public");
  assert.equal(playback.json.data.expiresAt, null);
  const dash = await api(server.base, "GET", new URL(playback.json.data.dashUrl, server.base).pathname);
  assert.equal(dash.status, 200);
});

test("a private READY video: playback with token URLs; 404 for others; 403 for an altered token", async () => {
  const id = secret.videoId;
  await waitFor(
    async () => {
      const r = await call("GET", "/api/videos/{id}/status", `/api/videos/${id}/status`, undefined, auth);
      if (r.json.data.status === "ERROR") throw new Error(`processing failed: ${r.text}`);
      return r.json.data.status === "READY";
    },
    240000,
    "READY",
  );
  for (const headers of [{}, bearer(other.token)]) {
    assert.equal((await call("GET", "/api/videos/{id}/playback", `/api/videos/${id}/playback`, undefined, headers)).status, 404);
    assert.equal((await call("GET", "/api/videos/{id}/status", `/api/videos/${id}/status`, undefined, headers)).status, 404);
  }
  assert.equal((await call("GET", "/media/{id}/{file}", `/media/${id}/manifest.mpd`)).status, 404);
  const playback = await call("GET", "/api/videos/{id}/playback", `/api/videos/${id}/playback`, undefined, auth);
  assert.equal(playback.status, 200);
  const data = playback.json.data;
  assert.equal(data.visibility, "private");
  assert.ok(Date.parse(data.expiresAt) > Date.now(), playback.text);
  const m = /\/media\/t\/([^/]+)\/([0-9a-f]{24})\/manifest\.mpd$/.exec(new URL(data.dashUrl, server.base).pathname);
  assert.ok(m, data.dashUrl);
  assert.equal(m[2], id);
  const manifest = await call("GET", "/media/t/{token}/{id}/{file}", new URL(data.dashUrl, server.base).pathname);
  assert.equal(manifest.status, 200);
  const hls = await call("GET", "/media/t/{token}/{id}/{file}", new URL(data.hlsUrl, server.base).pathname);
  assert.equal(hls.status, 200);
  const thumb = await call("GET", "/media/t/{token}/{id}/{file}", new URL(data.thumbnailUrl, server.base).pathname,
                           undefined, { Range: "bytes=0-9" });
  assert.equal(thumb.status, 206);
  const token = m[1];
  const altered = token.slice(0, -1) + (token.at(-1) === "0" ? "1" : "0");
  const bad = await call("GET", "/media/t/{token}/{id}/{file}", `/media/t/${altered}/${id}/manifest.mpd`);
  assert.equal(bad.status, 403);
  assert.equal(bad.json.error.code, "invalid_playback_token");
});

test("PUT and DELETE /api/videos/{id}", async () => {
  const id = video.videoId;
  const updated = await call("PUT", "/api/videos/{id}", `/api/videos/${id}`,
                             { title: "Renamed", description: "d", visibility: "unlisted" }, auth);
  assert.equal(updated.status, 200);
  assert.equal(updated.json.data.title, "Renamed");
  assert.equal(updated.json.data.visibility, "unlisted");
  assert.equal((await call("DELETE", "/api/videos/{id}", `/api/videos/${id}`)).status, 401);
  assert.equal((await call("DELETE", "/api/videos/{id}", `/api/videos/${id}`, undefined, bearer(other.token))).status, 404);
  assert.equal((await call("DELETE", "/api/videos/{id}", `/api/videos/${id}`, undefined, auth)).status, 200);
  assert.equal((await call("DELETE", "/api/videos/{id}", `/api/videos/${id}`, undefined, auth)).status, 404);
});

// Without the description nothing else can be checked.
// The default mode (accounts required), whatever the caller's environment says.
runTests(tests, {
  env: { ANONYMOUS_UPLOADS: "0", REGISTRATION: "open" },
  onStart: (s) => (server = s),
  stopWhen: () => !doc,
  timeoutMs: 300000,
});
