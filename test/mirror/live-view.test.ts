import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request } from 'undici';
import { describe, expect, onTestFinished, test } from 'vitest';
import { formatSnapshot } from '../../src/cli/watch.js';
import type { TrafficSnapshot } from '../../src/telemetry/index.js';
import { startBackend } from '../helpers/backends.js';
import { webService } from '../helpers/config.js';
import { steadyLoad } from '../helpers/http.js';
import { readSnapshots } from '../helpers/sse.js';
import { TOKEN, READ_TOKEN, startTestTurnout } from '../helpers/turnout.js';

const CHROMIUM = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin'].map((dir) => join(dir, 'chromium')).find((file) => existsSync(file));
const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const SKIP_REASON = CHROMIUM !== undefined || IN_CI ? '' : ' [skipped: chromium is not installed; apt-get install chromium]';

/** Blue answers 200; green, the mirrored pool, answers 500 to every other copy. */
async function mirroredWithTraffic() {
  const blue = await startBackend('blue-1');
  let n = 0;
  const green = await startBackend('green-1', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.writeHead(n++ % 2 === 0 ? 200 : 500, { 'content-length': '2' }).end('ok');
  });
  const t = await startTestTurnout(webService({ blue: [blue], green: [green] }, { split: { blue: 100, green: 0 }, mirror: { pool: 'green', percent: 100 } }));
  const load = steadyLoad(t.proxyUrl, { connections: 4, maxMs: 20_000, maxRequests: 20_000 });
  onTestFinished(async () => {
    await load.stop();
  });
  return t;
}

describe('the mirrored pool in the live views', () => {
  test('GET /v1/stream: each snapshot has the service mirror with its own rps, error rate and p99; the pools do not count copies', async () => {
    const t = await mirroredWithTraffic();
    const res = await request(`${t.adminUrl}/v1/stream`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const snaps = await readSnapshots<TrafficSnapshot>(res.body, (s) => (s.services[0]?.mirror?.rps ?? 0) > 0 && (s.services[0]?.mirror?.errorRate ?? 0) > 0, 10_000);
    const web = snaps.at(-1)?.services.find((s) => s.name === 'web');
    expect(web?.mirror).toMatchObject({ pool: 'green', percent: 100 });
    expect(web?.mirror?.rps).toBeGreaterThan(0);
    expect(web?.mirror?.errorRate).toBeGreaterThan(0.3);
    expect(web?.mirror?.errorRate).toBeLessThan(0.7);
    expect(web?.pools.find((p) => p.name === 'green')?.rps).toBe(0);
    expect(web?.pools.find((p) => p.name === 'blue')?.errorRate).toBe(0);
  });

  test.skipIf(SKIP_REASON !== '')(`the dashboard shows the mirrored pool's row, marked as mirror${SKIP_REASON}`, async () => {
    const { chromium } = await import('playwright-core');
    const t = await mirroredWithTraffic();
    const profile = mkdtempSync(join(tmpdir(), 'turnout-mirror-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM as string,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    onTestFinished(async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${t.adminUrl}/`);
    await page.fill('#token', READ_TOKEN);
    await page.click('#connect');
    const row = page.locator('[data-service="web"] tr[data-mirror="green"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('.badge.mirror').textContent()).toBe('mirror');
    expect(await row.locator('td.c-split').textContent()).toBe('100% copied');
    await page.waitForFunction(() => {
      const td = document.querySelector('[data-service="web"] tr[data-mirror="green"] td.c-rps');
      return td !== null && Number(td.textContent) > 0;
    }, undefined, { timeout: 10_000 });
    expect(errors).toEqual([]);
  });
});

test('turnout status --watch prints the mirrored pool as its own row, marked mirror', () => {
  const snap: TrafficSnapshot = {
    time: '2026-01-01T00:00:00.000Z',
    revision: 4,
    windowSeconds: 5,
    services: [
      {
        name: 'web',
        split: { blue: 100, green: 0 },
        rps: 50,
        waiting: 0,
        pools: [{ name: 'blue', split: 100, rps: 50, errorRate: 0, p50Ms: 2, p99Ms: 9, inFlight: 1, backends: [] }],
        mirror: { pool: 'green', percent: 100, rps: 49.8, errorRate: 0.5, p50Ms: 3, p99Ms: 40 },
      },
    ],
  };
  const text = formatSnapshot(snap, undefined);
  expect(text).toMatch(/^ {2}green · mirror +100% +49\.8 +50\.00% +3ms +40ms +copies, answers discarded$/m);
});
