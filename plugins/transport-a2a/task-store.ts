/**
 * The durable A2A task store: lmdb in `<dataDir>/<plugin name>/tasks`, so GetTask and ListTasks
 * answer after a gateway restart. Implements the SDK's `TaskStore`, scoped by the caller's
 * identity (owner) and the agent or service the task was sent to (target): another identity, or
 * the same task id asked of another agent's URL, finds nothing.
 *
 * Bounded: at most `maxTasks` tasks. A finished task (completed, failed, canceled, rejected) is
 * removed `retentionMs` after its last update; when the store is full the oldest finished tasks
 * make room, and a new task is refused (GW_RESOURCE_EXHAUSTED) while every stored task is still
 * running. Histories keep their last `maxHistory` messages.
 *
 * A task that was submitted or working when the gateway stopped cannot finish: the request to
 * the agent died with the process. `open()` marks such tasks failed, saying why, so a client
 * polling GetTask learns it instead of waiting forever.
 */
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import { Task, TaskState, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import path from 'node:path';
import { GatewayError, makeFilesPrivate, tightenOwnDir } from '../../kernel';
import { scopeOf, type TaskScope } from './caller';

/** States after which nothing more happens to a task. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

interface StoredTask {
  owner: string;
  target: string;
  updatedAt: number;
  state: number;
  contextId: string;
  /** `Task.toJSON` form (parts' bytes as base64), stable across SDK versions. */
  task: unknown;
}

type ScopeKey = [string, string, number, string];
type AgeKey = [number, string];

export interface TaskStoreLimits {
  maxTasks: number;
  retentionMs: number;
  maxHistory: number;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

export class LmdbTaskStore implements TaskStore {
  private readonly root: RootDatabase;
  private readonly tasks: Database<StoredTask, string>;
  private readonly byScope: Database<string, ScopeKey>;
  private readonly byAge: Database<string, AgeKey>;
  /** `owner \0 target \0 messageId` → task id: a repeated messageId finds its task. */
  private readonly messages: Database<string, string>;
  private count = 0;
  /** Told when a new task is refused because the store is full of unfinished tasks. */
  onFull?: () => void;
  /** Told when a task is removed (its push configs go with it). */
  onRemoved?: (taskId: string) => void;

  constructor(
    directory: string,
    private readonly limits: TaskStoreLimits,
  ) {
    // Tasks hold payloads and identities: private like every store of the gateway.
    tightenOwnDir(path.dirname(directory));
    tightenOwnDir(directory);
    this.root = open({ path: directory, mapSize: 1024 * 1024 * 1024, overlappingSync: true });
    makeFilesPrivate(directory); // lmdb creates data.mdb and lock.mdb 0664 (less the umask)
    this.tasks = this.root.openDB<StoredTask, string>({ name: 'tasks', encoding: 'msgpack' });
    this.byScope = this.root.openDB<string, ScopeKey>({ name: 'by-scope', encoding: 'string' });
    this.byAge = this.root.openDB<string, AgeKey>({ name: 'by-age', encoding: 'string' });
    this.messages = this.root.openDB<string, string>({ name: 'messages', encoding: 'string' });
  }

  /** Counts the tasks and fails those a previous run left running. Returns how many it failed. */
  async open(): Promise<number> {
    let interrupted = 0;
    this.count = 0;
    for (const { key, value } of this.tasks.getRange()) {
      this.count++;
      if (value.state === TaskState.TASK_STATE_SUBMITTED || value.state === TaskState.TASK_STATE_WORKING) {
        const task = Task.fromJSON(value.task);
        task.status = {
          state: TaskState.TASK_STATE_FAILED,
          timestamp: new Date().toISOString(),
          message: agentText(
            task,
            'GW_UNAVAILABLE: the gateway restarted while this task ran; the agent never answered. Send the message again.',
          ),
        };
        await this.write(key, value.owner, value.target, task);
        interrupted++;
      }
    }
    return interrupted;
  }

  /** Another database in the same lmdb environment (push configs, the push outbox). */
  database<V, K extends Key>(name: string): Database<V, K> {
    return this.root.openDB<V, K>({ name, encoding: 'msgpack' });
  }

  get rootDatabase(): RootDatabase {
    return this.root;
  }

  get size(): number {
    return this.count;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const scope = scopeOf(context);
    const existing = this.tasks.get(task.id);
    if (existing && (existing.owner !== scope.owner || existing.target !== scope.target)) {
      // Task ids are chosen by clients on follow-ups: never let one scope overwrite another's.
      throw new GatewayError('GW_PERMISSION_DENIED', `task "${task.id}" belongs to another caller or agent`);
    }
    if (!existing) await this.makeRoom();
    await this.write(task.id, scope.owner, scope.target, task);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const stored = this.find(taskId, scopeOf(context));
    return stored ? Task.fromJSON(stored.task) : undefined;
  }

  /** The stored task of a scope, or undefined. */
  find(taskId: string, scope: TaskScope): StoredTask | undefined {
    const stored = this.tasks.get(taskId);
    if (!stored || stored.owner !== scope.owner || stored.target !== scope.target) return undefined;
    return stored;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const scope = scopeOf(context);
    const pageSize = Math.min(MAX_PAGE_SIZE, params.pageSize && params.pageSize > 0 ? params.pageSize : DEFAULT_PAGE_SIZE);
    const after = params.statusTimestampAfter ? Date.parse(params.statusTimestampAfter) : Number.NaN;
    const cursor = decodeCursor(params.pageToken);
    // Newest first: start below the cursor (or at the top of the scope) and walk down.
    const start: ScopeKey = cursor
      ? [scope.owner, scope.target, cursor[0], cursor[1]]
      : [scope.owner, scope.target, Number.MAX_SAFE_INTEGER, ''];
    const end: ScopeKey = [scope.owner, scope.target, -1, ''];
    const tasks: Task[] = [];
    let total = 0;
    let nextPageToken = '';
    for (const { key, value: taskId } of this.byScope.getRange({ start, end, reverse: true })) {
      if (cursor && key[2] === cursor[0] && key[3] === cursor[1]) continue;
      const stored = this.tasks.get(taskId);
      if (!stored) continue;
      if (params.contextId && stored.contextId !== params.contextId) continue;
      if (params.status && stored.state !== params.status) continue;
      if (!Number.isNaN(after) && stored.updatedAt <= after) continue;
      total++;
      if (tasks.length < pageSize) {
        tasks.push(this.shaped(stored, params));
        if (tasks.length === pageSize) nextPageToken = encodeCursor(key[2], key[3]);
      }
    }
    if (total <= tasks.length) nextPageToken = '';
    return { tasks, nextPageToken, pageSize, totalSize: total };
  }

  /** The task a scope created for this messageId, if any. */
  taskForMessage(scope: TaskScope, messageId: string): string | undefined {
    const taskId = this.messages.get(messageKey(scope, messageId));
    return taskId !== undefined && this.find(taskId, scope) ? taskId : undefined;
  }

  async rememberMessage(scope: TaskScope, messageId: string, taskId: string): Promise<void> {
    await this.messages.put(messageKey(scope, messageId), taskId);
  }

  /** Removes finished tasks past their retention. Returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const { key, value: taskId } of this.byAge.getRange({ start: [0, ''], end: [now - this.limits.retentionMs, ''] })) {
      const stored = this.tasks.get(taskId);
      if (stored && TERMINAL_STATES.has(stored.state)) {
        await this.remove(taskId, stored);
        removed++;
      } else if (!stored) await this.byAge.remove(key);
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  private shaped(stored: StoredTask, params: ListTasksRequest): Task {
    const task = Task.fromJSON(stored.task);
    if (params.includeArtifacts !== true) task.artifacts = [];
    if (params.historyLength !== undefined) task.history = params.historyLength > 0 ? task.history.slice(-params.historyLength) : [];
    return task;
  }

  /** Full: the oldest finished tasks go; none finished means the new task is refused. */
  async makeRoom(): Promise<void> {
    if (this.count < this.limits.maxTasks) return;
    for (const { value: taskId } of this.byAge.getRange({ start: [0, ''] })) {
      const stored = this.tasks.get(taskId);
      if (stored && TERMINAL_STATES.has(stored.state)) {
        await this.remove(taskId, stored);
        if (this.count < this.limits.maxTasks) return;
      }
    }
    this.onFull?.();
    throw new GatewayError(
      'GW_RESOURCE_EXHAUSTED',
      `the task store holds ${this.count} unfinished tasks (tasks.maxTasks); retry when some finish`,
    );
  }

  private async write(taskId: string, owner: string, target: string, task: Task): Promise<void> {
    if (task.history.length > this.limits.maxHistory) task.history = task.history.slice(-this.limits.maxHistory);
    const previous = this.tasks.get(taskId);
    const updatedAt = Math.max(Date.now(), previous ? previous.updatedAt : 0);
    const record: StoredTask = {
      owner,
      target,
      updatedAt,
      state: task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED,
      contextId: task.contextId,
      task: Task.toJSON(task),
    };
    // Issued in one turn, lmdb-js commits these together in one batch (atomic, one sync for
    // every task written in the same turn) instead of one transaction each.
    if (previous) {
      void this.byScope.remove([previous.owner, previous.target, previous.updatedAt, taskId]);
      void this.byAge.remove([previous.updatedAt, taskId]);
    }
    void this.tasks.put(taskId, record);
    void this.byScope.put([owner, target, updatedAt, taskId], taskId);
    const written = this.byAge.put([updatedAt, taskId], taskId);
    if (!previous) this.count++;
    await written;
  }

  private async remove(taskId: string, stored: StoredTask): Promise<void> {
    const task = Task.fromJSON(stored.task);
    await this.root.transaction(() => {
      void this.tasks.remove(taskId);
      void this.byScope.remove([stored.owner, stored.target, stored.updatedAt, taskId]);
      void this.byAge.remove([stored.updatedAt, taskId]);
      for (const message of task.history) {
        if (message.messageId) void this.messages.remove(messageKey({ owner: stored.owner, target: stored.target }, message.messageId));
      }
    });
    this.count--;
    this.onRemoved?.(taskId);
  }
}

function messageKey(scope: TaskScope, messageId: string): string {
  return `${scope.owner}\u0000${scope.target}\u0000${messageId}`;
}

function encodeCursor(updatedAt: number, taskId: string): string {
  return Buffer.from(JSON.stringify([updatedAt, taskId])).toString('base64url');
}

function decodeCursor(token: string): [number, string] | undefined {
  if (!token) return undefined;
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString()) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') return [value[0], value[1]];
  } catch {
    // fall through to the error below
  }
  throw new GatewayError('GW_INVALID_ARGUMENT', 'pageToken: is not a token this gateway handed out');
}

/** A one-part agent message about a task, e.g. why it failed. */
export function agentText(task: Pick<Task, 'id' | 'contextId'>, text: string) {
  return {
    messageId: `gw-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    contextId: task.contextId,
    taskId: task.id,
    role: 2,
    parts: [{ content: { $case: 'text' as const, value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}
