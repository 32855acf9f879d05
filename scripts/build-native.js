#!/usr/bin/env node
// npm install hook: build native/ with node-gyp against the headers of the Node that runs us when they are
// installed locally (Debian's nodejs, nvm, the official tarballs all ship include/node), so no download is needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild', '-C', join(here, '..', 'native')];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// npm tells install scripts where its bundled node-gyp is; run by hand, use the dev dependency.
function findNodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return 'node-gyp';
  }
}
const gyp = findNodeGyp();
const r = gyp.endsWith('.js')
  ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
  : spawnSync(gyp, args, { stdio: 'inherit' });
if (r.status !== 0) {
  if (r.error) console.error(`devenv: cannot run ${gyp}: ${r.error.message}`);
  console.error('devenv: building the native runtime failed. It needs g++, make, python3, libseccomp-dev and libjansson-dev.');
  process.exit(r.status ?? 1);
}
