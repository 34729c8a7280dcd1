/**
 * Outbound A2A: an external agent served by `@a2a-js/sdk` alone, configured on the gateway by its
 * card URL, becomes a registry service that native gRPC agents `Request` like any other; the
 * configured headers reach it, and its card's description and skills show in the registry.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type Agent } from '../../sdk';
import { startA2aGateway, startSdkAgent, type A2aGateway } from './support';

describe('transport-a2a outbound: remote A2A agents as registry services', () => {
  let remote: Awaited<ReturnType<typeof startSdkAgent>>;
  let gw: A2aGateway;
  let agent: Agent;

  beforeAll(async () => {
    remote = await startSdkAgent('remote:');
    gw = await startA2aGateway({
      a2a: {
        remoteAgents: [
          {
            cardUrl: `${remote.url}.well-known/agent-card.json`,
            service: 'sdk-echo',
            headers: { authorization: 'Bearer outbound-secret' },
          },
        ],
      },
    });
    agent = connect(gw.address);
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await gw?.stop();
    await remote?.close();
  });

  test('a gRPC agent requests the remote service and gets its answer', async () => {
    const [record] = await agent.discover({ service: 'sdk-echo' });
    expect(record?.info).toMatchObject({ agentId: 'a2a-remote-sdk-echo', version: '3.1.0', capabilities: ['a2a-remote'] });
    expect(record?.info?.profile).toMatchObject({
      description: 'an echo agent on the A2A SDK alone',
      skills: [expect.objectContaining({ id: 'echo', name: 'Echo' })],
    });

    const reply = await agent.request('sdk-echo', 'hello over there', { timeoutMs: 15_000 });
    expect(reply.payload.toString()).toBe('remote:hello over there');
    expect(remote.authorizations).toContain('Bearer outbound-secret');
    expect(remote.authorizations.every((value) => value === 'Bearer outbound-secret')).toBe(true);
  });

  test('the remote service is A2A-reachable through the gateway too', async () => {
    const response = await fetch(`${gw.a2aUrl}/services/sdk-echo/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { skills: Array<{ id: string }> }).skills.map((skill) => skill.id)).toEqual(['echo']);
  });

  test('an operator adds and removes a remote agent at run time (admin), kept across a restart', async () => {
    const second = await startSdkAgent('second:');
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'a2a-remote-'));
    let own = await startA2aGateway({ dataDir });
    const admin = (method: string, pathname: string, body?: unknown) =>
      fetch(`${own.a2aUrl}/admin${pathname}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    try {
      const bad = await admin('POST', '/remote-agents', { cardUrl: 'not a url', service: 'x' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('cardUrl');
      const added = await admin('POST', '/remote-agents', { cardUrl: `${second.url}.well-known/agent-card.json`, service: 'second-echo' });
      expect(added.status).toBe(201);
      expect(await added.json()).toEqual({ agentId: 'a2a-remote-second-echo' });
      expect(
        (await admin('POST', '/remote-agents', { cardUrl: `${second.url}.well-known/agent-card.json`, service: 'second-echo' })).status,
      ).toBe(409);

      let caller = connect(own.address);
      expect((await caller.request('second-echo', 'hi', { timeoutMs: 15_000 })).payload.toString()).toBe('second:hi');
      await caller.close();

      await own.stop();
      own = await startA2aGateway({ dataDir });
      caller = connect(own.address);
      expect((await caller.request('second-echo', 'again', { timeoutMs: 15_000 })).payload.toString()).toBe('second:again');
      const listed = (await (await admin('GET', '/remote-agents')).json()) as {
        remoteAgents: Array<{ service: string; configured: boolean }>;
      };
      expect(listed.remoteAgents).toEqual([expect.objectContaining({ service: 'second-echo', configured: false })]);
      expect((await admin('DELETE', '/remote-agents/second-echo')).status).toBe(204);
      expect(await caller.discover({ service: 'second-echo' })).toEqual([]);
      await caller.close();
    } finally {
      await own.stop();
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test('a configured remote agent cannot be removed at run time', async () => {
    const response = await fetch(`${gw.a2aUrl}/admin/remote-agents/sdk-echo`, { method: 'DELETE' });
    expect(response.status).toBe(409);
  });

  test('an unreachable remote does not keep the gateway from starting', async () => {
    const other = await startA2aGateway({
      a2a: { remoteAgents: [{ cardUrl: 'http://127.0.0.1:9/.well-known/agent-card.json', service: 'unreachable' }] },
    });
    try {
      // Retried in the background; until its card answers, the service has no instance.
      const probe = connect(other.address);
      expect(await probe.discover({ service: 'unreachable' })).toEqual([]);
      await probe.close();
    } finally {
      await other.stop();
    }
  });
});
