/**
 * Readiness as load balancers see it, on a real gateway: the monitor's `/readyz` and the gRPC
 * transport's `grpc.health.v1` status of every served service turn together, when the gateway
 * becomes ready and as soon as it starts draining (while another plugin still holds the drain).
 */
import { credentials, loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { definePlugin } from '../../kernel';
import { startTestGateway } from '../helpers/gateway';

const SERVICES = ['', 'openclaw.gateway.v1.GatewayService', 'openclaw.gateway.v1.AdminService'];

type HealthCheck = (request: { service: string }, callback: (error: Error | null, response: { status: string }) => void) => void;
type HealthClient = Client & { check: HealthCheck };

function healthClient(address: string): HealthClient {
  const definition = loadPackageDefinition(loadSync(healthProtoPath, { enums: String }));
  const Health = ((definition.grpc as GrpcObject).health as GrpcObject).v1 as GrpcObject;
  return new (Health.Health as ServiceClientConstructor)(address, credentials.createInsecure()) as unknown as HealthClient;
}

function servingStatus(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (error, response) => (error ? reject(error) : resolve(response.status))),
  );
}

/** Holds the gateway in `draining` until released, so the test can look at it mid-drain. */
function drainHolder() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const drainStarted = new Promise<void>((resolve) => (started = resolve));
  const plugin = definePlugin<Record<string, unknown>>({
    name: 'drain-holder',
    kind: 'sandbox',
    version: '1.0.0',
    schema: { type: 'object' },
    setup: () => ({
      async drain() {
        started();
        await released;
      },
    }),
  });
  return { plugin, release, drainStarted };
}

test('/readyz and grpc.health.v1 of every service flip together during a drain', async () => {
  const holder = drainHolder();
  const gw = await startTestGateway({
    extraPlugins: [holder.plugin, { use: 'monitor-prometheus', options: { port: 0 } }],
    gateway: { drainTimeoutMs: 20_000 },
  });
  const url = gw.gateway.service('monitor')!.httpAddress()!;
  const health = healthClient(gw.address);
  let stopped: Promise<void> | undefined;
  try {
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    for (const service of SERVICES) expect([service, await servingStatus(health, service)]).toEqual([service, 'SERVING']);

    stopped = gw.stop();
    await holder.drainStarted;
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ status: 'not-ready', stage: 'draining' });
    for (const service of SERVICES) expect([service, await servingStatus(health, service)]).toEqual([service, 'NOT_SERVING']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    holder.release();
    await stopped;
  } finally {
    holder.release();
    health.close();
    await (stopped ?? gw.stop());
  }
});
