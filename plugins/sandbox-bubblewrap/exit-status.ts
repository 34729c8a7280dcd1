import { constants } from 'node:os';
import type { SandboxExit } from '../../kernel';

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/**
 * The agent's exit as the supervisor should see it. bwrap exits with the agent's code, or with
 * 128 + signal number when the agent was killed by a signal (shell convention), so a code in
 * 129..128+SIGRTMAX is reported as that signal. An agent that itself exits with such a code is
 * reported as signalled too: bwrap does not pass the raw wait status on.
 */
export function agentExit(code: number | null, signal: NodeJS.Signals | null): SandboxExit {
  if (code !== null && code > 128) {
    const name = SIGNAL_NAMES.get(code - 128);
    if (name) return { code: null, signal: name };
  }
  return { code, signal };
}
