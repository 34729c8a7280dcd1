/**
 * What generic gRPC tools rely on: `grpc.health.v1.Health` (kept in step with draining) and server
 * reflection; plus the drain behaviour (new calls refused with UNAVAILABLE / GW_DRAINING).
 */
import path from 'node:path';
import {
  credentials,
  getChannelzHandlers,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { GatewayServiceClient, HealthStatus_Status, Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from './grpc-call';

function clientConstructor(protoFile: string, service: string): ServiceClientConstructor {
  const definition = loadSync(protoFile, { keepCase: true, enums: String });
  let node: unknown = loadPackageDefinition(definition);
  for (const part of service.split('.')) node = (node as GrpcObject)[part];
  return node as ServiceClientConstructor;
}

const reflectionProto = path.join(
  path.dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

function healthCheck(client: InstanceType<ServiceClientConstructor>, service: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.Check({ service }, (error: ServiceError | null, response: { status: string }) =>
      error ? reject(error) : resolve(response.status),
    );
  });
}

describe('standard gRPC services', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('grpc.health.v1 Check answers SERVING for the gateway and each service', async () => {
    const Health = clientConstructor(healthProtoPath, 'grpc.health.v1.Health');
    for (const target of [gw.address, `unix:${gw.socketPath}`]) {
      const client = new Health(target, credentials.createInsecure());
      expect(await healthCheck(client, '')).toBe('SERVING');
      expect(await healthCheck(client, 'openclaw.gateway.v1.GatewayService')).toBe('SERVING');
      expect(await healthCheck(client, 'openclaw.gateway.v1.AdminService')).toBe('SERVING');
      await expect(healthCheck(client, 'no.such.Service')).rejects.toMatchObject({ code: 5 });
      client.close();
    }
  });

  it('reflection lists the gateway services and describes their file', async () => {
    const Reflection = clientConstructor(reflectionProto, 'grpc.reflection.v1.ServerReflection');
    const client = new Reflection(gw.address, credentials.createInsecure());
    const call = client.ServerReflectionInfo();
    const responses: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (response: any) => {
        responses.push(response);
        if (responses.length === 2) call.end();
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ list_services: '' });
    call.write({ file_containing_symbol: 'openclaw.gateway.v1.GatewayService' });
    await done;
    client.close();
    const names = responses[0].list_services_response.service.map((s: { name: string }) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['openclaw.gateway.v1.GatewayService', 'openclaw.gateway.v1.AdminService', 'grpc.health.v1.Health']),
    );
    const files: Buffer[] = responses[1].file_descriptor_response.file_descriptor_proto;
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.concat(files).toString('latin1')).toContain('RegisterAgent');
  });
});

describe('draining', () => {
  it('refuses new calls with UNAVAILABLE (GW_DRAINING), reports DRAINING and NOT_SERVING, and lets in-flight calls finish', async () => {
    const gw = await startTestGateway();
    const client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    const Health = clientConstructor(healthProtoPath, 'grpc.health.v1.Health');
    const health = new Health(gw.address, credentials.createInsecure());
    try {
      // A request waiting for a reply is in flight when draining starts.
      const worker = new GatewayServiceClient(gw.address, credentials.createInsecure());
      await unary(worker, 'registerAgent', {
        agentId: 'drainee',
        service: 'drainee',
        version: '1.0.0',
        tags: {},
        capabilities: [],
        leaseTtlMs: 0,
        profile: undefined,
      });
      const inbox = worker.subscribe({ agentId: 'drainee', topics: [], registryEvents: false, maxBatch: 0 });
      inbox.on('error', () => undefined);
      await new Promise((resolve) => inbox.once('metadata', resolve));
      const inFlight = unary(client, 'request', Message.fromPartial({ agentId: 'drainee', payload: Buffer.from('q') }), {
        deadline: Date.now() + 20_000,
      });
      const request = await new Promise<any>((resolve) => inbox.once('data', resolve));

      const transport = gw.gateway.transports()[0] as unknown as { drain(deadline: number): Promise<void> };
      const drained = transport.drain(Date.now() + 15_000);

      const refused = await unary(client, 'discover', {
        service: '',
        versionRange: '',
        tags: {},
        capabilities: [],
        routableOnly: false,
        limit: 0,
      }).catch((e: ServiceError) => e);
      expect(refused).toMatchObject({ code: 14 });
      expect((refused as ServiceError).details).toMatch(/^GW_DRAINING: /);
      expect((refused as ServiceError).metadata.get('gw-error-code')).toEqual(['GW_DRAINING']);
      expect(await healthCheck(health, '')).toBe('NOT_SERVING');
      // The gateway's own HealthCheck still answers (load balancers and agents read it).
      const status = await unary(client, 'healthCheck', { agentId: '', probeId: '' });
      expect(status.status).toBe(HealthStatus_Status.STATUS_DRAINING);

      // The in-flight request still completes: the reply is routed while draining.
      const message = request.kind.value.message;
      await new Promise<void>((resolve, reject) => {
        const router = gw.gateway.service('router')!;
        router
          .send(
            { ...message, topic: message.replyTo, agentId: '', service: '', payload: Buffer.from('a'), replyTo: '', createdAt: Date.now() },
            { peer: 'test' },
          )
          .then(() => resolve(), reject);
      });
      const reply = await inFlight;
      expect(reply.payload.toString()).toBe('a');
      await drained;
      inbox.cancel();
      worker.close();
    } finally {
      client.close();
      health.close();
      await gw.stop();
    }
  });
});

describe('grpc-js channelz', () => {
  it('is not tracked by grpc-js channelz (no per-call bookkeeping nobody can read)', async () => {
    const gw = await startTestGateway();
    // A server on grpc-js defaults, as the control: channelz lists it, so the check can see one.
    const control = new Server();
    const controlPort = await new Promise<number>((resolve, reject) =>
      control.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    try {
      const listed = await new Promise<string[]>((resolve, reject) =>
        getChannelzHandlers().GetServers(
          { request: { start_server_id: 0, max_results: 1000 } } as never,
          ((error: Error | null, response: { server: Array<{ listen_socket: Array<{ name: string }> }> }) =>
            error
              ? reject(error)
              : resolve(response.server.flatMap((server) => server.listen_socket.map((socket) => socket.name)))) as never,
        ),
      );
      expect(listed).toContain(`127.0.0.1:${controlPort}`);
      expect(listed).not.toContain(gw.address);
    } finally {
      control.forceShutdown();
      await gw.stop();
    }
  });
});
