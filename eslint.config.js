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
);
