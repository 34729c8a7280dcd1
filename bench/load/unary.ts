/**
 * Unary calls (SendMessage, RegisterAgent, Discover, GetAgentStatus) from pre-encoded requests,
 * closed-loop (N calls always outstanding: throughput) or paced (a fixed rate: latency).
 */
import { LatencyRecorder, nowMs, sleep, type LatencySummary } from '../stats';
import { encodeAgentInfo, encodeDiscover, encodeMessage, encodeStatusRequest } from '../wire';
import { frame, GrpcH2Connection } from './h2-grpc';

/** What a run of unary calls reports back to the harness. */
export interface DriveResult {
  calls: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  latency: LatencySummary;
}

export type UnaryMethod = 'sendMessage' | 'registerAgent' | 'discover' | 'getAgentStatus';

export interface UnaryConfig {
  address: string;
  /** Topic SendMessage publishes to. */
  topic: string;
  /** Agents RegisterAgent registers (ids `bench-agent-<n>`), spread over `services` services. */
  agents: number;
  services: number;
  /** Connections calls are spread over. */
  connections?: number;
  /** When set, SendMessage goes point-to-point to agents 0..n-1 in turn instead of to `topic`. */
  targetAgents?: number;
}

const RPC_NAMES: Record<UnaryMethod, string> = {
  sendMessage: 'SendMessage',
  registerAgent: 'RegisterAgent',
  discover: 'Discover',
  getAgentStatus: 'GetAgentStatus',
};

export const agentIdOf = (index: number) => `bench-agent-${index}`;
export const serviceOf = (index: number) => `bench-svc-${index}`;

export async function createUnaryLoad(config: UnaryConfig) {
  const connections: GrpcH2Connection[] = [];
  for (let i = 0; i < (config.connections ?? 1); i++) connections.push(new GrpcH2Connection(config.address));
  await Promise.all(connections.map((c) => c.connected));

  const requestsFor = (method: UnaryMethod): Buffer[] => encodedRequests(method).map(frame);
  const encodedRequests = (method: UnaryMethod): Buffer[] => {
    switch (method) {
      case 'sendMessage':
        return config.targetAgents
          ? Array.from({ length: config.targetAgents }, (_, i) => encodeMessage({ agentId: agentIdOf(i) }))
          : [encodeMessage({ topic: config.topic })];
      case 'registerAgent':
        return Array.from({ length: config.agents }, (_, i) =>
          encodeAgentInfo({
            agentId: agentIdOf(i),
            service: serviceOf(i % config.services),
            version: `1.${i % 3}.0`,
            // Zones cycle within each service (agent i is instance i / services of its service), so
            // Discover's service + zone query finds 10 of the service's matches, as a real one would;
            // `i % 4` gave all of a service's instances one zone (3 queries in 4 matched nothing).
            tags: { zone: `z${Math.floor(i / config.services) % 4}` },
            capabilities: ['summarize'],
            // Long enough that no lease expires during the run.
            leaseTtlMs: 300_000,
          }),
        );
      case 'discover':
        return Array.from({ length: config.services }, (_, i) =>
          encodeDiscover({ service: serviceOf(i), versionRange: '^1.0.0', tags: { zone: 'z1' }, limit: 10 }),
        );
      case 'getAgentStatus':
        return Array.from({ length: Math.min(config.agents, 10_000) }, (_, i) => encodeStatusRequest(agentIdOf(i)));
    }
  };

  /** Runs calls until `shouldIssue` says stop, at most `concurrency` at once. */
  async function drive(
    method: UnaryMethod,
    concurrency: number,
    shouldIssue: (issued: number) => boolean,
    pacing?: (issued: number) => number,
  ) {
    const requests = requestsFor(method);
    const latency = new LatencyRecorder();
    let issued = 0;
    let completed = 0;
    let errors = 0;
    let firstError: string | undefined;
    let inFlight = 0;
    const began = nowMs();
    await new Promise<void>((resolve) => {
      let wake: (() => void) | undefined;
      const issue = () => {
        const index = issued++;
        inFlight++;
        const sentAt = nowMs();
        const connection = connections[index % connections.length];
        connection.unary(RPC_NAMES[method], requests[index % requests.length], (error) => {
          latency.record(nowMs() - sentAt);
          inFlight--;
          completed++;
          if (error) {
            errors++;
            firstError ??= error.message;
          }
          wake?.();
        });
      };
      void (async () => {
        for (;;) {
          while (inFlight < concurrency && shouldIssue(issued) && (!pacing || pacing(issued) <= nowMs() - began)) issue();
          if (!shouldIssue(issued) && inFlight === 0) break;
          // Paced runs sleep until the next call is due; closed loops wait for a completion.
          await new Promise<void>((r) => {
            wake = r;
            if (pacing && shouldIssue(issued) && inFlight < concurrency) setTimeout(r, 1);
          });
          wake = undefined;
        }
        resolve();
      })();
    });
    const elapsedMs = nowMs() - began;
    return { calls: completed, errors, firstError, elapsedMs, callsPerSecond: (completed / elapsedMs) * 1000, latency: latency.summary() };
  }

  return {
    closedLoop(args: { method: UnaryMethod; concurrency: number; durationMs: number }) {
      const stopAt = nowMs() + args.durationMs;
      return drive(args.method, args.concurrency, () => nowMs() < stopAt);
    },
    paced(args: { method: UnaryMethod; rate: number; durationMs: number }) {
      const total = Math.round((args.rate * args.durationMs) / 1000);
      const interval = 1000 / args.rate;
      return drive(
        args.method,
        1_000,
        (issued) => issued < total,
        (issued) => issued * interval,
      );
    },
    sequence(args: { method: UnaryMethod; count: number; concurrency?: number }) {
      return drive(args.method, args.concurrency ?? 1, (issued) => issued < args.count);
    },
    async stop() {
      await sleep(0);
      for (const connection of connections) connection.close();
      return true;
    },
  };
}
