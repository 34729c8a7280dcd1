/**
 * Errors the SDK raises: the gRPC status plus the gateway's stable `GW_*` code (from the
 * `gw-error-code` trailer), so applications switch on codes, not message text.
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

export class GatewayClientError extends Error {
  /** Stable gateway code, e.g. `GW_INVALID_ARGUMENT`; `GW_UNAVAILABLE` for transport failures. */
  readonly code: string;
  /** gRPC status number. */
  readonly status: number;
  /** Request field named by the gateway (`message.topic`), when the error is about one. */
  readonly field?: string;

  constructor(code: string, status: number, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayClientError';
    this.code = code;
    this.status = status;
    this.field = options.field;
  }
}

const FALLBACK_CODES: Record<number, string> = {
  [GrpcStatus.CANCELLED]: 'GW_CANCELLED',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'GW_DEADLINE_EXCEEDED',
  [GrpcStatus.UNAVAILABLE]: 'GW_UNAVAILABLE',
  [GrpcStatus.UNAUTHENTICATED]: 'GW_UNAUTHENTICATED',
  [GrpcStatus.PERMISSION_DENIED]: 'GW_PERMISSION_DENIED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'GW_RESOURCE_EXHAUSTED',
};

export function fromServiceError(error: ServiceError): GatewayClientError {
  const trailer = error.metadata?.get('gw-error-code')[0];
  const code = typeof trailer === 'string' ? trailer : (FALLBACK_CODES[error.code] ?? 'GW_INTERNAL');
  const details = error.details ?? error.message;
  const text = details.startsWith(`${code}: `) ? details.slice(code.length + 2) : details;
  const field = /^([a-z_][\w.[\]]*): /.exec(text)?.[1];
  return new GatewayClientError(code, error.code, text, { field, cause: error });
}

/** Statuses after which trying again (on this or another gateway) can succeed. */
export function isRetryable(status: number): boolean {
  return (
    status === GrpcStatus.UNAVAILABLE ||
    status === GrpcStatus.UNKNOWN ||
    status === GrpcStatus.INTERNAL ||
    status === GrpcStatus.ABORTED ||
    status === GrpcStatus.RESOURCE_EXHAUSTED
  );
}
