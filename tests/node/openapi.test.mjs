#!/usr/bin/env node
// Real answers of the real server binary against the schemas of the OpenAPI
// description it serves (GET /api/openapi.json), compiled by ajv (JSON
// Schema 2020-12, the dialect of OpenAPI 3.1). One video goes through
// upload, confirmation and processing; the answers on the way, a few
// refusals and the operational endpoints are validated. That the paths and
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

import { MEDIA_DIR, api, presign, runTests, waitFor, webhook } from "./lib.mjs";

const CLIP = path.join(MEDIA_DIR, "src-720p25-6s-noaudio.mp4");
const NO_SUCH_ID = "0123456789abcdef01234567";
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

let server;
let doc;  // the description as served
let ajv;
let video;  // the presigned upload of CLIP

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
      // ajv brings no formats of its own; these two are the ones used.
      "date-time": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
      uri: (s) => URL.canParse(s),
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

test("upload: presign 201, PUT 200, confirm 200", async () => {
  video = await presign(server.base, CLIP);
  check("POST", "/api/upload/generate-presigned-url", video.answer);
  assert.equal(video.answer.status, 201);
  const { put, confirm } = await video.upload();
  check("PUT", "/upload/{id}", put);
  check("POST", "/api/upload/confirm/{id}", confirm);
  assert.equal(put.status, 200);
  assert.equal(confirm.status, 200);
});

test("the video, its status, the lists, search, stats and notifications", async () => {
  const id = video.videoId;
  assert.equal((await call("GET", "/api/videos/{id}", `/api/videos/${id}`)).status, 200);
  assert.equal((await call("GET", "/api/videos/{id}/status", `/api/videos/${id}/status`)).status, 200);
  const list = await call("GET", "/api/videos", "/api/videos?limit=5");
  assert.ok(list.json.data.some((v) => v.id === id));
  const found = await call("GET", "/api/videos/search", "/api/videos/search?q=src%20720p25");
  assert.ok(found.json.data.some((v) => v.id === id), found.text);
  await call("GET", "/api/videos/status/{status}", "/api/videos/status/uploaded");
  const stats = await call("GET", "/api/videos/stats/overview", "/api/videos/stats/overview");
  assert.equal(stats.json.data.total, 1);
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
  });
  assert.equal(bad.status, 400);
  const notJson = await call("POST", "/api/upload/generate-presigned-url", "/api/upload/generate-presigned-url", "{}", {
    "Content-Type": "text/plain",
  });
  assert.equal(notJson.status, 415);
  const put = await call("PUT", "/upload/{id}", `/upload/${video.videoId}?type=video%2Fmp4&size=1&expires=1&sig=00`, "x", {
    "Content-Type": "video/mp4",
  });
  assert.equal(put.status, 403);
  const retry = await call("POST", "/api/videos/{id}/retry", `/api/videos/${NO_SUCH_ID}/retry`);
  assert.equal(retry.status, 404);
  const unsigned = await call("POST", "/api/webhook/processing-complete", "/api/webhook/processing-complete", {
    videoId: video.videoId,
    status: "ready",
  });
  assert.equal(unsigned.status, 401);
  const update = await call("PUT", "/api/videos/{id}", `/api/videos/${video.videoId}`, {});
  assert.equal(update.status, 400);
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
  const retry = await call("POST", "/api/videos/{id}/retry", `/api/videos/${id}/retry`);
  assert.equal(retry.status, 409);
  assert.equal(retry.json.error.code, "not_retryable");
  await call("GET", "/api/notifications", "/api/notifications?limit=100");
  await call("GET", "/api/videos/stats/overview", "/api/videos/stats/overview");
});

test("PUT and DELETE /api/videos/{id}", async () => {
  const id = video.videoId;
  const updated = await call("PUT", "/api/videos/{id}", `/api/videos/${id}`, { title: "Renamed", description: "d" });
  assert.equal(updated.status, 200);
  assert.equal(updated.json.data.title, "Renamed");
  assert.equal((await call("DELETE", "/api/videos/{id}", `/api/videos/${id}`)).status, 200);
  assert.equal((await call("DELETE", "/api/videos/{id}", `/api/videos/${id}`)).status, 404);
});

// Without the description nothing else can be checked.
runTests(tests, { onStart: (s) => (server = s), stopWhen: () => !doc, timeoutMs: 300000 });
