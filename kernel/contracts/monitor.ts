/** The monitor kind's service. */
export interface MonitorService {
  /** HTTP address of the metrics/health/dashboard server, e.g. `http://127.0.0.1:9464`. */
  httpAddress(): string | undefined;
}
