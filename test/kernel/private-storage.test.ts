/**
 * Data at rest is private: a gateway process started with umask 000 creates its data dir, the
 * router-embedded lmdb store and the audit log's folder 0700 and their files 0600 (the Unix socket
 * keeps its own `socketMode`); a data dir and an audit log that already exist open to others are
 * tightened at start. A durable message sent over gRPC lands in the private store.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayServiceClient, Message, type SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process';

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

/** Every entry below `dir` (and `dir`) with its mode, sockets left out. */
function modesBelow(dir: string): Record<string, string> {
  const found: Record<string, string> = { '.': mode(dir) };
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isSocket()) continue;
    found[path.relative(dir, full)] = mode(full);
  }
  return found;
}

function plugins(auditFile: string) {
  return ['registry-memory', 'router-embedded', { use: 'auth-standard', options: { auditFile } }];
}

describe('private data at rest (gateway process with umask 000)', () => {
  let gw: GatewayProcess | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('creates the data dir, the lmdb store and the audit log 0700/0600', async () => {
    // The audit log goes to a folder that does not exist yet, outside the data dir (relative to the config).
    gw = await startGatewayProcess({ umask: '000', plugins: plugins('logs/audit/audit.jsonl') });
    const client = new GatewayServiceClient(gw.grpcAddress, credentials.createInsecure());
    try {
      const sent = await new Promise<SendResult>((resolve, reject) =>
        client.sendMessage(
          Message.fromPartial({ topic: 'private.durable', durable: true, payload: Buffer.from('secret payload') }),
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (error, reply) => (error ? reject(error) : resolve(reply)),
        ),
      );
      expect(sent.messageId).not.toBe('');
    } finally {
      client.close();
    }
    const data = modesBelow(gw.dataDir);
    expect(data).toMatchObject({
      '.': '700',
      'router-embedded': '700',
      'router-embedded/data.mdb': '600',
      'router-embedded/lock.mdb': '600',
    });
    for (const [entry, found] of Object.entries(data)) {
      const isDir = fs.statSync(path.join(gw.dataDir, entry)).isDirectory();
      expect(`${entry} ${found}`).toBe(`${entry} ${isDir ? '700' : '600'}`);
    }
    const auditFile = path.join(gw.dir, 'logs/audit/audit.jsonl');
    expect([mode(path.join(gw.dir, 'logs')), mode(path.join(gw.dir, 'logs/audit')), mode(auditFile)]).toEqual(['700', '700', '600']);
    // The socket keeps the transport's socketMode (0660 by default), in a folder nobody else can write.
    expect(mode(path.join(gw.dataDir, 'gw.sock'))).toBe('660');
  }, 90_000);

  it('tightens a data dir and an audit log that exist open to others', async () => {
    const seed = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-open-'));
    try {
      // startGatewayProcess makes its own temp dir; point both at pre-made open places under `seed`.
      const dataDir = path.join(seed, 'open-data');
      fs.mkdirSync(dataDir, { mode: 0o755 });
      fs.chmodSync(dataDir, 0o755);
      const auditFile = path.join(seed, 'audit.jsonl');
      fs.writeFileSync(auditFile, '', { mode: 0o644 });
      fs.chmodSync(auditFile, 0o644);
      gw = await startGatewayProcess({ umask: '000', plugins: plugins(auditFile), dataDir });
      expect(mode(dataDir)).toBe('700');
      expect(mode(path.join(dataDir, 'router-embedded', 'data.mdb'))).toBe('600');
      await waitFor(() => mode(auditFile) === '600', 'the audit log is made private');
      expect(gw.output()).toContain('data dir was readable by other users; set to 0700');
    } finally {
      await gw?.stop();
      gw = undefined;
      fs.rmSync(seed, { recursive: true, force: true });
    }
  }, 90_000);
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
