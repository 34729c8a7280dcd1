import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AuditEvent, PolicyChangeEvent } from '../../kernel';
import { capturingLogger, eventually, rejectionOf, startAuthOnly, tempDir } from './harness';

const agent = { id: 'spiffe://example.org/agent/worker', method: 'mtls', claims: {} };

function policy(version: string, topics: string[]): string {
  return JSON.stringify({
    version,
    identities: [{ id: agent.id, services: ['worker'] }],
    rbac: { roles: { worker: [{ actions: ['subscribe'], resources: topics }] }, bindings: [{ role: 'worker', identities: [agent.id] }] },
  });
}

function auditLines(file: string): AuditEvent[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditEvent);
}

describe('auth-standard live policy file', () => {
  test('an edit takes effect within 1 s, listeners fire after the swap, and it is audited', async () => {
    const dir = tempDir();
    const policyFile = path.join(dir, 'policy.json');
    writeFileSync(policyFile, policy('v1', ['jobs.>']));
    const { gateway, auth } = await startAuthOnly({ policyFile: 'policy.json', auditFile: 'audit/auth.jsonl', watchDebounceMs: 50 }, dir);
    const changes: PolicyChangeEvent[] = [];
    gateway.hooks.policyChanged.tap('live-test', (event) => void changes.push(event));
    try {
      const subscribe = () => auth.authorize({ identity: agent, action: 'subscribe', resource: 'jobs.eu' });
      expect(subscribe().allowed).toBe(true);
      const seenByListener: boolean[] = [];
      auth.onPolicyChange(() => void seenByListener.push(subscribe().allowed));

      const editedAt = Date.now();
      writeFileSync(policyFile, policy('v2', ['reports.>']));
      await eventually(() => expect(subscribe().allowed).toBe(false), 5000, 10);
      expect(Date.now() - editedAt).toBeLessThan(1000);
      expect(seenByListener).toEqual([false]);
      expect(changes.map((change) => `${change.source}:${change.version}`)).toEqual(['file:v2']);

      // Editors often write a new file and rename it over the old one.
      writeFileSync(`${policyFile}.swp`, policy('v3', ['jobs.>']));
      renameSync(`${policyFile}.swp`, policyFile);
      await eventually(() => expect(subscribe().allowed).toBe(true), 5000, 10);

      await gateway.stop();
      const audit = auditLines(path.join(dir, 'audit', 'auth.jsonl'));
      expect(audit.map((event) => `${event.action}:${event.outcome}:${event.detail}`)).toEqual([
        'policy.load:ok:version v1',
        'policy.change:ok:version v2 from file',
        'policy.change:ok:version v3 from file',
      ]);
      expect(audit[1].target).toBe(policyFile);
    } finally {
      await gateway.stop();
    }
  });

  test('an invalid file is rejected, logged and audited; the old policy stays until a valid one arrives', async () => {
    const dir = tempDir();
    const policyFile = path.join(dir, 'policy.json');
    writeFileSync(policyFile, policy('good-1', ['jobs.>']));
    const { gateway, auth } = await startAuthOnly({ policyFile, auditFile: 'audit.jsonl', watchDebounceMs: 50, statIntervalMs: 100 }, dir);
    const audits: AuditEvent[] = [];
    gateway.hooks.audit.tap('live-test', (event) => void audits.push(event));
    const listenerCalls: number[] = [];
    auth.onPolicyChange(() => void listenerCalls.push(Date.now()));
    try {
      const subscribe = () => auth.authorize({ identity: agent, action: 'subscribe', resource: 'jobs.eu' }).allowed;
      writeFileSync(policyFile, '{"version": "bad", "rbac": {"roles": {}, "bindings": [{"role": "nope", "identities": ["x"]}]}}');
      await eventually(() => expect(audits.some((event) => event.outcome === 'failed')).toBe(true));
      const failed = audits.find((event) => event.outcome === 'failed')!;
      expect(failed.detail).toContain('policy/rbac/bindings/0/role: binds unknown role "nope"');
      expect(failed.detail).toContain(policyFile);
      expect(subscribe()).toBe(true);
      expect(listenerCalls).toEqual([]);

      writeFileSync(policyFile, '{ not json');
      await eventually(() => expect(audits.filter((event) => event.outcome === 'failed')).toHaveLength(2));
      expect(subscribe()).toBe(true);

      writeFileSync(policyFile, policy('good-2', ['other.>']));
      await eventually(() => expect(subscribe()).toBe(false));
      expect(listenerCalls).toHaveLength(1);
    } finally {
      await gateway.stop();
    }
    const written = auditLines(path.join(dir, 'audit.jsonl'));
    expect(written.map((event) => event.outcome)).toEqual(['ok', 'failed', 'failed', 'ok']);
  });

  test('a pushed policy is persisted to the file atomically and survives a restart', async () => {
    const dir = tempDir();
    const policyFile = path.join(dir, 'policy.json');
    writeFileSync(policyFile, policy('file-1', ['jobs.>']));
    const options = { policyFile, watchDebounceMs: 20, statIntervalMs: 100 };
    const first = await startAuthOnly(options, dir);
    const changes: string[] = [];
    first.gateway.hooks.policyChanged.tap('live-test', (event) => void changes.push(`${event.source}:${event.version}`));
    try {
      await first.auth.pushPolicy!(policy('pushed-1', ['pushed.>']), 'alice');
      expect(JSON.parse(readFileSync(policyFile, 'utf8')).version).toBe('pushed-1');
      // The watcher sees the persisted write but must not swap the same policy in again.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(changes).toEqual(['admin:pushed-1']);
    } finally {
      await first.gateway.stop();
    }
    const second = await startAuthOnly(options, dir);
    try {
      expect(second.auth.authorize({ identity: agent, action: 'subscribe', resource: 'pushed.x' }).allowed).toBe(true);
    } finally {
      await second.gateway.stop();
    }
  });

  test('an invalid policy file at startup stops the gateway from starting, naming the path to fix', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'policy.json'), '{"identities": [{"services": ["a"]}]}');
    const error = await rejectionOf(startAuthOnly({ policyFile: 'policy.json' }, dir));
    expect(error.code).toBe('GW_PLUGIN_SETUP_FAILED');
    expect(error.message).toContain('policy/identities/0/id: is required');
  });

  test('open mode: anonymous callers, loopback listeners only, and a warning at start', async () => {
    const dir = tempDir();
    const { logger, lines } = capturingLogger();
    const { gateway, auth } = await startAuthOnly({}, dir, { logger });
    try {
      expect(lines.some((line) => line.level === 40 && String(line.msg).includes('OPEN MODE'))).toBe(true);
      expect(auth.loopbackOnly()).toBe(true);
      expect(auth.serverTls()).toBeUndefined();
      const identity = await auth.authenticate({ metadata: {}, peer: 'ipv4:127.0.0.1:5000', method: '/x' });
      expect(identity).toMatchObject({ id: 'anonymous', method: 'open' });
      expect(auth.authorize({ identity, action: 'admin', resource: '*' }).allowed).toBe(true);
    } finally {
      await gateway.stop();
    }
  });
});
