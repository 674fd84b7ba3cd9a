#!/usr/bin/env node
/**
 * Consumer test: installs mmkit the way a stranger would and uses it from outside the workspace.
 *
 * 1. `pnpm pack` every public package (pnpm rewrites `workspace:^` to real ranges; `npm pack`
 *    would not) and checks each tarball: no `workspace:` left in its package.json, the root
 *    LICENSE, README.md, dist/index.js + .d.ts, no test files.
 * 2. Creates one fresh project under os.tmpdir() and `npm install`s the tarballs into it (the only
 *    registry traffic: commander and picocolors, normally served by npm's cache).
 * 3. Runs in that project:
 *    (a) a descriptor decode with @mmkit/arch-aarch64 + @mmkit/core only;
 *    (b) the root README's "swap backends" program, extracted from the README: once as written
 *        (pc, x86-64) and once with its one swap line replaced (virt, AArch64), each output
 *        compared with the output the README shows;
 *    (c) the `mmkit` binary through `npx mmkit …` (exit codes and output);
 *    (d) a TypeScript consumer type-checked with module/moduleResolution node16, nodenext and
 *        bundler (with the workspace's own tsc; no @types/node), plus a .cts file under nodenext;
 *    (e) a CommonJS consumer using require().
 *
 * Needs the packages built (`pnpm test` builds them first). Exits non-zero with a message naming
 * the step on the first failure. `MMKIT_CONSUMER_KEEP=1` keeps the temporary directory.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const fixtures = join(here, 'fixtures');
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'mmkit-consumer-'));
const packs = join(work, 'packs');
const app = join(work, 'app');
let step = 'setup';

class StepFailure extends Error {}

function fail(message) {
  throw new StepFailure(message);
}

let lap = Date.now();
function log(message) {
  const now = Date.now();
  console.log(`consumer-test: ${message} (${((now - lap) / 1000).toFixed(1)} s)`);
  lap = now;
}

/**
 * The environment of a stranger's shell: without the npm_* variables `pnpm run` exports (npm warns
 * about pnpm's settings), but with the npm cache, registry and config the user chose.
 */
const keep = /^npm_config_(cache|registry|userconfig|prefer_offline|offline)$/i;
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm|pnpm)_/i.test(k) || keep.test(k)),
);
Object.assign(env, { NO_COLOR: '1', FORCE_COLOR: '0', npm_config_update_notifier: 'false' });

/** Runs a command; returns { status, stdout, stderr } (never throws on a non-zero exit). */
function run(command, args, options = {}) {
  const r = spawnSync(command, args, {
    cwd: app,
    encoding: 'utf8',
    env,
    ...options,
  });
  if (r.error) fail(`${command} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

/** Runs a command that must succeed; returns its stdout. */
function ok(command, args, options = {}) {
  const r = run(command, args, options);
  if (r.status !== 0) {
    fail(`${command} ${args.join(' ')} exited with ${r.status}\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

function expectSame(what, actual, expected) {
  const a = actual.replace(/\s+$/, '');
  const e = expected.replace(/\s+$/, '');
  if (a === e) return;
  const al = a.split('\n');
  const el = e.split('\n');
  const i = al.findIndex((line, n) => line !== el[n]);
  const at = i === -1 ? al.length : i;
  fail(
    `${what}: output differs from the expected text at line ${at + 1}\n` +
      `  expected: ${JSON.stringify(el[at] ?? '<end of output>')}\n` +
      `  actual:   ${JSON.stringify(al[at] ?? '<end of output>')}\n--- actual output ---\n${a}`,
  );
}

/** pnpm as the script was started (`pnpm test` sets npm_execpath), else `npx --yes pnpm@10`. */
function pnpm(args, cwd) {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath)) return ok(process.execPath, [execPath, ...args], { cwd });
  return ok('npx', ['--yes', 'pnpm@10', ...args], { cwd });
}

/**
 * The README's swap example: the ```js block after `<!-- consumer-test:swap -->`, the swap line
 * after `<!-- consumer-test:swap-line -->`, and the two outputs after
 * `<!-- consumer-test:swap-output pc -->` and `<!-- consumer-test:swap-output virt -->`.
 */
function readmeSwapExample() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = (marker) => {
    const at = readme.indexOf(`<!-- ${marker} -->`);
    if (at === -1) fail(`README.md has no <!-- ${marker} --> marker`);
    const m = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at));
    if (!m) fail(`README.md: no code block after <!-- ${marker} -->`);
    return m[1];
  };
  const program = block('consumer-test:swap');
  const swapLine = block('consumer-test:swap-line').trim();
  const lines = program.split('\n');
  const from = swapLine.match(/from '([^']+)'/)?.[1];
  const i = lines.findIndex((l) => /^import .* from '@mmkit\/arch-/.test(l));
  if (i === -1 || !from) fail('README swap example: no `import … from "@mmkit/arch-…"` line to swap');
  if (lines.filter((l) => /^import .* from '@mmkit\/arch-/.test(l)).length !== 1) {
    fail('README swap example: more than one arch import; the swap must be exactly one line');
  }
  const swapped = [...lines];
  swapped[i] = swapLine;
  return {
    pc: { program, output: block('consumer-test:swap-output pc') },
    virt: { program: swapped.join('\n'), output: block('consumer-test:swap-output virt') },
  };
}

function publicPackages() {
  const dirs = readdirSync(join(root, 'packages')).filter((d) =>
    existsSync(join(root, 'packages', d, 'package.json')),
  );
  return dirs
    .map((d) => ({
      dir: join(root, 'packages', d),
      manifest: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')),
    }))
    .filter((p) => !p.manifest.private);
}

async function main() {
  step = 'pack';
  const pkgs = publicPackages();
  for (const p of pkgs) {
    if (!existsSync(join(p.dir, 'dist', 'index.js'))) {
      fail(`${p.manifest.name} is not built (no dist/index.js); run \`npx --yes pnpm@10 build\` first`);
    }
  }
  mkdirSync(packs);
  pnpm(
    ['-r', ...pkgs.flatMap((p) => ['--filter', p.manifest.name]), 'pack', '--pack-destination', packs],
    root,
  );
  const tarballs = readdirSync(packs)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(packs, f));
  if (tarballs.length !== pkgs.length)
    fail(`expected ${pkgs.length} tarballs, found ${tarballs.length} in ${packs}`);
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  for (const t of tarballs) {
    const list = execFileSync('tar', ['-tzf', t], { encoding: 'utf8' }).split('\n');
    const manifestText = execFileSync('tar', ['-xzOf', t, 'package/package.json'], { encoding: 'utf8' });
    const name = JSON.parse(manifestText).name;
    if (manifestText.includes('workspace:'))
      fail(`${name}: the packed package.json still contains "workspace:"`);
    for (const f of [
      'package/LICENSE',
      'package/README.md',
      'package/dist/index.js',
      'package/dist/index.d.ts',
    ]) {
      if (!list.includes(f)) fail(`${name}: the tarball has no ${f.slice('package/'.length)}`);
    }
    if (execFileSync('tar', ['-xzOf', t, 'package/LICENSE'], { encoding: 'utf8' }) !== license) {
      fail(`${name}: the packed LICENSE differs from the repository's LICENSE`);
    }
    const tests = list.filter((f) => /\.test\.ts$/.test(f));
    if (tests.length > 0) fail(`${name}: the tarball contains test files: ${tests.join(', ')}`);
  }
  log(`packed ${tarballs.length} packages; manifests free of workspace:, LICENSE and README in each`);

  step = 'npm install';
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'mmkit-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs]);
  cpSync(fixtures, app, { recursive: true });
  log(`installed the tarballs with npm into ${app}`);

  step = '(a) descriptor decode with @mmkit/arch-aarch64 + @mmkit/core';
  const installed = readdirSync(join(app, 'node_modules', '@mmkit')).sort();
  expectSame(
    `${step}: installed @mmkit packages`,
    installed.join('\n'),
    pkgs
      .map((p) => p.manifest.name.slice('@mmkit/'.length))
      .sort()
      .join('\n'),
  );
  expectSame(
    step,
    ok('node', ['decode.mjs']),
    readFileSync(join(fixtures, 'expected', 'decode.txt'), 'utf8'),
  );
  log(`${step}: ok`);

  step = '(b) the README swap-backends example';
  const swap = readmeSwapExample();
  for (const [board, variant] of Object.entries(swap)) {
    const file = `swap-${board}.mjs`;
    writeFileSync(join(app, file), variant.program);
    expectSame(`${step} on ${board}`, ok('node', [file]), variant.output);
  }
  log(`${step}: pc/x86-64 and virt/AArch64 print what the README shows`);

  step = '(c) the mmkit binary through npx';
  const cliVersion = JSON.parse(
    readFileSync(join(app, 'node_modules', '@mmkit', 'cli', 'package.json'), 'utf8'),
  ).version;
  const npx = (args) => run('npx', ['--no-install', 'mmkit', ...args]);
  const decoded = npx(['decode', 'aarch64', '0x0040_0000_4000_0705', '--level', 'L2']);
  if (decoded.status !== 0) fail(`${step}: mmkit decode exited with ${decoded.status}\n${decoded.stderr}`);
  expectSame(
    `${step}: mmkit decode`,
    decoded.stdout,
    readFileSync(join(fixtures, 'expected', 'cli-decode.txt'), 'utf8'),
  );
  const version = npx(['--version']);
  if (version.status !== 0 || version.stdout.trim() !== cliVersion) {
    fail(
      `${step}: mmkit --version printed ${JSON.stringify(version.stdout)} (exit ${version.status}), expected ${cliVersion}`,
    );
  }
  const usage = npx(['decode', 'aarch64', 'zz']);
  if (usage.status !== 2 || !/^mmkit: error: [^\n]+\n$/.test(usage.stderr)) {
    fail(
      `${step}: a malformed number should exit 2 with one 'mmkit: error:' line; got exit ${usage.status}\n${usage.stderr}`,
    );
  }
  log(`${step}: decode output, --version and usage-error exit code ok`);

  step = '(d) TypeScript consumer under node16, nodenext and bundler';
  // The workspace's own compiler; no @types/node: the packages' declarations must not need it.
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const configs = {
    node16: { module: 'node16', moduleResolution: 'node16', files: ['ts/consumer.ts'] },
    nodenext: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      files: ['ts/consumer.ts', 'ts/consumer-cjs.cts'],
    },
    bundler: { module: 'esnext', moduleResolution: 'bundler', files: ['ts/consumer.ts'] },
  };
  const checks = Object.entries(configs).map(([mode, { files, ...options }]) => {
    const config = `tsconfig.${mode}.json`;
    const compilerOptions = {
      ...options,
      target: 'es2022',
      lib: ['es2022'],
      types: [],
      strict: true,
      noEmit: true,
    };
    writeFileSync(join(app, config), `${JSON.stringify({ compilerOptions, files }, null, 2)}\n`);
    return new Promise((done) => {
      const child = spawn(process.execPath, [tsc, '-p', config], { cwd: app, env });
      let out = '';
      child.stdout.on('data', (b) => {
        out += b;
      });
      child.stderr.on('data', (b) => {
        out += b;
      });
      child.on('close', (status) => done({ mode, status, out }));
    });
  });
  for (const r of await Promise.all(checks)) {
    if (r.status !== 0) fail(`${step}: tsc with module ${r.mode} failed (exit ${r.status})\n${r.out}`);
  }
  log(`${step}: ok`);

  step = '(e) require() consumer';
  expectSame(
    step,
    ok('node', ['require.cjs']),
    readFileSync(join(fixtures, 'expected', 'require.txt'), 'utf8'),
  );
  log(`${step}: ok`);
}

try {
  await main();
  console.log(`consumer-test: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  const message = e instanceof StepFailure ? e.message : (e?.stack ?? String(e));
  console.error(`consumer-test: FAILED in step ${step}: ${message}`);
  if (!process.env.MMKIT_CONSUMER_KEEP)
    console.error('consumer-test: set MMKIT_CONSUMER_KEEP=1 to keep the project for inspection');
  process.exitCode = 1;
} finally {
  if (process.env.MMKIT_CONSUMER_KEEP) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
