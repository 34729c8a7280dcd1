import type { AgentHealth, AgentRecord } from '../../kernel';
import type { Range, SemVer } from 'semver';
import type { WheelEntry } from './lease-wheel';

/**
 * The registry's private bookkeeping for one agent. `record` is a frozen snapshot replaced on every
 * change (copy-on-write), so records handed to callers and cached by the router never change under
 * them, and discovery can return them without copying.
 */
export interface AgentEntry extends WheelEntry {
  record: Readonly<AgentRecord>;
  readonly semver: SemVer;
  readonly capabilities: ReadonlySet<string>;
  /** Its version bucket in the discovery index while indexed (range checks from a tag's agents). */
  bucket: VersionBucket | undefined;
  /** Position in its version bucket's array, for O(1) removal. */
  position: number;
  /** `leased` until the lease lapses, then `lapsed` until renewed or removed after the grace period. */
  phase: 'leased' | 'lapsed';
  /** Health before the lapse marked it unhealthy, restored when the agent renews in time. */
  healthBeforeLapse?: AgentHealth;
  removed: boolean;
}

/** One version of one service in the discovery index (service-index.ts). */
export interface VersionBucket {
  readonly semver: SemVer;
  readonly agents: AgentEntry[];
  /** Creation order: the order a scan visits buckets in (Map iteration order). */
  readonly seq: number;
  /** One-entry memo of `range.test(semver)` for the last range asked. */
  lastRange: Range | undefined;
  lastMatch: boolean;
}
