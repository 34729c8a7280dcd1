/**
 * Pre-bound metric children for label values that come from free text (drop reasons, auth failure
 * reasons). The first `limit` distinct values get their own series; later ones share `other`, so a
 * chatty plugin cannot blow up the scrape. Lookups are one Map get: nothing allocated per event.
 */
export const OTHER_LABEL = 'other';

export class BoundedChildren<Child> {
  private readonly children = new Map<string, Child>();
  private overflowChild?: Child;
  private overflowed = false;

  constructor(
    private readonly limit: number,
    private readonly bind: (value: string) => Child,
    /** Called once, the first time a value is folded into `other`. */
    private readonly onOverflow: (value: string) => void,
  ) {}

  get(value: string): Child {
    const existing = this.children.get(value);
    if (existing !== undefined) return existing;
    if (this.children.size < this.limit) {
      const child = this.bind(value);
      this.children.set(value, child);
      return child;
    }
    if (!this.overflowed) {
      this.overflowed = true;
      this.onOverflow(value);
    }
    this.overflowChild ??= this.bind(OTHER_LABEL);
    return this.overflowChild;
  }
}

/**
 * Two-level cache for two labels (e.g. RPC method and status code) without building string keys.
 * Each level is capped like BoundedChildren: a transport reporting unknown method names cannot
 * grow it past `limit` values per level.
 */
export class PairedChildren<Child> {
  private readonly byFirst = new Map<string, Map<string, Child>>();
  private overflowed = false;

  constructor(
    private readonly limit: number,
    private readonly bind: (first: string, second: string) => Child,
    private readonly onOverflow: (value: string) => void,
  ) {}

  get(first: string, second: string): Child {
    let inner = this.byFirst.get(first);
    if (inner === undefined) {
      if (this.byFirst.size >= this.limit) return this.folded(first, OTHER_LABEL, second);
      inner = new Map();
      this.byFirst.set(first, inner);
    }
    let child = inner.get(second);
    if (child === undefined) {
      if (inner.size >= this.limit) return this.folded(second, first, OTHER_LABEL);
      child = this.bind(first, second);
      inner.set(second, child);
    }
    return child;
  }

  private folded(value: string, first: string, second: string): Child {
    if (!this.overflowed) {
      this.overflowed = true;
      this.onOverflow(value);
    }
    let inner = this.byFirst.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.byFirst.set(first, inner);
    }
    let child = inner.get(second);
    if (child === undefined) {
      child = this.bind(first, second);
      inner.set(second, child);
    }
    return child;
  }
}
