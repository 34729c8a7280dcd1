/**
 * Discovery over the cluster view: the visible agents of one service (or all), filtered by
 * version range, tags, capabilities and routability, capped by `maxDiscoverResults`.
 */
import { invalidArgument, type AgentRecord, type DiscoveryQuery } from '../../kernel';
import type { VersionRanges } from './version-ranges';

export function discoverVisible(
  byService: ReadonlyMap<string, ReadonlySet<{ readonly record: AgentRecord }>>,
  query: DiscoveryQuery,
  limits: { maxDiscoverResults: number; maxTags: number },
  ranges: VersionRanges,
): AgentRecord[] {
  const { service, versionRange, tags, capabilities, routableOnly } = query ?? {};
  const range = ranges.parse(versionRange);
  let limit = limits.maxDiscoverResults;
  if (query?.limit !== undefined && query.limit !== 0) {
    if (!Number.isInteger(query.limit) || query.limit < 0)
      throw invalidArgument('limit', `must be a non-negative integer, got ${String(query.limit)}`);
    limit = Math.min(limit, query.limit);
  }
  const tagKeys = tags ? Object.keys(tags) : [];
  if (tagKeys.length > limits.maxTags) throw invalidArgument('tags', `has ${tagKeys.length} entries; the limit is ${limits.maxTags}`);
  const out: AgentRecord[] = [];
  const scan = (entry: { readonly record: AgentRecord }): boolean => {
    const record = entry.record;
    if (routableOnly && (record.state !== 'running' || record.health === 'degraded' || record.health === 'unhealthy')) return true;
    if (range && !range.test(record.version)) return true;
    for (const key of tagKeys) if (record.tags[key] !== tags![key]) return true;
    if (capabilities) for (const capability of capabilities) if (!record.capabilities.includes(capability)) return true;
    out.push(record);
    return out.length < limit;
  };
  if (service) {
    const set = byService.get(service);
    if (set) for (const entry of set) if (!scan(entry)) break;
  } else {
    outer: for (const set of byService.values()) for (const entry of set) if (!scan(entry)) break outer;
  }
  return out;
}
