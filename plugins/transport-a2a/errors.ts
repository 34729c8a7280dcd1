/**
 * Gateway errors as A2A errors. Invalid input becomes the SDK's `RequestMalformedError`
 * (-32602); the gateway's other refusals get a JSON-RPC code in the server range,
 * `-32050 - <gRPC status>` (PERMISSION_DENIED -32057, RESOURCE_EXHAUSTED -32058, NOT_FOUND -32055,
 * UNAVAILABLE -32064, UNAUTHENTICATED -32066, DEADLINE_EXCEEDED -32054), and the message starts
 * with the stable `GW_...` code. A2A's own errors (task not found, not cancelable) pass unchanged.
 */
import { A2AError, RequestMalformedError, RestRequestMalformedError } from '@a2a-js/sdk/errors';
import { GrpcRequestMalformedError } from '@a2a-js/sdk/errors/grpc';
import { GatewayError, Status, toGatewayError, type StatusCode } from '../../kernel';

export const GATEWAY_ERROR_BASE = -32050;

export class GatewayA2aError extends A2AError {
  readonly transport = 'jsonrpc' as const;
  readonly envelopeCode: number;
  readonly gatewayCode: string;
  readonly status: StatusCode;

  constructor(error: GatewayError) {
    super({ message: `${error.code}: ${error.message}`, cause: error });
    this.name = 'GatewayA2aError';
    this.envelopeCode = error.status === Status.INTERNAL ? -32603 : GATEWAY_ERROR_BASE - error.status;
    this.gatewayCode = error.code;
    this.status = error.status;
  }
}

/** The HTTP+JSON form: the HTTP status says what happened (403, 404, 429, 503 …). */
export class GatewayRestError extends A2AError {
  readonly transport = 'rest' as const;
  readonly statusCode: number;
  readonly gatewayCode: string;
  readonly status: StatusCode;

  constructor(error: GatewayError) {
    super({ message: `${error.code}: ${error.message}`, cause: error });
    this.name = 'GatewayA2aError';
    this.statusCode = httpStatusOf(error);
    this.gatewayCode = error.code;
    this.status = error.status;
  }
}

/** The gRPC form: the gateway's status is already a gRPC status number. */
export class GatewayGrpcError extends A2AError {
  readonly transport = 'grpc' as const;
  readonly status: StatusCode;
  readonly gatewayCode: string;

  constructor(error: GatewayError) {
    super({ message: `${error.code}: ${error.message}`, cause: error });
    this.name = 'GatewayA2aError';
    this.status = error.status;
    this.gatewayCode = error.code;
  }
}

/** Anything thrown by our code on its way back to an A2A client, in the binding's form. */
export function toA2aError(error: unknown, binding: 'jsonrpc' | 'rest' | 'grpc' = 'jsonrpc'): Error {
  if (error instanceof A2AError) return error;
  const failure = toGatewayError(error);
  const message = `${failure.code}: ${failure.message}`;
  if (binding === 'grpc')
    return failure.status === Status.INVALID_ARGUMENT ? new GrpcRequestMalformedError({ message }) : new GatewayGrpcError(failure);
  if (binding === 'rest')
    return failure.status === Status.INVALID_ARGUMENT ? new RestRequestMalformedError({ message }) : new GatewayRestError(failure);
  if (failure.status === Status.INVALID_ARGUMENT) return new RequestMalformedError(message);
  return new GatewayA2aError(failure);
}

/** HTTP status for refusals made before a call reaches the SDK (auth, limits, draining). */
export function httpStatusOf(error: GatewayError): number {
  switch (error.status) {
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.UNAVAILABLE:
      return 503;
    case Status.NOT_FOUND:
      return 404;
    case Status.INVALID_ARGUMENT:
      return 400;
    case Status.ALREADY_EXISTS:
    case Status.FAILED_PRECONDITION:
      return 409;
    default:
      return 500;
  }
}

/** A JSON-RPC error body for a refusal made before the SDK saw the call. */
export function jsonRpcRefusal(error: GatewayError, id: unknown = null): Record<string, unknown> {
  const code =
    error.status === Status.INVALID_ARGUMENT ? -32600 : error.status === Status.INTERNAL ? -32603 : GATEWAY_ERROR_BASE - error.status;
  return {
    jsonrpc: '2.0',
    id: typeof id === 'string' || typeof id === 'number' ? id : null,
    error: { code, message: `${error.code}: ${error.message}` },
  };
}
