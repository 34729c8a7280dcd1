/**
 * One managed instance (`<spec id>-<n>`): its process incarnations, readiness, probes, restarts and
 * operator actions. The lifecycle lives in `InstanceLifecycle`; this file decides when to move it.
 *
 * - launch: created → initializing, spawn in the sandbox; `running` once the agent registered (the
 *   supervisor's admitAgent tap admits it as `initializing`, managed) and answered a readiness probe.
 * - exit: seen from the sandbox's exit event. An operator stop (or the gateway's shutdown) ends in
 *   `terminated`; otherwise → initializing and a new incarnation after the backoff, unless the
 *   restart policy says no or crash-loop detection quarantines it (terminated + alert).
 * - hung / unhealthy: the first unanswered probe degrades it (out of routing), `failureThreshold`
 *   consecutive ones SIGKILL the sandbox (a SIGSTOPped process ignores SIGTERM) and restart it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import {
  GatewayError,
  type AgentHealth,
  type AgentRecord,
  type GatewayHooks,
  type ManagedInstanceStatus,
  type RegistryService,
  type RouterService,
  type SandboxedProcess,
  type SandboxExit,
  type SandboxService,
} from '../../kernel';
import { CrashLoopDetector } from './crash-loop';
import { HealthProber } from './health-prober';
import { InstanceLifecycle } from './instance-lifecycle';
import { OutputCapture } from './output-capture';
import { RestartBackoff } from './restart-backoff';
import { residentBytes } from './rss-reader';
import type { AgentSpecOptions } from './schema';
import type { RestartReason, SupervisorMetrics } from './supervisor-metrics';

export interface InstanceHost {
  sandbox: SandboxService;
  registry: RegistryService;
  router: RouterService;
  hooks: GatewayHooks;
  logger: Logger;
  metrics: SupervisorMetrics;
  gatewayId: string;
  /** Host path of the gateway's Unix socket, when there is one. */
  gatewaySocket?: string;
  /** Target for agents when there is no socket (a TCP address). */
  fallbackTarget?: string;
  isShuttingDown(): boolean;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class ManagedInstance {
  readonly lifecycle: InstanceLifecycle;
  restarts = 0;
  quarantined = false;
  private proc?: SandboxedProcess;
  private spawning?: Promise<void>;
  private startedAt?: number;
  private runningSince?: number;
  private incarnation = 0;
  /**
   * The secret of the current incarnation (`OPENCLAW_INSTANCE_TOKEN`): only the process we started
   * may register this instance's id. A new one per launch, so a process that outlived its
   * incarnation cannot come back as the instance either.
   */
  private launchToken?: Buffer;
  private readonly backoff: RestartBackoff;
  private readonly crashLoop: CrashLoopDetector;
  private readonly prober: HealthProber;
  private readonly output: OutputCapture;
  private restartTimer?: NodeJS.Timeout;
  private readinessTimer?: NodeJS.Timeout;
  private rssTimer?: NodeJS.Timeout;
  private stopRequested = false;
  private pendingRestart?: { reason: RestartReason; backoff: boolean };
  /** Health this supervisor set from probes, so a recovered probe undoes only its own verdict. */
  private probeDegraded = false;
  private readonly waiters = new Set<Waiter>();

  constructor(
    readonly specId: string,
    readonly agentId: string,
    /** The spec this instance runs (a rolling upgrade gives new instances the new one). */
    public spec: AgentSpecOptions,
    private readonly host: InstanceHost,
  ) {
    this.lifecycle = new InstanceLifecycle(agentId, () => this.service, host);
    this.backoff = new RestartBackoff(spec.restart);
    this.crashLoop = new CrashLoopDetector(spec.restart.crashLoop);
    this.output = new OutputCapture(agentId, host.logger, spec.logs, host.metrics);
    this.prober = new HealthProber(spec.health, {
      send: (probeId) => this.sendProbe(probeId),
      ready: () => this.ready(),
      missed: (misses) => this.probeMissed(misses),
      recovered: () => this.probeRecovered(),
    });
  }

  get service(): string {
    return this.spec.service ?? this.spec.id;
  }

  get version(): string {
    return this.spec.version;
  }

  /** The agent's own pid (inside a bubblewrap sandbox: not bwrap's), else the sandbox's top process. */
  get pid(): number | undefined {
    const proc = this.proc;
    if (!proc) return undefined;
    return proc.agentPids()[0] ?? proc.child.pid;
  }

  /** Whether `token` is the secret of this instance's current process (constant-time compare). */
  presentsLaunchToken(token: string | undefined): boolean {
    const expected = this.launchToken;
    if (!expected || token === undefined) return false;
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** True while a process of this instance lives: its registration is admitted as managed. */
  get expectsRegistration(): boolean {
    return this.proc !== undefined && this.lifecycle.state !== 'terminated';
  }

  status(): ManagedInstanceStatus {
    return {
      agentId: this.agentId,
      specId: this.specId,
      state: this.lifecycle.state,
      health: this.ownRecord()?.health ?? 'unknown',
      version: this.spec.version,
      pid: this.pid,
      restarts: this.restarts,
      quarantined: this.quarantined,
      reason: this.lifecycle.reason,
      startedAt: this.startedAt,
    };
  }

  /** The registry's record while it holds this instance, else one made up from the supervisor's view. */
  record(): AgentRecord {
    const registered = this.ownRecord();
    if (registered) return registered;
    return {
      agentId: this.agentId,
      service: this.service,
      version: this.spec.version,
      tags: this.spec.tags,
      capabilities: this.spec.capabilities,
      leaseTtlMs: 0,
      state: this.lifecycle.state,
      health: 'unknown',
      gatewayId: this.host.gatewayId,
      managed: true,
      registeredAt: 0,
      leaseExpiresAt: 0,
      revision: 0,
    };
  }

  /** First start, or an operator start of a terminated (also quarantined) instance: a new incarnation. */
  async launch(reason: string): Promise<void> {
    if (this.lifecycle.state === 'terminated') {
      this.quarantined = false;
      this.crashLoop.reset();
      this.backoff.reset();
      this.lifecycle.reincarnate(reason);
    }
    this.stopRequested = false;
    this.lifecycle.transition('initializing', reason);
    this.respawn();
    await this.spawning;
  }

  /** Operator start: brings a drained instance back, starts a terminated one; resolves once running. */
  async start(timeoutMs: number): Promise<void> {
    const state = this.lifecycle.state;
    if (state === 'running') return;
    if (state === 'maintenance' || state === 'upgrade') {
      this.lifecycle.transition('running', 'operator start');
      return;
    }
    const running = this.waitRunning(timeoutMs);
    if (state === 'created' || state === 'terminated') await this.launch('operator start');
    await running;
  }

  drain(reason: string): void {
    if (this.lifecycle.state === 'maintenance') return;
    this.lifecycle.transition('maintenance', reason);
  }

  /** Marks an old instance of a rolling upgrade: out of routing, on its way out. */
  retire(reason: string): void {
    if (this.lifecycle.can('upgrade')) this.lifecycle.transition('upgrade', reason);
  }

  /** Operator restart: → initializing at once (out of routing), graceful stop, new process; resolves once running. */
  async restart(timeoutMs: number): Promise<void> {
    this.lifecycle.transition('initializing', 'operator restart');
    const running = this.waitRunning(timeoutMs);
    this.pendingRestart = { reason: 'operator', backoff: false };
    await this.spawning;
    const proc = this.proc;
    if (proc) await this.terminate(proc, this.spec.stopTimeoutMs);
    else {
      this.pendingRestart = undefined;
      this.host.metrics.restart('operator');
      this.restarts++;
      this.clearRestartTimer();
      this.respawn();
    }
    await running;
  }

  /** Drain (maintenance), SIGTERM, SIGKILL after `timeoutMs`, terminated. No restart follows. */
  async stop(reason: string, timeoutMs = this.spec.stopTimeoutMs): Promise<void> {
    if (this.lifecycle.state === 'terminated' && !this.proc && !this.spawning) return;
    this.stopRequested = true;
    this.pendingRestart = undefined;
    this.clearRestartTimer();
    if (this.lifecycle.state === 'running') this.lifecycle.transition('maintenance', `stopping: ${reason}`);
    await this.spawning;
    const proc = this.proc;
    if (proc) await this.terminate(proc, timeoutMs);
    else this.finishTerminated(reason);
  }

  /** Last resort at plugin stop: whatever still runs is killed. */
  async kill(): Promise<void> {
    this.stopRequested = true;
    this.clearRestartTimer();
    await this.spawning;
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await proc.exited;
  }

  /** From `hooks.probeAnswered`. */
  probeAnswered(probeId: string): void {
    this.prober.answered(probeId);
  }

  /**
   * A passive signal (monitor anomaly, RSS) asks for a restart: out of routing first, then a
   * graceful stop (SIGKILL for a hung process) and a new incarnation after the backoff.
   */
  restartFor(reason: RestartReason, detail: string, signal: 'SIGTERM' | 'SIGKILL'): void {
    const proc = this.proc;
    if (!proc || this.pendingRestart || this.stopRequested) return;
    const state = this.lifecycle.state;
    if (state !== 'running' && state !== 'maintenance' && state !== 'upgrade') return;
    this.pendingRestart = { reason, backoff: true };
    this.host.logger.warn({ agentId: this.agentId, reason, detail }, `managed agent ${this.agentId}: restarting (${reason}: ${detail})`);
    if (signal === 'SIGKILL') proc.kill('SIGKILL');
    else void this.terminate(proc, this.spec.stopTimeoutMs);
  }

  setHealth(health: AgentHealth, reason: string): void {
    const record = this.ownRecord();
    if (!record || record.health === health) return;
    try {
      this.host.registry.setHealth(this.agentId, health, reason);
    } catch (error) {
      this.host.logger.debug({ agentId: this.agentId, err: error }, 'could not set the health of a managed agent');
    }
  }

  waitRunning(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new GatewayError(
            'GW_DEADLINE_EXCEEDED',
            `agent "${this.agentId}" was not running within ${timeoutMs} ms (state ${this.lifecycle.state}: ${this.lifecycle.reason})`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private ownRecord(): AgentRecord | undefined {
    const record = this.host.registry.get(this.agentId);
    return record?.managed ? record : undefined;
  }

  /** Starts a new incarnation; `spawning` is set while the sandbox sets it up. */
  private respawn(): void {
    const spawning = this.spawn();
    this.spawning = spawning;
    void spawning.finally(() => {
      if (this.spawning === spawning) this.spawning = undefined;
    });
  }

  private async spawn(): Promise<void> {
    if (this.stopRequested || this.host.isShuttingDown()) {
      this.finishTerminated(this.stopRequested ? 'stopped before it started' : 'gateway shutting down');
      return;
    }
    const incarnation = ++this.incarnation;
    const spec = this.spec;
    const token = randomBytes(32).toString('base64url');
    this.launchToken = Buffer.from(token);
    const env: Record<string, string> = {
      ...spec.env,
      OPENCLAW_INSTANCE_TOKEN: token,
      OPENCLAW_AGENT_ID: this.agentId,
      OPENCLAW_SERVICE: this.service,
      OPENCLAW_AGENT_VERSION: spec.version,
      OPENCLAW_INCARNATION: String(incarnation),
    };
    const socket = this.host.gatewaySocket;
    if (socket) env.OPENCLAW_TARGET = `unix:${socket}`;
    else if (this.host.fallbackTarget) env.OPENCLAW_TARGET = this.host.fallbackTarget;
    let proc: SandboxedProcess;
    try {
      proc = await this.host.sandbox.spawn({
        agentId: this.agentId,
        command: spec.command,
        args: spec.args,
        env,
        cwd: spec.cwd,
        profile: spec.sandbox,
        gatewaySocket: socket,
      });
    } catch (error) {
      this.host.logger.error({ agentId: this.agentId, err: error }, `managed agent ${this.agentId}: the sandbox could not start it`);
      this.failed('crash', `spawn failed: ${(error as Error).message}`, 0);
      return;
    }
    this.proc = proc;
    this.startedAt = Date.now();
    this.output.attach(proc.child.stdout, 'stdout');
    this.output.attach(proc.child.stderr, 'stderr');
    void proc.exited.then((exit) => this.exited(proc, exit));
    this.host.logger.info(
      { agentId: this.agentId, pid: proc.child.pid, version: spec.version, incarnation },
      `managed agent ${this.agentId}: process started`,
    );
    this.prober.startReadiness(incarnation);
    this.readinessTimer = setTimeout(() => {
      if (this.proc !== proc || this.lifecycle.state !== 'initializing' || this.pendingRestart) return;
      this.host.logger.warn(
        { agentId: this.agentId, readinessTimeoutMs: spec.health.readinessTimeoutMs },
        `managed agent ${this.agentId}: not ready in time; killing it`,
      );
      this.pendingRestart = { reason: 'readiness', backoff: true };
      proc.kill('SIGKILL');
    }, spec.health.readinessTimeoutMs);
    this.readinessTimer.unref();
    if (this.stopRequested) await this.terminate(proc, spec.stopTimeoutMs);
  }

  private sendProbe(probeId: string): boolean {
    if (!this.ownRecord()) return false;
    return this.host.router.notify(this.agentId, { kind: 'notice', code: 'probe', message: probeId });
  }

  private ready(): void {
    if (!this.proc || this.lifecycle.state !== 'initializing' || this.pendingRestart || this.stopRequested) return;
    this.clearTimer('readinessTimer');
    this.runningSince = Date.now();
    this.lifecycle.transition('running', 'ready: registered and answered its readiness probe');
    this.probeDegraded = false;
    this.setHealth('healthy', 'readiness probe answered');
    this.prober.startLiveness();
    this.watchRss();
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
  }

  private probeMissed(misses: number): void {
    this.host.metrics.probeFailed();
    const threshold = this.spec.health.failureThreshold;
    this.host.logger.warn(
      { agentId: this.agentId, misses, threshold },
      `managed agent ${this.agentId}: health probe unanswered (${misses}/${threshold})`,
    );
    if (misses === 1 || misses < threshold) {
      this.probeDegraded = true;
      this.setHealth('degraded', `probe unanswered (${misses}/${threshold})`);
    }
    if (misses >= threshold) {
      this.setHealth('unhealthy', `${misses} probes unanswered`);
      this.prober.stop();
      this.restartFor('probe', `${misses} consecutive probes unanswered`, 'SIGKILL');
    }
  }

  private probeRecovered(): void {
    if (!this.probeDegraded) return;
    this.probeDegraded = false;
    this.setHealth('healthy', 'probe answered again');
  }

  private watchRss(): void {
    const { maxRssBytes, rssCheckIntervalMs, rssAction } = this.spec.health;
    if (maxRssBytes <= 0) return;
    const proc = this.proc;
    if (!proc) return;
    this.clearTimer('rssTimer');
    this.rssTimer = setInterval(() => {
      if (this.proc !== proc) return this.clearTimer('rssTimer');
      const bytes = residentBytes(proc.agentPids());
      if (bytes <= maxRssBytes) return;
      this.clearTimer('rssTimer');
      this.host.metrics.rssExceeded();
      const detail = `resident memory ${bytes} bytes is over maxRssBytes ${maxRssBytes}`;
      this.host.logger.warn({ agentId: this.agentId, rssBytes: bytes, maxRssBytes }, `managed agent ${this.agentId}: ${detail}`);
      this.setHealth('degraded', `rss over limit (${bytes} > ${maxRssBytes})`);
      if (rssAction === 'restart') this.restartFor('rss', detail, 'SIGTERM');
    }, rssCheckIntervalMs);
    this.rssTimer.unref();
  }

  private async terminate(proc: SandboxedProcess, timeoutMs: number): Promise<void> {
    proc.signal('SIGTERM');
    const timer = setTimeout(() => {
      this.host.logger.warn(
        { agentId: this.agentId, timeoutMs },
        `managed agent ${this.agentId}: still running ${timeoutMs} ms after SIGTERM; killing it`,
      );
      proc.kill('SIGKILL');
    }, timeoutMs);
    await proc.exited;
    clearTimeout(timer);
  }

  private exited(proc: SandboxedProcess, exit: SandboxExit): void {
    if (this.proc !== proc) return;
    this.proc = undefined;
    this.startedAt = undefined;
    this.prober.stop();
    this.clearTimer('readinessTimer');
    this.clearTimer('rssTimer');
    this.output.flushDropped();
    const uptime = this.runningSince === undefined ? 0 : Date.now() - this.runningSince;
    this.runningSince = undefined;
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    if (this.stopRequested) return this.finishTerminated(`stopped (${how})`);
    if (this.host.isShuttingDown()) return this.finishTerminated(`gateway shutting down (${how})`);

    const pending = this.pendingRestart;
    this.pendingRestart = undefined;
    if (!pending) {
      this.host.logger.warn(
        { agentId: this.agentId, code: exit.code, signal: exit.signal, uptimeMs: uptime },
        `managed agent ${this.agentId}: process exited (${how})`,
      );
      const policy = this.spec.restart.policy;
      if (policy === 'never' || (policy === 'on-failure' && exit.code === 0)) {
        return this.finishTerminated(`exited (${how}); restart policy ${policy}`);
      }
    }
    const reason = pending?.reason ?? 'crash';
    if (pending && !pending.backoff) {
      this.moveToInitializing(`${reason} restart (${how})`);
      this.restarts++;
      this.host.metrics.restart(reason);
      this.respawn();
      return;
    }
    this.failed(reason, how, uptime);
  }

  /** A failure that calls for a restart after the backoff, unless it completes a crash loop. */
  private failed(reason: RestartReason, how: string, uptime: number): void {
    const now = Date.now();
    if (this.crashLoop.record(now)) return this.quarantine(how);
    this.moveToInitializing(`${reason} (${how})`);
    const delay = this.backoff.nextDelay(uptime);
    this.restarts++;
    this.host.metrics.restart(reason);
    this.host.logger.info(
      { agentId: this.agentId, reason, delayMs: delay, restarts: this.restarts },
      `managed agent ${this.agentId}: restarting in ${delay} ms`,
    );
    this.clearRestartTimer();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.respawn();
    }, delay);
    this.restartTimer.unref();
  }

  private quarantine(how: string): void {
    const { maxRestarts, windowMs } = this.spec.restart.crashLoop;
    this.quarantined = true;
    this.host.metrics.crashLoop();
    const reason = `crash loop: more than ${maxRestarts} restarts within ${windowMs} ms (last: ${how}); quarantined`;
    this.host.logger.error({ agentId: this.agentId, maxRestarts, windowMs }, `GW_UNAVAILABLE: managed agent ${this.agentId}: ${reason}`);
    this.finishTerminated(reason);
    this.host.hooks.anomaly.call({
      rule: 'crash-loop',
      agentId: this.agentId,
      value: this.crashLoop.recent,
      threshold: maxRestarts,
      action: 'alert',
      at: Date.now(),
    });
  }

  private moveToInitializing(reason: string): void {
    if (this.lifecycle.state !== 'initializing') this.lifecycle.transition('initializing', reason);
    this.dropStaleRecord('process-exited');
  }

  private finishTerminated(reason: string): void {
    if (this.lifecycle.state !== 'terminated') this.lifecycle.transition('terminated', reason);
    this.dropStaleRecord('terminated');
    const error = new GatewayError('GW_UNAVAILABLE', `agent "${this.agentId}" is terminated: ${reason}`);
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  /** The dead process's registration, if its session has not closed yet: it must not be routed to. */
  private dropStaleRecord(reason: string): void {
    if (!this.ownRecord()) return;
    void this.host.registry.deregister(this.agentId, reason).catch((error: unknown) => {
      this.host.logger.debug({ agentId: this.agentId, err: error }, 'could not remove the record of a stopped managed agent');
    });
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private clearTimer(name: 'readinessTimer' | 'rssTimer'): void {
    const timer = this[name];
    if (timer) clearTimeout(timer);
    this[name] = undefined;
  }
}
