/**
 * Chaos: a real gateway process is killed with SIGKILL four times while three producers stream
 * durable messages to a queue group. Producers retry each message with the same id until it is
 * `stored: true` (or a duplicate whose original is stored/delivered: the reply was lost); the
 * group's two members resubscribe after every restart, so producers also publish while the group
 * has no member yet (a durable group stores for them). Every message must be delivered; none may be
 * lost to dedupe (the bug: a `receivers: 0` answer burned the id and the retry was a "duplicate").
 */
import { rmSync } from 'node:fs';
import { AckKind, Message, OriginalOutcome } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { unary } from '../transport/grpc-call';
import { deliveriesOf, GatewayProcess, grpcClient, sleep } from './gateway-process';
import { tempDataDir, waitFor } from './helpers';

const PORT = 24517;
const PRODUCERS = 3;
const PER_PRODUCER = 120;
const KILLS = 4;

test('kill -9 four times during a durable queue-group stream: every message delivered, none lost to dedupe', async () => {
  const dataDir = tempDataDir('chaos');
  const gateway = new GatewayProcess(dataDir, PORT, {
    durable: { ackTimeoutMs: 3_000, maxAttempts: 100, backoffBaseMs: 50, backoffMaxMs: 500 },
  });
  const client = grpcClient(gateway.address);
  const delivered = new Map<string, number>();
  const accepted = new Set<string>();
  const unexpected: string[] = [];
  const cancels: Array<() => void> = [];
  let storedAnswers = 0;
  let duplicateAnswers = 0;
  let running = true;

  const member = async (): Promise<void> => {
    while (running) {
      await new Promise<void>((resolve) => {
        const stream = client.subscribe({
          agentId: '',
          topics: [{ pattern: 'chaos.>', queueGroup: 'workers' }],
          registryEvents: false,
          maxBatch: 0,
        });
        cancels.push(() => stream.cancel());
        stream.on('data', (event) => {
          for (const delivery of deliveriesOf(event)) {
            const id = delivery.message!.id;
            delivered.set(id, (delivered.get(id) ?? 0) + 1);
            client.ack(
              { agentId: '', acks: [{ deliveryTag: delivery.deliveryTag, kind: AckKind.ACK_KIND_ACK, reason: '' }] },
              () => undefined,
            );
          }
        });
        stream.on('error', () => resolve());
        stream.on('end', () => resolve());
      });
      await sleep(100);
    }
  };

  const producer = async (p: number): Promise<void> => {
    for (let i = 0; i < PER_PRODUCER; i++) {
      const id = `p${p}-${i}`;
      for (;;) {
        const result = await unary(
          client,
          'sendMessage',
          Message.fromPartial({ id, topic: 'chaos.work', durable: true, payload: Buffer.from(id) }),
          {
            deadline: Date.now() + 5_000,
          },
        ).catch(() => undefined);
        if (result?.stored) storedAnswers++;
        else if (result?.duplicate) {
          if (
            result.original !== OriginalOutcome.ORIGINAL_OUTCOME_STORED &&
            result.original !== OriginalOutcome.ORIGINAL_OUTCOME_DELIVERED
          ) {
            unexpected.push(`${id}: duplicate with outcome ${result.original}`);
          }
          duplicateAnswers++;
        }
        if (result?.stored || result?.duplicate) break;
        // Gateway down, or no receiver known yet (before the group's first member): retry.
        await sleep(25);
      }
      accepted.add(id);
    }
  };

  try {
    await gateway.start();
    const members = [member(), member()];
    const producers = Array.from({ length: PRODUCERS }, (_, p) => producer(p));
    const total = PRODUCERS * PER_PRODUCER;
    for (let kill = 1; kill <= KILLS; kill++) {
      await waitFor(() => accepted.size >= (total * kill) / (KILLS + 1), 120_000, `${kill}/${KILLS + 1} of the messages accepted`);
      await gateway.kill('SIGKILL');
      await gateway.start();
    }
    await Promise.all(producers);
    await waitFor(() => [...accepted].every((id) => delivered.has(id)), 120_000, 'every accepted message delivered');

    expect(unexpected).toEqual([]);
    expect(accepted.size).toBe(total);
    const missing = [...accepted].filter((id) => !delivered.has(id));
    expect(missing).toEqual([]);
    // Nothing was delivered that no producer sent.
    expect([...delivered.keys()].every((id) => accepted.has(id))).toBe(true);
    // Both kinds of answers happen in such a run; the duplicates are retries whose reply was lost.
    expect(storedAnswers + duplicateAnswers).toBe(total);
    running = false;
    await Promise.race([Promise.all(members.map((m) => m.catch(() => undefined))), sleep(0)]);
  } finally {
    running = false;
    for (const cancel of cancels) cancel();
    client.close();
    await gateway.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 400_000);
