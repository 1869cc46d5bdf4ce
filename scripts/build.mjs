// Bundles the extension and the CLI with esbuild. Native and ESM-only engine modules stay
// external: they are loaded at run time from node_modules (and shipped inside the VSIX).
import { build } from 'esbuild';
import { chmod, copyFile, mkdir } from 'node:fs/promises';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const external = ['vscode', 'node-llama-cpp', 'hnswlib-node', 'onnxruntime-node'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' }),
  build({ ...common, entryPoints: ['src/engineHost.ts'], outfile: 'dist/engineHost.js' }),
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
// The panel's and the record view's webviews: browser bundles, its stylesheet and the codicon font (no remote content).
await build({
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  entryPoints: ['webview/main.ts', 'webview/recordView.ts'],
  outdir: 'dist/webview',
});
await mkdir('dist/webview', { recursive: true });
await copyFile('webview/panel.css', 'dist/webview/panel.css');
await copyFile('webview/recordView.css', 'dist/webview/recordView.css');
await copyFile('node_modules/@vscode/codicons/dist/codicon.css', 'dist/webview/codicon.css');
await copyFile('node_modules/@vscode/codicons/dist/codicon.ttf', 'dist/webview/codicon.ttf');
await chmod('dist/cli.js', 0o755);
if (!watch)
  console.log('built dist/extension.js, dist/engineHost.js, dist/cli.js and dist/webview/');
