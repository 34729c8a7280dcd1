/**
 * The gRPC API is usable without our SDK: the Python agent in examples/python-agent (grpcio, stubs
 * generated from proto/ at start) registers, subscribes, answers requests and acks durable
 * messages, driven here through the TypeScript SDK against a real gateway.
 *
 * Needs Debian's python3-grpcio and python3-grpc-tools for /usr/bin/python3 (the pyenv python3
 * first on PATH does not have them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type Agent } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { PythonAgent } from '../helpers/python-agent';
import { nextItem } from './package-project';

const ACK_TIMEOUT_MS = 500;

describe('Python agent (grpcio, no SDK)', () => {
  let gw: TestGateway;
  let python: PythonAgent;
  let stubs: string;
  const agents: Agent[] = [];
  const open = (): Agent => {
    const agent = connect(gw.address);
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    gw = await startTestGateway({
      plugins: { router: { use: 'router-embedded', options: { durable: { ackTimeoutMs: ACK_TIMEOUT_MS } } } },
    });
    stubs = mkdtempSync(path.join(os.tmpdir(), 'ocgw-py-stubs-'));
    python = new PythonAgent([
      '--target',
      gw.address,
      '--agent-id',
      'py-1',
      '--service',
      'py-echo',
      '--version',
      '1.2.0',
      '--topic',
      'jobs.>',
      '--stubs',
      stubs,
    ]);
    await python.waitFor((line) => line.event === 'subscribed', 'its Subscribe session', 60_000);
  }, 90_000);

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  afterAll(async () => {
    await python?.stop();
    await gw?.stop();
    if (stubs) rmSync(stubs, { recursive: true, force: true });
  });

  test('it registers and is discoverable with its service, version and tags', async () => {
    expect(python.find((line) => line.event === 'registered')).toMatchObject({ agent_id: 'py-1' });
    const found = await open().discover({ service: 'py-echo', versionRange: '^1.2.0', routableOnly: true });
    expect(found).toHaveLength(1);
    expect(found[0].info).toMatchObject({
      agentId: 'py-1',
      service: 'py-echo',
      version: '1.2.0',
      tags: { lang: 'python' },
      capabilities: ['echo'],
    });
  });

  test('it answers a request sent to its service', async () => {
    const reply = await open().request('py-echo', 'ping from TS', { timeoutMs: 10_000 });
    expect(reply.payload.toString()).toBe('python:ping from TS');
    await python.waitFor((line) => line.event === 'replied' && line.correlation_id === reply.correlationId, 'the replied line');
  });

  test('it acks a durable message, which is then not redelivered', async () => {
    const sent = await open().send({ agentId: 'py-1', payload: 'keep me', durable: true, id: 'py-durable-1' });
    expect(sent.stored).toBe(true);
    const delivered = await python.waitFor(
      (line) => line.event === 'delivery' && line.message_id === 'py-durable-1',
      'the durable delivery',
    );
    expect(delivered).toMatchObject({ durable: true, attempt: 1, payload: 'keep me' });
    const acked = await python.waitFor((line) => line.event === 'acked' && line.tag === delivered.tag, 'the ack');
    expect(acked.result).toBe('acked');
    // Well past several ack timeouts: an unacked message would have come back by now.
    await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT_MS * 6));
    expect(python.lines.filter((line) => line.event === 'delivery' && line.message_id === 'py-durable-1')).toHaveLength(1);
    const pending = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_durable_pending');
    expect(pending).toMatch(/openclaw_router_durable_pending 0\b/);
  });

  test('it receives what is published to its topic subscription', async () => {
    const listener = open();
    const echo = await listener.subscribe('jobs.>');
    const sent = await open().publish('jobs.build.42', 'compile');
    expect(sent.receivers).toBe(2);
    expect((await nextItem(echo)).text()).toBe('compile');
    await python.waitFor(
      (line) => line.event === 'delivery' && line.topic === 'jobs.build.42' && line.payload === 'compile',
      'the topic delivery',
    );
  });

  // Last: it stops the agent.
  test('on SIGTERM (a supervisor stopping it) it deregisters before it exits', async () => {
    const reasons: string[] = [];
    gw.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => agent.agentId === 'py-1' && void reasons.push(reason));
    const exited = new Promise<number | null>((resolve) => python.child.once('exit', (code) => resolve(code)));
    python.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(python.find((line) => line.event === 'deregistered')).toBeDefined();
    // Its own goodbye, not the dropped stream: the gateway knows it left on purpose.
    expect(reasons).toEqual(['agent stopped']);
  });
});
