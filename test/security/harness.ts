/**
 * A real gateway (registry-memory, a real router, auth-standard with JWT bearer tokens, the gRPC
 * transport on a loopback port and a Unix socket) and clients for several identities, as an
 * attacker meets it: each identity is a signed token, each client a real grpc-js channel of its own.
 */
import { credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, type KeyLike } from 'jose';
import { writeJwks } from '../auth/jwks';
import type { PluginEntry } from '../../kernel';
import {
  AckRequest,
  AgentInfo,
  AgentStatusRequest,
  DeregisterRequest,
  DiscoverRequest,
  GatewayServiceClient,
  HealthRequest,
  HeartbeatRequest,
  Message,
  MessageBatch,
  SubscribeRequest,
  type Event,
} from '../../proto/gen/openclaw/gateway/v1/gateway';

/** ts-proto encoders need complete objects: each unary method's request type fills in defaults. */
const REQUEST_TYPES: Record<string, { fromPartial(value: never): unknown }> = {
  registerAgent: AgentInfo,
  deregisterAgent: DeregisterRequest,
  heartbeat: HeartbeatRequest,
  discover: DiscoverRequest,
  getAgentStatus: AgentStatusRequest,
  sendMessage: Message,
  publishBatch: MessageBatch,
  request: Message,
  ack: AckRequest,
  healthCheck: HealthRequest,
};
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../helpers/gateway';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'openclaw-gateway';
export const PYTHON = '/usr/bin/python3';
export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface SecuredGateway extends TestGateway {
  /** A signed bearer token for `sub`. */
  token(sub: string, claims?: Record<string, unknown>): Promise<string>;
  /** A client of its own channel (no subchannel sharing) acting as `sub`. */
  client(sub: string, target?: string): Promise<Client>;
  /** Stops clients, the gateway and removes the temp folder. */
  close(): Promise<void>;
}

export interface SecuredOptions {
  policy?: Record<string, unknown>;
  auth?: Record<string, unknown>;
  transport?: Record<string, unknown>;
  router?: PluginEntry;
  extraPlugins?: TestGatewayOptions['extraPlugins'];
}

export async function startSecuredGateway(options: SecuredOptions = {}): Promise<SecuredGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocgw-sec-'));
  const privateKey = await writeJwks(dir, 'ES256', 'k1', { use: 'sig' });
  const clients: Client[] = [];
  let gw: TestGateway;
  try {
    gw = await startTestGateway({
      plugins: {
        auth: {
          use: 'auth-standard',
          options: {
            jwt: { jwksFile: path.join(dir, 'jwks.json'), issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] },
            ...(options.policy ? { policy: options.policy } : {}),
            ...options.auth,
          },
        },
        ...(options.router ? { router: options.router } : {}),
      },
      transport: options.transport,
      extraPlugins: options.extraPlugins,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const token = (sub: string, claims: Record<string, unknown> = {}) => signToken(privateKey, sub, claims);
  return {
    ...gw,
    token,
    async client(sub, target = gw.address) {
      const client = new Client(target, await token(sub));
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      try {
        await gw.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function signToken(key: KeyLike, sub: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key);
}

type Callback<T> = (error: ServiceError | null, response: T) => void;

/** One identity on one channel: promise-shaped unary calls and raw streams. */
export class Client {
  readonly raw: GatewayServiceClient;
  readonly metadata = new Metadata();

  constructor(target: string, bearerToken: string | undefined) {
    // A channel of its own: grpc-js would otherwise share one connection between clients.
    this.raw = new GatewayServiceClient(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    if (bearerToken !== undefined) this.metadata.set('authorization', `Bearer ${bearerToken}`);
  }

  call<T>(method: string, request: unknown): Promise<T> {
    const invoke = (
      this.raw as unknown as Record<string, (request: unknown, metadata: Metadata, options: object, callback: Callback<T>) => void>
    )[method];
    return new Promise((resolve, reject) =>
      invoke.call(
        this.raw,
        REQUEST_TYPES[method].fromPartial(request as never),
        this.metadata,
        { deadline: Date.now() + 10_000 },
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
  }

  subscribe(request: Record<string, unknown>): ClientReadableStream<Event> {
    return this.raw.subscribe(SubscribeRequest.fromPartial(request as never), this.metadata);
  }

  close(): void {
    this.raw.close();
  }
}

/** The status a call failed with (fails the test when it succeeds). */
export async function failure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const serviceError = error as ServiceError;
    return { code: serviceError.code, details: serviceError.details };
  }
  throw new Error('expected the call to fail');
}

/** Collects a Subscribe stream's events; `live` resolves once the server sent its headers. */
export function collect(stream: ClientReadableStream<Event>) {
  const events: Event[] = [];
  const ended: { code?: number; details?: string; done: boolean } = { done: false };
  const live = new Promise<void>((resolve, reject) => {
    stream.once('metadata', () => resolve());
    stream.once('error', reject);
  });
  live.catch(() => undefined);
  stream.on('data', (event: Event) => void events.push(event));
  stream.on('error', (error: ServiceError) => Object.assign(ended, { code: error.code, details: error.details, done: true }));
  stream.on('end', () => (ended.done = true));
  return { events, ended, live, stream };
}

export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the last failure, whatever it was
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Runs a Python grpcio script (stubs generated from proto/ into a temp folder) and returns the
 * JSON it prints last. The script gets `pb`, `pb_grpc`, `grpc` and `ARGS` (a dict) in scope.
 */
export async function runPython(body: string, args: Record<string, unknown>, timeoutMs = 60_000): Promise<any> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocgw-py-'));
  const script = `
import json, sys, os
sys.path.insert(0, ${JSON.stringify(dir)})
from grpc_tools import protoc
proto_root = ${JSON.stringify(path.join(REPO_ROOT, 'proto'))}
rc = protoc.main(["protoc", "-I" + proto_root, "--python_out=" + ${JSON.stringify(dir)}, "--grpc_python_out=" + ${JSON.stringify(dir)}, os.path.join(proto_root, "openclaw/gateway/v1/gateway.proto")])
if rc != 0:
    raise SystemExit("protoc failed")
import grpc
from openclaw.gateway.v1 import gateway_pb2 as pb, gateway_pb2_grpc as pb_grpc
ARGS = json.loads(sys.argv[1])
${body}
`;
  try {
    writeFileSync(path.join(dir, 'script.py'), script);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(PYTHON, [path.join(dir, 'script.py'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`python exited ${code}:\n${stderr}\n${stdout}`));
      });
    });
    const lines = output.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
