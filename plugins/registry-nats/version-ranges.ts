/**
 * Parsed semver ranges for discovery, bounded by `rangeCacheSize`: ranges come from clients, so
 * at the limit the oldest parsed one is evicted instead of the map growing. A range that does not
 * parse is remembered too, so a client repeating it costs no second parse.
 */
import semver from 'semver';
import { invalidArgument } from '../../kernel';

const MAX_RANGE_LENGTH = 256;

export class VersionRanges {
  private readonly ranges = new Map<string, semver.Range | null>();

  constructor(
    private readonly maxSize: number,
    private readonly evicted: () => void,
  ) {}

  /** The parsed range, undefined for none, or GW_INVALID_ARGUMENT naming `version_range`. */
  parse(versionRange: string | undefined): semver.Range | undefined {
    if (versionRange === undefined || versionRange === '') return undefined;
    if (typeof versionRange !== 'string') throw invalidArgument('version_range', 'must be a string');
    if (versionRange.length > MAX_RANGE_LENGTH)
      throw invalidArgument('version_range', `is ${versionRange.length} characters long; the limit is ${MAX_RANGE_LENGTH}`);
    let parsed = this.ranges.get(versionRange);
    if (parsed === undefined) {
      try {
        parsed = new semver.Range(versionRange);
      } catch {
        parsed = null;
      }
      if (this.ranges.size >= this.maxSize) {
        this.ranges.delete(this.ranges.keys().next().value!);
        this.evicted();
      }
      this.ranges.set(versionRange, parsed);
    }
    if (parsed === null) throw invalidArgument('version_range', `"${versionRange.slice(0, 64)}" is not a semver range`);
    return parsed;
  }
}
