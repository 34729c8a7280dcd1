/**
 * The dedupe outcome from another stack with default settings: a Python grpcio producer (stubs
 * generated from proto/ at start) sees that a durable publish nobody took does not burn its id,
 * and that a duplicate of a stored message says `ORIGINAL_OUTCOME_STORED`.
 *
 * Needs Debian's python3-grpcio and python3-grpc-tools for /usr/bin/python3.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { grpcClient, sleep } from './gateway-process';

const run = promisify(execFile);
const PRODUCER = path.join(__dirname, '../fixtures/python-durable-producer.py');

test('a Python producer: a retry of an untaken message is routed again; a duplicate reports the stored original', async () => {
  let gw: TestGateway | undefined;
  const client = { close: () => undefined } as { close(): void };
  try {
    gw = await startTestGateway();
    const grpc = grpcClient(gw.address);
    client.close = () => grpc.close();
    // One member of a queue group stays subscribed without acking: messages for it stay stored.
    const member = grpc.subscribe({
      agentId: '',
      topics: [{ pattern: 'py.>', queueGroup: 'workers' }],
      registryEvents: false,
      maxBatch: 0,
    });
    member.on('error', () => undefined);
    member.on('data', () => undefined);
    await sleep(300);

    const { stdout } = await run('/usr/bin/python3', [PRODUCER, gw.address, 'n-1:nobody.x', 'n-1:nobody.x', 'p-1:py.job', 'p-1:py.job'], {
      timeout: 60_000,
    });
    const results = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results).toEqual([
      { id: 'n-1', stored: false, duplicate: false, receivers: 0, original: 'ORIGINAL_OUTCOME_UNKNOWN' },
      // Not a duplicate: nobody took the first one, so its id was not remembered.
      { id: 'n-1', stored: false, duplicate: false, receivers: 0, original: 'ORIGINAL_OUTCOME_UNKNOWN' },
      { id: 'p-1', stored: true, duplicate: false, receivers: 1, original: 'ORIGINAL_OUTCOME_UNKNOWN' },
      { id: 'p-1', stored: false, duplicate: true, receivers: 0, original: 'ORIGINAL_OUTCOME_STORED' },
    ]);
    member.cancel();
  } finally {
    client.close();
    await gw?.stop();
  }
}, 90_000);
