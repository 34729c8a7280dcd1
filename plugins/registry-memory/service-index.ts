/**
 * Discovery index: service → version → agents. Matching a semver range is done once per distinct
 * version, not once per agent, so a query over thousands of instances of a few versions only does
 * cheap state/tag/capability checks per agent. Arrays with swap-remove keep add and remove O(1).
 */
import type { SemVer, Range } from 'semver';
import type { AgentRecord } from '../../kernel';
import type { AgentEntry } from './agent-entry';

interface VersionBucket {
  readonly semver: SemVer;
  readonly agents: AgentEntry[];
}

export interface CompiledQuery {
  service?: string;
  range?: Range;
  tagKeys: readonly string[];
  tags: Readonly<Record<string, string>>;
  capabilities: readonly string[];
  routableOnly: boolean;
  limit: number;
}

const NO_BUCKETS: ReadonlyMap<string, VersionBucket> = new Map();

export class ServiceIndex {
  private readonly services = new Map<string, Map<string, VersionBucket>>();

  add(entry: AgentEntry): void {
    const { service, version } = entry.record;
    let versions = this.services.get(service);
    if (!versions) {
      versions = new Map();
      this.services.set(service, versions);
    }
    let bucket = versions.get(version);
    if (!bucket) {
      bucket = { semver: entry.semver, agents: [] };
      versions.set(version, bucket);
    }
    entry.position = bucket.agents.length;
    bucket.agents.push(entry);
  }

  remove(entry: AgentEntry): void {
    const { service, version } = entry.record;
    const versions = this.services.get(service);
    const bucket = versions?.get(version);
    if (!versions || !bucket || bucket.agents[entry.position] !== entry) return;
    const last = bucket.agents.pop()!;
    if (last !== entry) {
      bucket.agents[entry.position] = last;
      last.position = entry.position;
    }
    entry.position = -1;
    if (bucket.agents.length > 0) return;
    versions.delete(version);
    if (versions.size === 0) this.services.delete(service);
  }

  serviceCount(): number {
    return this.services.size;
  }

  find(query: CompiledQuery): AgentRecord[] {
    const found: AgentRecord[] = [];
    if (query.limit <= 0) return found;
    if (query.service !== undefined) {
      this.collect(this.services.get(query.service) ?? NO_BUCKETS, query, found);
      return found;
    }
    for (const versions of this.services.values()) {
      if (this.collect(versions, query, found)) break;
    }
    return found;
  }

  /** Appends matches to `found`; true when the limit is reached. */
  private collect(versions: ReadonlyMap<string, VersionBucket>, query: CompiledQuery, found: AgentRecord[]): boolean {
    for (const bucket of versions.values()) {
      if (query.range !== undefined && !query.range.test(bucket.semver)) continue;
      const agents = bucket.agents;
      for (let i = 0; i < agents.length; i++) {
        const entry = agents[i];
        if (!matches(entry, query)) continue;
        found.push(entry.record);
        if (found.length >= query.limit) return true;
      }
    }
    return false;
  }
}

function matches(entry: AgentEntry, query: CompiledQuery): boolean {
  const record = entry.record;
  if (query.routableOnly && !isRoutable(record)) return false;
  for (let i = 0; i < query.tagKeys.length; i++) {
    const key = query.tagKeys[i];
    if (record.tags[key] !== query.tags[key]) return false;
  }
  for (let i = 0; i < query.capabilities.length; i++) {
    if (!entry.capabilities.has(query.capabilities[i])) return false;
  }
  return true;
}

/** What the router may pick: running, and not known to be degraded or unhealthy. */
export function isRoutable(record: Readonly<AgentRecord>): boolean {
  return record.state === 'running' && (record.health === 'healthy' || record.health === 'unknown');
}
