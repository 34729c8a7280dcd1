/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // @a2a-js/sdk needs jose 6, which is ESM only: Node requires it natively, Jest (before Node 24.9) needs it compiled.
  transformIgnorePatterns: ['^(?!.*/@a2a-js/sdk/node_modules/jose/).*/node_modules/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  testTimeout: 30000,
  // Each run gets its own TMPDIR; the teardown fails the run when tests leave files or processes behind.
  globalSetup: '<rootDir>/test/global/setup.js',
  globalTeardown: '<rootDir>/test/global/teardown.js',
  // Real servers and processes: two workers is what a 2-core machine sustains. `npm test` runs the two
  // NATS-node-kill suites (router-nats-node-failure, registry-failover) afterwards on their own: their
  // private clusters' Raft catch-up is NATS's timing, and beside the rest of the suite it took over 90 s.
  maxWorkers: 2,
};
