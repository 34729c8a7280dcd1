'use strict';
const fs = require('node:fs');
const { RUN_DIR_ENV, processesUsing, listLeftovers } = require('./leftovers');

/** How long processes and files get to go away after the last test (a child's exit is asynchronous). */
const GRACE_MS = 5000;

module.exports = async function globalTeardown() {
  const runDir = process.env[RUN_DIR_ENV];
  if (!runDir) return;
  const exclude = new Set([process.pid]);
  const deadline = Date.now() + GRACE_MS;
  let processes = processesUsing(runDir, exclude);
  let leftovers = listLeftovers(runDir);
  while ((processes.length > 0 || leftovers.length > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    processes = processesUsing(runDir, exclude);
    leftovers = listLeftovers(runDir);
  }
  for (const { pid } of processes) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  const problems = [];
  if (leftovers.length > 0) problems.push(`temp files or folders left behind by tests: ${leftovers.sort().join(', ')}`);
  if (processes.length > 0)
    problems.push(`processes left running by tests (now killed): ${processes.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
  if (problems.length > 0 && process.env.OPENCLAW_ALLOW_LEFTOVERS !== '1') {
    throw new Error(`Tests leave nothing behind, but:\n  ${problems.join('\n  ')}`);
  }
  if (problems.length > 0) console.warn(problems.join('\n'));
};
