// Real-browser test of the Swagger UI: headless system Chromium, driven by
// playwright-core, loads /docs from the proxy running in demo mode, runs one request with
// "Try it out" and checks what the page renders. Also checks that the UI works offline: every
// request the page makes goes to the proxy on 127.0.0.1.
//
// Run: JQP_BIN=target/debug/jquants-proxy node --test tests/browser/
// (scripts/test.sh installs chromium and the npm packages first).
// CHROMIUM_BIN overrides the browser (default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SHOTS, isLocal, launchChromium, startDemoProxy, watchedPage } from './demo-proxy.mjs';

const OP_PATH = '/v2/markets/calendar';
const FROM = '2026-11-20';
const TO = '2026-11-23';

test('Swagger UI at /docs runs "Try it out" against the demo proxy', { timeout: 120_000 }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  const proxy = await startDemoProxy();
  let browser;
  try {
    // The demo proxy itself says it is in demo mode.
    const cal = await fetch(`${proxy.base}${OP_PATH}`);
    assert.equal(cal.status, 200, `direct GET ${OP_PATH}`);
    assert.equal(cal.headers.get('x-jquants-proxy-mode'), 'demo');

    browser = await launchChromium();
    const { page, requested, pageErrors } = await watchedPage(browser, 1280);

    const resp = await page.goto(`${proxy.base}/docs/`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200, 'GET /docs/');

    // The UI rendered the spec: its title and the mirror operations.
    const title = page.locator('.swagger-ui .info .title');
    await title.waitFor({ timeout: 30_000 });
    assert.match(await title.innerText(), /jquants-proxy/);
    const op = page.locator('.opblock.opblock-get', {
      has: page.locator(`.opblock-summary-path[data-path="${OP_PATH}"]`),
    });
    await op.waitFor();
    const mirrorOps = await page.locator('.opblock-summary-path[data-path^="/v2/"]').count();
    assert.ok(mirrorOps >= 20, `expected the mirror operations listed, saw ${mirrorOps}`);
    await page.screenshot({ path: path.join(SHOTS, 'swagger-top.png') });

    // Expand the operation, "Try it out", fill the parameters, "Execute". Try it out prefills
    // each input with the spec's example; the examples are set or cleared here as a person would
    // (as prefilled, hol_div=0 with from=to=2024-01-05, a business day, matches no row).
    await op.locator('.opblock-summary').first().click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    // hol_div is an enumeration in the document, so Swagger UI shows a drop-down ("--" = unset).
    await op.locator('tr[data-param-name="hol_div"] select').selectOption('');
    await op.locator('tr[data-param-name="from"] input').fill(FROM);
    await op.locator('tr[data-param-name="to"] input').fill(TO);
    await op.getByRole('button', { name: 'Execute' }).click();

    // The live response: code 200, a body with calendar rows, the demo-mode header.
    const live = op.locator('.live-responses-table .response').first();
    await live.waitFor({ timeout: 30_000 });
    const status = (await live.locator('.response-col_status').innerText()).trim();
    assert.equal(status, '200', `rendered response code (response: ${await live.innerText()})`);
    const body = await live.locator('.response-col_description .highlight-code').first().innerText();
    assert.match(body, /"HolDiv"/, `response body shows calendar rows: ${body.slice(0, 300)}`);
    assert.match(body, new RegExp(`"Date":\\s*"${FROM}"`));
    assert.match(body, new RegExp(`"Date":\\s*"${TO}"`));
    const liveText = await live.innerText();
    assert.match(liveText, /x-jquants-proxy-mode: demo/, 'response headers show demo mode');
    // The request the UI sent went to the proxy itself.
    const reqUrl = await op.locator('.request-url pre').innerText();
    assert.equal(reqUrl.trim(), `${proxy.base}${OP_PATH}?from=${FROM}&to=${TO}`);

    await op.scrollIntoViewIfNeeded();
    await op.screenshot({ path: path.join(SHOTS, 'swagger.png') });

    // Offline: nothing the page loaded came from anywhere but the proxy.
    const outside = requested.filter((u) => !isLocal(u));
    assert.deepEqual(outside, [], 'requests that left 127.0.0.1');
    assert.ok(requested.some((u) => u.endsWith('/openapi.json')), 'the UI fetched /openapi.json');
    assert.ok(requested.some((u) => u.startsWith(`${proxy.base}${OP_PATH}`)), 'the UI sent the request');
    assert.deepEqual(pageErrors, [], 'uncaught page errors');
  } finally {
    if (browser) await browser.close();
    await proxy.stop();
  }
});
