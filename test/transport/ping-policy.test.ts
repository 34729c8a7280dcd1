/**
 * Ping policing as gRPC core servers do it (docs/transport.md): clients of other gRPC stacks, with
 * their default settings, are never punished for the pings they send alongside traffic; a client
 * that pings an idle connection again and again is still sent GOAWAY(ENHANCE_YOUR_CALM,
 * "too_many_pings").
 *
 * The outsiders: a default grpcio channel (/usr/bin/python3, Debian's python3-grpcio, no channel
 * options) doing bursts with idle gaps for over 90 s next to the Python example agent; and a raw
 * Node http2 client sending PING frames.
 */
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { PythonAgent, PythonProcess } from '../helpers/python-agent';
import { eventually, repoRoot } from '../examples/package-project';
import { connect } from '../../sdk';

const BURST_CLIENT = path.join(repoRoot, 'test', 'fixtures', 'python', 'burst_client.py');
const BURST_SECONDS = 95;
const ENHANCE_YOUR_CALM = 0x0b;

async function pingStrikeOuts(gw: TestGateway): Promise<number> {
  const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_transport_grpc_limit_hits_total');
  const line = text.split('\n').find((row) => row.includes('limit="transport.grpc.maxPingStrikes"'));
  return line ? Number(line.trim().split(/\s+/).pop()) : 0;
}

interface RawClient {
  session: http2.ClientHttp2Session;
  goaway: Promise<{ code: number; debug: string }>;
  close(): void;
}

/** A bare HTTP/2 connection: no gRPC library deciding when to ping. */
function rawClient(address: string): Promise<RawClient> {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const goaway = new Promise<{ code: number; debug: string }>((resolve) =>
    session.on('goaway', (code, _lastStreamId, data) => resolve({ code, debug: data?.toString() ?? '' })),
  );
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve({ session, goaway, close: () => session.destroy() }));
    session.once('error', reject);
  });
}

/** Pings every `everyMs` until stopped or the session closes; resolves how many were sent. */
function pingEvery(session: http2.ClientHttp2Session, everyMs: number): { stop(): void; sent(): number } {
  let sent = 0;
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return clearInterval(timer);
    try {
      if (session.ping(() => undefined)) sent++;
    } catch {
      clearInterval(timer);
    }
  }, everyMs);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

describe('ping policing', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test('a client pinging an idle connection every 100 ms is sent GOAWAY too_many_pings', async () => {
    const client = await rawClient(gw.address);
    const before = await pingStrikeOuts(gw);
    const pinger = pingEvery(client.session, 100);
    try {
      const goaway = await Promise.race([
        client.goaway,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no GOAWAY after ${pinger.sent()} pings`)), 20_000)),
      ]);
      expect(goaway).toEqual({ code: ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
      expect(await pingStrikeOuts(gw)).toBe(before + 1);
    } finally {
      pinger.stop();
      client.close();
    }
  }, 30_000);

  test('pings while a stream is open are never strikes; once it closed, idle pings strike again', async () => {
    const client = await rawClient(gw.address);
    const pinger = pingEvery(client.session, 100);
    let goawayBeforeClose: unknown;
    void client.goaway.then((frame) => (goawayBeforeClose ??= frame));
    try {
      // A Subscribe call whose request message never comes: the stream stays open.
      const stream = client.session.request({
        ':method': 'POST',
        ':path': '/openclaw.gateway.v1.GatewayService/Subscribe',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.on('error', () => undefined);
      // Far more pings than the strikes allowed, all while the stream is open.
      await eventually(() => pinger.sent() >= 30, 30_000, '30 pings sent');
      expect(goawayBeforeClose).toBeUndefined();
      expect(client.session.closed).toBe(false);

      stream.close(http2.constants.NGHTTP2_CANCEL);
      const goaway = await Promise.race([
        client.goaway,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no GOAWAY once the connection was idle')), 20_000)),
      ]);
      expect(goaway).toEqual({ code: ENHANCE_YOUR_CALM, debug: 'too_many_pings' });
    } finally {
      pinger.stop();
      client.close();
    }
  }, 60_000);

  test(
    `a default grpcio channel doing bursts with idle gaps for ${BURST_SECONDS} s sees no GOAWAY and no UNAVAILABLE; the Python agent stays registered`,
    async () => {
      const stubs = mkdtempSync(path.join(os.tmpdir(), 'ocgw-py-stubs-'));
      const agent = new PythonAgent([
        '--target',
        gw.address,
        '--agent-id',
        'py-busy',
        '--service',
        'py-echo',
        '--topic',
        'jobs.>',
        '--stubs',
        stubs,
      ]);
      let burst: PythonProcess | undefined;
      try {
        await agent.waitFor((line) => line.event === 'subscribed', 'its Subscribe session', 60_000);
        const before = await pingStrikeOuts(gw);
        burst = new PythonProcess(BURST_CLIENT, ['--target', gw.address, '--stubs', stubs, '--seconds', String(BURST_SECONDS)]);
        const done = await burst.waitFor((line) => line.event === 'done', 'the burst client to finish', (BURST_SECONDS + 90) * 1000);
        expect(done.errors).toEqual([]);
        expect(done.bursts).toBeGreaterThan(10);
        expect(await pingStrikeOuts(gw)).toBe(before);

        // The agent never lost its session: one registration, no failed stream, still routable.
        expect(agent.count('registered')).toBe(1);
        expect(agent.lines.filter((line) => /failed|ended|reconnect/.test(line.event))).toEqual([]);
        const checker = connect(gw.address);
        try {
          const found = await checker.discover({ service: 'py-echo', routableOnly: true });
          expect(found.map((record) => record.info?.agentId)).toEqual(['py-busy']);
        } finally {
          await checker.close();
        }
      } finally {
        await burst?.stop();
        await agent.stop();
        rmSync(stubs, { recursive: true, force: true });
      }
    },
    (BURST_SECONDS + 200) * 1000,
  );
});
