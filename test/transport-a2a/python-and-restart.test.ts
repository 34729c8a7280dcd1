/**
 * transport-a2a with agents from another stack and across a restart: the unchanged Python example
 * agent (grpcio, no SDK) answers an A2A client with its echo; a v0.3 client works through the
 * SDK's compat layer; tasks in the lmdb store answer GetTask/ListTasks after the gateway process
 * restarted, and a task that was running when it stopped is reported failed, saying why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Role, TaskState } from '@a2a-js/sdk';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';
import { connect, type Agent } from '../../sdk';
import { asTask, client, eventually, send, startA2aGateway, textOf, userMessage, type A2aGateway } from './support';

const PYTHON = '/usr/bin/python3';
const AGENT = path.resolve(__dirname, '../../examples/python-agent/agent.py');

describe('transport-a2a with the Python example agent, a v0.3 client and a restart', () => {
  let dataDir: string;
  let stubs: string;
  let gw: A2aGateway | undefined;
  let python: ChildProcess | undefined;
  let output = '';
  const agents: Agent[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-a2a-'));
    stubs = await mkdtemp(path.join(os.tmpdir(), 'ocgw-a2a-stubs-'));
    gw = await startA2aGateway({ dataDir });
    python = spawn(
      PYTHON,
      [AGENT, '--target', gw.address, '--agent-id', 'py-1', '--service', 'py-echo', '--version', '1.2.0', '--stubs', stubs],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
      },
    );
    python.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    python.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes('"subscribed"') || undefined, 60_000, `the Python agent's session; output:\n${output}`);
  }, 90_000);

  afterAll(async () => {
    if (python && python.exitCode === null && python.signalCode === null) {
      const exited = new Promise((resolve) => python!.once('exit', resolve));
      python.kill('SIGTERM');
      await exited;
    }
    await Promise.all(agents.map((agent) => agent.close()));
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(stubs, { recursive: true, force: true });
  });

  test('the Python agent answers an A2A client with its echo, by agent and by service', async () => {
    const byAgent = await client(`${gw!.a2aUrl}/agents/py-1/`);
    const task = asTask(await byAgent.sendMessage(send(userMessage('ping from A2A'))));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(task.status?.message?.parts)).toBe('python:ping from A2A');
    expect(task.status?.message?.role).toBe(Role.ROLE_AGENT);

    const byService = await client(`${gw!.a2aUrl}/services/py-echo/`);
    const again = asTask(await byService.sendMessage(send(userMessage('second'))));
    expect(textOf(again.status?.message?.parts)).toBe('python:second');
    const card = await byService.getAgentCard();
    expect(card.skills.map((skill) => skill.id)).toEqual(['echo']);
  });

  test('a v0.3 client (no A2A-Version, slash method names) works through the compat layer', async () => {
    const legacyCard = (await (await fetch(`${gw!.a2aUrl}/agents/py-1/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
    expect(legacyCard.protocolVersion).toMatch(/^0\.3/);
    expect(legacyCard.url).toBe(`${gw!.a2aUrl}/agents/py-1/`);

    const legacy = new LegacyJsonRpcTransport({ endpoint: `${gw!.a2aUrl}/agents/py-1/` });
    const result = asTask(await legacy.sendMessage(send(userMessage('old client'))));
    expect(textOf(result.status?.message?.parts)).toBe('python:old client');
    const fetched = await legacy.getTask({ tenant: '', id: result.id, historyLength: undefined });
    expect(fetched.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    // The wire form a v0.3 client sends: `message/send`, kind discriminators, no version header.
    const raw = (await (
      await fetch(`${gw!.a2aUrl}/services/py-echo/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'message/send',
          params: { message: { kind: 'message', messageId: 'legacy-1', role: 'user', parts: [{ kind: 'text', text: 'raw' }] } },
        }),
      })
    ).json()) as { result: { kind: string; status: { state: string; message: { parts: Array<{ text: string }> } } } };
    expect(raw.result.kind).toBe('task');
    expect(raw.result.status.state).toBe('completed');
    expect(raw.result.status.message.parts[0].text).toBe('python:raw');
  });

  test('tasks survive a gateway restart; one running at the stop is failed with the reason', async () => {
    const holder = connect(gw!.address);
    agents.push(holder);
    await holder.register({ agentId: 'holder-1', service: 'holder', version: '1.0.0' });
    let received = false;
    void (async () => {
      for await (const delivery of await holder.subscribe()) {
        void delivery;
        received = true; // never answered: the gateway stops while the task runs
      }
    })().catch(() => undefined);

    const echo = await client(`${gw!.a2aUrl}/agents/py-1/`);
    const done = asTask(await echo.sendMessage(send(userMessage('before restart'))));
    const held = await client(`${gw!.a2aUrl}/agents/holder-1/`);
    const running = asTask(await held.sendMessage(send(userMessage('slow work'), { returnImmediately: true })));
    await eventually(() => received || undefined, 15_000, 'the holder to receive the request');
    expect((await held.getTask({ tenant: '', id: running.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_WORKING);

    await holder.close();
    await gw!.stop();
    gw = await startA2aGateway({ dataDir });

    const echoAfter = await client(`${gw.a2aUrl}/agents/py-1/`).catch(() => undefined);
    // The Python agent re-registers on its own after the restart; tasks answer either way (the card needs the agent).
    void echoAfter;
    const heldAfter = new LegacyJsonRpcTransport({ endpoint: `${gw.a2aUrl}/agents/holder-1/` });
    const failed = await heldAfter.getTask({ tenant: '', id: running.id, historyLength: undefined });
    expect(failed.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(textOf(failed.status?.message?.parts)).toMatch(/GW_UNAVAILABLE: the gateway restarted/);
    const doneAfter = await new LegacyJsonRpcTransport({ endpoint: `${gw.a2aUrl}/agents/py-1/` }).getTask({
      tenant: '',
      id: done.id,
      historyLength: undefined,
    });
    expect(textOf(doneAfter.status?.message?.parts)).toBe('python:before restart');

    const v1 = await rawRpc(`${gw.a2aUrl}/agents/holder-1/`, 'ListTasks', {});
    expect((v1.result as { tasks: Array<{ id: string }> }).tasks.map((task) => task.id)).toEqual([running.id]);
  }, 60_000);
});

async function rawRpc(
  url: string,
  method: string,
  params: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
}
