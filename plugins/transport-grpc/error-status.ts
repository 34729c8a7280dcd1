/**
 * Kernel errors to gRPC statuses. `GatewayError.status` already equals the gRPC numeric code, so
 * the mapping is free; the status message is `GW_CODE: message` and the code also travels in the
 * `gw-error-code` trailer so clients can switch on it without parsing text.
 */
import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { GatewayError, toGatewayError } from '../../kernel';

export const ERROR_CODE_TRAILER = 'gw-error-code';

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(GrpcStatus)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => [value as number, name]),
);

/** `OK`, `INVALID_ARGUMENT`...: bounded by the gRPC spec, so safe as a metric label. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? 'UNKNOWN';
}

/** The error a grpc-js handler passes to its callback (or `call.destroy`/`emit('error')`). */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: number } {
  const gatewayError = toGatewayError(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, gatewayError.code);
  return {
    name: 'GatewayError',
    message: `${gatewayError.code}: ${gatewayError.message}`,
    code: gatewayError.status,
    details: `${gatewayError.code}: ${gatewayError.message}`,
    metadata,
  };
}

/** For streams ended with `call.emit('error', ...)`. */
export function toStatusObject(error: GatewayError): StatusObject {
  const serviceError = toServiceError(error);
  return { code: serviceError.code, details: serviceError.details ?? '', metadata: serviceError.metadata ?? new Metadata() };
}
