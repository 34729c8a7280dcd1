/**
 * Parsed semver ranges for discovery, bounded: the router asks for the same few ranges over and
 * over, but the ranges come from clients, so the cache evicts the least recently used one at its
 * size limit instead of growing.
 */
import { LRUCache } from 'lru-cache';
import { Range } from 'semver';
import { invalidArgument } from '../../kernel';

export class RangeCache {
  private readonly cache: LRUCache<string, Range>;

  constructor(max: number, onEvict: () => void) {
    this.cache = new LRUCache<string, Range>({
      max,
      dispose: (_range, _key, reason) => {
        if (reason === 'evict') onEvict();
      },
    });
  }

  /** The parsed range, or GW_INVALID_ARGUMENT naming `version_range`. */
  get(text: string): Range {
    const cached = this.cache.get(text);
    if (cached) return cached;
    let range: Range;
    try {
      range = new Range(text);
    } catch {
      throw invalidArgument('version_range', `"${text.slice(0, 64)}" is not a semver range (expected e.g. "^1.2.0" or ">=2 <3")`);
    }
    this.cache.set(text, range);
    return range;
  }

  size(): number {
    return this.cache.size;
  }
}
