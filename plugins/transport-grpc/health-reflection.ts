/**
 * The standard services generic gRPC tools expect: `grpc.health.v1.Health` (status per served
 * service, kept in step with the gateway: SERVING when ready, NOT_SERVING while draining) and
 * server reflection (so grpcurl and UIs can list and call methods without the .proto).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';

export const GATEWAY_SERVICE = 'openclaw.gateway.v1.GatewayService';
export const ADMIN_SERVICE = 'openclaw.gateway.v1.AdminService';
const SERVED = ['', GATEWAY_SERVICE, ADMIN_SERVICE];

export class ServingHealth {
  private readonly health = new HealthImplementation(Object.fromEntries(SERVED.map((name) => [name, 'NOT_SERVING'])));

  addToServer(server: Server): void {
    this.health.addToServer(server);
  }

  set(status: ServingStatus): void {
    for (const name of SERVED) this.health.setStatus(name, status);
  }
}

/** Where `gateway.proto` is, from source (`plugins/transport-grpc`) or a build (`dist/plugins/...`). */
function gatewayProtoRoot(): string {
  for (const candidate of [path.resolve(__dirname, '../../proto'), path.resolve(__dirname, '../../../proto')]) {
    if (existsSync(path.join(candidate, 'openclaw/gateway/v1/gateway.proto'))) return candidate;
  }
  throw new Error('proto/openclaw/gateway/v1/gateway.proto not found next to the transport plugin');
}

export function addReflection(server: Server): void {
  const root = gatewayProtoRoot();
  const definition = loadSync([path.join(root, 'openclaw/gateway/v1/gateway.proto'), healthProtoPath], {
    includeDirs: [root, path.dirname(healthProtoPath)],
    keepCase: true,
  });
  new ReflectionService(definition).addToServer(server);
}
