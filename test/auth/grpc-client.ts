/**
 * A thin promise wrapper over the generated grpc-js clients, for talking to a real gateway.
 */
import { credentials, Metadata, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  AdminServiceClient,
  AgentInfo,
  GatewayServiceClient,
  Message,
  PolicyDocument,
  SubscribeRequest,
  type AdminResult,
  type Event,
  type RegistrationResult,
  type SendResult,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import type { Issued } from './pki';

export function mtlsCredentials(caCert: Buffer, client?: Issued): ChannelCredentials {
  return client ? credentials.createSsl(caCert, client.key, client.cert) : credentials.createSsl(caCert);
}

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function unary<T>(invoke: (callback: (error: ServiceError | null, response: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((error, response) => (error ? reject(error) : resolve(response))));
}

export class GatewayConnection {
  readonly gateway: GatewayServiceClient;
  readonly admin: AdminServiceClient;

  constructor(
    address: string,
    channelCredentials: ChannelCredentials,
    private readonly metadata = new Metadata(),
  ) {
    // Certificates name `localhost`; the override keeps the address numeric.
    const options = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };
    this.gateway = new GatewayServiceClient(address, channelCredentials, options);
    this.admin = new AdminServiceClient(address, channelCredentials, options);
  }

  register(agentId: string, service: string): Promise<RegistrationResult> {
    const info = AgentInfo.fromPartial({ agentId, service, version: '1.0.0' });
    return unary((callback) => this.gateway.registerAgent(info, this.metadata, callback));
  }

  publish(topic: string, text: string): Promise<SendResult> {
    const message = Message.fromPartial({ topic, payload: Buffer.from(text) });
    return unary((callback) => this.gateway.sendMessage(message, this.metadata, callback));
  }

  subscribe(patterns: string[]): ClientReadableStream<Event> {
    return this.gateway.subscribe(SubscribeRequest.fromPartial({ topics: patterns.map((pattern) => ({ pattern })) }), this.metadata);
  }

  pushPolicy(json: string): Promise<AdminResult> {
    return unary((callback) => this.admin.pushPolicy(PolicyDocument.fromPartial({ json }), this.metadata, callback));
  }

  close(): void {
    this.gateway.close();
    this.admin.close();
  }
}

/** The gRPC status code a call failed with. */
export async function statusOf(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const serviceError = error as ServiceError;
    return { code: serviceError.code, details: serviceError.details };
  }
  throw new Error('expected the call to fail');
}
