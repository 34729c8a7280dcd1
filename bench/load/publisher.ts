/**
 * Publishes pre-encoded MessageBatch frames on one PublishStream, keeping at most `window`
 * frames unanswered so the server, not the stream's buffers, sets the pace. Frames are written
 * `chunk` at a time (one write, still one gRPC message per batch on the wire) to keep the
 * generator's own CPU low.
 */
import { BatchResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { encodeBatch } from '../wire';
import { epochMs } from '../stats';
import { frame, frames, GrpcH2Connection, type CallHandle } from './h2-grpc';

export interface PublisherConfig {
  address: string;
  batchSize: number;
  topic?: string;
  agentId?: string;
  durable?: boolean;
  /** Frames in flight (written, result not yet received). */
  window: number;
  /** Bytes per message payload (default `PAYLOAD_BYTES`). */
  payloadBytes?: number;
}

export interface PublishProgress {
  framesSent: number;
  framesAnswered: number;
  messagesAnswered: number;
  /** Messages whose result carried an error code (only counted when results are verified). */
  failed: number;
  stored: number;
  firstError?: string;
  atEpochMs: number;
}

export async function createPublisher(config: PublisherConfig) {
  const connection = new GrpcH2Connection(config.address);
  await connection.connected;
  const batch = encodeBatch(
    config.batchSize,
    { topic: config.topic, agentId: config.agentId },
    config.durable ?? false,
    config.payloadBytes,
  );
  const chunkFrames = Math.max(1, Math.floor(config.window / 2));
  const single = frame(batch);
  const chunk = frames(batch, chunkFrames);
  const progress: PublishProgress = { framesSent: 0, framesAnswered: 0, messagesAnswered: 0, failed: 0, stored: 0, atEpochMs: 0 };
  let call: CallHandle | undefined;
  let running = false;
  let verify = false;
  let target = Infinity;
  let finished: (() => void) | undefined;
  let streamError: Error | undefined;
  let blocked = false;

  const pump = () => {
    blocked = false;
    while (running && call && !blocked) {
      const room = Math.min(config.window - (progress.framesSent - progress.framesAnswered), target - progress.framesSent);
      if (room <= 0) break;
      const useChunk = room >= chunkFrames;
      progress.framesSent += useChunk ? chunkFrames : 1;
      blocked = !call.write(useChunk ? chunk : single);
    }
  };

  const onResult = (result: Buffer) => {
    progress.framesAnswered++;
    progress.messagesAnswered += config.batchSize;
    if (verify) {
      for (const outcome of BatchResult.decode(result).results) {
        if (outcome.errorCode !== 0) {
          progress.failed++;
          progress.firstError ??= `${outcome.errorCode}: ${outcome.errorMessage}`;
        }
        if (outcome.stored) progress.stored++;
      }
    }
    if (progress.framesAnswered >= target) finished?.();
    else if (!blocked) pump();
  };

  const open = () => {
    call = connection.call('PublishStream', onResult, (error) => {
      if (error && running) streamError = error;
      call = undefined;
      finished?.();
    });
    call.onDrain(pump);
  };

  const snapshot = (): PublishProgress => ({ ...progress, atEpochMs: epochMs() });

  return {
    /** Publishes continuously until `stop`. */
    start(args: { verify?: boolean } = {}) {
      verify = args.verify ?? false;
      running = true;
      target = Infinity;
      if (!call) open();
      pump();
      return snapshot();
    },
    /** Publishes exactly `messages` messages (whole frames) and resolves when every result is back. */
    async publish(args: { messages: number; verify?: boolean }) {
      verify = args.verify ?? false;
      if (!call) open();
      running = true;
      target = progress.framesSent + Math.ceil(args.messages / config.batchSize);
      const began = epochMs();
      await new Promise<void>((resolve) => {
        finished = resolve;
        pump();
      });
      finished = undefined;
      running = false;
      if (streamError) throw streamError;
      return { ...snapshot(), elapsedMs: epochMs() - began };
    },
    progress: snapshot,
    /** Stops writing new frames (those in flight are still answered); `start` resumes on the same stream. */
    pause() {
      running = false;
      return snapshot();
    },
    stop() {
      running = false;
      call?.end();
      call = undefined;
      connection.close();
      return snapshot();
    },
  };
}
