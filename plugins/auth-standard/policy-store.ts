/**
 * Holds the live policy and swaps it atomically. Sources: the policy file (watched with fs.watch,
 * debounced, plus a periodic stat because fs.watch misses changes on some file systems and after
 * editors replace the file), and pushes from the admin RPC. A document that fails validation is
 * rejected and reported; the policy in force stays.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GatewayError, isGatewayError } from '../../kernel';
import { compilePolicy, compilePolicyDocument, permissivePolicy, type CompiledPolicy } from './policy';

export type PolicySource = 'file' | 'admin' | 'startup';

export interface PolicyStoreOptions {
  file?: string;
  inline?: Record<string, unknown>;
  maxBytes: number;
  debounceMs: number;
  statIntervalMs: number;
  persistPushed: boolean;
  signal: AbortSignal;
  onSwap(policy: CompiledPolicy, source: PolicySource, actor: string): void;
  onRejected(source: PolicySource, error: GatewayError, actor: string): void;
  onWatchError(error: Error): void;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class PolicyStore {
  private policy: CompiledPolicy;
  /** Hash of the last file content looked at, valid or not, so an unchanged file is not re-parsed. */
  private lastSeenHash = '';
  private fileStamp = '';
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private rereadRequested = false;

  private constructor(
    private readonly options: PolicyStoreOptions,
    initial: CompiledPolicy,
  ) {
    this.policy = initial;
  }

  /** Loads the initial policy; an invalid file or inline policy fails (the gateway does not start). */
  static async open(options: PolicyStoreOptions): Promise<PolicyStore> {
    if (options.file) {
      const { text, stamp } = await readPolicyFile(options.file, options.maxBytes);
      const store = new PolicyStore(options, compileFromFile(text, options));
      store.lastSeenHash = hashOf(text);
      store.fileStamp = stamp;
      return store;
    }
    if (options.inline) return new PolicyStore(options, compilePolicyDocument(structuredClone(options.inline)));
    return new PolicyStore(options, permissivePolicy());
  }

  current(): CompiledPolicy {
    return this.policy;
  }

  start(): void {
    const file = this.options.file;
    if (!file) return;
    try {
      // Watch the folder, not the file: editors and `mv` replace the file, which ends a file watch.
      this.watcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name.toString() === path.basename(file)) this.scheduleReload();
      });
      this.watcher.on('error', (error) => this.options.onWatchError(error));
    } catch (error) {
      this.options.onWatchError(error as Error);
    }
    this.poller = setInterval(() => void this.pollStat(), this.options.statIntervalMs);
    this.poller.unref();
    this.options.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
    clearInterval(this.poller);
  }

  /** Resolves once any reload in progress has finished (tests and shutdown use it). */
  async settled(): Promise<void> {
    while (this.reading) await this.reading;
  }

  /**
   * Validates and installs a policy pushed by an operator. With a policy file and
   * `persistPushedPolicy`, the file is replaced atomically (write + rename) so the change survives
   * a restart and the watcher does not undo it.
   */
  async push(json: string, actor: string): Promise<CompiledPolicy> {
    let compiled: CompiledPolicy;
    try {
      compiled = compilePolicy(json, this.options.maxBytes);
    } catch (error) {
      const rejection = error as GatewayError;
      this.options.onRejected('admin', rejection, actor);
      throw rejection;
    }
    const file = this.options.file;
    if (file && this.options.persistPushed) {
      const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(temporary, json, { mode: 0o600 });
      this.lastSeenHash = hashOf(json);
      await rename(temporary, file);
    }
    this.install(compiled, 'admin', actor);
    return compiled;
  }

  private install(policy: CompiledPolicy, source: PolicySource, actor: string): void {
    this.policy = policy;
    this.options.onSwap(policy, source, actor);
  }

  private scheduleReload(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reloadFromFile(), this.options.debounceMs);
    this.debounce.unref();
  }

  private async pollStat(): Promise<void> {
    try {
      const info = await stat(this.options.file!);
      if (stampOf(info) !== this.fileStamp) this.scheduleReload();
    } catch {
      // A missing file keeps the policy in force; the reload reports it when the watcher fires.
    }
  }

  private reloadFromFile(): Promise<void> {
    if (this.reading) {
      this.rereadRequested = true;
      return this.reading;
    }
    this.reading = this.readOnce().finally(() => {
      this.reading = undefined;
      if (this.rereadRequested) {
        this.rereadRequested = false;
        void this.reloadFromFile();
      }
    });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    const file = this.options.file!;
    let text: string;
    try {
      const read = await readPolicyFile(file, this.options.maxBytes);
      this.fileStamp = read.stamp;
      text = read.text;
    } catch (error) {
      const rejection = isGatewayError(error) ? error : new GatewayError('GW_INVALID_ARGUMENT', String(error));
      if (this.lastSeenHash !== 'unreadable') this.options.onRejected('file', rejection, 'file');
      this.lastSeenHash = 'unreadable';
      return;
    }
    const hash = hashOf(text);
    if (hash === this.lastSeenHash) return;
    this.lastSeenHash = hash;
    let compiled: CompiledPolicy;
    try {
      compiled = compileFromFile(text, this.options);
    } catch (error) {
      this.options.onRejected('file', error as GatewayError, 'file');
      return;
    }
    this.install(compiled, 'file', 'file');
  }
}

function stampOf(info: { mtimeMs: number; size: number; ino: number }): string {
  return `${info.mtimeMs}:${info.size}:${info.ino}`;
}

async function readPolicyFile(file: string, maxBytes: number): Promise<{ text: string; stamp: string }> {
  try {
    const info = await stat(file);
    if (info.size > maxBytes) {
      throw new GatewayError('GW_INVALID_ARGUMENT', `policyFile: ${file} is larger than maxPolicyBytes (${maxBytes} bytes)`, {
        field: 'policyFile',
      });
    }
    return { text: await readFile(file, 'utf8'), stamp: stampOf(info) };
  } catch (error) {
    if (isGatewayError(error)) throw error;
    throw new GatewayError('GW_INVALID_ARGUMENT', `policyFile: cannot read ${file}: ${(error as Error).message}`, {
      field: 'policyFile',
      cause: error,
    });
  }
}

function compileFromFile(text: string, options: PolicyStoreOptions): CompiledPolicy {
  try {
    return compilePolicy(text, options.maxBytes);
  } catch (error) {
    const cause = error as GatewayError;
    throw new GatewayError('GW_INVALID_ARGUMENT', `${options.file}: ${cause.message}`, { field: cause.field, cause });
  }
}
