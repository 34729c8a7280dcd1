/**
 * Tests leave nothing behind. Each jest run gets its own temp folder (TMPDIR, inherited by the
 * workers and every process a test spawns), so what is left in it afterwards is this run's and no
 * one else's, even with other test runs on the machine. The teardown fails the run when files or
 * folders are left there, or when a process that inherited it is still alive (and ends those,
 * found by their environment, so a leak never outlives the run).
 */
'use strict';
const fs = require('node:fs');

const RUN_DIR_ENV = 'OPENCLAW_TEST_RUN_TMPDIR';

/** Live processes (other than `exclude`) whose environment carries TMPDIR=<runDir>. */
function processesUsing(runDir, exclude) {
  const needle = `TMPDIR=${runDir}\0`;
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (exclude.has(pid)) continue;
    let environ;
    let cmdline;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (state && state[1] === 'Z') continue;
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (!(environ + '\0').includes(needle)) continue;
    // jest's own workers carry the run folder too; they are ended by jest itself.
    if (/jest-worker|processChild\.js/.test(cmdline)) continue;
    found.push({ pid, cmdline: cmdline.slice(0, 200) });
  }
  return found;
}

/** Compile caches kept in `<tmpdir>` on purpose (tsx's, and a nested jest's); they go with the run folder. */
const EXPECTED = [/^tsx-\d+$/, /^jest_\w+$/];

function listLeftovers(runDir) {
  try {
    return fs.readdirSync(runDir).filter((name) => !EXPECTED.some((pattern) => pattern.test(name)));
  } catch {
    return [];
  }
}

module.exports = { RUN_DIR_ENV, processesUsing, listLeftovers };
