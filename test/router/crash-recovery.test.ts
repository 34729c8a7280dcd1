import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { tempDataDir, waitFor } from './helpers';

interface DeliveryNote {
  id: string;
  tag: string;
  attempt: number;
}

/** A gateway in a child process, driven over IPC. */
class GatewayChild {
  readonly deliveries: DeliveryNote[] = [];
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (reply: { value?: unknown; error?: string }) => void>();
  private seq = 0;
  readonly ready: Promise<void>;
  readonly exited: Promise<NodeJS.Signals | null>;

  constructor(dataDir: string) {
    this.child = fork(path.join(__dirname, '../fixtures/router-crash-gateway.ts'), [dataDir], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (_code, signal) => resolve(signal)));
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`gateway child exited early (${code})`)));
      this.child.on('message', (note: { op: string; seq?: number } & DeliveryNote & { value?: unknown; error?: string }) => {
        if (note.op === 'ready') resolve();
        else if (note.op === 'delivery') this.deliveries.push({ id: note.id, tag: note.tag, attempt: note.attempt });
        else if (note.op === 'result') this.waiting.get(note.seq!)?.(note);
      });
    });
  }

  async call<T>(command: Record<string, unknown>): Promise<T> {
    const seq = ++this.seq;
    const reply = await new Promise<{ value?: unknown; error?: string }>((resolve) => {
      this.waiting.set(seq, resolve);
      this.child.send({ ...command, seq });
    });
    if (reply.error) throw new Error(reply.error);
    return reply.value as T;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

describe('router-embedded: crash safety', () => {
  test('after SIGKILL every stored message is delivered, acked ones are not, and resends are deduplicated', async () => {
    const dataDir = tempDataDir('crash');
    const ids = Array.from({ length: 20 }, (_, i) => `m-${i}`);

    const first = new GatewayChild(dataDir);
    await first.ready;
    await first.call({ op: 'open' });
    for (const id of ids.slice(0, 10)) {
      expect(await first.call({ op: 'send', id, text: id })).toMatchObject({ stored: true, duplicate: false });
    }
    await waitFor(() => first.deliveries.length === 10, 15_000, 'first ten delivered');
    for (const delivery of first.deliveries.slice(0, 5)) {
      expect(await first.call({ op: 'ack', tag: delivery.tag })).toMatchObject({ result: 'acked' });
    }
    // Stored (synced) after the acks were issued, so the acks are on disk too.
    for (const id of ids.slice(10)) {
      expect(await first.call({ op: 'send', id, text: id })).toMatchObject({ stored: true, duplicate: false });
    }
    const acked = new Set(first.deliveries.slice(0, 5).map((d) => d.id));
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = new GatewayChild(dataDir);
    await second.ready;
    try {
      // A publisher that is unsure what got through sends everything again: all are duplicates.
      for (const id of ids) expect(await second.call({ op: 'send', id, text: id })).toMatchObject({ duplicate: true });
      await second.call({ op: 'open' });
      await waitFor(() => second.deliveries.length === 15, 15_000, 'unacked messages after restart');
      for (const delivery of second.deliveries) await second.call({ op: 'ack', tag: delivery.tag });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const redelivered = second.deliveries.map((d) => d.id);
      expect(new Set(redelivered).size).toBe(redelivered.length); // none twice
      expect(redelivered.sort()).toEqual(ids.filter((id) => !acked.has(id)).sort());
      // Every message that was stored was delivered at least once across both runs.
      expect(new Set([...first.deliveries.map((d) => d.id), ...redelivered])).toEqual(new Set(ids));
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  }, 60_000);
});
