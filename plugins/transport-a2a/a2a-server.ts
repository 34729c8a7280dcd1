/**
 * The HTTP server: express with the SDK's JSON-RPC handler (v1.0 and, through its compat layer,
 * v0.3) and agent-card handler, mounted per target:
 *
 * - `GET /.well-known/agent-card.json`: the gateway's card; `GET /agents`, `GET /services`: the
 *   catalogue (filter `?capability=x&tag=key:value`), with ETag and Cache-Control.
 * - `/agents/<agentId>/` and `/services/<service>/?version=<range>`: JSON-RPC (POST) and the
 *   card at `.well-known/agent-card.json` (404 once the agent is gone).
 *
 * Every request is authenticated by the auth plugin first (bearer JWT in `authorization`, the TLS
 * client certificate; open mode is loopback only), and counted against the caller's
 * `maxRequestsPerIdentity`. Refusals before the SDK sees the call are HTTP 401/403/413/429/503
 * with a JSON-RPC error body.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AgentCard } from '@a2a-js/sdk';
import { agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import { GatewayError, toGatewayError, type AuthService, type Identity } from '../../kernel';
import { cardJson, type AgentCards } from './agent-cards';
import { GatewayUser, type A2aTarget } from './caller';
import { httpStatusOf, jsonRpcRefusal } from './errors';
import type { A2aLimits } from './limits';
import type { GatewayRequestHandler } from './request-handler';

export interface ServerDeps {
  auth: AuthService;
  cards: AgentCards;
  limits: A2aLimits;
  handler: GatewayRequestHandler;
  maxBodyBytes: number;
  maxCatalogue: number;
  cardMaxAgeSeconds: number;
  publicUrl?: string;
  remotes: {
    list(): unknown[];
    add(option: unknown): Promise<{ agentId: string }>;
    remove(service: string): Promise<boolean>;
  };
  draining(): boolean;
  onRefused(stage: 'authenticate' | 'limit', reason: string, peer: string): void;
}

interface CallInfo {
  identity: Identity;
  target?: A2aTarget;
  base: string;
  peer: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

export class A2aHttpServer {
  readonly app = express();
  private readonly calls = new WeakMap<Request, CallInfo>();
  private server?: http.Server | https.Server;
  private inFlight = 0;
  private idle: Array<() => void> = [];
  /** Responses being written, so drain can end the SSE streams among them (bounded by the calls in flight). */
  private readonly open = new Set<Response>();

  constructor(private readonly deps: ServerDeps) {
    const app = this.app;
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use((req, res, next) => this.admit(req, res, next));
    app.get('/.well-known/agent-card.json', (req, res) =>
      this.serveCatalogue(req, res, cardJson(deps.cards.gatewayCard(this.call(req).base, deps.maxCatalogue))),
    );
    app.get('/agents', (req, res) => {
      const base = this.call(req).base;
      const cards = deps.cards
        .agents(filterOf(req), deps.maxCatalogue)
        .map((record) => deps.cards.agentCard(record.agentId, `${base}agents/${encodeURIComponent(record.agentId)}/`))
        .filter((card) => card !== undefined);
      this.serveCatalogue(req, res, { agents: cards.map(cardJson) });
    });
    app.get('/services', (req, res) => {
      const base = this.call(req).base;
      const names = [...new Set(deps.cards.agents(filterOf(req), deps.maxCatalogue).map((record) => record.service))];
      const cards = names
        .map((service) => deps.cards.serviceCard(service, '', `${base}services/${service}/`))
        .filter((card) => card !== undefined);
      this.serveCatalogue(req, res, { services: cards.map(cardJson) });
    });

    // The SDK's card handler (ETag, 304, Cache-Control, v0.3 shape for old clients) serves one
    // card per handler; cards change with the registry, so each card request gets its own.
    // Operators add and remove remote A2A agents at run time: the gRPC AdminService's permission.
    const admin = express.Router();
    admin.use((req, res, next) => {
      const { identity } = this.call(req);
      const decision = deps.auth.authorize({ identity, action: 'admin', resource: '*' });
      if (decision.allowed) next();
      else
        res
          .status(403)
          .json({ error: { code: 'GW_PERMISSION_DENIED', message: `"${identity.id}" may not admin "*": ${decision.reason}` } });
    });
    admin.use(express.json({ limit: 64 * 1024 }));
    admin.get('/remote-agents', (_req, res) => {
      res.json({ remoteAgents: deps.remotes.list() });
    });
    admin.post('/remote-agents', (req, res, next) => {
      deps.remotes.add(req.body).then((added) => res.status(201).json(added), next);
    });
    admin.delete('/remote-agents/:service', (req, res, next) => {
      deps.remotes
        .remove(String(req.params.service))
        .then(
          (removed) =>
            removed
              ? res.status(204).end()
              : res
                  .status(404)
                  .json({ error: { code: 'GW_NOT_FOUND', message: `no remote agent for service "${String(req.params.service)}"` } }),
          next,
        );
    });
    app.use('/admin', admin);

    const cardHandler = (card: AgentCard) =>
      agentCardHandler({ agentCardProvider: async () => card, cache: { maxAge: deps.cardMaxAgeSeconds }, legacyCompat: { enabled: true } });
    const rpc = jsonRpcHandler({
      requestHandler: deps.handler,
      userBuilder: async (req) => {
        const call = this.call(req);
        return new GatewayUser(call.identity, call.target!, call.peer, call.base);
      },
      legacyCompat: { enabled: true },
    });
    const rest = restHandler({
      requestHandler: deps.handler,
      userBuilder: async (req) => {
        const call = this.call(req);
        return new GatewayUser(call.identity, call.target!, call.peer, call.base, 'rest');
      },
      legacyCompat: { enabled: true },
    });
    const target = express.Router({ mergeParams: true });
    // Mounted with `use` so the SDK's card router sees its own root path.
    target.use('/.well-known/agent-card.json', (req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        next();
        return;
      }
      const call = this.call(req);
      const card =
        call.target!.kind === 'agent'
          ? deps.cards.agentCard(call.target!.agentId, call.base)
          : deps.cards.serviceCard(call.target!.service, call.target!.versionRange, call.base);
      if (!card) {
        const name =
          call.target!.kind === 'agent'
            ? `agent "${call.target!.agentId}" is not registered`
            : `service "${call.target!.service}" has no instance`;
        res.status(404).json({ error: { code: 'GW_NOT_FOUND', message: name } });
        return;
      }
      cardHandler(card)(req, res, next);
    });
    target.use(express.json({ limit: deps.maxBodyBytes, type: () => true }));
    target.use('/rest', rest);
    target.use(rpc);
    app.use(
      '/agents/:agentId',
      (req, _res, next) =>
        this.target(
          req,
          { kind: 'agent', agentId: String(req.params.agentId) },
          `agents/${encodeURIComponent(String(req.params.agentId))}/`,
          next,
        ),
      target,
    );
    app.use(
      '/services/:service',
      (req, _res, next) => {
        const range = typeof req.query.version === 'string' ? req.query.version : '';
        const query = range ? `?version=${encodeURIComponent(range)}` : '';
        this.target(
          req,
          { kind: 'service', service: String(req.params.service), versionRange: range },
          `services/${String(req.params.service)}/${query}`,
          next,
        );
      },
      target,
    );
    app.use((req, res) =>
      res.status(404).json({
        error: {
          code: 'GW_NOT_FOUND',
          message: `nothing at ${req.path}; agents are at /agents/<agentId>/, services at /services/<service>/`,
        },
      }),
    );
    app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
      const status =
        (error as { status?: unknown; type?: unknown }).type === 'entity.too.large'
          ? 413
          : (error as { type?: unknown }).type === 'entity.parse.failed'
            ? 400
            : undefined;
      if (status === 413) {
        this.deps.onRefused('limit', 'maxBodyBytes', req.socket.remoteAddress ?? '');
        res.status(413).json({
          jsonrpc: '2.0',
          id: null,
          error: {
            code: -32600,
            message: `GW_RESOURCE_EXHAUSTED: the request body is larger than maxBodyBytes (${deps.maxBodyBytes} bytes)`,
          },
        });
      } else if (status === 400) {
        res
          .status(400)
          .json({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'GW_INVALID_ARGUMENT: the request body is not valid JSON' } });
      } else {
        const failure = toGatewayError(error);
        if (!res.headersSent) res.status(httpStatusOf(failure)).json(jsonRpcRefusal(failure));
      }
    });
  }

  get inFlightCalls(): number {
    return this.inFlight;
  }

  async listen(
    host: string,
    port: number,
    tls: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert: boolean } | undefined,
  ): Promise<AddressInfo> {
    const server = tls
      ? https.createServer(
          { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.ca !== undefined, rejectUnauthorized: tls.requireClientCert },
          this.app,
        )
      : http.createServer(this.app);
    // Slow clients cannot hold sockets open forever; SSE streams are bounded by maxStreams.
    server.headersTimeout = 30_000;
    server.requestTimeout = 0;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(new GatewayError('GW_PLUGIN_START_FAILED', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error })),
      );
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  /**
   * Draining: SSE streams would hold the drain until its deadline, so they end now (a client
   * re-attaches with SubscribeToTask, here after the restart or on another gateway); blocking
   * calls are left to finish.
   */
  endStreams(): void {
    for (const res of this.open) {
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.end();
    }
  }

  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
  }

  /** A catalogue or the gateway card as JSON, with ETag (304 on a match) and Cache-Control. */
  private serveCatalogue(req: Request, res: Response, value: unknown): void {
    const body = JSON.stringify(value);
    const etag = etagOf(body);
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', `public, max-age=${this.deps.cardMaxAgeSeconds}`);
    res.setHeader('Vary', 'Authorization, A2A-Version');
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(body);
  }

  private call(req: Request): CallInfo {
    const call = this.calls.get(req);
    if (!call) throw new GatewayError('GW_INTERNAL', 'an A2A request skipped authentication');
    return call;
  }

  private target(req: Request, target: A2aTarget, path: string, next: NextFunction): void {
    const call = this.call(req);
    call.target = target;
    call.base = `${call.base}${path}`;
    next();
  }

  /** Draining gate, authentication and the per-identity bound, before any route. */
  private admit(req: Request, res: Response, next: NextFunction): void {
    const peer = `${req.socket.remoteFamily === 'IPv6' ? 'ipv6' : 'ipv4'}:${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    const refuse = (error: GatewayError): void => {
      const status = httpStatusOf(error);
      if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(status).json(jsonRpcRefusal(error));
    };
    if (this.deps.draining()) {
      refuse(new GatewayError('GW_DRAINING', 'the gateway is draining; retry on another gateway or after restart'));
      return;
    }
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') metadata[key] = value;
    const request = { metadata, peer, peerCertificates: peerCertificates(req), method: `/a2a${req.path}` };
    this.deps.auth.authenticate(request).then(
      (identity) => {
        let release: () => void;
        try {
          release = this.deps.limits.enterRequest(identity.id);
        } catch (error) {
          // A2aLimits counted it already.
          refuse(toGatewayError(error));
          return;
        }
        this.inFlight++;
        this.open.add(res);
        res.once('close', () => {
          release();
          this.open.delete(res);
          this.inFlight--;
          if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
        const protocol = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
        const base = this.deps.publicUrl
          ? `${this.deps.publicUrl.replace(/\/+$/, '')}/`
          : `${protocol}://${req.headers.host ?? 'localhost'}/`;
        const call: CallInfo = { identity, base, peer };
        this.calls.set(req, call);
        next();
      },
      (error: unknown) => refuse(toGatewayError(error)),
    );
  }
}

/** `?capability=a&capability=b&tag=k:v` */
function filterOf(req: Request): { capabilities: string[]; tags: Record<string, string> } {
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : []);
  const tags: Record<string, string> = {};
  for (const tag of list(req.query.tag)) {
    const at = tag.indexOf(':');
    if (at > 0) tags[tag.slice(0, at)] = tag.slice(at + 1);
  }
  return { capabilities: list(req.query.capability), tags };
}

function peerCertificates(req: Request): Uint8Array[] | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted || typeof socket.getPeerCertificate !== 'function') return undefined;
  let certificate = socket.getPeerCertificate(true);
  if (!certificate || !certificate.raw) return undefined;
  const chain: Uint8Array[] = [];
  while (certificate && certificate.raw && chain.length < 10) {
    chain.push(certificate.raw);
    const issuer = certificate.issuerCertificate;
    if (!issuer || issuer === certificate) break;
    certificate = issuer;
  }
  return chain;
}

export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}
