/**
 * Strings are valid and malformed requests are the caller's error, seen from outside: a Python
 * grpcio client without generated code sends hand-made bytes to a real gateway process. Invalid
 * UTF-8 in any string field (a topic, a header key, a nested map key, a subscription pattern, an
 * admin agent id) is refused INVALID_ARGUMENT naming what to fix; bytes that are not protobuf at all
 * are INVALID_ARGUMENT, not INTERNAL, on unary calls and on PublishStream (after the valid frame
 * before it was answered). Valid non-ASCII strings still pass.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process';

const PYTHON = '/usr/bin/python3';
const CLIENT = path.resolve(__dirname, '../fixtures/grpc/raw-client.py');
const GATEWAY = '/openclaw.gateway.v1.GatewayService';
const ADMIN = '/openclaw.gateway.v1.AdminService';

interface RawCall {
  name: string;
  method: string;
  kind: 'unary' | 'server_stream' | 'stream';
  frames: Uint8Array[];
}
interface RawResult {
  name: string;
  code: string;
  details: string;
  replies: number;
}

/** A length-delimited field holding exactly these bytes (a string field, whatever its bytes). */
function field(writer: BinaryWriter, number: number, bytes: Uint8Array | string): BinaryWriter {
  return writer.tag(number, WireType.LengthDelimited).bytes(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
}
const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));
/** `a.` followed by 0xC3 0x28: a two-byte lead whose continuation byte is not one. */
const BAD_TOPIC = bytes('a.', [0xc3, 0x28]);

function message(topic: Uint8Array | string, header?: Uint8Array): Uint8Array {
  const writer = new BinaryWriter();
  field(writer, 2, topic);
  field(writer, 6, 'payload');
  if (header) field(writer, 7, field(new BinaryWriter(), 1, header).finish().slice());
  return writer.finish();
}
function batch(...messages: Uint8Array[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const one of messages) field(writer, 1, one);
  return writer.finish();
}
/** 0x0A then a length varint far beyond the frame: not a protobuf message. */
const NOT_PROTOBUF = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

async function send(address: string, calls: RawCall[]): Promise<Record<string, RawResult>> {
  const child = spawn(PYTHON, [CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(
    JSON.stringify({
      target: address,
      calls: calls.map((call) => ({ ...call, frames: call.frames.map((frame) => Buffer.from(frame).toString('hex')) })),
    }),
  );
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`raw client failed (${code}): ${stderr}`);
  const results: Record<string, RawResult> = {};
  for (const line of stdout.trim().split('\n')) {
    const result = JSON.parse(line) as RawResult;
    results[result.name] = result;
  }
  return results;
}

describe('strict request decoding (raw bytes from Python grpcio to a gateway process)', () => {
  let gw: GatewayProcess;
  let results: Record<string, RawResult>;

  beforeAll(async () => {
    gw = await startGatewayProcess();
    results = await send(gw.grpcAddress, [
      { name: 'valid topic', method: `${GATEWAY}/SendMessage`, kind: 'unary', frames: [message('a.b')] },
      { name: 'valid non-ASCII topic', method: `${GATEWAY}/SendMessage`, kind: 'unary', frames: [message('a.é')] },
      { name: 'bad topic', method: `${GATEWAY}/SendMessage`, kind: 'unary', frames: [message(BAD_TOPIC)] },
      { name: 'bad header key', method: `${GATEWAY}/SendMessage`, kind: 'unary', frames: [message('a.b', bytes('k', [0xff]))] },
      { name: 'bad request topic', method: `${GATEWAY}/Request`, kind: 'unary', frames: [message(BAD_TOPIC)] },
      { name: 'bad batch topic', method: `${GATEWAY}/PublishBatch`, kind: 'unary', frames: [batch(message('a.b'), message(BAD_TOPIC))] },
      {
        name: 'bad agent id',
        method: `${GATEWAY}/RegisterAgent`,
        kind: 'unary',
        frames: [field(field(new BinaryWriter(), 1, bytes('agent-', [0xe2, 0x82])), 2, 'svc').finish()],
      },
      {
        name: 'bad tag key',
        method: `${GATEWAY}/RegisterAgent`,
        kind: 'unary',
        frames: [
          field(
            field(field(new BinaryWriter(), 1, 'agent-1'), 2, 'svc'),
            4,
            field(new BinaryWriter(), 1, BAD_TOPIC).finish().slice(),
          ).finish(),
        ],
      },
      {
        name: 'bad pattern',
        method: `${GATEWAY}/Subscribe`,
        kind: 'server_stream',
        frames: [field(new BinaryWriter(), 2, field(new BinaryWriter(), 1, BAD_TOPIC).finish().slice()).finish()],
      },
      {
        name: 'bad admin agent id',
        method: `${ADMIN}/StopAgent`,
        kind: 'unary',
        frames: [field(new BinaryWriter(), 1, bytes([0xc0, 0xaf])).finish()],
      },
      { name: 'not protobuf', method: `${GATEWAY}/SendMessage`, kind: 'unary', frames: [NOT_PROTOBUF] },
      { name: 'not protobuf health', method: `${GATEWAY}/HealthCheck`, kind: 'unary', frames: [NOT_PROTOBUF] },
      { name: 'not protobuf subscribe', method: `${GATEWAY}/Subscribe`, kind: 'server_stream', frames: [NOT_PROTOBUF] },
      {
        name: 'stream',
        method: `${GATEWAY}/PublishStream`,
        kind: 'stream',
        frames: [batch(message('a.b')), NOT_PROTOBUF, batch(message('a.c'))],
      },
      { name: 'stream bad topic', method: `${GATEWAY}/PublishStream`, kind: 'stream', frames: [batch(message(BAD_TOPIC))] },
    ]);
  }, 90_000);
  afterAll(() => gw?.stop());

  it('accepts valid strings, ASCII or not', () => {
    expect(results['valid topic']).toMatchObject({ code: 'OK', replies: 1 });
    expect(results['valid non-ASCII topic']).toMatchObject({ code: 'OK', replies: 1 });
  });

  it('refuses invalid UTF-8 in message fields, naming the field', () => {
    expect(results['bad topic']).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringMatching(/^GW_INVALID_ARGUMENT: message\.topic: is not valid UTF-8/),
    });
    expect(results['bad header key']).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringMatching(/^GW_INVALID_ARGUMENT: message\.headers: is not valid UTF-8/),
    });
    expect(results['bad request topic']).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringMatching(/^GW_INVALID_ARGUMENT: message\.topic: is not valid UTF-8/),
    });
    expect(results['bad batch topic']).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringMatching(/^GW_INVALID_ARGUMENT: messages\[1\]\.topic: is not valid UTF-8/),
    });
    expect(results['stream bad topic']).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringMatching(/^GW_INVALID_ARGUMENT: messages\[0\]\.topic: is not valid UTF-8/),
      replies: 0,
    });
  });

  it('refuses invalid UTF-8 in every other request, nested maps and messages included', () => {
    const utf8 = (method: string) => ({
      code: 'INVALID_ARGUMENT',
      details: `GW_INVALID_ARGUMENT: request: a string field of ${method} request is not valid UTF-8 (proto3 string fields must be UTF-8)`,
    });
    expect(results['bad agent id']).toMatchObject(utf8('RegisterAgent'));
    expect(results['bad tag key']).toMatchObject(utf8('RegisterAgent'));
    expect(results['bad pattern']).toMatchObject({ ...utf8('Subscribe'), replies: 0 });
    expect(results['bad admin agent id']).toMatchObject(utf8('StopAgent'));
  });

  it('answers bytes that are not protobuf with INVALID_ARGUMENT, not INTERNAL', () => {
    for (const name of ['not protobuf', 'not protobuf health', 'not protobuf subscribe']) {
      expect(results[name]).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: expect.stringMatching(/^GW_INVALID_ARGUMENT: request: is not a valid protobuf \w+ request \(/),
      });
    }
    // The valid frame before the bad one is answered; the one after it is not routed.
    expect(results.stream).toMatchObject({
      code: 'INVALID_ARGUMENT',
      replies: 1,
      details: expect.stringMatching(/^GW_INVALID_ARGUMENT: request: is not a valid protobuf PublishStream request/),
    });
  });
});
