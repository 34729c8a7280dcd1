/**
 * What every call goes through before and after its handler: the draining gate, authentication,
 * authorization, in-flight accounting (so drain can wait for unary calls) and the `rpcCompleted`
 * observation. Handlers only see an authenticated identity and throw GatewayErrors.
 */
import { performance } from 'node:perf_hooks';
import type { Metadata, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import {
  canonicalPeer,
  GatewayError,
  Status,
  toGatewayError,
  type AuthAction,
  type AuthRequest,
  type AuthService,
  type GatewayHooks,
  type Identity,
  type StatusCode,
} from '../../kernel';
import { statusName, toServiceError } from './error-status';
import { refuseMalformed } from './strict-decoding';

export const TRANSPORT_NAME = 'grpc';

/**
 * Read once: the kernel's re-exports are getters (canonicalPeer three deep, through tsx every
 * import is one), and these run for every call.
 */
const canonicalPeerOf = canonicalPeer;
const refuseIfMalformed = refuseMalformed;
const STATUS_OK = Status.OK;

/** Refusals of `authenticate` passed on as they are; anything else becomes UNAUTHENTICATED. */
const KEPT_AUTHENTICATE_STATUSES: ReadonlySet<StatusCode> = new Set([
  Status.UNAUTHENTICATED,
  Status.PERMISSION_DENIED,
  Status.RESOURCE_EXHAUSTED,
]);

/** What every kind of server call (unary or streaming) offers for authentication. */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getPath' | 'metadata' | 'getAuthContext'>;

/** The caller's address in the contract's form (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`, `unix:`). */
export function peerOf(call: Pick<ServerSurfaceCall, 'getPeer'>): string {
  return canonicalPeerOf(call.getPeer());
}

export interface CallGuardDeps {
  auth: AuthService;
  hooks: GatewayHooks;
  /** Whether the transport stopped accepting new calls. */
  draining(): boolean;
  /** Throws for a call on a connection over the per-peer connection limit. */
  admitPeer?(peer: string): void;
}

/** A unary handler: the decoded request, the authenticated caller, the call and its canonical peer address. */
export type UnaryHandler<Request, Response> = (
  request: Request,
  identity: Identity,
  call: ServerUnaryCall<Request, Response>,
  peer: string,
) => Promise<Response> | Response;

/**
 * Refusals of `authenticate` passed on as they are; anything else becomes UNAUTHENTICATED. The
 * auth plugin fires `authFailed` for its own refusals (it knows the reason and the lockout state);
 * firing it here too would count every refusal twice. An identity the allow-list keeps out is
 * known, just not admitted: PERMISSION_DENIED, not UNAUTHENTICATED.
 */
function authenticationFailure(error: unknown): GatewayError {
  const failure = toGatewayError(error);
  if (KEPT_AUTHENTICATE_STATUSES.has(failure.status)) return failure;
  return new GatewayError('GW_UNAUTHENTICATED', failure.message, { cause: error });
}

export class CallGuard {
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Whether the listeners use TLS (the auth plugin's settings; they do not change while running). */
  private tls?: boolean;

  constructor(private readonly deps: CallGuardDeps) {}

  get inFlightCalls(): number {
    return this.inFlight;
  }

  /** Resolves once no unary call is running (drain waits for this). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new work while draining. */
  admit(): void {
    if (this.deps.draining()) throw new GatewayError('GW_DRAINING', 'the gateway is draining; retry on another gateway or after restart');
  }

  async authenticate(call: ServerSurfaceCall, peer = peerOf(call)): Promise<Identity> {
    const request = this.authRequest(call, peer);
    try {
      return await this.deps.auth.authenticate(request);
    } catch (error) {
      throw authenticationFailure(error);
    }
  }

  private authRequest(call: ServerSurfaceCall, peer: string): AuthRequest {
    this.deps.admitPeer?.(peer);
    // Listeners without TLS have no certificates: grpc-js's auth context is not built per call for nothing.
    this.tls ??= this.deps.auth.serverTls() !== undefined;
    return {
      metadata: metadataRecord(call.metadata),
      peer,
      peerCertificates: this.tls ? peerCertificates(call) : undefined,
      method: call.getPath(),
    };
  }

  /**
   * Throws PERMISSION_DENIED naming `field` (`field.suffix` when a suffix is given: the name is only
   * built for a refusal, not per call).
   */
  authorize(identity: Identity, action: AuthAction, resource: string, field: string, suffix?: string): void {
    const decision = this.deps.auth.authorize({ identity, action, resource });
    if (decision.allowed) return;
    const name = suffix === undefined ? field : `${field}.${suffix}`;
    throw new GatewayError('GW_PERMISSION_DENIED', `${name}: "${identity.id}" may not ${action} "${resource}": ${decision.reason}`, {
      field: name,
    });
  }

  /** Wraps a unary handler with the gate, auth, error mapping and the rpcCompleted observation. */
  unary<Request, Response>(
    method: string,
    handler: UnaryHandler<Request, Response>,
    options: { servedWhileDraining?: boolean } = {},
  ): (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>) => void {
    const servedWhileDraining = options.servedWhileDraining === true;
    return (call, callback) => void this.serve(method, handler, servedWhileDraining, call, callback);
  }

  /**
   * One unary call, in one async function: no closures or extra promises per call beyond the
   * handler's own (this runs for every SendMessage).
   */
  private async serve<Request, Response>(
    method: string,
    handler: UnaryHandler<Request, Response>,
    servedWhileDraining: boolean,
    call: ServerUnaryCall<Request, Response>,
    callback: sendUnaryData<Response>,
  ): Promise<void> {
    const startedAt = performance.now();
    this.inFlight++;
    let response: Response;
    try {
      if (!servedWhileDraining) this.admit();
      const peer = peerOf(call);
      const request = this.authRequest(call, peer);
      let identity: Identity;
      try {
        identity = await this.deps.auth.authenticate(request);
      } catch (error) {
        throw authenticationFailure(error);
      }
      refuseIfMalformed(call.request);
      response = await handler(call.request, identity, call, peer);
    } catch (error) {
      const serviceError = toServiceError(error);
      callback(serviceError);
      this.finish(method, serviceError.code, startedAt, call);
      return;
    }
    callback(null, response);
    this.finish(method, STATUS_OK, startedAt, call);
  }

  private finish(method: string, code: number, startedAt: number, call: ServerSurfaceCall): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    this.completed(method, code, startedAt, call);
  }

  completed(method: string, code: number, startedAt: number, call?: ServerSurfaceCall & { request?: unknown }): void {
    const hook = this.deps.hooks.rpcCompleted;
    if (!hook.isUsed()) return;
    hook.call({
      method,
      code: statusName(code),
      durationSeconds: (performance.now() - startedAt) / 1000,
      transport: TRANSPORT_NAME,
      ...(call ? callIds(call) : {}),
    });
  }
}

/**
 * Ids for the access log, read without copying: the client's `x-request-id` (capped, so a huge
 * header cannot bloat log lines) and the agent id the request names (its own `agentId`, the
 * `info` of a registration, or a message's sender).
 */
function callIds(call: ServerSurfaceCall & { request?: unknown }): { requestId?: string; agentId?: string; peer: string } {
  const header = call.metadata.get('x-request-id')[0];
  const request = call.request as { agentId?: unknown; info?: { agentId?: unknown }; message?: { senderId?: unknown } } | undefined;
  const agentId = request?.agentId || request?.info?.agentId || request?.message?.senderId;
  return {
    ...(typeof header === 'string' && header !== '' ? { requestId: header.slice(0, 128) } : {}),
    ...(typeof agentId === 'string' && agentId !== '' ? { agentId } : {}),
    peer: peerOf(call),
  };
}

function metadataRecord(metadata: Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  const map = metadata.getMap();
  for (const key in map) {
    const value = map[key];
    // Binary (`-bin`) values are not credentials we understand; base64 keeps them printable.
    record[key] = typeof value === 'string' ? value : value.toString('base64');
  }
  return record;
}

function peerCertificates(call: ServerSurfaceCall): Uint8Array[] | undefined {
  const certificate = call.getAuthContext?.().sslPeerCertificate;
  if (!certificate || !certificate.raw) return undefined;
  const chain: Uint8Array[] = [certificate.raw];
  // Walk the verified chain (leaf first); a self-signed root points at itself.
  let current = (certificate as { issuerCertificate?: typeof certificate }).issuerCertificate;
  let previous = certificate;
  while (current && current !== previous && current.raw && chain.length < 10) {
    chain.push(current.raw);
    previous = current;
    current = (current as { issuerCertificate?: typeof certificate }).issuerCertificate;
  }
  return chain;
}
