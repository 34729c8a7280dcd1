/**
 * Issue #17.3: the failed-authentication lockout keys on the client address, not on the peer
 * string with its port. A Python grpcio client opens a NEW connection for every attempt (a local
 * subchannel pool per channel, so grpc core cannot reuse one): 12 bad tokens on 12 connections
 * lock the address out — over IPv4, IPv6 and the Unix socket — while the other addresses keep
 * working with a good token.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { runPython, startSecuredGateway, type SecuredGateway } from './harness';

const ATTEMPTS = `
results = []
for attempt in range(ARGS["attempts"]):
    # A channel of its own, with its own subchannel pool: a new TCP (or Unix) connection each time.
    channel = grpc.insecure_channel(ARGS["target"], options=[("grpc.use_local_subchannel_pool", 1)])
    stub = pb_grpc.GatewayServiceStub(channel)
    try:
        stub.HealthCheck(pb.HealthRequest(), metadata=[("authorization", "Bearer " + ARGS["token"])], timeout=10)
        results.append("OK")
    except grpc.RpcError as error:
        results.append(error.code().name)
    channel.close()
print(json.dumps(results))
`;

describe('lockout per client address', () => {
  let gw: SecuredGateway;
  let socketDir: string;
  const peers = new Set<string>();
  /** Addresses an earlier case locked out (the cases share one gateway). */
  const locked = new Set<string>();

  beforeAll(async () => {
    socketDir = mkdtempSync(path.join(os.tmpdir(), 'ocgw-lock-'));
    gw = await startSecuredGateway({
      auth: { failureLimit: { maxFailures: 10, windowMs: 60_000, lockoutMs: 60_000 } },
      transport: { listen: [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }, { socket: path.join(socketDir, 'gw.sock') }] },
    });
    gw.gateway.hooks.authFailed.tap('lockout-test', (failure) => void peers.add(failure.peer));
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    rmSync(socketDir, { recursive: true, force: true });
  });

  const target = (kind: 'ipv4' | 'ipv6' | 'unix'): string => {
    const addresses = gw.gateway.transports()[0].addresses();
    if (kind === 'unix') return addresses.find((address) => address.startsWith('unix:'))!;
    const tcp = addresses.find((address) =>
      kind === 'ipv6' ? address.startsWith('::1:') || address.startsWith('[::1]') : address.startsWith('127.0.0.1:'),
    )!;
    return kind === 'ipv6' && !tcp.startsWith('[') ? `[::1]:${tcp.slice(tcp.lastIndexOf(':') + 1)}` : tcp;
  };

  test.each(['ipv4', 'ipv6', 'unix'] as const)(
    '%s: 12 bad tokens on 12 new connections lock the address out; other addresses still work',
    async (kind) => {
      const bad = await runPython(ATTEMPTS, { target: target(kind), token: 'not.a.token', attempts: 12 });
      expect(bad).toEqual([...Array(10).fill('UNAUTHENTICATED'), 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED']);
      // Locked: even a good token from that address is refused until lockoutMs passes.
      const good = await gw.token('alice');
      expect(await runPython(ATTEMPTS, { target: target(kind), token: good, attempts: 1 })).toEqual(['RESOURCE_EXHAUSTED']);
      // The addresses not yet tried are not affected.
      for (const other of (['ipv4', 'ipv6', 'unix'] as const).filter((name) => name !== kind && !locked.has(name))) {
        expect(await runPython(ATTEMPTS, { target: target(other), token: good, attempts: 1 })).toEqual(['OK']);
      }
      locked.add(kind);
    },
    120_000,
  );

  test('the attempts really came over distinct connections, reported in canonical form', () => {
    const byKind = (prefix: string) => [...peers].filter((peer) => peer.startsWith(prefix));
    // 10 counted failures (and the refusals after) per address, each from its own client port.
    expect(byKind('ipv4:127.0.0.1:').length).toBeGreaterThanOrEqual(11);
    expect(byKind('ipv6:[::1]:').length).toBeGreaterThanOrEqual(11);
    expect(byKind('unix:')).toEqual(['unix:']);
  });
});
