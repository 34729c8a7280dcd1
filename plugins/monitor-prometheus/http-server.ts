/**
 * The monitor's HTTP port: `/metrics` (Prometheus), `/healthz` (alive), `/readyz` (every plugin
 * started and not draining), the JSON API and the dashboard. Plain `node:http`: a handful of GET
 * routes do not justify a framework, and probes must keep answering while the gateway drains.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { gatewayError, invalidArgument, toGatewayError, type GatewayError, type GatewayInfo } from '../../kernel';
import type { Logger } from 'pino';
import type { EventJournal } from './event-journal';
import type { LiveFeed } from './live-feed';
import { parseLimit, type StatusSnapshot } from './status-snapshot';
import { DASHBOARD_HTML } from './dashboard-page';

export interface MonitorHttpContext {
  host: string;
  port: number;
  maxConnections: number;
  registry: Registry;
  gateway: GatewayInfo;
  snapshot: StatusSnapshot;
  journal: EventJournal;
  feed: LiveFeed | undefined;
  logger: Logger;
}

const HTTP_STATUS_BY_CODE: Partial<Record<string, number>> = {
  GW_INVALID_ARGUMENT: 400,
  GW_NOT_FOUND: 404,
  GW_RESOURCE_EXHAUSTED: 503,
  GW_UNAVAILABLE: 503,
  GW_UNIMPLEMENTED: 405,
};

export class MonitorHttpServer {
  private readonly server: http.Server;
  private boundAddress?: string;

  constructor(private readonly context: MonitorHttpContext) {
    this.server = http.createServer((request, response) => this.handle(request, response));
    this.server.maxConnections = context.maxConnections;
    // Probes and scrapes are short; idle keep-alive sockets should not pin the drain.
    this.server.keepAliveTimeout = 5000;
  }

  address(): string | undefined {
    return this.boundAddress;
  }

  async listen(): Promise<string> {
    const { host, port } = this.context;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const bound = this.server.address() as AddressInfo;
    const hostPart = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    this.boundAddress = `http://${hostPart}:${bound.port}`;
    return this.boundAddress;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    void this.route(request, response).catch((error: unknown) => this.fail(response, toGatewayError(error)));
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://monitor.invalid');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      throw gatewayError('GW_UNIMPLEMENTED', `method: ${request.method} is not supported on the monitor port; use GET`, {
        field: 'method',
      });
    }
    const { snapshot, gateway, journal } = this.context;
    switch (url.pathname) {
      case '/metrics': {
        const body = await this.context.registry.metrics();
        return this.send(response, 200, this.context.registry.contentType, body);
      }
      case '/healthz':
        return this.json(response, 200, { status: 'alive', stage: gateway.stage() });
      case '/readyz': {
        const stage = gateway.stage();
        const ready = stage === 'ready';
        return this.json(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', stage });
      }
      case '/api/status':
        return this.json(response, 200, snapshot.status());
      case '/api/agents':
        return this.json(response, 200, { agents: snapshot.agents(snapshot.parseAgentQuery(url.searchParams)) });
      case '/api/targets': {
        const limit = url.searchParams.has('limit') ? parseLimit('limit', url.searchParams.get('limit')!, 1000) : 50;
        return this.json(response, 200, { targets: snapshot.traffic.targets(limit), throughput: snapshot.traffic.throughput() });
      }
      case '/api/events': {
        const after = url.searchParams.get('after');
        if (after !== null && !/^[0-9]{1,15}$/.test(after))
          throw invalidArgument('after', `must be a non-negative integer (got ${JSON.stringify(after)})`);
        const limit = url.searchParams.has('limit')
          ? parseLimit('limit', url.searchParams.get('limit')!, journal.capacity)
          : journal.capacity;
        return this.json(response, 200, { events: journal.since(after === null ? 0 : Number(after), limit) });
      }
      case '/api/stream': {
        if (!this.context.feed)
          throw gatewayError('GW_NOT_FOUND', 'path: the dashboard is disabled (dashboard.enabled: false)', { field: 'path' });
        if (!this.context.feed.accept(request, response)) {
          throw gatewayError('GW_RESOURCE_EXHAUSTED', 'path: too many live dashboard clients; raise dashboard.maxStreamClients', {
            field: 'path',
          });
        }
        return;
      }
      case '/':
      case '/dashboard':
        if (!this.context.feed)
          throw gatewayError('GW_NOT_FOUND', 'path: the dashboard is disabled (dashboard.enabled: false)', { field: 'path' });
        return this.send(response, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
      default:
        throw gatewayError(
          'GW_NOT_FOUND',
          `path: no such monitor endpoint ${JSON.stringify(url.pathname)} (try /metrics, /healthz, /readyz, /api/status, /api/agents, /)`,
          {
            field: 'path',
          },
        );
    }
  }

  private json(response: ServerResponse, status: number, value: unknown): void {
    this.send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  private send(response: ServerResponse, status: number, contentType: string, body: string): void {
    response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    response.end(response.req.method === 'HEAD' ? undefined : body);
  }

  private fail(response: ServerResponse, error: GatewayError): void {
    if (error.code === 'GW_INTERNAL') this.context.logger.error({ err: error }, 'monitor request failed');
    if (response.headersSent) {
      response.destroy();
      return;
    }
    this.json(response, HTTP_STATUS_BY_CODE[error.code] ?? 500, {
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
    });
  }
}
