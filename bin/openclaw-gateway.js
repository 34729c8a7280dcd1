#!/usr/bin/env node
'use strict';
// Runs the compiled CLI; from a source checkout without a build (or with OPENCLAW_FROM_SOURCE=1)
// it runs the TypeScript directly through tsx, so development never runs stale code by surprise.
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'bin', 'cli.js');
let cli;
if (process.env.OPENCLAW_FROM_SOURCE !== '1' && fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('tsx/cjs');
  cli = require('./cli.ts');
}
cli.main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exitCode = 1;
  },
);
