/**
 * A minimal gRPC client on node:http2 for load generation. grpc-js's client spends more CPU per
 * message than the server it talks to, and on a 2-core machine the load generators share the
 * cores with the server: a benchmark driven by it measures the client. This one writes
 * pre-framed request bytes (many gRPC messages in one write, still one message per gRPC frame on
 * the wire) and hands back response messages as slices of the received chunks, unparsed.
 *
 * Only what the benchmark needs: plaintext h2c, unary, server-streaming and bidi calls, status
 * from trailers (or trailers-only responses), cancellation.
 */
import http2 from 'node:http2';

const SERVICE_PATH = '/openclaw.gateway.v1.GatewayService/';
const WINDOW_BYTES = 16 * 1024 * 1024;

export type MessageHandler = (message: Buffer) => void;

export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    details: string,
  ) {
    super(`${code} ${details}`);
  }
}

/** Prefixes a protobuf message with gRPC's 5-byte length header (uncompressed). */
export function frame(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** `count` framed copies of one message back to back: one write, `count` gRPC messages. */
export function frames(message: Uint8Array, count: number): Buffer {
  const one = frame(message);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

/**
 * Splits a byte stream into gRPC messages. Whole messages inside a chunk are handed out as
 * slices without copying; only a message split across chunks is reassembled.
 */
export class FrameReader {
  private pending: Buffer | undefined;

  constructor(private readonly onMessage: MessageHandler) {}

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let offset = 0;
    while (data.length - offset >= 5) {
      const length = data.readUInt32BE(offset + 1);
      if (data.length - offset - 5 < length) break;
      this.onMessage(data.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
    if (offset < data.length) this.pending = data.subarray(offset);
  }
}

export interface CallHandle {
  /** Writes pre-framed bytes; false when the stream's buffer is full (wait for `drain`). */
  write(framed: Buffer): boolean;
  onDrain(listener: () => void): void;
  end(): void;
  cancel(): void;
}

export class GrpcH2Connection {
  private readonly session: http2.ClientHttp2Session;
  readonly connected: Promise<void>;

  constructor(address: string) {
    this.session = http2.connect(`http://${address}`, {
      settings: { initialWindowSize: WINDOW_BYTES, enablePush: false },
      maxSessionMemory: 64,
    });
    this.connected = new Promise((resolve, reject) => {
      this.session.once('connect', () => {
        this.session.setLocalWindowSize(WINDOW_BYTES);
        resolve();
      });
      this.session.once('error', reject);
    });
    this.connected.catch(() => undefined);
    // Errors after connecting surface on the calls; keep the session from throwing.
    this.session.on('error', () => undefined);
  }

  /**
   * Starts a call. `onMessage` gets each response message; `onEnd` the final status (undefined
   * for OK). The request body is written by the caller (`write`) or given here and ended.
   */
  call(method: string, onMessage: MessageHandler, onEnd: (error?: GrpcCallError) => void, body?: Buffer): CallHandle {
    const stream = this.session.request({
      ':method': 'POST',
      ':path': SERVICE_PATH + method,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const reader = new FrameReader(onMessage);
    let ended = false;
    const finish = (code: number, details: string) => {
      if (ended) return;
      ended = true;
      onEnd(code === 0 ? undefined : new GrpcCallError(code, details));
    };
    const statusOf = (headers: http2.IncomingHttpHeaders) => {
      const status = headers['grpc-status'];
      if (status === undefined) return false;
      finish(Number(status), decodeURIComponent(String(headers['grpc-message'] ?? '')));
      return true;
    };
    stream.on('response', (headers) => void statusOf(headers));
    stream.on('trailers', (headers) => void statusOf(headers));
    stream.on('data', (chunk: Buffer) => reader.push(chunk));
    stream.on('close', () => finish(stream.rstCode === http2.constants.NGHTTP2_CANCEL ? 1 : 14, `stream closed (rst ${stream.rstCode})`));
    stream.on('error', (error: Error) => finish(14, error.message));
    if (body) stream.end(body);
    return {
      write: (framed) => stream.write(framed),
      onDrain: (listener) => stream.on('drain', listener),
      end: () => stream.end(),
      cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL),
    };
  }

  /** One unary call; resolves with the response message (a slice of the received bytes). */
  unary(method: string, framedRequest: Buffer, callback: (error: GrpcCallError | undefined, response?: Buffer) => void): void {
    let response: Buffer | undefined;
    this.call(
      method,
      (message) => (response = message),
      (error) => callback(error, response),
      framedRequest,
    );
  }

  unaryAsync(method: string, framedRequest: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) =>
      this.unary(method, framedRequest, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }

  close(): void {
    this.session.close();
  }
}
