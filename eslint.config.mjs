// Lint: the recommended JavaScript and typescript-eslint rule sets, function length and parameter
// count, floating promises, plus the layer rules of the
// project: src/core is pure TypeScript (no VS Code API, no Node modules, no engine, node or
// editor code); the editor layer (src/vscode) talks to the engine only through its process and
// protocol, never by importing src/engine.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', '.vscode-test/**', 'out/**', '*.vsix'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // The product's code: short functions with few parameters (an options object beyond five), and
  // no promise left floating (typed rule: an unhandled rejection kills the CLI or the engine process).
  {
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-params': ['error', 5],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/core must not depend on the VS Code API.' }],
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto'],
              message: 'src/core is pure TypeScript: file and process access belong in src/node.',
            },
            {
              regex: '^(\\.\\./)+(engine|node|vscode|protocol)(/|$)',
              message:
                'src/core must not import the outer layers (engine, node, vscode, protocol).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/vscode/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+engine(/|$)',
              message:
                'the editor layer reaches the engine through its process (src/node/engineClient.ts), not by importing src/engine.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
