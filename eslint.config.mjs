// ESLint flat config: typescript-eslint's type-aware recommended rules over our TypeScript, the
// plain recommended rules over the few CommonJS JavaScript files. Formatting is Prettier's job
// (.prettierrc.json), so no stylistic rule is on here. Each rule turned off or tuned below says why.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'coverage/**', '**/node_modules/**', 'proto/gen/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Interface methods return promises; dropping `async` from one that does not await would turn
      // its throws into synchronous throws, which callers do not expect.
      '@typescript-eslint/require-await': 'off',
      // nats.js and grpc-js type their status codes as enums but document (and send) the plain
      // string/number values we compare against.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // The output is CommonJS, and lazy `require()` is how the built-in catalogue, the optional
      // tracing exporter and pino-pretty stay unloaded until used.
      '@typescript-eslint/no-require-imports': 'off',
      // Rejecting with what we were given (an AbortSignal's reason, a stored failure) is the point.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `let x; … () => x …; x = …`: a closure may read the binding before its one assignment.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_name` marks a parameter kept for its position in a signature.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // CommonJS on purpose: the CLI launcher, example plugin packages and agent fixtures run as plain Node.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['eslint.config.mjs'],
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'module' },
  },
  {
    // Tests and benchmarks read untyped JSON, gRPC replies and child-process output, and poke at
    // internals to prove limits; the unsafe-any rules would only add casts there, not safety.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests wrap and swap plugin methods (`plugin.setup`, `plugin.stop`) to inject faults.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
