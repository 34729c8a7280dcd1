/**
 * The A2A task store's bounds and policies: `tasks.maxTasks` evicts the oldest finished tasks
 * and refuses new ones while every stored task is unfinished (GW_RESOURCE_EXHAUSTED, -32058),
 * ListTasks pages, and finished tasks past `tasks.retentionMs` are swept from the lmdb files
 * (the store is opened on a real directory, as the plugin does).
 */
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TaskState } from '@a2a-js/sdk';
import { ServerCallContext } from '@a2a-js/sdk/server';
import { GatewayUser } from '../../plugins/transport-a2a/caller';
import { LmdbTaskStore } from '../../plugins/transport-a2a/task-store';
import { A2aTask, connect, type Agent } from '../../sdk';
import { asTask, client, eventually, send, startA2aGateway, userMessage, type A2aGateway } from './support';

const list = { tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined };

describe('transport-a2a task bounds', () => {
  let gw: A2aGateway;
  const agents: Agent[] = [];
  let heldCount = 0;

  beforeAll(async () => {
    gw = await startA2aGateway({ a2a: { tasks: { maxTasks: 2 } } });
    const echo = connect(gw.address);
    const holder = connect(gw.address);
    agents.push(echo, holder);
    await echo.register({ agentId: 'echo-1', service: 'echo', version: '1.0.0' });
    await holder.register({ agentId: 'holder-1', service: 'holder', version: '1.0.0', capabilities: ['a2a'] });
    void (async () => {
      for await (const delivery of await echo.subscribe()) if (delivery.isRequest) await delivery.reply(`echo:${delivery.text()}`);
    })().catch(() => undefined); // ends when the handle closes at the end
    void (async () => {
      for await (const delivery of await holder.subscribe()) {
        await A2aTask.from(holder, delivery)?.working('held');
        heldCount++;
      }
    })().catch(() => undefined); // ends when the handle closes at the end
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gw?.stop();
  });

  test('full of finished tasks: the oldest makes room; ListTasks pages through the rest', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/echo-1/`);
    const first = asTask(await a2a.sendMessage(send(userMessage('one'))));
    const second = asTask(await a2a.sendMessage(send(userMessage('two'))));
    const third = asTask(await a2a.sendMessage(send(userMessage('three'))));
    await expect(a2a.getTask({ tenant: '', id: first.id, historyLength: undefined })).rejects.toThrow(/not found/i);

    const page1 = await a2a.listTasks({ ...list, pageSize: 1 });
    expect(page1.tasks.map((task) => task.id)).toEqual([third.id]);
    expect(page1.totalSize).toBe(2);
    expect(page1.nextPageToken).not.toBe('');
    const page2 = await a2a.listTasks({ ...list, pageSize: 1, pageToken: page1.nextPageToken });
    expect(page2.tasks.map((task) => task.id)).toEqual([second.id]);
    expect(page2.nextPageToken).toBe('');
    await expect(a2a.listTasks({ ...list, pageToken: 'garbage' })).rejects.toThrow(/pageToken/);
  });

  test('full of unfinished tasks: a new message is refused with GW_RESOURCE_EXHAUSTED until one ends', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/holder-1/`);
    // The two finished echo tasks give way to the two held ones.
    const held1 = asTask(await a2a.sendMessage(send(userMessage('a'), { returnImmediately: true })));
    asTask(await a2a.sendMessage(send(userMessage('b'), { returnImmediately: true })));
    await eventually(() => heldCount >= 2 || undefined, 10_000, 'two held tasks');
    const refused = await fetch(`${gw.a2aUrl}/agents/holder-1/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: { message: { messageId: 'full-1', role: 'ROLE_USER', parts: [{ text: 'c' }] } },
      }),
    });
    const body = (await refused.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32058);
    expect(body.error.message).toMatch(/GW_RESOURCE_EXHAUSTED: .*tasks\.maxTasks/);
    expect(await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_a2a_limit_hits_total')).toContain(
      'limit="tasks.maxTasks"} 1',
    );

    await a2a.cancelTask({ tenant: '', id: held1.id, metadata: undefined });
    const accepted = asTask(await a2a.sendMessage(send(userMessage('c'), { returnImmediately: true })));
    expect(accepted.status?.state).not.toBe(TaskState.TASK_STATE_FAILED);
  });
});

describe('LmdbTaskStore retention', () => {
  test('finished tasks past the retention are swept; unfinished ones stay; both survive a reopen', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'a2a-store-'));
    try {
      const context = new ServerCallContext({
        user: new GatewayUser({ id: 'alice', method: 'jwt', claims: {} }, { kind: 'agent', agentId: 'a-1' }, 'test', 'http://x/'),
      });
      const task = (id: string, state: TaskState) => ({
        id,
        contextId: 'c',
        status: { state, message: undefined, timestamp: undefined },
        artifacts: [],
        history: [],
        metadata: undefined,
      });
      let store = new LmdbTaskStore(dir, { maxTasks: 10, retentionMs: 1000, maxHistory: 10 });
      await store.open();
      await store.save(task('done', TaskState.TASK_STATE_COMPLETED), context);
      await store.save(task('waiting', TaskState.TASK_STATE_INPUT_REQUIRED), context);
      await store.close();

      store = new LmdbTaskStore(dir, { maxTasks: 10, retentionMs: 1000, maxHistory: 10 });
      await store.open();
      expect(store.size).toBe(2);
      // Private at rest, like every store of the gateway.
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (const file of readdirSync(dir)) expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
      expect(await store.sweep(Date.now())).toBe(0);
      expect(await store.sweep(Date.now() + 5000)).toBe(1);
      expect(await store.load('done', context)).toBeUndefined();
      expect((await store.load('waiting', context))?.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      const stranger = new ServerCallContext({
        user: new GatewayUser({ id: 'bob', method: 'jwt', claims: {} }, { kind: 'agent', agentId: 'a-1' }, 'test', 'http://x/'),
      });
      expect(await store.load('waiting', stranger)).toBeUndefined();
      await expect(store.save(task('waiting', TaskState.TASK_STATE_COMPLETED), stranger)).rejects.toThrow(/belongs to another/);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('transport-a2a drain', () => {
  test('draining ends open SSE streams instead of waiting for the drain deadline', async () => {
    // A drain deadline far beyond the test timeout: only ending the streams lets stop() return.
    const gw = await startA2aGateway({ gateway: { drainTimeoutMs: 120_000 } });
    const holder = connect(gw.address);
    await holder.register({ agentId: 'holder-2', service: 'holder', version: '1.0.0', capabilities: ['a2a'] });
    let held = false;
    void (async () => {
      for await (const delivery of await holder.subscribe()) {
        await A2aTask.from(holder, delivery)?.working('held');
        held = true;
      }
    })().catch(() => undefined);
    const a2a = await client(`${gw.a2aUrl}/agents/holder-2/`);
    const task = asTask(await a2a.sendMessage(send(userMessage('hold'), { returnImmediately: true })));
    await eventually(() => held || undefined, 10_000, 'the held task');
    const events: string[] = [];
    const stream = (async () => {
      for await (const event of a2a.resubscribeTask({ tenant: '', id: task.id })) events.push(event.payload?.$case ?? '');
    })().catch(() => undefined);
    await eventually(() => events.length > 0 || undefined, 10_000, 'the stream to start');
    await holder.close();
    await gw.stop();
    await stream;
    expect(events[0]).toBe('task');
  }, 30_000);
});
