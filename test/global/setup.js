'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RUN_DIR_ENV } = require('./leftovers');

module.exports = async function globalSetup() {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-jest-'));
  process.env[RUN_DIR_ENV] = runDir;
  process.env.TMPDIR = runDir;
};
