/**
 * Live dashboard updates over Server-Sent Events. One JSON payload is built per tick and written to
 * every client, and only when someone is listening. Clients are capped (`maxClients`, refused with
 * 503 beyond it) and a client that stops reading is disconnected once its unsent output passes
 * `maxBufferBytes`, so a stalled browser tab cannot make the gateway buffer without end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayHooks } from '../../kernel';
import type { EventJournal } from './event-journal';
import type { StatusSnapshot } from './status-snapshot';

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private lastSentSeq = 0;

  constructor(
    private readonly snapshot: StatusSnapshot,
    private readonly journal: EventJournal,
    private readonly limits: { maxClients: number; maxBufferBytes: number; maxAgentRows: number; maxTargets: number },
    private readonly hooks: GatewayHooks,
    private readonly pluginName: string,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Returns false when the client was refused because the cap is reached. */
  accept(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.clients.size >= this.limits.maxClients) {
      this.hooks.limitReached.call({
        limit: 'monitor.dashboard.maxStreamClients',
        policy: 'reject',
        plugin: this.pluginName,
        detail: `${this.limits.maxClients} live clients already connected`,
      });
      return false;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.clients.add(response);
    request.on('close', () => this.clients.delete(response));
    // A newcomer gets everything it needs to draw the page at once: history, all recent events.
    response.write(
      `retry: 2000\nevent: snapshot\ndata: ${JSON.stringify({
        ...this.payload(this.journal.since(0)),
        history: this.snapshot.traffic.throughput(),
      })}\n\n`,
    );
    return true;
  }

  /** Pushes the current state to every client; called once per tick after rates were updated. */
  broadcast(): void {
    const events = this.journal.since(this.lastSentSeq);
    this.lastSentSeq = this.journal.lastSeq;
    if (this.clients.size === 0) return;
    const frame = `event: update\ndata: ${JSON.stringify(this.payload(events))}\n\n`;
    for (const client of this.clients) {
      if (client.writableLength > this.limits.maxBufferBytes) {
        this.hooks.limitReached.call({
          limit: 'monitor.dashboard.maxStreamBufferBytes',
          policy: 'disconnect',
          plugin: this.pluginName,
          detail: 'a live client stopped reading',
        });
        this.clients.delete(client);
        client.destroy();
        continue;
      }
      client.write(frame);
    }
  }

  closeAll(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private payload(events: unknown[]) {
    const throughput = this.snapshot.traffic.throughput();
    return {
      status: this.snapshot.status(),
      agents: this.snapshot.agents({ limit: this.limits.maxAgentRows }),
      targets: this.snapshot.traffic.targets(this.limits.maxTargets),
      point: throughput[throughput.length - 1],
      events,
    };
  }
}
