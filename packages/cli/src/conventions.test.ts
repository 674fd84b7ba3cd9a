/**
 * The CLI conventions: write errors (a closed pipe, a full disk) through the built binary, colour
 * per environment, distinct exit codes, JSON errors, and fuzzed command lines that must always end
 * in one error line with exit 2 — never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { CliIo } from './io.js';
import { colourEnabled } from './io.js';
import { runCli } from './run-cli.js';
import { ExitCode } from './usage-error.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const ANSI = '\u001b[';

async function mmkit(argv: readonly string[], opts: { tty?: boolean; env?: Record<string, string> } = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin: async () => '',
    env: opts.env ?? {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

function sh(script: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !['FORCE_COLOR', 'NO_COLOR', 'CI', 'MMKIT_DEBUG'].includes(k),
    ),
  );
  return spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: { ...clean, ...env, MMKIT: `${process.execPath} ${bin}` },
  });
}

describe('write errors (built binary)', () => {
  it('the binary is built', () => {
    expect(existsSync(bin), `${bin} is missing: run \`pnpm build\` (pnpm test builds it)`).toBe(true);
  });

  it('a closed pipe ends quietly with exit 0: no stack trace, nothing on stderr', () => {
    // `head -1` closes the pipe after the first line; the demo writes hundreds more.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
    const r = sh('$MMKIT demo | head -1 >/dev/null; echo "status ${PIPESTATUS[0]}"');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('status 0\n');
  });

  it.skipIf(!existsSync('/dev/full'))('a full disk is one error line and exit 74, no stack trace', () => {
    const r = sh('$MMKIT boards > /dev/full; echo "status $?"');
    expect(r.stdout).toBe('status 74\n');
    expect(r.stderr).toMatch(
      /^mmkit: error: cannot write to stdout: ENOSPC: no space left on device, write\n$/,
    );
  });

  it('a usage error through the binary is one line and exit 2', () => {
    const r = sh('$MMKIT decode aarch64 0x1 --level L2 --level L3; echo "status $?"');
    expect(r.stdout).toBe('status 2\n');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it.each([
    ['FORCE_COLOR=1 colours a pipe', { FORCE_COLOR: '1' }, true],
    ['a pipe is plain', {}, false],
    ['CI does not colour a pipe', { CI: 'true', GITHUB_ACTIONS: 'true' }, false],
    ['NO_COLOR wins over nothing', { NO_COLOR: '1' }, false],
    ['FORCE_COLOR=0 is plain', { FORCE_COLOR: '0' }, false],
  ])('%s', (_name, env, coloured) => {
    const r = sh('$MMKIT decode aarch64 --esr 0x92000007 | cat', env);
    expect(r.stdout.includes(ANSI)).toBe(coloured);
  });

  it('--json is never coloured, even when forced', () => {
    const r = sh('$MMKIT decode aarch64 --esr 0x92000007 --json | cat', { FORCE_COLOR: '3' });
    expect(r.stdout).not.toContain(ANSI);
    expect(JSON.parse(r.stdout).syndrome).toBe('0x92000007');
  });
});

describe('colour detection (in-process)', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('a terminal is coloured, a pipe is not; NO_COLOR turns it off, FORCE_COLOR on', () => {
    // supports-color reads TERM and the CI variables from the process environment: a colour
    // terminal outside CI, whatever runs the tests (CI runs them with CI=true and maybe no TERM).
    vi.stubEnv('CI', undefined);
    vi.stubEnv('TERM', 'xterm-256color');
    const io = (tty: boolean, env: Record<string, string> = {}): CliIo => ({
      stdout: { write: () => {}, isTTY: tty },
      stderr: { write: () => {} },
      env,
    });
    expect(colourEnabled(io(true))).toBe(true);
    expect(colourEnabled(io(false))).toBe(false);
    expect(colourEnabled(io(true, { NO_COLOR: '1' }))).toBe(false);
    expect(colourEnabled(io(true, { NO_COLOR: '' }))).toBe(true);
    expect(colourEnabled(io(false, { FORCE_COLOR: '1' }))).toBe(true);
    expect(colourEnabled(io(false, { FORCE_COLOR: '0' }))).toBe(false);
  });

  it('TERM=dumb turns a terminal plain (supports-color)', () => {
    vi.stubEnv('CI', undefined);
    vi.stubEnv('TERM', 'dumb');
    expect(
      colourEnabled({ stdout: { write: () => {}, isTTY: true }, stderr: { write: () => {} }, env: {} }),
    ).toBe(false);
  });
});

it('under CI (an unknown provider) a terminal stays plain: supports-color decides, not mmkit', () => {
  vi.stubEnv('CI', 'true');
  vi.stubEnv('TERM', 'xterm-256color');
  onTestFinished(() => {
    vi.unstubAllEnvs();
  });
  expect(
    colourEnabled({ stdout: { write: () => {}, isTTY: true }, stderr: { write: () => {} }, env: {} }),
  ).toBe(false);
});

describe('exit codes and JSON errors', () => {
  it('0 success, 1 a problem found (an unmet expectation), 2 usage, 70 internal', async () => {
    expect(ExitCode).toEqual({ Ok: 0, Problem: 1, Usage: 2, Internal: 70, Io: 74 });
    expect((await mmkit(['boards'])).code).toBe(0);
    expect((await mmkit(['boards', '--nope'])).code).toBe(2);
  });

  it('an internal error is one line, exit 70; the stack only with MMKIT_DEBUG', async () => {
    let stderr = '';
    const io: CliIo = {
      stdout: {
        write: () => {
          throw new TypeError('disk on fire');
        },
      },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
    };
    expect(await runCli(['boards'], io)).toBe(70);
    expect(stderr).toBe('mmkit: internal error: disk on fire\n');
    stderr = '';
    expect(await runCli(['boards'], { ...io, env: { MMKIT_DEBUG: '1' } })).toBe(70);
    expect(stderr).toMatch(/^mmkit: internal error: disk on fire\nTypeError: disk on fire\n\s+at /);
  });

  it('under --json a usage error is one JSON document on stderr', async () => {
    const r = await mmkit(['decode', 'aarch64', '0xZZ', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({
      error: {
        kind: 'usage',
        message:
          'descriptor "0xZZ" is not a number; expected hex (0x…), binary (0b…) or decimal digits, with optional _ between digits',
        exitCode: 2,
      },
    });
  });
});

describe('fuzzed command lines', () => {
  const words = fc.constantFrom(
    'decode',
    'boards',
    'demo',
    'run',
    'export',
    'gen',
    'plan',
    'help',
    'aarch64',
    'x86_64',
    'x86',
    '--level',
    'L2',
    '--esr',
    '--pf-error',
    '--json',
    '--board',
    'pc',
    '--arch',
    '--ram',
    '1G',
    '-o',
    '--batch',
    '--syndromes',
    '--pid',
    '--process',
    '--demo',
    '--step',
    '0x1',
    '-',
    '--',
    '/nonexistent/x.yaml',
  );
  const arg = fc.oneof(words, fc.string({ maxLength: 12 }));

  it('anything that is not a valid command is one error line and exit 2, never a stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arg, { maxLength: 6 }), async (argv) => {
        // Valid runs of the heavy commands are covered elsewhere: keep the fuzz fast.
        if (argv[0] === 'demo' || argv[0] === 'run' || argv[0] === 'export') argv.push('--board', 'nowhere');
        const r = await mmkit(argv);
        expect([0, 2]).toContain(r.code);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr).not.toContain('internal error');
        if (r.code === 2) {
          const lines = r.stderr.trimEnd().split('\n');
          expect(lines).toHaveLength(1);
          // `--json` asks for JSON errors only as an option, before a `--` (after it, it is an operand).
          const end = argv.indexOf('--');
          const json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
          expect(lines[0]).toMatch(json ? /^\{"error":/ : /^mmkit: error: /);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('progress bar', () => {
  const run = async (tty: boolean, extra: readonly string[] = []) => {
    let stderr = '';
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s), isTTY: tty, columns: 80 } as CliIo['stderr'],
      env: {},
    };
    const code = await runCli(['demo', '--json', ...extra], io);
    return { code, stderr, stdout };
  };

  it("shows the kernel's boot phases and the frames audited (a 12 GiB pc: 3 Mi frames)", async () => {
    const r = await run(true, ['--board', 'pc', '--ram', '12G']);
    expect(r.code).toBe(0);
    for (const phase of ['frame table', 'reverse map', 'swap map', 'linear map', 'cpus'])
      expect(r.stderr).toContain(`mmkit boot [------------------------------] 0/28 · ${phase}`);
    const frames = [...r.stderr.matchAll(/mmkit audit \[[-=]+\] 27\/28 · frames (\d+)\/(\d+)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    // Start, every 2^20 frames, end: never per frame.
    expect(frames).toEqual([
      [0, 3145728],
      [1048576, 3145728],
      [2097152, 3145728],
      [3145728, 3145728],
    ]);
    expect(JSON.parse(r.stdout).ok).toBe(true);
  });

  it('is drawn on a terminal (stderr) and cleared at the end; stdout stays the document', async () => {
    const r = await run(true);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('mmkit boot [------------------------------] 0/28');
    expect(r.stderr).toMatch(/mmkit audit \[=+\] 28\/28/);
    expect(r.stderr.endsWith('\u001b[2K')).toBe(true); // the bar's line is cleared at the end
    expect(JSON.parse(r.stdout).ok).toBe(true);
  });

  it('export draws boot and the steps on a terminal, nothing in a pipe; stdout is the export', async () => {
    for (const tty of [true, false]) {
      let stderr = '';
      let stdout = '';
      const io: CliIo = {
        stdout: { write: (s: string) => (stdout += s), isTTY: false },
        stderr: { write: (s: string) => (stderr += s), isTTY: tty, columns: 80 } as CliIo['stderr'],
        env: {},
      };
      const code = await runCli(['export', '--demo', '--step', '3', '--process', 'init', '-o', '-'], io);
      expect(code).toBe(0);
      expect(JSON.parse(stdout).format).toBe('mmkit-translation-state/1');
      if (tty) {
        expect(stderr).toContain('mmkit boot [------------------------------] 0/28 · frame table');
        expect(stderr).toMatch(/mmkit step \[[=-]+\] 4\/28/);
        expect(stderr.endsWith('\u001b[2K')).toBe(true);
      } else expect(stderr).toBe('');
    }
  });

  it('is not drawn in a pipe', async () => {
    const r = await run(false);
    expect(r.stderr).toBe('');
  });
});
