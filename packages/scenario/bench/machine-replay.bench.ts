/**
 * Machine replay of a real program's trace (issue 8: "≥ 20 M accesses/s with the TLB hit rate of
 * a real program"), with a native C peer doing the same work on the same bytes.
 *
 * The trace: when `valgrind` and `gzip` are on PATH, the setup records one — `valgrind
 * --tool=lackey --trace-mem=yes gzip -6 -c` of 48 KiB of deterministic pseudo-text (about 8 M
 * references: instruction fetches, loads, stores, modifies) — into a temporary directory, reads it
 * with `readLackeyTrace(…, { accessKinds: true })` into a Float64Array of pages and a Uint8Array of
 * kinds, and deletes the file (nothing big is committed). Without valgrind it builds a synthetic
 * trace of the same length with a documented locality model (see `syntheticTrace`). The trace is
 * in memory before anything is timed: the rows measure the machine, not the parser.
 *
 * Rows (x86-64 on the pc board, 512 MiB of RAM; one discarded cold run first, then each row the
 * best of its runs):
 * - `machine replay, cold` — boot (untimed), then `MachineReplay.feed` over the whole trace:
 *   regions mapped on first touch, every demand fault, zero page and zero-fill, TLB misses and
 *   walks; accesses/s (target ≥ 20 M/s) and the TLB hit rate (%), for the kernel's default TLB
 *   (4096 entries) and for a 64-entry TLB (an L1 dTLB's size: a lower hit rate, more walks).
 * - `machine replay, warm` — the same process again after `tlb.invalidateAll()` (after one untimed
 *   settling pass): every page is mapped, so a miss is a TLB fill by a real 4-level walk (A/D
 *   already set) and no fault.
 * - C peer (native/machine-replay-peer.c, see native/README.md): the warm pass in C on the same
 *   page-table bytes (every table frame of the process exported after the cold pass, at its PA),
 *   the same region shifts and the same references: region lookup, direct-mapped TLB of the same
 *   size and indexing, IA-32e walk on a miss. It runs twice: with mmkit's per-kind hit memo (the
 *   same loop as `MachineReplay`'s: `machine replay warm, mmkit ÷ C (same loop, hit memo)`, the
 *   ratio to judge by) and as the plain per-access loop of earlier runs (`… ÷ C per-access
 *   loop`). Its hit and miss counts must equal mmkit's warm pass in both modes, else the bench
 *   throws. mmkit's warm pass and the two C runs alternate for 5 rounds (2 with `--quick`), best
 *   of the rounds on each side (> 1 would mean mmkit is faster). Each side is timed by the wall
 *   clock and by the process's CPU time (`process.cpuUsage`, `CLOCK_PROCESS_CPUTIME_ID`): on a
 *   shared, loaded machine the CPU-time ratio moves least between runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportTranslationState } from '@mmkit/kernel';
import { readLackeyTrace } from '@mmkit/replay';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { NativePeer, peerRow, ratioRow, sameOrThrow, toUint64 } from '../../../scripts/native-peer.js';
import { createMachineReplay, type MachineReplay } from '../src/index.js';

const INPUT_BYTES = 48 * 1024;
const SYNTHETIC_REFS = 8_000_000;

interface Trace {
  readonly pages: Float64Array;
  readonly kinds: Uint8Array;
  readonly name: string;
}

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** 48 KiB of words drawn by xorshift32 from a 2 000-word vocabulary: compressible, like text. */
function pseudoText(): Uint8Array {
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const words: string[] = [];
  for (let i = 0; i < 2000; i++) {
    let w = '';
    const n = 2 + (next() % 8);
    for (let j = 0; j < n; j++) w += String.fromCharCode(97 + (next() % 26));
    words.push(w);
  }
  let text = '';
  while (text.length < INPUT_BYTES) text += `${words[next() % words.length]} `;
  return new TextEncoder().encode(text.slice(0, INPUT_BYTES));
}

async function recordLackey(dir: string): Promise<Trace | undefined> {
  if (!has('valgrind') || !has('gzip')) return undefined;
  const input = path.join(dir, 'input.txt');
  const log = path.join(dir, 'gzip.lackey');
  writeFileSync(input, pseudoText());
  execFileSync(
    'valgrind',
    ['--tool=lackey', '--trace-mem=yes', `--log-file=${log}`, 'gzip', '-6', '-c', input],
    {
      stdio: 'ignore',
    },
  );
  const pages: Float64Array[] = [];
  const kinds: Uint8Array[] = [];
  let n = 0;
  for await (const b of readLackeyTrace(log, { accessKinds: true })) {
    pages.push(b.keys.slice(0, b.length));
    kinds.push(b.kinds!.slice(0, b.length));
    n += b.length;
  }
  rmSync(log, { force: true });
  const out = {
    pages: new Float64Array(n),
    kinds: new Uint8Array(n),
    name: `lackey of gzip -6 (48 KiB), ${n} refs`,
  };
  let o = 0;
  for (let i = 0; i < pages.length; i++) {
    out.pages.set(pages[i]!, o);
    out.kinds.set(kinds[i]!, o);
    o += pages[i]!.length;
  }
  return out;
}

/**
 * The fallback without valgrind, a program-like locality model: each reference is an instruction
 * fetch walking a 96-page text region in runs of 16 bytes (jumping to a random text page every 64
 * fetches), followed with probability 1/2 by a data reference — 60 % to an 8-page stack (writes
 * and reads alike), 35 % to a 2 000-page heap whose pages are chosen 90 % from a hot 200 and 10 %
 * uniformly (a third of them writes), 5 % to a read-only 300-page data region.
 */
function syntheticTrace(): Trace {
  const pages = new Float64Array(SYNTHETIC_REFS);
  const kinds = new Uint8Array(SYNTHETIC_REFS);
  let x = 0x2545f491;
  const r = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const TEXT = 0x400000 / 4096;
  const RODATA = 0x600000 / 4096;
  const HEAP = 0x2000000 / 4096;
  const STACK = 0x7ffff0000 / 4096;
  let pc = 0;
  let n = 0;
  while (n < SYNTHETIC_REFS) {
    if (n % 64 === 0) pc = (r() % 96) * 4096;
    pc += 16;
    pages[n] = TEXT + (Math.floor(pc / 4096) % 96);
    kinds[n++] = 2;
    if (n < SYNTHETIC_REFS && (r() & 1) === 0) {
      const d = r() % 100;
      if (d < 60) {
        pages[n] = STACK + (r() % 8);
        kinds[n] = r() & 1;
      } else if (d < 95) {
        pages[n] = HEAP + (r() % 10 < 9 ? r() % 200 : r() % 2000);
        kinds[n] = r() % 3 === 0 ? 1 : 0;
      } else {
        pages[n] = RODATA + (r() % 300);
        kinds[n] = 0;
      }
      n++;
    }
  }
  return { pages, kinds, name: `synthetic (no valgrind), ${SYNTHETIC_REFS} refs` };
}

function boot(tlbEntries: number): MachineReplay {
  return createMachineReplay({ board: 'pc', arch: 'x86_64', ramMiB: 512, tlbEntries, sampleEvery: 1 << 20 });
}

/** Every page-table frame of the process as (uint64 pa, 4096 bytes) records. */
function exportTables(m: MachineReplay): Uint8Array {
  const state = exportTranslationState(m.kernel, m.process);
  const out = new Uint8Array(state.tables.length * (8 + 4096));
  const view = new DataView(out.buffer);
  state.tables.forEach((t, i) => {
    const at = i * (8 + 4096);
    view.setBigUint64(at, BigInt(t.pa), true);
    const hex = t.bytes;
    if (hex.length !== 8192) throw new Error(`table at ${t.pa} is not 4096 bytes`);
    for (let j = 0; j < 4096; j++) out[at + 8 + j] = Number.parseInt(hex.slice(2 * j, 2 * j + 2), 16);
  });
  return out;
}

export default async function machineReplayBench(bench: BenchContext): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mmkit-mreplay-bench-'));
  let peer: NativePeer | undefined;
  try {
    const trace = (await recordLackey(dir)) ?? syntheticTrace();
    const n = trace.pages.length;
    const size = trace.name;
    // A discarded run first, so the rows measure compiled code (each row is the best of its runs).
    boot(4096).feed(trace.pages, trace.kinds);
    for (const tlbEntries of [4096, 64]) {
      let hitRate = 0;
      await bench.measure({
        name: `machine replay, cold (x86_64 pc, TLB ${tlbEntries})`,
        inputSize: size,
        unit: 'accesses/s',
        better: 'higher',
        ...(tlbEntries === 4096 ? { target: { min: 20e6 } } : {}),
        run: () => {
          const m = boot(tlbEntries);
          const t = performance.now();
          m.feed(trace.pages, trace.kinds);
          const ms = performance.now() - t;
          const r = m.result();
          if (r.accesses !== n || r.stopped) throw new Error(`short replay: ${r.stopped?.reason}`);
          hitRate = r.tlb.hitRate;
          return (n * 1000) / ms;
        },
      });
      await bench.measure({
        name: `machine replay TLB hit rate (TLB ${tlbEntries})`,
        inputSize: size,
        unit: '%',
        better: 'higher',
        repeat: 1,
        run: () => hitRate * 100,
      });
    }
    // The warm pass, and its C peer on the same tables and references.
    const m = boot(4096);
    m.feed(trace.pages, trace.kinds);
    // One untimed warm pass first: an mprotect during the cold pass (a region widened to rwx)
    // rewrote its present leaves clean, so the first warm pass sets dirty bits again; after it the
    // tables no longer change and every warm pass (mmkit's and C's) does the same work.
    m.cpu.tlb.invalidateAll();
    m.feed(trace.pages, trace.kinds);
    const cold = m.result();
    const tables = exportTables(m);
    const regions = new BigInt64Array(cold.regions.length * 2);
    cold.regions.forEach((g, i) => {
      regions[2 * i] = BigInt(g.tracePage / 512);
      regions[2 * i + 1] = BigInt(g.page - g.tracePage);
    });
    const warmRun = (): { rate: number; cpuRate: number; hits: number; misses: number } => {
      m.cpu.tlb.invalidateAll();
      const before = m.result();
      const c = process.cpuUsage();
      const t = performance.now();
      m.feed(trace.pages, trace.kinds);
      const ms = performance.now() - t;
      const cpu = process.cpuUsage(c);
      const after = m.result();
      if (after.faults.total !== before.faults.total) throw new Error('the warm pass faulted');
      return {
        rate: (n * 1000) / ms,
        cpuRate: (n * 1e6) / Math.max(1, cpu.user + cpu.system),
        hits: after.tlb.hits - before.tlb.hits,
        misses: after.tlb.misses - before.tlb.misses,
      };
    };
    peer = NativePeer.compile(
      new URL('./native/machine-replay-peer.c', import.meta.url),
      'machine-replay.bench',
    );
    const inputs = peer && [
      peer.writeInput('tables.bin', tables),
      `0x${m.process.root.toString(16)}`,
      m.arch.description.paBits,
      peer.writeInput('regions.bin', regions),
      peer.writeInput('pages.bin', toUint64(trace.pages)),
      peer.writeInput('kinds.bin', trace.kinds),
      4096,
      1,
    ];
    // mmkit and C in alternating rounds, best of the rounds on each side, so a change of load on
    // this shared machine hits both sides. C runs twice a round: the plain per-access loop and the
    // loop with mmkit's hit memo (the same algorithm as mmkit's replay).
    const best = { mmkit: 0, mmkitCpu: 0, c: 0, cCpu: 0, cMemo: 0, cMemoCpu: 0 };
    type PeerOut = {
      accesses: number;
      hits: number;
      misses: number;
      accesses_per_s: number;
      accesses_per_cpu_s: number;
    };
    for (let round = 0; round < (bench.quick ? 2 : 5); round++) {
      const w = warmRun();
      best.mmkit = Math.max(best.mmkit, w.rate);
      best.mmkitCpu = Math.max(best.mmkitCpu, w.cpuRate);
      if (peer && inputs) {
        for (const memo of [0, 1]) {
          const c = peer.run<PeerOut>([...inputs, memo]);
          sameOrThrow('warm-pass accesses', n, c.accesses);
          sameOrThrow('warm-pass TLB hits', w.hits, c.hits);
          sameOrThrow('warm-pass TLB misses', w.misses, c.misses);
          if (memo) {
            best.cMemo = Math.max(best.cMemo, c.accesses_per_s);
            best.cMemoCpu = Math.max(best.cMemoCpu, c.accesses_per_cpu_s);
          } else {
            best.c = Math.max(best.c, c.accesses_per_s);
            best.cCpu = Math.max(best.cCpu, c.accesses_per_cpu_s);
          }
        }
      }
    }
    const mmkit = await bench.measure({
      name: 'machine replay, warm (x86_64 pc, TLB 4096, tables built, TLB flushed)',
      inputSize: size,
      unit: 'accesses/s',
      better: 'higher',
      repeat: 1,
      run: () => best.mmkit,
    });
    const mmkitCpu = await bench.measure({
      name: 'machine replay, warm, per CPU second (process.cpuUsage)',
      inputSize: size,
      unit: 'accesses/s',
      better: 'higher',
      repeat: 1,
      run: () => best.mmkitCpu,
    });
    if (peer) {
      const rows = [
        [
          'C machine-replay-peer, warm, hit memo as mmkit (TLB 4096)',
          best.cMemo,
          best.cMemoCpu,
          'same loop, hit memo',
        ],
        ['C machine-replay-peer, warm, per-access loop (TLB 4096)', best.c, best.cCpu, 'C per-access loop'],
      ] as const;
      for (const [name, wall, cpu, what] of rows) {
        const cRate = await peerRow(bench, name, size, 'accesses/s', wall);
        const cCpu = await peerRow(bench, `${name}, per CPU second`, size, 'accesses/s', cpu);
        await ratioRow(bench, `machine replay warm, mmkit ÷ C (${what})`, size, mmkit / cRate);
        await ratioRow(bench, `machine replay warm, mmkit ÷ C (${what}), CPU time`, size, mmkitCpu / cCpu);
      }
    }
  } finally {
    peer?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
