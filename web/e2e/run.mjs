// End-to-end tests of the web UI against the real server, in Debian's
// headless Chromium driven by playwright-core. Builds nothing: run
// `npm run build` first (the server serves web/dist).
//
//   VS_BINARY     server binary        (default ../build/visionsync, from web/)
//   VS_MEDIA_DIR  sample clips         (default ../../shared/media, from web/)
//   WEB_DIST      built UI             (default web/dist)
//   CHROMIUM      browser executable   (default /usr/bin/chromium)
//   E2E_KEEP=1    keep the temporary data folders
//
// Two server runs: first with the embedded defaults (local disk), then with
// uploads and outputs in an S3 bucket served by s3rver (from tests/node:
// run scripts/setup-node-tests first, as `make test` does), where the
// browser PUTs the file straight to the bucket through a presigned URL.
//
// Prints one line per test, then `N passed, M failed`; exits 1 on failure.
// Screenshots and the logs go to e2e/artifacts/ (the S3 run's with s3-).

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binary = path.resolve(webDir, process.env.VS_BINARY ?? '../build/visionsync');
const mediaDir = path.resolve(webDir, process.env.VS_MEDIA_DIR ?? '../../shared/media');
const webDist = path.resolve(webDir, process.env.WEB_DIST ?? 'dist');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = path.join(webDir, 'e2e', 'artifacts');
const clip = path.join(mediaDir, 'src-720p25-6s-noaudio.mp4');
const s3rverScript = path.resolve(webDir, '../tests/node/node_modules/s3rver/bin/s3rver.js');
const S3_BUCKET = 'videos';

const RATE_LIMITS = 'upload=1000/60,general=1000/60,status=1000/60,search=1000/60,streaming=10000/60';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function log(...args) {
  console.log(...args);
}

async function waitFor(what, fn, { timeout = 15_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(interval);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// --- the server ---------------------------------------------------------------

async function startServer({ env = {}, logName = 'server.log' } = {}) {
  // Another engineer may be relinking the binary: give it a moment to appear.
  await waitFor(`the server binary at ${binary}`, () => existsSync(binary), { timeout: 60_000, interval: 500 });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vs-e2e-data-'));
  const logFile = createWriteStream(path.join(artifacts, logName));
  const child = spawn(binary, ['serve'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      WEB_DIST: webDist,
      RATE_LIMITS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (chunk) => {
    output += chunk.toString();
    logFile.write(chunk);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const base = await Promise.race([
    waitFor('the server to listen', () => output.match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1], { timeout: 30_000, interval: 50 }),
    exited.then(({ code, signal }) => {
      throw new Error(`the server exited before listening (code ${code}, signal ${signal}):\n${output.slice(-2000)}`);
    }),
  ]);
  return {
    base,
    pid: child.pid,
    async stop() {
      await stopChild(child, exited);
      logFile.end();
      if (!process.env.E2E_KEEP) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM the child by its PID, SIGKILL it if it is still there after 5 s. */
async function stopChild(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid, 'SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!done) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// The rule a browser upload straight to the bucket needs (as scripts/cluster
// and tests/support/s3rver_server.cc configure it): a presigned PUT with
// Content-Type from any origin, and reads of the results.
const CORS_XML =
  '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>' +
  '<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader>' +
  '<AllowedHeader>Range</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>\n';

/** s3rver on a free loopback port, with the bucket S3_BUCKET and CORS_XML. */
async function startS3rver() {
  assert(
    existsSync(s3rverScript),
    `s3rver is not installed (no ${s3rverScript}): run scripts/setup-node-tests (make test runs it first)`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'vs-e2e-s3-'));
  writeFileSync(path.join(dir, 'cors.xml'), CORS_XML);
  mkdirSync(path.join(dir, 'data'));
  const logFile = createWriteStream(path.join(artifacts, 's3rver.log'));
  // The port is picked free and then handed over, so another process may
  // take it in between: try again with a new one if s3rver cannot start.
  for (let attempt = 1; ; ++attempt) {
    const port = await freeLoopbackPort();
    // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
    // tokens with DES, which Node >= 17 only offers from the legacy provider.
    const child = spawn(
      process.execPath,
      ['--openssl-legacy-provider', s3rverScript, '--directory', path.join(dir, 'data'), '--address', '127.0.0.1',
        '--port', String(port), '--silent', '--configure-bucket', S3_BUCKET, path.join(dir, 'cors.xml')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const onData = (chunk) => {
      output += chunk.toString();
      logFile.write(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const origin = `http://127.0.0.1:${port}`;
    try {
      await Promise.race([
        waitFor(`s3rver to answer on ${origin}`, async () => (await fetch(`${origin}/${S3_BUCKET}?list-type=2`)).ok, {
          timeout: 30_000,
          interval: 100,
        }),
        exited.then(({ code, signal }) => {
          throw new Error(`s3rver exited before answering (code ${code}, signal ${signal}):\n${output.slice(-2000)}`);
        }),
      ]);
      // Whoever answered, it must be ours (not another server that took the port).
      await sleep(200);
      assert(child.exitCode === null && child.signalCode === null, `s3rver exited after starting:\n${output.slice(-2000)}`);
    } catch (e) {
      await stopChild(child, exited);
      if (attempt < 3) {
        log(`  s3rver did not start on port ${port}, trying another port: ${e.message}`);
        continue;
      }
      logFile.end();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      origin,
      port,
      pid: child.pid,
      /** The keys under `prefix` with their sizes (s3rver checks no signature). */
      async list(prefix) {
        const res = await fetch(`${origin}/${S3_BUCKET}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
        assert(res.ok, `listing ${prefix} answered ${res.status}`);
        const xml = await res.text();
        return [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map(([, c]) => ({
          key: c.match(/<Key>([^<]*)<\/Key>/)?.[1],
          size: Number(c.match(/<Size>(\d+)<\/Size>/)?.[1]),
        }));
      },
      async stop() {
        await stopChild(child, exited);
        logFile.end();
        if (!process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

// --- the tests ----------------------------------------------------------------

/** Presign, PUT, confirm: an upload without the UI. Returns the video id. */
async function uploadThroughApi(base, title) {
  const bytes = readFileSync(clip);
  const presign = await fetch(`${base}/api/upload/generate-presigned-url`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ fileName: path.basename(clip), fileType: 'video/mp4', fileSize: bytes.length, title }),
  });
  assert(presign.status === 201, `presign answered ${presign.status}`);
  const { data } = await presign.json();
  const put = await fetch(data.presignedUrl, { method: 'PUT', headers: data.headers, body: bytes });
  assert(put.ok, `upload answered ${put.status}`);
  const confirm = await fetch(`${base}/api/upload/confirm/${data.videoId}`, { method: 'POST' });
  assert(confirm.ok, `confirm answered ${confirm.status}`);
  return data.videoId;
}

const results = [];
const state = { videoId: null, title: null, s3VideoId: null };
// Uploading and processing a clip takes a few seconds; 4 minutes leaves room
// for a slow, busy CI machine.
const TEST_TIMEOUT_MS = 240_000;

async function test(name, fn, { needs } = {}) {
  if (needs && !state[needs]) {
    results.push({ name, ok: false });
    log(`FAIL ${name}: not run, an earlier test did not provide ${needs}`);
    return;
  }
  const started = Date.now();
  let timer;
  try {
    // A hard deadline per test: a stalled page (e.g. a play() promise that
    // never settles) must fail the test, never hang the suite.
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`test timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS);
      }),
    ]);
    results.push({ name, ok: true });
    log(`PASS ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    log(`FAIL ${name}: ${e?.stack ?? e}`);
  } finally {
    clearTimeout(timer);
  }
}

// Slows the page's uploads to 256 KiB/s, so the progress has time to show
// on loopback (and the cross-origin PUT sends progress events). lift() ends
// the limit; detach() lets go of the DevTools session.
async function throttleUploads(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const limit = (uploadThroughput) =>
    cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput });
  await limit(256 * 1024);
  return { lift: () => limit(-1), detach: () => cdp.detach().catch(() => undefined) };
}

// Records in window.__e2e every upload percentage and processing status the
// page shows, in order, without repeats.
async function recordUploadProgress(page) {
  await page.evaluate(() => {
    const state = { percents: [], statuses: [] };
    window.__e2e = state;
    const push = (list, v) => {
      if (v && list[list.length - 1] !== v) list.push(v);
    };
    new MutationObserver(() => {
      push(state.percents, document.querySelector('[data-testid="upload-percent"]')?.textContent);
      push(
        state.statuses,
        document.querySelector('[data-testid="processing-status"] [data-testid="status-badge"]')?.getAttribute('data-status'),
      );
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** Chromium on a fresh profile, its page logging to e2e/artifacts/<prefix>*.log. */
async function openBrowser(base, prefix = '') {
  const profile = mkdtempSync(path.join(tmpdir(), 'vs-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
      viewport: { width: 1280, height: 900 },
      baseURL: base,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const pageErrors = [];
  const consoleLog = createWriteStream(path.join(artifacts, `${prefix}console.log`));
  page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => {
    pageErrors.push(e);
    consoleLog.write(`[pageerror] ${e.stack ?? e}\n`);
  });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const networkLog = createWriteStream(path.join(artifacts, `${prefix}network.log`));
  const t0 = Date.now();
  page.on('response', async (r) => {
    const url = r.url().replace(base, '');
    let body = '';
    if (url.startsWith('/api/')) body = (await r.text().catch(() => '')).slice(0, 200);
    networkLog.write(`${((Date.now() - t0) / 1000).toFixed(2)} ${r.request().method()} ${url} ${r.status()} ${body}\n`);
  });
  return {
    page,
    requests,
    pageErrors,
    async close() {
      await context.close().catch(() => undefined);
      consoleLog.end();
      networkLog.end();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function checkPrerequisites() {
  assert(existsSync(path.join(webDist, 'index.html')), `no built UI at ${webDist}: run \`npm run build\` first`);
  assert(existsSync(clip), `sample clip missing: ${clip} (set VS_MEDIA_DIR)`);
  assert(existsSync(chromiumPath), `no browser at ${chromiumPath}: run scripts/setup-web (installs Debian's chromium)`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
}

/** The first run: the embedded defaults, uploads to the server's own disk. */
async function main() {
  const server = await startServer();
  log(`server ${server.base} (pid ${server.pid})`);
  let browser;
  try {
    browser = await openBrowser(server.base);
    await runTests(browser.page, server, browser.requests);
    await test('no uncaught errors in the page', () => {
      assert(browser.pageErrors.length === 0, `uncaught: ${browser.pageErrors.map((e) => e.message).join('; ')}`);
    });
  } finally {
    await browser?.close();
    await server.stop();
  }
}

/** The second run: s3rver, and the server keeping uploads and outputs in its bucket. */
async function mainS3() {
  log('S3 run: s3rver, and the server with S3_BUCKET');
  const s3 = await startS3rver();
  let server;
  let browser;
  try {
    log(`s3rver ${s3.origin} (pid ${s3.pid}), bucket ${S3_BUCKET}`);
    server = await startServer({
      logName: 's3-server.log',
      env: {
        S3_BUCKET,
        S3_ENDPOINT: s3.origin,
        S3_PUBLIC_ENDPOINT: '', // browsers reach s3rver at S3_ENDPOINT too
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        WORKERS: '1',
      },
    });
    log(`server ${server.base} (pid ${server.pid})`);
    browser = await openBrowser(server.base, 's3-');
    await runS3Tests(browser.page, server, s3, browser.requests);
    await test('S3: no uncaught errors in the page', () => {
      assert(browser.pageErrors.length === 0, `uncaught: ${browser.pageErrors.map((e) => e.message).join('; ')}`);
    });
  } finally {
    // Newest first: the browser, the server, then the bucket it uses.
    await browser?.close();
    await server?.stop();
    await s3.stop();
  }
}

/** From the upload page with a READY video: its watch page plays it. */
async function checkWatchPlays(page, videoId, shotName) {
  await page.getByTestId('watch-link').click();
  await page.waitForURL(`**/videos/${videoId}`);
  const video = page.getByTestId('video-player');
  await video.waitFor();
  await waitFor('the quality list', () => page.evaluate(() => window.__vsPlayer?.qualities().length > 0));
  await page.evaluate(() => {
    const v = document.querySelector('[data-testid="video-player"]');
    v.muted = true;
    v.play().catch(() => undefined);  // not awaited: see checkSwitching
  });
  const played = await waitFor(
    'playback to advance',
    () =>
      page.evaluate(() => {
        const v = document.querySelector('[data-testid="video-player"]');
        const frames = v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
        return v.currentTime > 0.5 && frames > 0 ? { t: v.currentTime, frames, h: v.videoHeight } : null;
      }),
    { timeout: 20_000 },
  );
  log(`  playing: currentTime ${played.t.toFixed(2)} s, ${played.frames} frames, ${played.h}p, engine ${await page.evaluate(() => window.__vsPlayer.engine())}`);
  await page.getByTestId('video-facts').waitFor();
  await page.getByTestId('status-timeline').waitFor();
  await shot(page, shotName);
}

async function runTests(page, server, requests) {
  const api = async (p, init) => {
    const res = await fetch(server.base + p, init);
    return { status: res.status, body: await res.json().catch(() => null) };
  };

  await test('refuses a non-video file before any request', async () => {
    await page.goto('/');
    await page.getByTestId('drop-zone').waitFor();
    const before = requests.length;
    await page.getByTestId('upload-input').setInputFiles({
      name: 'not-a-video.mp4',
      mimeType: 'video/mp4',
      buffer: Buffer.from('This is a plain text file pretending to be an MP4 video.\n'.repeat(20)),
    });
    const error = page.getByTestId('file-error');
    await error.waitFor();
    const text = await error.innerText();
    assert(/not a video/i.test(text), `unexpected message: ${text}`);
    assert(await page.getByTestId('upload-submit').isDisabled(), 'the upload button should stay disabled');
    await sleep(300);
    const sent = requests.slice(before).filter((u) => /\/api\/|\/upload\//.test(new URL(u).pathname));
    assert(sent.length === 0, `requests were made: ${sent.join(', ')}`);
    await shot(page, '01-upload-refused');
  });

  await test('uploads a clip with live percentage and reaches READY without a reload', async () => {
    await page.goto('/');
    const title = `E2E clip ${Date.now().toString(36)}`;
    state.title = title;
    let navigations = 0;
    const onNav = (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    };
    page.on('framenavigated', onNav);
    // Slow the upload down so the percentage has time to move on loopback.
    const throttle = await throttleUploads(page);
    await recordUploadProgress(page);
    await page.getByTestId('upload-input').setInputFiles(clip);
    await page.getByTestId('selected-file').waitFor();
    await page.getByTestId('upload-title').fill(title);
    await page.getByTestId('upload-description').fill('Uploaded by the end-to-end test.');
    await page.getByTestId('upload-submit').click();
    await page.getByTestId('upload-progress').waitFor();
    await sleep(800);
    await shot(page, '02-uploading');
    await page.getByTestId('processing-status').waitFor({ timeout: 60_000 });
    await throttle.lift();
    await page.locator('[data-testid="processing-status"] [data-testid="status-badge"][data-status="READY"]').waitFor({ timeout: 180_000 });
    const seen = await page.evaluate(() => window.__e2e);
    log(`  percentages seen: ${seen.percents.join(' ')}; statuses seen: ${seen.statuses.join(' → ')}`);
    const values = seen.percents.map((p) => parseInt(p, 10));
    assert(values.some((v) => v > 0 && v < 100), `no intermediate percentage seen: ${seen.percents.join(' ')}`);
    assert(values[values.length - 1] === 100, `the percentage did not end at 100%: ${seen.percents.join(' ')}`);
    assert(navigations === 0, `the page navigated ${navigations} time(s)`);
    // Replayed history must never show as a step back.
    const order = ['UPLOADING', 'UPLOADED', 'PROCESSING', 'READY'];
    const ranks = seen.statuses.map((x) => order.indexOf(x));
    assert(ranks.every((r, i) => i === 0 || r >= ranks[i - 1]), `the status went backwards: ${seen.statuses.join(' → ')}`);
    const href = await page.getByTestId('watch-link').getAttribute('href');
    state.videoId = href?.match(/\/videos\/([0-9a-f]+)/)?.[1] ?? null;
    assert(state.videoId, `no link to the video: ${href}`);
    page.off('framenavigated', onNav);
    await shot(page, '03-upload-ready');
  });

  await test('the watch page plays the video', () => checkWatchPlays(page, state.videoId, '04-watch'), { needs: 'videoId' });

  // Auto usually starts low; go to the top rung first so that picking 360p
  // is a real change, then to 360p. Each must be on screen at once (the
  // clip's segments are 4 s long; a switch that waits for the buffer to play
  // out would take longer than the 5 s allowed).
  async function checkSwitching(engine, shotName) {
    const { body } = await api(`/api/videos/${state.videoId}`);
    const rungs = body.data.renditions.filter((r) => r.height > 0);
    const low = rungs.find((r) => r.name === '360p');
    const top = rungs[0];
    assert(low && top.name === '720p', `unexpected renditions: ${JSON.stringify(rungs)}`);
    const picker = page.getByTestId('quality-picker');
    await waitFor('the quality picker to be enabled', () => picker.isEnabled());
    const labels = await picker.locator('option').allInnerTexts();
    assert(labels[0].startsWith('Auto'), `first option should be Auto: ${labels}`);
    for (const want of ['720p', '480p', '360p']) assert(labels.includes(want), `missing ${want} in ${labels}`);
    const qualities = await page.evaluate(() => window.__vsPlayer.qualities());
    assert(qualities.join() === '720p,480p,360p', `__vsPlayer.qualities(): ${qualities}`);
    assert((await page.evaluate(() => window.__vsPlayer.engine())) === engine, `engine is not ${engine}`);

    for (const target of [top, low]) {
      // Start each switch early in the clip, so it cannot end first.
      // play() is not awaited: its promise may stay pending while the
      // player is still buffering, and evaluate() has no timeout of its own.
      await page.evaluate(() => {
        const v = document.querySelector('[data-testid="video-player"]');
        v.muted = true;
        v.currentTime = 0.2;
        v.play().catch(() => undefined);
      });
      await sleep(300);
      const from = requests.length;
      await picker.selectOption({ label: target.name });
      // DASH and HLS share the CMAF segments: chunk-<representation>-<n>.m4s.
      const segment = new RegExp(`/chunk-${target.id}-\\d+\\.m4s`);
      await waitFor(`a request for the ${target.name} representation (${segment})`, () => requests.slice(from).some((u) => segment.test(u)), {
        timeout: 5_000,
      });
      const switched = await waitFor(
        `the picture to become ${target.height} px high`,
        () => page.evaluate((h) => document.querySelector('[data-testid="video-player"]').videoHeight === h, target.height),
        { timeout: 5_000 },
      ).catch(() => false);
      const current = await page.evaluate(() => window.__vsPlayer.currentQuality());
      log(`  ${engine} ${target.name}: its segments requested; videoHeight ${switched ? target.height : 'unchanged'}; currentQuality() ${current}`);
      assert(switched && current === target.name, `the picture did not switch to ${target.name} (currentQuality ${current})`);
    }
    await shot(page, shotName);
  }

  await test('picking 360p switches the DASH player at once', () => checkSwitching('dash', '05-watch-360p'), { needs: 'videoId' });

  await test('picking 360p switches the HLS player (hls.js) at once', async () => {
    // This used to fail in most runs with hls.js loading the playlists and
    // then no segment: two engines raced for the <video> and the destroyed
    // one detached the live one (fixed in usePlayerEngine, unit-tested
    // there). One retry on a fresh page stays as a guard against the
    // machine's load; a first failure is printed in the log.
    for (let attempt = 1; ; ++attempt) {
      try {
        await page.goto(`/videos/${state.videoId}?engine=hls`);
        await waitFor('the quality list', () => page.evaluate(() => window.__vsPlayer?.qualities().length > 0));
        await checkSwitching('hls', '06-watch-hls-360p');
        return;
      } catch (e) {
        if (attempt >= 2) throw e;
        log(`  hls attempt ${attempt} failed, retrying on a fresh page: ${e?.message ?? e}`);
      }
    }
  }, { needs: 'videoId' });

  await test('edits the title and description', async () => {
    await page.getByTestId('edit-video').click();
    const newTitle = `${state.title} edited`;
    await page.getByTestId('edit-title').fill(newTitle);
    await page.getByTestId('edit-description').fill('Edited by the end-to-end test.');
    await page.getByTestId('save-edit').click();
    await waitFor('the new title', async () => (await page.getByTestId('video-title').innerText()) === newTitle);
    const { body } = await api(`/api/videos/${state.videoId}`);
    assert(body.data.title === newTitle, `server title: ${body.data.title}`);
    state.title = newTitle;
  }, { needs: 'videoId' });

  await test('the library lists and searches the video', async () => {
    await page.goto('/videos');
    await page.locator(`[data-testid="video-card"][data-video-id="${state.videoId}"]`).waitFor();
    await waitFor('the stats', async () => (await page.getByTestId('stat-READY').innerText()) === '1');
    await shot(page, '07-library');
    const word = state.title.split(' ')[2]; // the unique part
    await page.getByTestId('search-input').fill(word);
    await page.waitForURL((url) => url.searchParams.get('q') === word);
    await page.locator(`[data-testid="video-card"][data-video-id="${state.videoId}"]`).waitFor();
    assert((await page.getByTestId('video-card').count()) === 1, 'search should find exactly the one video');
    await shot(page, '08-library-search');
    await page.getByTestId('search-input').fill('no-such-video-anywhere');
    await page.getByText('No videos match').waitFor();
  }, { needs: 'videoId' });

  await test('works at phone width (375 px) without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const [url, name] of [['/', '09-phone-upload'], ['/videos', '10-phone-library'], [`/videos/${state.videoId}`, '11-phone-watch']]) {
      await page.goto(url);
      await page.locator('main h1').waitFor();
      await sleep(300);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 375, `${url} is ${width} px wide`);
      await shot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }, { needs: 'videoId' });

  await test('deleting removes the video', async () => {
    await page.goto(`/videos/${state.videoId}`);
    await page.getByTestId('delete-video').click();
    await page.getByRole('dialog').waitFor();
    await shot(page, '12-delete-confirm');
    await page.getByTestId('confirm-delete').click();
    await page.waitForURL('**/videos');
    await page.getByText('No videos yet').waitFor();
    const { status } = await api(`/api/videos/${state.videoId}`);
    assert(status === 404, `the video still answers ${status}`);
    await shot(page, '13-library-after-delete');
  }, { needs: 'videoId' });

  await test('a browser EventSource follows a video to READY (Server-Sent Events)', async () => {
    await page.goto('/');
    const id = await uploadThroughApi(server.base, 'EventSource clip');
    const seen = await page.evaluate(
      (videoId) =>
        new Promise((resolve, reject) => {
          const events = [];
          const source = new EventSource(`/api/videos/${videoId}/events`);
          const done = (fn) => {
            source.close();
            fn();
          };
          const timer = setTimeout(() => done(() => reject(new Error(`no READY; got ${JSON.stringify(events)}`))), 180_000);
          const onEvent = (e) => {
            const data = JSON.parse(e.data);
            events.push({ type: e.type, id: Number(e.lastEventId), status: data.status, progress: data.progress });
            if (e.type === 'video-status' && data.status === 'READY') {
              clearTimeout(timer);
              done(() => resolve(events));
            }
          };
          source.addEventListener('video-status', onEvent);
          source.addEventListener('processing-progress', onEvent);
        }),
      id,
    );
    const ids = seen.map((e) => e.id);
    assert(ids.every((v, i) => i === 0 || v > ids[i - 1]), `event ids must increase: ${ids.join(',')}`);
    assert(seen.some((e) => e.type === 'processing-progress'), 'no progress event arrived');
    log(`  ${seen.length} events, ids ${ids[0]}..${ids[ids.length - 1]}, last ${seen[seen.length - 1].status}`);
    await api(`/api/videos/${id}`, { method: 'DELETE' });
  });

  await test('without Socket.IO the status still arrives (polling every 2 s)', async () => {
    const offline = await page.context().newPage();
    try {
      // Refuse the live connection on both transports.
      await offline.routeWebSocket(/\/socket\.io\//, (ws) => ws.close());
      await offline.route(/\/socket\.io\//, (route) => route.abort());
      const polls = [];
      offline.on('request', (r) => {
        if (/\/api\/videos\/[0-9a-f]+\/status$/.test(new URL(r.url()).pathname)) polls.push(r.url());
      });
      const id = await uploadThroughApi(server.base, 'Polling fallback clip');
      await offline.goto(`/videos/${id}`);
      await offline.getByTestId('processing-status').waitFor();
      const live = await offline.getByTestId('realtime-indicator').getAttribute('aria-label');
      assert(live === 'Live updates off', `the socket should be down, indicator says: ${live}`);
      await offline.getByTestId('video-player').waitFor({ timeout: 180_000 });
      assert(polls.length >= 1, 'no status polls were made');
      log(`  READY after ${polls.length} status poll(s), without a reload`);
      await shot(offline, '14-watch-after-polling');
      await api(`/api/videos/${id}`, { method: 'DELETE' });
    } finally {
      await offline.close();
    }
  });
}

async function runS3Tests(page, server, s3, requests) {
  const serverOrigin = new URL(server.base).origin;
  let uploaded = null; // { id, put: { url, headers } }

  await test('S3: the UI uploads a clip straight to the bucket and reaches READY', async () => {
    await page.goto('/');
    const title = `E2E S3 clip ${Date.now().toString(36)}`;
    const puts = [];
    const onRequest = (r) => {
      if (r.method() === 'PUT') puts.push(r);
    };
    page.on('request', onRequest);
    const presigned = page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/upload/generate-presigned-url',
      { timeout: 30_000 },
    );
    // Slowed down as in the first run, so that the upload's progress events
    // (which make the cross-origin PUT need a CORS preflight) have time to show.
    const throttle = await throttleUploads(page);
    await recordUploadProgress(page);
    try {
      await page.getByTestId('upload-input').setInputFiles(clip);
      await page.getByTestId('selected-file').waitFor();
      await page.getByTestId('upload-title').fill(title);
      await page.getByTestId('upload-description').fill('Uploaded to S3 by the end-to-end test.');
      await page.getByTestId('upload-submit').click();

      const answer = await presigned;
      assert(answer.status() === 201, `presign answered ${answer.status()}`);
      const { data } = await answer.json();
      const url = new URL(data.presignedUrl);
      log(`  presigned ${data.method ?? 'PUT'} ${url.origin}${url.pathname} (signed headers ${url.searchParams.get('X-Amz-SignedHeaders')})`);
      assert(url.origin === s3.origin, `the presigned URL points at ${url.origin}, not the bucket's ${s3.origin}`);
      assert(url.pathname === `/${S3_BUCKET}/raw/${data.videoId}/source`, `unexpected object path ${url.pathname}`);
      assert(url.searchParams.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256' && url.searchParams.get('X-Amz-Signature'),
        `not a SigV4 query-signed URL: ${data.presignedUrl}`);

      await page.getByTestId('upload-progress').waitFor();
      await sleep(800);
      await shot(page, 's3-02-uploading');
      await page.getByTestId('processing-status').waitFor({ timeout: 60_000 });
      await throttle.lift();

      // The bytes went to the bucket, with the headers the answer asked for.
      assert(puts.length >= 1, 'the browser made no PUT');
      const wrong = puts.filter((r) => new URL(r.url()).origin !== s3.origin);
      assert(wrong.length === 0, `PUTs not to the bucket: ${wrong.map((r) => r.url()).join(', ')}`);
      assert(puts.every((r) => r.url() === data.presignedUrl), 'a PUT went to another URL than the presigned one');
      const put = puts[puts.length - 1];
      const response = await put.response();
      assert(response, `the PUT to the bucket failed: ${put.failure()?.errorText}`);
      assert(response.status() === 200, `the bucket answered the PUT with ${response.status()}`);
      const sent = put.headers();
      for (const [k, v] of Object.entries(data.headers ?? {})) {
        assert(sent[k.toLowerCase()] === v, `the PUT sent ${k}: ${sent[k.toLowerCase()]}, the presign answer asked for ${v}`);
      }
      const toServer = requests.filter((u) => new URL(u).origin === serverOrigin && /^\/upload\//.test(new URL(u).pathname));
      assert(toServer.length === 0, `the server's own upload URL was used: ${toServer.join(', ')}`);
      log(`  ${puts.length} PUT to ${s3.origin}, answered ${response.status()}, ETag ${(await response.allHeaders()).etag}`);

      await page.locator('[data-testid="processing-status"] [data-testid="status-badge"][data-status="READY"]').waitFor({ timeout: 180_000 });
      const seen = await page.evaluate(() => window.__e2e);
      log(`  percentages seen: ${seen.percents.join(' ')}`);
      const values = seen.percents.map((x) => parseInt(x, 10));
      assert(values[values.length - 1] === 100, `the percentage did not end at 100%: ${seen.percents.join(' ')}`);
      const href = await page.getByTestId('watch-link').getAttribute('href');
      const id = href?.match(/\/videos\/([0-9a-f]+)/)?.[1] ?? null;
      assert(id === data.videoId, `the watch link ${href} is not for the uploaded video ${data.videoId}`);
      uploaded = { id };
      state.s3VideoId = id;
      await shot(page, 's3-03-upload-ready');
    } finally {
      page.off('request', onRequest);
      await throttle.detach();
    }
  });

  await test('S3: the bucket holds the upload and the outputs', async () => {
    const id = uploaded.id;
    const raw = await s3.list('raw/');
    const source = raw.find((o) => o.key === `raw/${id}/source`);
    assert(source, `raw/${id}/source is not in the bucket; raw/ lists ${JSON.stringify(raw)}`);
    const size = statSync(clip).size;
    assert(source.size === size, `raw/${id}/source has ${source.size} bytes, the clip ${size}`);
    const outputs = await s3.list(`processed/${id}/`);
    const names = outputs.map((o) => o.key.slice(`processed/${id}/`.length));
    assert(names.some((n) => n.endsWith('.mpd')) && names.some((n) => n.endsWith('.m3u8')),
      `no manifests under processed/${id}/: ${names.join(' ')}`);
    assert(names.some((n) => n.endsWith('.m4s')), `no segments under processed/${id}/: ${names.join(' ')}`);
    log(`  raw/${id}/source (${source.size} bytes); ${outputs.length} objects under processed/${id}/`);
  }, { needs: 's3VideoId' });

  await test('S3: the watch page plays the video (media from the bucket, through the server)', async () => {
    const from = requests.length;
    await checkWatchPlays(page, uploaded.id, 's3-04-watch');
    const media = requests.slice(from).filter((u) => /\.(m4s|mpd|m3u8)$/.test(new URL(u).pathname));
    assert(media.length > 0, 'no manifest or segment requests were seen');
    const elsewhere = media.filter((u) => new URL(u).origin !== serverOrigin);
    assert(elsewhere.length === 0, `media not from the server: ${elsewhere.join(', ')}`);
  }, { needs: 's3VideoId' });
}

// A run that cannot start (or stop) counts as one failure; the other run
// still goes ahead.
let fatal = 0;
const runs = [['setup', main], ['S3 setup', mainS3]];
try {
  checkPrerequisites();
} catch (e) {
  fatal += 1;
  console.log(`FAIL setup: ${e?.stack ?? e}`);
  runs.length = 0;
}
for (const [name, run] of runs) {
  try {
    await run();
  } catch (e) {
    fatal += 1;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed + fatal;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
