/**
 * A fixed-size ring of (time, value) samples in typed arrays: recording a sample allocates nothing,
 * and memory per agent is known up front. When full, the oldest sample is overwritten, so under
 * heavy traffic a window describes the newest `capacity` samples.
 */
export class SampleRing {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  push(time: number, value: number): void {
    this.times[this.next] = time;
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
  }

  get size(): number {
    return this.count;
  }

  /** Number of samples at or after `since` and the sum of their values. */
  countAndSumSince(since: number, out: { count: number; sum: number }): void {
    out.count = 0;
    out.sum = 0;
    for (let i = 0, index = this.newestIndex(); i < this.count; i += 1, index = this.previous(index)) {
      if (this.times[index] < since) break;
      out.count += 1;
      out.sum += this.values[index];
    }
  }

  /** Copies the values at or after `since` into `scratch` (newest first); returns how many. */
  valuesSince(since: number, scratch: Float64Array): number {
    let copied = 0;
    for (let i = 0, index = this.newestIndex(); i < this.count && copied < scratch.length; i += 1, index = this.previous(index)) {
      if (this.times[index] < since) break;
      scratch[copied] = this.values[index]!;
      copied += 1;
    }
    return copied;
  }

  /** Newest value minus the smallest value in the window (0 with fewer than two samples). */
  growthSince(since: number): { growth: number; samples: number } {
    if (this.count === 0) return { growth: 0, samples: 0 };
    const newestIndex = this.newestIndex();
    const newest = this.values[newestIndex];
    let smallest = newest;
    let samples = 0;
    for (let i = 0, index = newestIndex; i < this.count; i += 1, index = this.previous(index)) {
      if (this.times[index] < since) break;
      samples += 1;
      if (this.values[index] < smallest) smallest = this.values[index]!;
    }
    return { growth: samples < 2 ? 0 : newest - smallest, samples };
  }

  newestTime(): number {
    return this.count === 0 ? 0 : this.times[this.newestIndex()];
  }

  private newestIndex(): number {
    return (this.next - 1 + this.capacity) % this.capacity;
  }

  private previous(index: number): number {
    return (index - 1 + this.capacity) % this.capacity;
  }
}

/** p-quantile (0..1) of the first `length` values of `values`, sorting them in place. */
export function quantile(values: Float64Array, length: number, q: number): number {
  if (length === 0) return 0;
  const view = values.subarray(0, length).sort();
  const rank = Math.min(length - 1, Math.max(0, Math.ceil(q * length) - 1));
  return view[rank];
}
