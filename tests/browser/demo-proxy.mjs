// The demo proxy the browser tests run against: the built binary in demo mode (no
// JQUANTS_API_KEY, no database) on a free port, the browser they drive, and the "offline"
// check they share.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.JQP_BIN || path.join(ROOT, 'target', 'debug', 'jquants-proxy');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'target', 'browser');
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the proxy in demo mode (no upstream key, no database) and waits for /healthz. */
export async function startDemoProxy(extraArgs = []) {
  assert.ok(existsSync(BIN), `proxy binary not found at ${BIN} (cargo build first, or set JQP_BIN)`);
  const port = await freePort();
  const env = { ...process.env, RUST_BACKTRACE: '0' };
  // Demo mode is "no JQUANTS_API_KEY"; keep any operator settings of the caller out.
  for (const k of Object.keys(env)) {
    if (k.startsWith('JQUANTS_') || k.startsWith('JQP_') || k === 'DATABASE_URL') delete env[k];
  }
  const child = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, ...extraArgs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      throw new Error(`proxy exited before it was healthy (${JSON.stringify(exited)}):\n${log.slice(-4000)}`);
    }
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`proxy not healthy after 30 s:\n${log.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const stop = async () => {
    if (exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };
  return { base, stop, log: () => log };
}

export function isLocal(url) {
  if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return true;
  const { hostname } = new URL(url);
  return hostname === '127.0.0.1';
}


// Headless system Chromium; playwright-core starts each launch with a fresh temporary
// profile (user data dir).
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// A new page `width` px wide that records every URL it requests and every uncaught error.
export async function watchedPage(browser, width) {
  const context = await browser.newContext({ viewport: { width, height: 1000 } });
  const page = await context.newPage();
  const requested = [];
  context.on('request', (req) => requested.push(req.url()));
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return { page, requested, pageErrors };
}
