/** How long and how hard the suite runs: full (the published table) or quick (CI smoke test). */
export interface BenchSettings {
  quick: boolean;
  /** Measurement windows per throughput scenario; the table shows their median. */
  runs: number;
  windowMs: number;
  warmupMs: number;
  /** Agents registered before discovery/status queries are measured. */
  registrations: number;
  queries: number;
  durableMessages: number;
  /** Payload bytes left pending for a stalled agent in the durable-backlog scenario. */
  durableBacklogBytes: number;
  connections: number;
  /** Processes the connections are spread over (each holds connections / holders). */
  holderProcesses: number;
  unaryConcurrency: number;
  pacedRate: number;
  pacedMs: number;
  fanOut: number;
  /** Write V8 CPU profiles of the gateway process here (`--profile`). */
  profileDir?: string;
  /** Only run scenarios whose id contains one of these. */
  only?: string[];
  /**
   * Extra plugin options for every gateway started (`--gateway-options '{"router":{...}}'`),
   * deep-merged over what scenarios set: for trying a tuning before proposing it.
   */
  gatewayOverrides?: Record<string, unknown>;
}

export function benchSettings(quick: boolean): BenchSettings {
  return quick
    ? {
        quick,
        runs: 1,
        windowMs: 500,
        warmupMs: 300,
        registrations: 500,
        queries: 300,
        durableMessages: 2_000,
        durableBacklogBytes: 64 * 1024 * 1024,
        connections: 200,
        holderProcesses: 2,
        unaryConcurrency: 32,
        pacedRate: 2_000,
        pacedMs: 500,
        fanOut: 100,
      }
    : {
        quick,
        runs: 5,
        windowMs: 2_000,
        warmupMs: 1_500,
        registrations: 10_000,
        queries: 5_000,
        durableMessages: 100_000,
        durableBacklogBytes: 2 * 1024 * 1024 * 1024,
        connections: 10_000,
        holderProcesses: 4,
        unaryConcurrency: 32,
        pacedRate: 2_000,
        pacedMs: 5_000,
        fanOut: 100,
      };
}
