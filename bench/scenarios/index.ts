/** Every scenario of the suite, in the order they run. */
import type { ScenarioScope } from '../harness';
import type { ResultRow } from '../result';
import { connectionRows } from './connections';
import { durableRows } from './durable';
import { durableBacklogRows } from './durable-backlog';
import { registryRows } from './registry';
import { relayRows } from './relay';
import { unaryRows } from './unary';
import { clusterRows } from './cluster';
import { clusterTopicRows } from './cluster-topic';
import { a2aRows } from './a2a';
import { instancesRows, steadyLatencyRows } from './seed-claims';

export interface Scenario {
  id: string;
  title: string;
  run(scope: ScenarioScope): Promise<ResultRow[]>;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'relay-stream',
    title: 'Routed messages, publisher stream → subscriber stream, one message per frame',
    run: (scope) =>
      relayRows(
        scope,
        {
          id: 'relay-stream',
          topic: 'bench.relay',
          batchSize: 1,
          window: 64,
          subscribers: 1,
          subscriberProcesses: 1,
          connectionsPerProcess: 1,
        },
        {
          metric: 'routed msg/s, 1 message per frame',
          target: '≥ 40,000 msg/s and ≥ 0.85× raw',
          pass: (gateway, ratio) => gateway.value >= 40_000 && (ratio ?? 0) >= 0.85,
        },
      ),
  },
  {
    id: 'relay-batched',
    title: 'Routed messages, batched (100 messages per frame)',
    run: (scope) =>
      relayRows(
        scope,
        {
          id: 'relay-batched',
          topic: 'bench.batched',
          batchSize: 100,
          window: 8,
          subscribers: 1,
          subscriberProcesses: 1,
          connectionsPerProcess: 1,
        },
        {
          metric: 'routed msg/s, 100 messages per frame',
          target: '≥ 400,000 msg/s and ≥ 0.8× raw',
          pass: (gateway, ratio) => gateway.value >= 400_000 && (ratio ?? 0) >= 0.8,
        },
      ),
  },
  {
    id: 'fan-out',
    title: 'Fan-out 1 → 100 subscribers, one message per frame',
    run: (scope) =>
      relayRows(
        scope,
        {
          id: 'fan-out',
          topic: 'bench.fanout',
          batchSize: 1,
          window: 64,
          subscribers: scope.settings.fanOut,
          subscriberProcesses: 2,
          connectionsPerProcess: 10,
        },
        {
          metric: `deliveries/s, 1 → ${scope.settings.fanOut} subscribers`,
          target: '≥ 110,000 deliveries/s',
          pass: (gateway) => gateway.value >= 110_000,
        },
      ),
  },
  { id: 'unary-send', title: 'Unary SendMessage round trip', run: unaryRows },
  { id: 'registry', title: 'RegisterAgent, Discover and GetAgentStatus latency', run: registryRows },
  { id: 'durable', title: 'Durable messages: synced throughput and recovery after kill -9', run: durableRows },
  {
    id: 'durable-backlog',
    title: 'Durable backlog on disk: gateway memory with 0 to 2 GiB pending, restart after kill -9',
    run: durableBacklogRows,
  },
  { id: 'connections', title: 'Concurrent connections with open Subscribe streams', run: connectionRows },
  { id: 'a2a-send', title: 'A2A SendMessage round trip: gateway vs the @a2a-js/sdk server alone', run: a2aRows },
  {
    id: 'instances',
    title: 'Seed claim: 1,000+ registered instances, each with an open Subscribe stream, while traffic flows',
    run: instancesRows,
  },
  { id: 'steady-latency', title: 'Seed claim: register / send / status latency under a steady 1,000 calls/s', run: steadyLatencyRows },
  { id: 'cluster', title: 'Cross-gateway messaging on NATS JetStream (2 gateways)', run: clusterRows },
  {
    id: 'cluster-topic',
    title: 'Topic pub/sub across 2 gateways on NATS vs raw nats.js on the same NATS',
    run: clusterTopicRows,
  },
];
