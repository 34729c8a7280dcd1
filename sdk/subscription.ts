/**
 * A subscription as an async iterator: events from a Subscribe stream are queued (bounded) until
 * the application takes them. When the queue is full the stream is paused, so HTTP/2 flow control
 * slows the gateway (which then batches or applies its overflow policy) instead of the SDK
 * buffering without limit.
 */
export class Subscription<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiting?: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };
  private done = false;
  private failure?: unknown;
  private paused = false;

  constructor(
    private readonly maxBuffered: number,
    private readonly flow: { pause(): void; resume(): void; close(): void },
  ) {}

  /** Events waiting to be taken. */
  get buffered(): number {
    return this.queue.length;
  }

  get isClosed(): boolean {
    return this.done;
  }

  push(item: T): void {
    if (this.done) return;
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting.resolve({ value: item, done: false });
      return;
    }
    this.queue.push(item);
    if (!this.paused && this.queue.length >= this.maxBuffered) {
      this.paused = true;
      this.flow.pause();
    }
  }

  /** Ends the iteration with an error (after the queued items are taken). */
  fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    this.finish();
  }

  /** Ends the iteration (after the queued items are taken). */
  end(): void {
    if (this.done) return;
    this.finish();
  }

  /** Stops the subscription: the stream is closed and iteration ends. */
  close(): void {
    if (this.done) return;
    this.flow.close();
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.queue.shift();
    if (item !== undefined) {
      if (this.paused && this.queue.length <= this.maxBuffered / 2) {
        this.paused = false;
        this.flow.resume();
      }
      return Promise.resolve({ value: item, done: false });
    }
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the stream's failure, as it was received
    if (this.done) return this.failure === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  private finish(): void {
    this.done = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    if (this.failure !== undefined) waiting.reject(this.failure);
    else waiting.resolve({ value: undefined, done: true });
  }
}
