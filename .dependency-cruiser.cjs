/**
 * The import rules of the architecture (docs/architecture.md), checked by `npm run lint` and by
 * test/architecture/dependency-rules.test.ts:
 * - the kernel depends on nothing of ours but itself (it is told its built-in plugins by its caller);
 * - a plugin imports only the kernel, the generated proto types and the shared support folders,
 *   never another plugin;
 * - a support folder imports only the kernel and other support code;
 * - no import circle anywhere.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle makes load order matter and hides which part depends on which; break it with a shared module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kernel-knows-no-caller',
      severity: 'error',
      comment:
        'The kernel imports only itself, npm packages, package.json and its own config schema (config/gateway.schema.json, published there for editors): plugins, the CLI and the SDK build on it, never the reverse.',
      from: { path: '^kernel/' },
      to: { path: '^(plugins|support|bin|sdk|examples|bench|test)/|^config/(?!gateway\\.schema\\.json$)|^index\\.ts$' },
    },
    {
      name: 'plugin-imports-only-kernel-and-support',
      severity: 'error',
      comment:
        'A plugin sees the kernel, the generated proto types and the shared support folders; shared code between plugins belongs in kernel/contracts or support/.',
      from: { path: '^plugins/([^/]+)/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: ['^plugins/$1/', '^kernel/', '^support/', '^proto/gen/', '(^|/)node_modules/', '^package\\.json$'],
      },
    },
    {
      name: 'support-imports-only-kernel',
      severity: 'error',
      comment: 'Support folders are shared by plugins, so they must not depend on any plugin (or the CLI, SDK, tests).',
      from: { path: '^support/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^support/', '^kernel/', '^proto/gen/', '(^|/)node_modules/'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import that does not resolve fails at run time; usually a missing dependency or a typo. The example plugin packages import their peer dependency openclaw-gateway, installed beside them.',
      from: {},
      to: { couldNotResolve: true, pathNot: '^openclaw-gateway$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|coverage)/|^\\.git/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // `require()` inside a function body counts: the built-in catalogue's lazy loads are real edges.
    moduleSystems: ['cjs', 'es6'],
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
