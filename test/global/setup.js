'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RUN_DIR_ENV } = require('./leftovers');

module.exports = async function globalSetup() {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-jest-'));
  // Like /tmp itself (sticky, world-writable): tests also run gateways as an unprivileged uid,
  // whose tsx/esbuild need a temp dir of their own under TMPDIR.
  fs.chmodSync(runDir, 0o1777);
  process.env[RUN_DIR_ENV] = runDir;
  process.env.TMPDIR = runDir;
};
