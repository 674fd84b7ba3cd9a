/**
 * Native C peers for bench files: "the same work on the same bytes, in C, in the same run".
 *
 * Machines here differ up to 2× on the same code, so a hot-path row is judged by its ratio to a
 * small C11 program doing the same work on the same input, measured in the same bench run. This
 * module is the one place that compiles, feeds, runs and parses such a program:
 *
 * ```ts
 * import { NativePeer, ratioRow, sameOrThrow } from '../../../scripts/native-peer.js';
 *
 * const peer = NativePeer.compile(new URL('./native/walk-peer.c', import.meta.url), 'walk.bench');
 * try {
 *   const mmkit = await bench.throughput({ ... });          // resolves to the recorded value
 *   if (peer) {
 *     const vpns = peer.writeInput('vpns.bin', uint64Array);   // a file in the peer's temp dir
 *     const c = peer.run<{ ops_per_s: number; checksum: number }>([vpns, '5']);
 *     sameOrThrow('walk results', mmkitChecksum, c.checksum); // unequal work is no comparison
 *     await peerRow(bench, 'C walk', 'same tables', 'ops/s', c.ops_per_s);
 *     await ratioRow(bench, 'walk, mmkit ÷ C', 'same tables, same VAs', mmkit / c.ops_per_s);
 *   }
 * } finally {
 *   peer?.dispose();
 * }
 * ```
 *
 * - {@link NativePeer.compile} runs `cc -std=c11 -O2` into a fresh temporary directory. With no
 *   `cc` on PATH it writes one line to stderr (`<label>: no C compiler (cc) on PATH; skipping the
 *   C peer and ratio rows`) and returns undefined: the bench records its mmkit rows only. A compile
 *   error throws (a broken peer must not pass silently).
 * - A peer prints exactly one JSON object on stdout; {@link NativePeer.run} parses it. A non-zero
 *   exit (the peer found a bad input, or its own self-check failed) throws with its stderr.
 * - Equality of work is checked by the caller with {@link sameOrThrow}, usually on an FNV-1a hash
 *   ({@link fnv1a}, {@link Fnv}) that the peer computes the same way in C.
 *
 * Bench files must not print; this module writes to stderr only in the no-compiler case.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './bench-api.js';

/** A compiled C peer in its own temporary directory. */
export class NativePeer {
  private disposed = false;

  private constructor(
    /** The C source. */
    readonly source: string,
    /** The temporary directory holding the executable and the input files. */
    readonly dir: string,
    /** The executable. */
    readonly exe: string,
  ) {}

  /**
   * Compiles `source` (a `.c` file) with `cc -std=c11 -O2`. Returns undefined, after one line on
   * stderr naming `label`, when there is no `cc`.
   * @throws Error with the compiler's output when compilation fails.
   */
  static compile(source: URL | string, label: string): NativePeer | undefined {
    const file = typeof source === 'string' ? source : fileURLToPath(source);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmkit-peer-'));
    const exe = path.join(dir, path.basename(file, '.c'));
    try {
      execFileSync('cc', ['-std=c11', '-O2', '-o', exe, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        process.stderr.write(`${label}: no C compiler (cc) on PATH; skipping the C peer and ratio rows\n`);
        return undefined;
      }
      throw new Error(`compiling ${file} failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
    }
    return new NativePeer(file, dir, exe);
  }

  /** Writes `data`'s bytes (host byte order: little-endian here) to `name` in the peer's directory; returns the path. */
  writeInput(name: string, data: ArrayBufferView): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return file;
  }

  /**
   * Runs the peer with `args` and parses the one JSON object it prints.
   * @throws Error with the peer's stderr if it exits non-zero, times out, or prints no JSON object.
   */
  run<T extends object>(args: readonly (string | number)[], timeoutMs = 600_000): T {
    let out: string;
    try {
      out = execFileSync(this.exe, args.map(String), {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: timeoutMs,
        maxBuffer: 16 * 2 ** 20,
      });
    } catch (e) {
      const err = e as { stderr?: string; status?: number | null; signal?: string | null };
      throw new Error(
        `${path.basename(this.source)} ${args.join(' ')} failed (${err.signal ?? `exit ${err.status}`}): ${err.stderr ?? e}`,
      );
    }
    const parsed: unknown = JSON.parse(out);
    if (parsed === null || typeof parsed !== 'object')
      throw new Error(`${path.basename(this.source)} printed no JSON object: ${out}`);
    return parsed as T;
  }

  /** Removes the temporary directory (executable and inputs). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const FNV_OFFSET = 0x811c_9dc5;
const FNV_PRIME = 0x0100_0193;

/** FNV-1a (32-bit) of `bytes`, continuing from `h`. The C peers use the same function. */
export function fnv1a(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/**
 * An FNV-1a (32-bit) hash fed with 32-bit words as their 4 little-endian bytes: `word(w)` equals
 * hashing the bytes of a `Uint32Array`. {@link number} feeds a non-negative integer below 2^53 as
 * two words (low, high), as the C peers feed a `uint64_t`.
 */
export class Fnv {
  h = FNV_OFFSET;

  word(w: number): this {
    let h = this.h;
    h = Math.imul(h ^ (w & 0xff), FNV_PRIME);
    h = Math.imul(h ^ ((w >>> 8) & 0xff), FNV_PRIME);
    h = Math.imul(h ^ ((w >>> 16) & 0xff), FNV_PRIME);
    h = Math.imul(h ^ (w >>> 24), FNV_PRIME);
    this.h = h;
    return this;
  }

  number(x: number): this {
    return this.word(x >>> 0).word(Math.floor(x / 0x1_0000_0000) >>> 0);
  }

  get value(): number {
    return this.h >>> 0;
  }
}

/** `values` as little-endian uint64s (each a non-negative integer below 2^53), for a peer's input file. */
export function toUint64(values: ArrayLike<number>): BigUint64Array {
  const out = new BigUint64Array(values.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    words[2 * i] = v >>> 0;
    words[2 * i + 1] = Math.floor(v / 0x1_0000_0000);
  }
  return out;
}

/** Throws unless mmkit's and the peer's results agree: a ratio is only valid on the same work. */
export function sameOrThrow(what: string, mmkit: number, peer: number): void {
  if (mmkit !== peer) {
    throw new Error(
      `${what}: mmkit ${mmkit} ≠ C peer ${peer}; the two sides did not do the same work, no ratio`,
    );
  }
}

/** Records a C peer's figure (measured by the peer itself) as a row. */
export function peerRow(
  bench: BenchContext,
  name: string,
  inputSize: string,
  unit: string,
  value: number,
  better: 'higher' | 'lower' = 'higher',
): Promise<number> {
  return bench.measure({ name, inputSize, unit, better, repeat: 1, run: () => value });
}

/**
 * Records a ratio row (unit `×`, higher = mmkit faster): `name` should end in `mmkit ÷ C`. Pass
 * rates (ops/s), so a whole-run time `t` enters as `1 / t`.
 */
export function ratioRow(
  bench: BenchContext,
  name: string,
  inputSize: string,
  ratio: number,
): Promise<number> {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new Error(`${name}: bad ratio ${ratio}`);
  return bench.measure({ name, inputSize, unit: '×', better: 'higher', repeat: 1, run: () => ratio });
}
