/**
 * Appends every `hooks.audit` event (policy changes, admin actions, from any plugin) to a JSON-lines
 * file. Writes go through one append stream; when the disk cannot keep up and the stream's buffer
 * passes `maxBufferBytes`, lines are dropped and counted rather than buffered without bound.
 */
import { createWriteStream, fchmod, type WriteStream } from 'node:fs';
import path from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE, type AuditEvent } from '../../kernel';

export class AuditLog {
  private readonly stream: WriteStream;
  private failed = false;

  constructor(
    readonly file: string,
    private readonly maxBufferBytes: number,
    private readonly onDrop: (reason: string) => void,
    onError: (error: Error) => void,
  ) {
    makePrivateDir(path.dirname(file));
    this.stream = createWriteStream(file, { flags: 'a', mode: PRIVATE_FILE_MODE });
    // `mode` applies only when the file is created: an existing audit log is made private too.
    this.stream.once('open', (fd: number) => fchmod(fd, PRIVATE_FILE_MODE, () => undefined));
    this.stream.on('error', (error) => {
      this.failed = true;
      onError(error);
    });
  }

  append(event: AuditEvent): void {
    if (this.failed) {
      this.onDrop('audit file is not writable');
      return;
    }
    if (this.stream.writableLength > this.maxBufferBytes) {
      this.onDrop('audit write buffer is full');
      return;
    }
    this.stream.write(`${JSON.stringify({ ...event, time: new Date(event.at).toISOString() })}\n`);
  }

  /** Flushes what is buffered and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.closed || this.stream.destroyed) return resolve();
      this.stream.end(() => resolve());
    });
  }
}
