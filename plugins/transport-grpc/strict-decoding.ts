/**
 * Strict request decoding. proto3 parsers must refuse a string field that is not valid UTF-8; the
 * generated decoders replace bad bytes with U+FFFD instead, so the topics `a.\xc3\x28` and
 * `a.\xff\x28` would both become `a.\uFFFD(`: different byte strings aliased to one topic. Every request is therefore read
 * through a BinaryReader whose UTF-8 decoding is fatal (one TextDecoder pass per non-ASCII string
 * field, the pass the lenient decoder made anyway; ASCII strings never reach it).
 *
 * grpc-js answers INTERNAL whenever a deserializer throws, with no way to choose the status, so the
 * deserializers here never throw: a request that is not valid protobuf (or has invalid UTF-8)
 * becomes a `MalformedRequest`, which the handlers refuse with INVALID_ARGUMENT (`refuseMalformed`)
 * once the caller is authenticated (Subscribe and PublishStream check it where their request
 * arrives).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { GatewayError } from '../../kernel';

/** Read once: bufbuild's `wire` index re-exports through getters, and a reader is made per request. */
const Reader = BinaryReader;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The reader's `decodeUtf8`: strict whatever the caller asks for. */
function strictUtf8(bytes: Uint8Array): string {
  return fatalUtf8.decode(bytes);
}

/** A reader that throws on invalid UTF-8 in string fields (and map keys/values). */
export function strictReader(bytes: Uint8Array): BinaryReader {
  return new Reader(bytes, strictUtf8);
}

const MALFORMED = Symbol.for('openclaw.gateway.malformed-request');

/** What a deserializer hands grpc-js for a request it could not decode. */
export interface MalformedRequest {
  readonly [MALFORMED]: true;
  readonly error: GatewayError;
}

export function isMalformed(request: unknown): request is MalformedRequest {
  return typeof request === 'object' && request !== null && (request as Partial<MalformedRequest>)[MALFORMED] === true;
}

/** Throws the INVALID_ARGUMENT a malformed request gets. */
export function refuseMalformed(request: unknown): void {
  if (isMalformed(request)) throw request.error;
}

/** Decoders name the string field that failed by throwing one of these. */
export class InvalidStringField extends Error {
  constructor(readonly field: string) {
    super(`${field}: is not valid UTF-8 (proto3 string fields must be UTF-8)`);
  }
}

function isUtf8Error(error: unknown): boolean {
  return (error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA';
}

function malformed(error: unknown, typeName: string): MalformedRequest {
  let refusal: GatewayError;
  if (error instanceof InvalidStringField) {
    refusal = new GatewayError('GW_INVALID_ARGUMENT', error.message, { field: error.field });
  } else if (isUtf8Error(error)) {
    refusal = new GatewayError(
      'GW_INVALID_ARGUMENT',
      `request: a string field of ${typeName} is not valid UTF-8 (proto3 string fields must be UTF-8)`,
      { field: 'request' },
    );
  } else {
    const reason = error instanceof Error ? error.message : String(error);
    refusal = new GatewayError('GW_INVALID_ARGUMENT', `request: is not a valid protobuf ${typeName} (${reason.slice(0, 200)})`, {
      field: 'request',
    });
  }
  return { [MALFORMED]: true, error: refusal };
}

/** A deserializer that never throws: what it cannot decode becomes a `MalformedRequest`. */
export function tolerantDeserializer<T>(decode: (bytes: Buffer) => T, typeName: string): (bytes: Buffer) => T {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (error) {
      return malformed(error, typeName) as unknown as T;
    }
  };
}

/**
 * The service with strict, tolerant request deserializers. The generated `X.decode(input)` reads
 * from `input` itself when it is a BinaryReader (ts-proto's `input instanceof BinaryReader ? input
 * : new BinaryReader(input)`), so handing the original deserializer a strict reader makes every
 * nested message and map entry strict too. `custom` replaces the decoder of a method outright
 * (request-decoding.ts, already strict).
 */
export function strictService<S extends ServiceDefinition>(
  definition: S,
  custom: Partial<Record<keyof S, (bytes: Buffer) => unknown>> = {},
): S {
  const strict: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const original = method.requestDeserialize as (bytes: Buffer) => unknown;
    const decode = custom[name as keyof S] ?? ((bytes: Buffer) => original(strictReader(bytes) as unknown as Buffer));
    const typeName = method.path.slice(method.path.lastIndexOf('/') + 1) + ' request';
    strict[name] = { ...method, requestDeserialize: tolerantDeserializer(decode, typeName) };
  }
  return strict as S;
}
