/**
 * PublishBatch and PublishStream authorize once per distinct (action, resource) of a batch. These
 * tests hold that to the old contract over real gRPC with the real auth-standard plugin (JWT +
 * RBAC from a policy file): every refused message still gets its own PERMISSION_DENIED result
 * naming its own field and its own `authFailed`, granted messages beside it are routed, and a
 * grant never outlives its batch (a policy change between two frames of one stream applies to
 * the next frame).
 */
import { credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp-dir';
import path from 'node:path';
import { SignJWT } from 'jose';
import { writeJwks } from '../auth/jwks';
import { startGateway, Status, type Gateway } from '../../index';
import { GatewayServiceClient, Message, type BatchResult, type MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { unary } from './grpc-call';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'openclaw-gateway';

function policy(topics: string[]): string {
  return JSON.stringify({
    version: `batch-${topics.join('+')}`,
    identities: [{ id: 'publisher-1' }],
    rbac: {
      roles: { publisher: [{ actions: ['publish'], resources: topics }] },
      bindings: [{ role: 'publisher', identities: ['publisher-1'] }],
    },
  });
}

const text = (topic: string, body: string) => Message.fromPartial({ topic, payload: Buffer.from(body) });

describe('transport-grpc: authorization of batches', () => {
  let dir: string;
  let gateway: Gateway;
  let client: GatewayServiceClient;
  let metadata: Metadata;
  const refusals: Array<{ action?: string; resource?: string }> = [];

  beforeAll(async () => {
    dir = tempDir('batch-authz-');
    const privateKey = await writeJwks(dir, 'RS256', 'k1', { use: 'sig' });
    writeFileSync(path.join(dir, 'policy.json'), policy(['tasks.>']));
    gateway = await startGateway({
      logLevel: 'silent',
      cwd: dir,
      config: {
        gateway: { dataDir: path.join(dir, 'data'), processMetrics: false },
        plugins: [
          'registry-memory',
          'router-embedded',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          {
            use: 'auth-standard',
            options: { jwt: { jwksFile: 'jwks.json', issuer: ISSUER, audience: AUDIENCE }, policyFile: 'policy.json', watchDebounceMs: 50 },
          },
        ],
      },
    });
    gateway.hooks.authFailed.tap('batch-authz-test', (failure) => {
      if (failure.stage === 'authorize') refusals.push({ action: failure.action, resource: failure.resource });
    });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('publisher-1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    client = new GatewayServiceClient(gateway.transports()[0].addresses()[0], credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await gateway?.stop();
  });

  beforeEach(() => {
    refusals.length = 0;
  });

  test('PublishBatch: each refused message gets its own error and authFailed; granted ones beside it are accepted', async () => {
    const topics = ['tasks.a', 'payments.x', 'tasks.a', 'payments.x', 'tasks.b', 'payments.y', 'tasks.a'];
    const { results } = await unary(client, 'publishBatch', { messages: topics.map((topic, i) => text(topic, `m${i}`)) }, { metadata });
    expect(results).toHaveLength(topics.length);
    topics.forEach((topic, i) => {
      const result = results[i];
      if (topic.startsWith('tasks.')) {
        expect(result.errorCode).toBe(0);
        expect(result.messageId).not.toBe('');
      } else {
        expect(result.errorCode).toBe(Status.PERMISSION_DENIED);
        expect(
          result.errorMessage.startsWith(`GW_PERMISSION_DENIED: messages[${i}].topic: "publisher-1" may not publish "${topic}": `),
        ).toBe(true);
      }
    });
    // One refusal per refused message, in order, not one per distinct topic.
    expect(refusals).toEqual([
      { action: 'publish', resource: 'payments.x' },
      { action: 'publish', resource: 'payments.x' },
      { action: 'publish', resource: 'payments.y' },
    ]);
  });

  test('PublishStream: a grant does not outlive its frame; a policy change applies to the next frame', async () => {
    const stream: ClientDuplexStream<MessageBatch, BatchResult> = client.publishStream(metadata);
    const answers: BatchResult[] = [];
    const waiters: Array<() => void> = [];
    stream.on('data', (result: BatchResult) => {
      answers.push(result);
      waiters.shift()?.();
    });
    const next = (batch: MessageBatch) =>
      new Promise<BatchResult>((resolve) => {
        waiters.push(() => resolve(answers[answers.length - 1]));
        stream.write(batch);
      });

    const first = await next({ messages: [text('tasks.a', '1'), text('tasks.a', '2')] });
    expect(first.results.map((r) => r.errorCode)).toEqual([0, 0]);

    // Take `tasks.>` away and wait until the gateway applies it.
    writeFileSync(path.join(dir, 'policy.json'), policy(['other.>']));
    const deadline = Date.now() + 5000;
    let second: BatchResult;
    for (;;) {
      second = await next({ messages: [text('tasks.a', '3'), text('tasks.a', '4')] });
      if (second.results[0].errorCode !== 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(second.results.map((r) => r.errorCode)).toEqual([Status.PERMISSION_DENIED, Status.PERMISSION_DENIED]);
    expect(second.results[1].errorMessage).toContain('messages[1].topic');
    stream.end();
    writeFileSync(path.join(dir, 'policy.json'), policy(['tasks.>']));
  });
});
