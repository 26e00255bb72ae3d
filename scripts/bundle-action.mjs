// Bundles the GitHub Action into dist/: one self-contained ES module per entry, as GitHub runs them.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
  legalComments: 'none',
  // Some dependencies still call require(); give the ES module one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
};
await build({ ...common, entryPoints: ['action/index.ts'], outfile: 'dist/index.js' });
await build({ ...common, entryPoints: ['action/post-index.ts'], outfile: 'dist/post.js' });
