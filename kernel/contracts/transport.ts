/** What a transport exposes to other plugins (e.g. the supervisor binds the Unix socket in). */
export interface TransportService {
  /** Addresses actually listened on, e.g. `127.0.0.1:7400`, `unix:/run/openclaw.sock`. */
  addresses(): string[];
  /** A Unix socket path clients on this host can use, when one is configured. */
  unixSocketPath(): string | undefined;
  /**
   * Optional, for gRPC transports: serves another plugin's gRPC service on this transport's
   * listeners (a grpc-js `ServiceDefinition` and its implementation), e.g. transport-a2a's
   * `A2AService`. The caller authenticates its own calls; may be called before or after start.
   */
  addGrpcService?(definition: object, implementation: object): void;
}
