/**
 * The dashboard end to end, as an operator sees it: a real gateway (registry-memory,
 * router-embedded, auth-standard, transport-grpc, monitor-prometheus), agents on the SDK over
 * gRPC, and the page in headless Debian Chromium driven by playwright-core. Everything the page
 * shows after load arrives over its live feed (SSE): the test proves no reload happened.
 * The screenshot goes to test-artifacts/dashboard.png (git-ignored).
 */
import fs from 'node:fs';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AdminServiceClient, type AdminResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { connect, type Agent, type AgentDelivery, type Subscription } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.resolve(__dirname, '../../test-artifacts/dashboard.png');
/** The chart's `accepted` series colour (#58a6ff). */
const ACCEPTED_RGB = [0x58, 0xa6, 0xff];

jest.setTimeout(90_000);

/**
 * The few browser objects the page functions touch. The project compiles without the DOM lib
 * (it is a Node daemon), so they are described here rather than pulling DOM types into every file.
 */
interface BrowserCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface BrowserGlobals {
  loadMarker?: string;
  document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> };
}

/** Drains a subscription in the background: nacks deliveries marked `x-test: fail`, acks other durable ones. */
function consume(subscription: Subscription<AgentDelivery>): Promise<void> {
  return (async () => {
    for await (const delivery of subscription) {
      if (!delivery.isDurable) continue;
      if (delivery.message.headers['x-test'] === 'fail') await delivery.nack('test: refusing this one');
      else await delivery.ack();
    }
  })().catch(() => undefined);
}

function pushPolicy(address: string, json: string): Promise<AdminResult> {
  const client = new AdminServiceClient(address, credentials.createInsecure());
  return new Promise<AdminResult>((resolve, reject) =>
    client.pushPolicy({ json }, (error, result) => {
      client.close();
      if (error) reject(error);
      else resolve(result);
    }),
  );
}

/** Cells of the agent row, by column header (read in one page call: rows are re-rendered on every update). */
function agentRow(page: Page, agentId: string): Promise<Record<string, string>> {
  return page.evaluate((id) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const headers = Array.from(document.querySelectorAll('#agents thead th'), (th) => th.textContent ?? '');
    const cells = Array.from(document.querySelectorAll(`#agents tr[data-agent-id="${id}"] td`), (td) => td.textContent ?? '');
    return Object.fromEntries(cells.map((text, i) => [headers[i], text]));
  }, agentId);
}

/**
 * Where the accepted line ends: the highest pixel of its colour in the rightmost columns it
 * reaches (the newest point), and the chart's zero line. Read from the canvas pixels, so it is
 * what an operator sees, not what the script meant to draw.
 */
function acceptedLineEnd(page: Page): Promise<{ y: number; baseline: number }> {
  return page.$eval(
    '#chart',
    (canvas, rgb) => {
      const chart = canvas as unknown as BrowserCanvas;
      const pixels = chart.getContext('2d').getImageData(0, 0, chart.width, chart.height).data;
      const matches = (i: number) =>
        Math.abs(pixels[i] - rgb[0]) < 8 && Math.abs(pixels[i + 1] - rgb[1]) < 8 && Math.abs(pixels[i + 2] - rgb[2]) < 8;
      let right = -1;
      for (let i = 0; i < pixels.length; i += 4) if (matches(i)) right = Math.max(right, (i / 4) % chart.width);
      let y = chart.height;
      for (let i = 0; i < pixels.length; i += 4) {
        const x = (i / 4) % chart.width;
        if (x >= right - 2 && matches(i)) y = Math.min(y, Math.floor(i / 4 / chart.width));
      }
      return { y, baseline: chart.height - 24 };
    },
    ACCEPTED_RGB,
  );
}

describe('dashboard in headless Chromium', () => {
  let gw: TestGateway;
  let browser: Browser | undefined;
  const agents: Agent[] = [];
  const consumers: Promise<void>[] = [];
  const open = () => {
    const agent = connect(gw.address);
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    gw = await startTestGateway({
      // One attempt, so a nack dead-letters at once.
      plugins: { router: { use: 'router-embedded', options: { durable: { maxAttempts: 1, backoffBaseMs: 0 } } } },
      extraPlugins: [{ use: 'monitor-prometheus', options: { port: 0, dashboard: { updateIntervalMs: 250 } } }],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(agents.map((agent) => agent.close()));
    await Promise.all(consumers);
    await gw?.stop();
  });

  test('shows agents, rates, a live chart and recent events, and follows changes without a reload', async () => {
    const registry = gw.gateway.service('registry')!;
    const planner = open();
    await planner.register({ agentId: 'planner-1', service: 'planner', version: '2.0.0' });
    registry.setHealth('planner-1', 'healthy', 'probe answered');
    const worker = open();
    await worker.register({ agentId: 'worker-1', service: 'worker', version: '1.4.2' });
    consumers.push(consume(await worker.subscribe()), consume(await worker.subscribe('jobs.>')));
    for (let i = 0; i < 5; i++) await planner.publish('jobs.build', `job ${i}`);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const monitorUrl = gw.gateway.service('monitor')!.httpAddress()!;
    await page.goto(`${monitorUrl}/`);
    await page.waitForSelector('#connection.live');

    // What was there before the page loaded.
    expect(await page.textContent('#gateway-id')).toBe(gw.gateway.info.id);
    expect(await page.textContent('#stage')).toBe('ready');
    await page.waitForSelector('#agents tr[data-agent-id="worker-1"]');
    expect(await agentRow(page, 'planner-1')).toMatchObject({
      Agent: 'planner-1',
      Service: 'planner',
      Version: '2.0.0',
      State: 'running',
      Health: 'healthy',
      Managed: 'no',
    });
    expect(await agentRow(page, 'worker-1')).toMatchObject({ Service: 'worker', Version: '1.4.2', State: 'running', Health: 'unknown' });
    const jobsRow = page.locator('#targets tr[data-target="topic:jobs.build"] td');
    expect(await jobsRow.nth(3).textContent()).toBe('5');
    await page.waitForSelector('#events li[data-kind="agent-registered"]');

    // From here on, nothing may reload the page: a marker on window would be lost.
    await page.evaluate(() => ((globalThis as unknown as BrowserGlobals).loadMarker = 'first-load'));
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    // An agent that registers after the page loaded appears by itself.
    const late = open();
    await late.register({ agentId: 'late-1', service: 'reviewer', version: '0.9.0' });
    await page.waitForSelector('#agents tr[data-agent-id="late-1"]', { timeout: 10_000 });
    expect(await agentRow(page, 'late-1')).toMatchObject({ Service: 'reviewer', Version: '0.9.0', State: 'running' });
    expect(await page.textContent('#agent-count')).toBe('3');

    // Traffic moves the rates, the totals and the chart.
    // The burst of 5 is over by now: the newest point of the line sits on the zero line.
    await page.waitForFunction(
      () =>
        (globalThis as unknown as BrowserGlobals).document.querySelectorAll('#targets tr[data-target="topic:jobs.build"] td')[2]
          ?.textContent === '0',
      undefined,
      { timeout: 10_000 },
    );
    const idle = await acceptedLineEnd(page);
    expect(idle.y).toBeGreaterThanOrEqual(idle.baseline - 3);
    let publishing = true;
    const publisher = (async () => {
      let sent = 0;
      while (publishing) {
        await Promise.all([planner.publish('jobs.build', `job ${sent}`), planner.send({ service: 'worker', payload: `task ${sent}` })]);
        sent += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await page.waitForFunction(
        () => {
          const cells = (globalThis as unknown as BrowserGlobals).document.querySelectorAll(
            '#targets tr[data-target="topic:jobs.build"] td',
          );
          return cells.length === 4 && Number(cells[2].textContent) > 0 && Number(cells[3].textContent) > 5;
        },
        undefined,
        { timeout: 15_000 },
      );
      await page.waitForSelector('#targets tr[data-target="service:worker"]', { timeout: 10_000 });
      const busy = await acceptedLineEnd(page);
      expect(busy.y).toBeLessThan(busy.baseline - 20);
    } finally {
      publishing = false;
      await publisher;
    }

    // Recent events: a restart, a dead letter and a policy change, as they happen.
    registry.setState('worker-1', 'initializing', 'test: restart requested');
    registry.setState('worker-1', 'running', 'test: ready again');
    await planner.send({ agentId: 'worker-1', payload: 'will be refused', durable: true, headers: { 'x-test': 'fail' } });
    const policy = await pushPolicy(gw.address, JSON.stringify({ version: 'dashboard-test-1' }));
    expect(policy.ok).toBe(true);
    const restart = await page.waitForSelector('#events li[data-kind="restart"]', { timeout: 10_000 });
    expect(await restart.textContent()).toContain('worker-1: running → initializing (test: restart requested)');
    const deadLetter = await page.waitForSelector('#events li[data-kind="dead-letter"]', { timeout: 10_000 });
    expect(await deadLetter.textContent()).toMatch(/dead-lettered after 1 attempt\(s\): .*test: refusing this one/);
    const policyChange = await page.waitForSelector('#events li[data-kind="policy-changed"]', { timeout: 10_000 });
    expect(await policyChange.textContent()).toContain('dashboard-test-1');

    // A health change shows in the agent's row.
    registry.setHealth('late-1', 'degraded', 'test: slow');
    await page.waitForSelector('#agents tr[data-agent-id="late-1"] td.health-degraded', { timeout: 10_000 });

    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).loadMarker)).toBe('first-load');
    expect(navigations).toEqual([]);
    expect(pageErrors).toEqual([]);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = fs.readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });
});
