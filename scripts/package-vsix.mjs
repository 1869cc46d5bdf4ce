// Packages the extension as a platform-specific VSIX with its native runtime dependencies.
//   node scripts/package-vsix.mjs [--target linux-x64] [--cuda] [--out relation-lens-<target>.vsix] [--no-build]
// .vscodeignore is the source of truth for what the VSIX ships (everything but its "!" lines).
// vsce lets any "!" pattern win over every exclusion, so the runtime dependencies are added here
// as "!" lines: the production dependency closure (npm ls), minus the binaries of other
// platforms, CUDA (unless --cuda: hundreds of MB) and node-llama-cpp's llama.cpp source bundle
// (only needed to build from source), and onnxruntime-node's binaries of other platforms.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const target = opt(
  '--target',
  `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch}`,
);
const cuda = args.includes('--cuda');
const out = path.resolve(opt('--out', `relation-lens-${target}.vsix`));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

if (!args.includes('--no-build'))
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--production'], {
    cwd: root,
    stdio: 'inherit',
  });

const [os, arch] = target.split('-');
const llamaPlatform = { win32: 'win', darwin: 'mac', linux: 'linux' }[os];
const keepPlatform = (name) => {
  const m = /^@node-llama-cpp\/(.+)$/.exec(name);
  if (!m) return true;
  const p = m[1];
  if (!p.startsWith(`${llamaPlatform}-${arch}`)) return false;
  return cuda || !p.includes('cuda');
};
const dropped = new Set(['typescript']);
const dirs = execFileSync(npm, ['ls', '--omit=dev', '--all', '--parseable'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((d) => d && d !== root)
  .map((d) => path.relative(root, d).split(path.sep).join('/'))
  .filter((d) => {
    const name = d.replace(/^.*node_modules\//, '');
    return keepPlatform(name) && !dropped.has(name);
  });

const lines = readFileSync(path.join(root, '.vscodeignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
for (const d of dirs) {
  if (d === 'node_modules/node-llama-cpp') {
    for (const sub of [
      'bins',
      'dist',
      'templates',
      'node_modules',
      'llama/addon',
      'llama/cmake',
      'llama/grammars',
      'llama/patches',
      'llama/profiles',
      'llama/toolchains',
      'llama/xpack',
    ])
      lines.push(`!${d}/${sub}/**`);
    lines.push(`!${d}/*.json`, `!${d}/LICENSE`, `!${d}/llama/*.json`, `!${d}/llama/CMakeLists.txt`);
  } else if (d === 'node_modules/onnxruntime-node') {
    // Its JS and the target platform's binaries only (every platform's are in the package: 288 MB).
    lines.push(
      `!${d}/dist/**`,
      `!${d}/lib/**`,
      `!${d}/*.json`,
      `!${d}/bin/napi-v*/${os}/${arch}/**`,
    );
  } else lines.push(`!${d}/**`);
}
const ignoreFile = path.join(tmpdir(), `relation-lens-vscodeignore-${process.pid}`);
writeFileSync(ignoreFile, lines.join('\n') + '\n');
execFileSync(
  process.execPath,
  [
    path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
    'package',
    '--target',
    target,
    '--ignoreFile',
    ignoreFile,
    '--out',
    out,
    '--allow-missing-repository',
    '--skip-license',
    '--readme-path',
    'media/EXTENSION.md',
  ],
  { cwd: root, stdio: 'inherit' },
);
console.log(
  `packaged ${out} (${target}${cuda ? ', with CUDA' : ''}, ${dirs.length} runtime package(s))`,
);
