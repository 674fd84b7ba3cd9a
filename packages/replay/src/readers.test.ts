import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCsvTrace } from './csv-trace.js';
import { TraceFormatError } from './errors.js';
import { readLackeyTrace } from './lackey.js';
import { readOracleGeneralTrace } from './oracle-general.js';
import { readPageListTrace } from './page-list.js';
import type { TraceBatch } from './trace-source.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmkit-replay-'));
});

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function collect(reader: AsyncIterable<TraceBatch>): Promise<number[]> {
  const out: number[] = [];
  for await (const b of reader) for (let i = 0; i < b.length; i++) out.push(b.keys[i]!);
  return out;
}

async function formatError(reader: AsyncIterable<TraceBatch>): Promise<TraceFormatError> {
  try {
    await collect(reader);
  } catch (e) {
    if (e instanceof TraceFormatError) return e;
    throw e;
  }
  throw new Error('no TraceFormatError');
}

const LACKEY = `==12345== Lackey, an example Valgrind tool
==12345== Command: ./a.out
I  04000d7d4,3
 S 7ff000398,8
 L 04001fff,8
 M 0401ffc,4

I  0400d7d8,5
==12345== ERROR SUMMARY: 0 errors
`;

describe('lackey reader', () => {
  it('one reference per line to the 4 KiB page of its first byte; M once; == lines skipped', async () => {
    // 0x4000d7d4 >> 12 = 0x4000d, 0x7ff000398 >> 12 = 0x7ff000, 0x04001fff (crosses into the next
    // page) → 0x4001 once, 0x0401ffc → 0x401, 0x0400d7d8 → 0x400d
    expect(await collect(readLackeyTrace(file('a.lackey', LACKEY)))).toEqual([
      0x4000d, 0x7ff000, 0x4001, 0x401, 0x400d,
    ]);
  });
  it('dataOnly drops I lines', async () => {
    expect(await collect(readLackeyTrace(file('b.lackey', LACKEY), { dataOnly: true }))).toEqual([
      0x7ff000, 0x4001, 0x401,
    ]);
  });
  it('reads gzip by its magic bytes, in small batches, twice', async () => {
    const reader = readLackeyTrace(file('c.trace', gzipSync(LACKEY)), { batchSize: 2 });
    const expected = [0x4000d, 0x7ff000, 0x4001, 0x401, 0x400d];
    expect(await collect(reader)).toEqual(expected);
    expect(await collect(reader)).toEqual(expected);
  });
  it('accessKinds attaches L → read (0), S and M → write (1), I → fetch (2), in small batches', async () => {
    const seen: [number, number][] = [];
    for await (const b of readLackeyTrace(file('k.lackey', LACKEY), { accessKinds: true, batchSize: 2 })) {
      for (let i = 0; i < b.length; i++) seen.push([b.keys[i]!, b.kinds![i]!]);
    }
    expect(seen).toEqual([
      [0x4000d, 2],
      [0x7ff000, 1],
      [0x4001, 0],
      [0x401, 1],
      [0x400d, 2],
    ]);
    for await (const b of readLackeyTrace(file('k2.lackey', LACKEY))) expect(b.kinds).toBeUndefined();
    expect(() => readLackeyTrace('x', { accessKinds: 'yes' as unknown as boolean })).toThrow(
      /lackey accessKinds.*a boolean/,
    );
  });
  it('64-bit addresses are exact', async () => {
    expect(await collect(readLackeyTrace(file('d.lackey', ' L ffffffffffffffff,8\n')))).toEqual([
      0xfffffffffffff,
    ]);
  });
  it('a malformed line names the file, the line, the text and what was expected', async () => {
    const path = file('bad.lackey', 'I  0400d7d4,3\n X 1234,8\n');
    const e = await formatError(readLackeyTrace(path));
    expect(e.code).toBe('E_TRACE_FORMAT');
    expect(e.file).toBe(path);
    expect(e.line).toBe(2);
    expect(e.found).toBe(' X 1234,8');
    expect(e.message).toContain(`${path}:2: found " X 1234,8"; expected a lackey line`);
    expect((await formatError(readLackeyTrace(file('bad2.lackey', ' L 12zz,8\n')))).line).toBe(1);
    expect((await formatError(readLackeyTrace(file('bad3.lackey', ' L 1234\n')))).line).toBe(1);
  });
});

describe('page-list reader', () => {
  it('decimal and 0x hex page numbers; blank and # lines skipped; CRLF', async () => {
    const path = file('p.txt', '# pages\n1\n0x10\n\n  42  \r\n#x\n9007199254740991\n');
    expect(await collect(readPageListTrace(path))).toEqual([1, 16, 42, Number.MAX_SAFE_INTEGER]);
  });
  it('addresses reduced to pages', async () => {
    const path = file('a.txt', '4096\n0x1fff\n0xffffffffffffffff\n');
    expect(await collect(readPageListTrace(path, { unit: 'address' }))).toEqual([1, 1, 0xfffffffffffff]);
    expect(await collect(readPageListTrace(path, { unit: 'address', pageShift: 16 }))).toEqual([
      0, 0, 0xffffffffffff,
    ]);
  });
  it('a last line without a newline counts', async () => {
    expect(await collect(readPageListTrace(file('n.txt', '1\n2')))).toEqual([1, 2]);
  });
  it('bad numbers are errors with their line', async () => {
    const e = await formatError(readPageListTrace(file('bad.txt', '1\n2\nabc\n')));
    expect([e.line, e.found]).toEqual([3, 'abc']);
    expect((await formatError(readPageListTrace(file('big.txt', '9007199254740992\n')))).line).toBe(1);
  });
});

/** One oracleGeneral record. */
function record(time: number, id: bigint, size: number, next: bigint): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, time, true);
  v.setBigUint64(4, id, true);
  v.setUint32(12, size, true);
  v.setBigInt64(16, next, true);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('oracleGeneral reader', () => {
  const bytes = concat([
    record(1, 7n, 4096, 2n),
    record(2, 2n ** 40n + 3n, 4096, -1n),
    record(3, 7n, 4096, -1n),
    record(4, 9n, 0, -1n), // size 0: skipped like libCacheSim
  ]);
  it('reads obj_id at offset 4 of each 24-byte little-endian record; skips size 0', async () => {
    expect(await collect(readOracleGeneralTrace(file('t.oracleGeneral', bytes)))).toEqual([
      7,
      2 ** 40 + 3,
      7,
    ]);
    expect(
      await collect(readOracleGeneralTrace(file('t2.oracleGeneral', bytes), { keepZeroSize: true })),
    ).toEqual([7, 2 ** 40 + 3, 7, 9]);
  });
  it('gzip, and records split across batches', async () => {
    const reader = readOracleGeneralTrace(file('t.oracleGeneral.gz', gzipSync(bytes)), { batchSize: 1 });
    expect(await collect(reader)).toEqual([7, 2 ** 40 + 3, 7]);
  });
  it('a truncated final record is an error at its byte offset', async () => {
    const e = await formatError(readOracleGeneralTrace(file('trunc.bin', bytes.subarray(0, 24 * 2 + 10))));
    expect(e.byteOffset).toBe(48);
    expect(e.line).toBeUndefined();
    expect(e.message).toMatch(/@byte 48: found "10 trailing byte/);
    expect(e.expected).toContain('24-byte oracleGeneral record');
  });
  it('an obj_id ≥ 2^53 is an error at its record', async () => {
    const e = await formatError(
      readOracleGeneralTrace(file('big.bin', concat([record(1, 1n, 1, 0n), record(2, 2n ** 53n, 1, 0n)]))),
    );
    expect(e.byteOffset).toBe(24);
  });
});

describe('csv reader', () => {
  const CSV =
    'version,time,op,size,lbn\n1,5633898,2a,512,42932745\n1,5633898,2a,512,0x10\n1,5,2a,6656,"017"\n';
  it('takes the obj-id column (1-based), detects the header, parses like strtoull(s, 0)', async () => {
    expect(await collect(readCsvTrace(file('t.csv', CSV), { objIdColumn: 5 }))).toEqual([42932745, 16, 15]);
  });
  it('no header when the first line is mostly digits; other delimiters', async () => {
    expect(
      await collect(readCsvTrace(file('t2.csv', '1\t10\n2\t20\n'), { objIdColumn: 2, delimiter: '\t' })),
    ).toEqual([10, 20]);
    expect(
      await collect(readCsvTrace(file('t3.csv', '1,10\n2,20\n'), { objIdColumn: 1, hasHeader: true })),
    ).toEqual([2]);
  });
  it('a row without the column, or a non-numeric id, is an error', async () => {
    const e = await formatError(readCsvTrace(file('bad.csv', 'a,b\n1,2\n3\n'), { objIdColumn: 2 }));
    expect([e.line, e.found]).toEqual([3, '3']);
    const e2 = await formatError(readCsvTrace(file('bad2.csv', '1,2\n1,x\n'), { objIdColumn: 2 }));
    expect(e2.line).toBe(2);
  });
});

describe('onFileBytes (progress of reading)', () => {
  it('adds up to the file size on every pass, plain and gzip, for every reader', async () => {
    const { mkdtempSync: mk, writeFileSync: wf, statSync } = await import('node:fs');
    const { join: j } = await import('node:path');
    const { tmpdir: t } = await import('node:os');
    const { gzipSync: gz } = await import('node:zlib');
    const { readPageListTrace, readLackeyTrace, readCsvTrace, readOracleGeneralTrace } = await import(
      './index.js'
    );
    const dir = mk(j(t(), 'mmkit-bytes-'));
    const text = Array.from({ length: 5000 }, (_, i) => `0x${(i * 7919).toString(16)}`).join('\n');
    const records = Buffer.alloc(24 * 1000);
    for (let i = 0; i < 1000; i++) {
      records.writeBigUInt64LE(BigInt(i % 37), i * 24 + 4);
      records.writeUInt32LE(1, i * 24 + 12);
    }
    const files: [string, string | Buffer, (p: string, f: (n: number) => void) => AsyncIterable<unknown>][] =
      [
        ['p.txt', text, (p, f) => readPageListTrace(p, { onFileBytes: f })],
        ['l.lackey', ' L 7ff000398,8\n'.repeat(3000), (p, f) => readLackeyTrace(p, { onFileBytes: f })],
        ['c.csv', '1,5\n2,6\n'.repeat(2000), (p, f) => readCsvTrace(p, { objIdColumn: 2, onFileBytes: f })],
        ['o.bin', records, (p, f) => readOracleGeneralTrace(p, { onFileBytes: f })],
      ];
    for (const [name, content, open] of files) {
      for (const zip of [false, true]) {
        const path = j(dir, zip ? `${name}.gz` : name);
        wf(path, zip ? gz(content) : content);
        let bytes = 0;
        const reader = open(path, (n) => {
          bytes += n;
        });
        for (let pass = 1; pass <= 2; pass++) {
          for await (const _ of reader);
          expect(bytes).toBe(pass * statSync(path).size);
        }
      }
    }
    expect(() => readPageListTrace('x', { onFileBytes: 3 as never })).toThrow(/onFileBytes/);
  });
});
