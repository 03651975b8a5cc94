// Lint for `npm test` (ESLint flat config): JS's and typescript-eslint's recommended rules, without
// type information (fast enough for every run). Rules switched off say why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'docs/**', 'node_modules/**', 'temp/**', 'scratch/**', 'runs/**', 'test/docs/.blocks/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', performance: 'readonly', __dirname: 'readonly', window: 'readonly', document: 'readonly', location: 'readonly' } },
  },
  {
    // The consumer matrix's CommonJS clients are CommonJS on purpose.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A synchronous child process blocks a vitest worker's event loop; past 60 s vitest's RPC timer
    // fires first and the run fails with `Timeout calling "onTaskUpdate"` although every test passed.
    // Tests use test/helpers/run.ts; the few instant commands say so with an eslint-disable comment.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:child_process', 'child_process'].map((name) => ({ name, importNames: ['spawnSync', 'execFileSync', 'execSync'], message: 'use runAsync from test/helpers/run.ts: a long synchronous child starves vitest\'s RPC' })),
      }],
      // The same APIs reached through a dynamic import or require.
      'no-restricted-syntax': ['error',
        { selector: 'ImportExpression[source.value=/child_process$/]', message: 'import child_process statically (its sync APIs are restricted in tests); use test/helpers/run.ts' },
        { selector: "CallExpression[callee.name='require'][arguments.0.value=/child_process$/]", message: 'use test/helpers/run.ts' },
      ],
    },
  },
);
