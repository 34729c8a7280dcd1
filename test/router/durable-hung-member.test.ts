/**
 * A hung queue-group member (a real process stopped with SIGSTOP, its connection still open) must
 * not eat its group's messages: redeliveries after an ack timeout go to the other member, and a
 * member that keeps timing out is paused (what it holds moves) until it acks again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from '../transport/grpc-call';
import { deliveriesOf, grpcClient, sleep } from './gateway-process';
import { waitFor } from './helpers';

class MemberProcess {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  constructor(address: string) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, '../fixtures/group-member.ts'), address, 'work.*', 'workers'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let rest = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = rest + chunk.toString();
      const lines = text.split('\n');
      rest = lines.pop()!;
      this.lines.push(...lines);
    });
  }
  saw(prefix: string): boolean {
    return this.lines.some((line) => line.startsWith(prefix));
  }
  acked(): string[] {
    return this.lines.filter((line) => line.startsWith('acked ')).map((line) => line.slice(6));
  }
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

describe('router-embedded: a hung queue-group member', () => {
  let gw: TestGateway;
  const members: MemberProcess[] = [];
  const limits: string[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({
      plugins: {
        router: {
          use: 'router-embedded',
          options: { durable: { ackTimeoutMs: 700, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 100 } },
        },
      },
    });
    gw.gateway.hooks.limitReached.tap('hung-member-test', (event) => void limits.push(event.limit));
  });
  afterAll(async () => {
    for (const member of members) await member.kill();
    await gw?.stop();
  });

  test('SIGSTOP one member: every message is acked by the other, none dead-lettered; it resumes after SIGCONT', async () => {
    const client = grpcClient(gw.address);
    const deadLetters: string[] = [];
    const dlq = client.subscribe({ agentId: '', topics: [{ pattern: '_DLQ', queueGroup: '' }], registryEvents: false, maxBatch: 0 });
    dlq.on('error', () => undefined);
    dlq.on('data', (event) => deliveriesOf(event).forEach((d) => deadLetters.push(d.message!.headers['x-original-id'] ?? '')));
    try {
      const hung = new MemberProcess(gw.address);
      const healthy = new MemberProcess(gw.address);
      members.push(hung, healthy);
      // Both subscribed: at-most-once probes go round-robin until each member has seen one.
      for (let i = 0; !(hung.saw('delivery probe') && healthy.saw('delivery probe')); i++) {
        if (i > 400) throw new Error('members did not subscribe');
        await unary(client, 'sendMessage', Message.fromPartial({ id: `probe-${i}`, topic: 'work.probe', payload: Buffer.from('p') }));
        await sleep(50);
      }

      hung.child.kill('SIGSTOP');
      const ids = Array.from({ length: 10 }, (_, i) => `w-${i}`);
      for (const id of ids) {
        expect(
          await unary(client, 'sendMessage', Message.fromPartial({ id, topic: 'work.item', durable: true, payload: Buffer.from(id) })),
        ).toMatchObject({ stored: true });
      }
      await waitFor(() => ids.every((id) => healthy.acked().includes(id)), 60_000, 'every message acked by the healthy member');
      await sleep(1_000);
      expect(deadLetters).toEqual([]);
      expect(limits).toContain('router.durable.pauseAfterTimeouts');
      const paused = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_paused_members');
      expect(paused).toMatch(/openclaw_router_paused_members 1/);

      // Back: it acks what it held (late, answered stale) and so gets group messages again.
      hung.child.kill('SIGCONT');
      await waitFor(() => hung.acked().some((id) => ids.includes(id)), 30_000, 'the resumed member acks its late deliveries');
      const pausedNow = () => gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_paused_members');
      for (let i = 0; i < 200 && !/openclaw_router_paused_members 0/.test(await pausedNow()); i++) await sleep(50);
      expect(await pausedNow()).toMatch(/openclaw_router_paused_members 0/);
      const more = Array.from({ length: 6 }, (_, i) => `after-${i}`);
      for (const id of more)
        await unary(client, 'sendMessage', Message.fromPartial({ id, topic: 'work.item', durable: true, payload: Buffer.from(id) }));
      await waitFor(() => more.every((id) => healthy.acked().includes(id) || hung.acked().includes(id)), 30_000, 'later messages acked');
      expect(hung.acked().some((id) => more.includes(id))).toBe(true);
      expect(deadLetters).toEqual([]);
    } finally {
      dlq.cancel();
      client.close();
    }
  }, 180_000);
});
