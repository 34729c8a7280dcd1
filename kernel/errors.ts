/**
 * One table of every error the gateway raises, each with a stable code.
 *
 * Codes are part of the public contract: operators grep logs for them, SDKs switch on them, and
 * the transport maps each one's `status` to a gRPC status code. Never rename a code; add new ones.
 */

/** Transport-neutral status categories. Values equal the gRPC status numbers so mapping is free. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

interface ErrorSpec {
  readonly status: StatusCode;
  readonly summary: string;
}

export const ErrorCodes = {
  // Configuration and boot
  GW_CONFIG_NOT_FOUND: { status: Status.NOT_FOUND, summary: 'no gateway config file was found' },
  GW_CONFIG_LOAD_FAILED: { status: Status.INVALID_ARGUMENT, summary: 'the config file could not be loaded' },
  GW_CONFIG_INVALID: { status: Status.INVALID_ARGUMENT, summary: 'the config is invalid' },
  GW_PLUGIN_NOT_FOUND: { status: Status.NOT_FOUND, summary: 'a plugin could not be resolved' },
  GW_PLUGIN_INVALID: { status: Status.INVALID_ARGUMENT, summary: 'a plugin does not satisfy the plugin contract' },
  GW_PLUGIN_KIND_UNKNOWN: { status: Status.INVALID_ARGUMENT, summary: 'a plugin declares an unknown kind' },
  GW_PLUGIN_KIND_DUPLICATE: { status: Status.INVALID_ARGUMENT, summary: 'two plugins claim a single-instance kind' },
  GW_PLUGIN_KIND_MISSING: { status: Status.FAILED_PRECONDITION, summary: 'a required plugin kind is missing' },
  GW_PLUGIN_NAME_DUPLICATE: { status: Status.INVALID_ARGUMENT, summary: 'two plugins share one name' },
  GW_PLUGIN_OPTIONS_INVALID: { status: Status.INVALID_ARGUMENT, summary: 'plugin options do not match the plugin schema' },
  GW_PLUGIN_DEPENDENCY_MISSING: { status: Status.FAILED_PRECONDITION, summary: 'a plugin dependency is not configured' },
  GW_PLUGIN_DEPENDENCY_CYCLE: { status: Status.FAILED_PRECONDITION, summary: 'plugin dependencies form a cycle' },
  GW_PLUGIN_SETUP_FAILED: { status: Status.INTERNAL, summary: 'a plugin failed during setup' },
  GW_PLUGIN_START_FAILED: { status: Status.INTERNAL, summary: 'a plugin failed to start' },
  GW_PLUGIN_STOP_FAILED: { status: Status.INTERNAL, summary: 'a plugin failed to stop cleanly' },
  GW_KERNEL_STATE: { status: Status.FAILED_PRECONDITION, summary: 'the kernel is not in a state that allows this' },
  GW_DRAIN_TIMEOUT: { status: Status.DEADLINE_EXCEEDED, summary: 'draining did not finish before the timeout' },

  // Requests (mapped to gRPC status codes by transports)
  GW_INVALID_ARGUMENT: { status: Status.INVALID_ARGUMENT, summary: 'a request field is invalid' },
  GW_NOT_FOUND: { status: Status.NOT_FOUND, summary: 'the target does not exist' },
  GW_ALREADY_EXISTS: { status: Status.ALREADY_EXISTS, summary: 'the entity already exists' },
  GW_PERMISSION_DENIED: { status: Status.PERMISSION_DENIED, summary: 'the caller is not allowed to do this' },
  GW_UNAUTHENTICATED: { status: Status.UNAUTHENTICATED, summary: 'the caller could not be authenticated' },
  GW_RESOURCE_EXHAUSTED: { status: Status.RESOURCE_EXHAUSTED, summary: 'a limit was reached' },
  GW_UNAVAILABLE: { status: Status.UNAVAILABLE, summary: 'the gateway cannot serve this now' },
  GW_DRAINING: { status: Status.UNAVAILABLE, summary: 'the gateway is draining and accepts no new work' },
  GW_DEADLINE_EXCEEDED: { status: Status.DEADLINE_EXCEEDED, summary: 'the deadline passed before completion' },
  GW_CANCELLED: { status: Status.CANCELLED, summary: 'the request was cancelled' },
  GW_FAILED_PRECONDITION: { status: Status.FAILED_PRECONDITION, summary: 'the entity is not in a state that allows this' },
  GW_INTERNAL: { status: Status.INTERNAL, summary: 'an internal error occurred' },
  GW_UNIMPLEMENTED: { status: Status.UNIMPLEMENTED, summary: 'this operation is not supported by the configured plugins' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface GatewayErrorOptions {
  /** Request field (dotted path) the error is about, so clients know exactly what to fix. */
  field?: string;
  /** Structured details for logs and the CLI; never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * Marks gateway errors across package copies: npm nests a second copy of `openclaw-gateway` inside a
 * plugin package whenever versions differ, and that copy's GatewayError is another class, so
 * `instanceof` fails. `Symbol.for` keys are shared by every copy in the process.
 */
export const GATEWAY_ERROR_BRAND: unique symbol = Symbol.for('openclaw.gateway.error');

export class GatewayError extends Error {
  /** The brand, so {@link isGatewayError} recognises errors made by any copy of this package. */
  readonly [GATEWAY_ERROR_BRAND] = true;
  readonly code: ErrorCode;
  readonly status: StatusCode;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.field = options.field;
    this.details = options.details;
  }

  /** `GW_CODE: message` is the form that reaches logs, CLIs and gRPC status details. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function gatewayError(code: ErrorCode, message: string, options?: GatewayErrorOptions): GatewayError {
  return new GatewayError(code, message, options);
}

export function invalidArgument(field: string, message: string): GatewayError {
  return new GatewayError('GW_INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

/**
 * True for a GatewayError from any copy of this package: it carries the brand and a code from the
 * table. Use this, never `instanceof GatewayError`, where errors from plugins or hooks are handled.
 */
export function isGatewayError(value: unknown): value is GatewayError {
  if (value instanceof GatewayError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { [GATEWAY_ERROR_BRAND]?: unknown; code?: unknown };
  return (
    candidate[GATEWAY_ERROR_BRAND] === true &&
    typeof candidate.code === 'string' &&
    Object.prototype.hasOwnProperty.call(ErrorCodes, candidate.code)
  );
}

/**
 * Normalises anything thrown into a GatewayError without losing the original as `cause`. A branded
 * error from another package copy keeps its code, message, field and details; its status is taken
 * from this copy's table, which is what this transport answers with.
 */
export function toGatewayError(value: unknown): GatewayError {
  if (value instanceof GatewayError) return value;
  if (isGatewayError(value)) {
    return new GatewayError(value.code, value.message, { field: value.field, details: value.details, cause: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  return new GatewayError('GW_INTERNAL', message, { cause: value });
}

/** A config problem, located precisely: reported all at once by `validate` before anything starts. */
export interface ConfigIssue {
  code: ErrorCode;
  /** Config file the issue is in (absolute path), or `<inline>` for a programmatic config. */
  file: string;
  /** Plugin the issue belongs to (its name, or the reference when it could not be resolved). */
  plugin?: string;
  /** JSON path into the config, e.g. `/plugins/2/options/listen/0/port`. */
  path: string;
  message: string;
}

export class ConfigError extends GatewayError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super('GW_CONFIG_INVALID', `${issues.length} config error(s):\n` + issues.map(formatConfigIssue).join('\n'), { details: { issues } });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.plugin ? ` plugin "${issue.plugin}"` : '';
  return `  ${issue.code} ${issue.file}${where} at ${issue.path || '/'}: ${issue.message}`;
}
