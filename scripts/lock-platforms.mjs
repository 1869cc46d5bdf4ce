// Restores package-lock.json entries for node-llama-cpp's prebuilt binaries of other platforms.
// A registry mirror without those builds (404) makes npm leave them out of the lock, and
// `npm ci` then refuses the lock as out of sync. The entries are optional and carry os/cpu, so
// npm skips them on other platforms without contacting the registry. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  'linux-riscv64': { os: ['linux'], cpu: ['riscv64'] },
  'mac-arm64-metal': { os: ['darwin'], cpu: ['arm64'] },
  'mac-x64': { os: ['darwin'], cpu: ['x64'] },
  'win-arm64': { os: ['win32'], cpu: ['arm64'] },
  'win-x64': { os: ['win32'], cpu: ['x64'] },
  'win-x64-cuda': { os: ['win32'], cpu: ['x64'] },
  'win-x64-cuda-ext': { os: ['win32'], cpu: ['x64'] },
  'win-x64-vulkan': { os: ['win32'], cpu: ['x64'] },
};

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const nlc = lock.packages['node_modules/node-llama-cpp'];
let added = 0;
for (const [dep, version] of Object.entries(nlc?.optionalDependencies ?? {})) {
  const key = `node_modules/${dep}`;
  const platform = PLATFORMS[dep.replace('@node-llama-cpp/', '')];
  if (lock.packages[key] || !platform) continue;
  lock.packages[key] = {
    version,
    ...platform,
    license: 'MIT',
    optional: true,
    engines: { node: '>=20.0.0' },
  };
  added++;
}
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
lock.packages = sorted;
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`package-lock.json: ${added} platform entr${added === 1 ? 'y' : 'ies'} restored`);
