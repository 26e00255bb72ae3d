// Lint for every source folder: typescript-eslint's recommended rules everywhere, and on top, the
// rules that keep workflow code deterministic. Temporal replays a workflow from its history and
// expects the same decisions: code under workflows/, and the spec/ modules it imports, must not
// reach Node built-ins, I/O clients or sources of nondeterminism. (The SDK's sandbox already makes
// Date and Math.random replay-safe; what it cannot stop is I/O and host state.)
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

const deterministic = {
  files: ['workflows/**/*.ts', 'spec/**/*.ts'],
  languageOptions: { parser: tseslint.parser },
  plugins: { '@typescript-eslint': tseslint.plugin },
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        paths: nodeBuiltins.map((name) => ({
          name,
          message: 'workflow code runs in a deterministic sandbox: no Node built-ins',
        })),
        patterns: [
          {
            group: [
              '**/activities/**',
              '**/worker/**',
              '**/client/**',
              '**/cli/**',
              '**/action/**',
              '**/common/**',
              '**/harness/**',
            ],
            allowTypeImports: true,
            message: 'workflow code may import only types from the host side; call activities for I/O',
          },
          {
            group: [
              'dockerode',
              '@aws-sdk/*',
              '@temporalio/activity',
              '@temporalio/worker',
              '@temporalio/client',
              '@actions/*',
            ],
            allowTypeImports: true,
            message: 'an I/O client has no place in workflow code; call an activity',
          },
        ],
      },
    ],
    'no-restricted-globals': [
      'error',
      ...[
        'process',
        'require',
        'Buffer',
        'fetch',
        'crypto',
        'performance',
        'setImmediate',
        'WeakRef',
        'FinalizationRegistry',
        'XMLHttpRequest',
      ].map((name) => ({ name, message: `${name} is host state or I/O: not deterministic on replay` })),
    ],
  },
};

// typescript-eslint's recommended rules (syntax only: fast, no type information) on every source.
const everywhere = tseslint.configs.recommended.map((config) => ({
  ...config,
  files: ['**/*.ts', '**/*.mts', '**/*.cts'],
}));

export default [
  { ignores: ['build/**', 'dist/**', 'node_modules/**', 'test-results/**'] },
  ...everywhere,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    rules: {
      // A leading underscore marks a binding kept on purpose (a destructured field left out).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  deterministic,
];
