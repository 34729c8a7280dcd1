import type { Identity } from './agent';

/**
 * `discover` covers what reveals the registry: Discover and registry events (resource: the agents'
 * service name) and GetAgentStatus (the agent's service name or its agent id).
 */
export type AuthAction = 'connect' | 'register' | 'publish' | 'subscribe' | 'send' | 'request' | 'discover' | 'admin';

/** A kind of credential an auth plugin accepts. */
export type AuthScheme = 'mtls' | 'bearer-jwt';

/** What a transport knows about a call when it asks who is calling. */
export interface AuthRequest {
  /** Lower-cased request metadata (gRPC metadata / HTTP headers); `authorization` carries bearer tokens. */
  metadata: Readonly<Record<string, string>>;
  /** Remote address, e.g. `ipv4:127.0.0.1:50312` or `unix:`. */
  peer: string;
  /** Verified client certificate chain (DER), leaf first, when the transport uses mTLS. */
  peerCertificates?: readonly Uint8Array[];
  /** Fully-qualified method, e.g. `/openclaw.gateway.v1.GatewayService/SendMessage`. */
  method: string;
}

export interface AuthzRequest {
  identity: Identity;
  action: AuthAction;
  /** Topic, service name, agent id or `*` for admin actions (see AuthAction for `discover`). */
  resource: string;
}

export interface AuthzDecision {
  allowed: boolean;
  /** Why, in words an operator can act on; sent to the client on denial. */
  reason: string;
}

/** TLS material a transport should serve with; produced by the auth plugin. */
export interface ServerTlsSettings {
  certChain: Buffer;
  privateKey: Buffer;
  /** CA bundle for client certificates; absent means no client certificates are requested. */
  clientCa?: Buffer;
  requireClientCert: boolean;
}

/**
 * The auth kind's service. Transports call `authenticate` once per call (or stream) and
 * `authorize` for each action; decisions should be cached per identity and invalidated when the
 * policy changes (`onPolicyChange`).
 *
 * The auth plugin fires `hooks.authFailed` for each refusal it makes (it alone knows the reason
 * and the lockout state); transports fire it only for refusals of their own (e.g. a Subscribe to
 * another identity's inbox), so every refusal is reported once. `authenticate` throws
 * GW_UNAUTHENTICATED for missing or bad credentials, GW_PERMISSION_DENIED for a valid identity the
 * policy does not let connect, GW_RESOURCE_EXHAUSTED while a peer is locked out; transports pass
 * these on as they are.
 */
export interface AuthService {
  authenticate(request: AuthRequest): Promise<Identity>;
  authorize(request: AuthzRequest): AuthzDecision;
  serverTls(): ServerTlsSettings | undefined;
  /** True when only loopback listeners are allowed (open mode for local development). */
  loopbackOnly(): boolean;
  /**
   * Optional: the credentials this plugin accepts, so transports can advertise them (e.g. the
   * `securitySchemes` of an A2A agent card). Empty in open mode.
   */
  schemes?(): readonly AuthScheme[];
  /** Subscribe to policy swaps; live streams use this to re-check their permissions. */
  onPolicyChange(listener: () => void): () => void;
  /**
   * Optional: validates and installs a policy document (JSON text) pushed by an operator through
   * AdminService.PushPolicy. Throws GW_INVALID_ARGUMENT naming the JSON path to fix; the policy in
   * force stays. `actor` is the pusher's identity id, recorded in the audit log.
   */
  pushPolicy?(json: string, actor: string): Promise<{ version: string }>;
}
