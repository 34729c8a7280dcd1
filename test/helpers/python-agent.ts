/**
 * examples/python-agent/agent.py (grpcio, no SDK) as a child process whose JSON lines are collected
 * as they arrive. Needs Debian's python3-grpcio and python3-grpc-tools for /usr/bin/python3 (the
 * pyenv python3 first on PATH does not have them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually, repoRoot } from '../examples/package-project';

export const PYTHON = '/usr/bin/python3';
export const PYTHON_AGENT = path.join(repoRoot, 'examples', 'python-agent', 'agent.py');

export interface AgentLine {
  event: string;
  [field: string]: unknown;
}

/** A Python program printing one JSON object per line (the example agent, test fixtures). */
export class PythonProcess {
  readonly lines: AgentLine[] = [];
  readonly child: ChildProcess;
  private output = '';

  constructor(script: string, args: string[]) {
    this.child = spawn(PYTHON, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      partial += chunk.toString();
      const complete = partial.split('\n');
      partial = complete.pop()!;
      for (const line of complete) if (line.trim()) this.lines.push(JSON.parse(line) as AgentLine);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  get outputSoFar(): string {
    return this.output;
  }

  find(predicate: (line: AgentLine) => boolean): AgentLine | undefined {
    return this.lines.find(predicate);
  }

  count(event: string): number {
    return this.lines.filter((line) => line.event === event).length;
  }

  waitFor(predicate: (line: AgentLine) => boolean, what: string, timeoutMs = 20_000): Promise<AgentLine> {
    return eventually(
      () => {
        // The line may have arrived with the exit: look for it before calling the exit a failure.
        const found = this.find(predicate);
        if (found) return found;
        if (this.child.exitCode !== null)
          throw new Error(`the Python process exited (${this.child.exitCode}) before ${what}:\n${this.output}`);
        return undefined;
      },
      timeoutMs,
      `${what}; output so far:\n${this.output}`,
    );
  }

  /** Resolves with the exit code once the process ended by itself. */
  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = this.exited();
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The example agent. */
export class PythonAgent extends PythonProcess {
  constructor(args: string[]) {
    super(PYTHON_AGENT, args);
  }
}
