/**
 * A2A push notifications from outside: a real webhook server started by the test receives every
 * task event of a task whose client registered a push config, in order, with its token, even
 * when the webhook fails at first (retried with backoff) and when it is down across a gateway
 * restart (the outbox is durable). Webhook URLs on private networks are refused by default.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TaskState } from '@a2a-js/sdk';
import { connect, type Agent } from '../../sdk';
import { asTask, client, eventually, startA2aGateway, userMessage, type A2aGateway } from './support';

interface Received {
  token: string;
  body: { statusUpdate?: { status?: { state?: string } }; task?: { id: string } };
}

/** A webhook that answers 500 to the first `failFirst` POSTs, then 200. */
async function startWebhook(port = 0, failFirst = 0) {
  const received: Received[] = [];
  let failures = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (failures < failFirst) {
        failures++;
        res.writeHead(500).end();
        return;
      }
      received.push({ token: String(req.headers['x-a2a-notification-token'] ?? ''), body: JSON.parse(body) as Received['body'] });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    port: (server.address() as AddressInfo).port,
    received,
    failures: () => failures,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const states = (received: Received[]) =>
  received.flatMap((entry) => (entry.body.statusUpdate?.status?.state ? [entry.body.statusUpdate.status.state] : []));

function withPush(text: string, url: string, token: string) {
  return {
    tenant: '',
    message: userMessage(text),
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: { tenant: '', id: '', taskId: '', url, token, authentication: undefined },
      returnImmediately: false,
    },
    metadata: undefined,
  };
}

describe('transport-a2a push notifications', () => {
  let dataDir: string;
  let gw: A2aGateway | undefined;
  let agent: Agent | undefined;
  const push = { allowPrivateNetworks: true, initialBackoffMs: 50, maxBackoffMs: 200 };

  const startWithAgent = async () => {
    gw = await startA2aGateway({ dataDir, a2a: { push } });
    agent = connect(gw.address);
    await agent.register({ agentId: 'echo-1', service: 'echo', version: '1.0.0' });
    const own = agent;
    void (async () => {
      for await (const delivery of await own.subscribe()) if (delivery.isRequest) await delivery.reply(`echo:${delivery.text()}`);
    })().catch(() => undefined);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'a2a-push-'));
    await startWithAgent();
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('every event reaches the webhook in order with its token, after failed attempts are retried', async () => {
    const hook = await startWebhook(0, 2);
    try {
      const a2a = await client(`${gw!.a2aUrl}/agents/echo-1/`);
      const task = asTask(await a2a.sendMessage(withPush('notify me', hook.url, 'tok-1')));
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      await eventually(
        () => states(hook.received).includes('TASK_STATE_COMPLETED') || undefined,
        20_000,
        'the completed notification',
      ).catch((error) => {
        throw new Error(`${error}: ${JSON.stringify(hook.received)} failures ${hook.failures()}`);
      });
      expect(hook.failures()).toBe(2);
      const seen = states(hook.received);
      expect(seen.indexOf('TASK_STATE_WORKING')).toBeLessThan(seen.indexOf('TASK_STATE_COMPLETED'));
      expect(hook.received.every((entry) => entry.token === 'tok-1')).toBe(true);
      const configs = await a2a.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' });
      expect(configs.configs.map((config) => config.url)).toEqual([hook.url]);
    } finally {
      await hook.close();
    }
  });

  test('a webhook that is down across a gateway restart still gets the events afterwards', async () => {
    const hook = await startWebhook();
    const port = hook.port;
    await hook.close(); // down: nothing can be delivered yet
    const a2a = await client(`${gw!.a2aUrl}/agents/echo-1/`);
    const task = asTask(await a2a.sendMessage(withPush('while down', `http://127.0.0.1:${port}/hook`, 'tok-2')));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    await eventually(
      async () =>
        (await gw!.gateway.metrics.registry.getSingleMetricAsString('openclaw_a2a_push_notifications_total')).includes('outcome="retried"')
          ? true
          : undefined,
      10_000,
      'a retried push',
    );

    await agent!.close();
    await gw!.stop();
    const back = await startWebhook(port);
    try {
      await startWithAgent();
      await eventually(
        () => states(back.received).includes('TASK_STATE_COMPLETED') || undefined,
        20_000,
        'the completed notification after the restart',
      );
      expect(back.received.every((entry) => entry.token === 'tok-2')).toBe(true);
    } finally {
      await back.close();
    }
  }, 60_000);

  test('by default a webhook on a private address is refused', async () => {
    const strict = await startA2aGateway();
    const echo = connect(strict.address);
    try {
      await echo.register({ agentId: 'echo-2', service: 'echo', version: '1.0.0' });
      const a2a = await client(`${strict.a2aUrl}/agents/echo-2/`);
      await expect(a2a.sendMessage(withPush('x', 'http://127.0.0.1:9/hook', 't'))).rejects.toThrow(
        /GW_PERMISSION_DENIED: push notification url: "127.0.0.1" is a private address/,
      );
    } finally {
      await echo.close();
      await strict.stop();
    }
  });
});
