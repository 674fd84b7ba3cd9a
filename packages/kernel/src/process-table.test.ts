import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { InvalidArgumentError, NoMemoryError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { assertAudit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { NoProcessError, ProcessTable } from './process-table.js';
import { tinyMachine } from './test-fixtures.js';

function boot(): Kernel {
  return bootKernel({ arch: createAarch64Arch(), machine: tinyMachine(256) });
}

describe('ProcessTable', () => {
  it('hands out ASIDs 1..2^bits−1, then fails with NoMemoryError taking neither pid nor ASID', () => {
    const k = boot();
    const t = new ProcessTable(k, 2);
    const ps = [t.create(0)!, t.create(0)!, t.create(0)!];
    expect(ps.map((p) => [p.pid, p.asid])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(() => t.create(0)).toThrow(NoMemoryError);
    expect(() => t.create(0)).toThrow('an ASID (all in use)');
    expect(t.all().length).toBe(3);
    // Reaping recycles the ASID (most recently freed first); the pid counter moved on only once.
    t.teardown(ps[1]!, 'exited');
    const next = t.create(7)!;
    expect([next.pid, next.asid, next.parentPid]).toEqual([4, 2, 7]);
    expect(ps[1]!.state).toBe('exited');
  });

  it('a build that returns undefined creates nothing and releases the ASID and pid', () => {
    const k = boot();
    const t = new ProcessTable(k, 8);
    const seen: [number, number][] = [];
    expect(
      t.create(0, (pid, asid) => {
        seen.push([pid, asid]);
        return undefined;
      }),
    ).toBeUndefined();
    expect(t.all()).toEqual([]);
    const p = t.create(0)!;
    expect(seen).toEqual([[1, 1]]);
    expect([p.pid, p.asid]).toEqual([1, 1]);
  });

  it('without ASIDs every process gets ASID 0', () => {
    const k = boot();
    const t = new ProcessTable(k, 0);
    const a = t.create(0)!;
    const b = t.create(0)!;
    expect([a.asid, b.asid]).toEqual([0, 0]);
    t.teardown(a, 'exited');
    expect(t.create(0)!.asid).toBe(0);
  });

  it('lookup, liveness and reaping: typed errors name the pid and state', () => {
    const k = boot();
    const t = new ProcessTable(k, 4);
    const p = t.create(0)!;
    expect(t.get(p.pid)).toBe(p);
    expect(() => t.get(99)).toThrow(NoProcessError);
    expect(() => t.get(99)).toThrow('process 99 is unknown; expected a running process');
    expect(t.live(p)).toBe(p);
    expect(() => t.live({ pid: 1 } as never)).toThrow(InvalidArgumentError);
    const foreign = boot().createProcess();
    expect(() => t.live(foreign)).toThrow('is unknown to this kernel');
    t.kill(p, 'invalid address', { signal: 'SIGSEGV', code: 'SEGV_MAPERR' });
    expect([p.state, p.killReason]).toEqual(['killed', 'invalid address']);
    expect(() => t.live(p)).toThrow(`process ${p.pid} is killed`);
    // A second kill changes nothing (the first reason stays).
    t.kill(p, 'out of memory');
    expect(p.killReason).toBe('invalid address');
    const q = t.create(0)!;
    t.forget(q);
    expect(t.all()).toEqual([p]);
    expect(() => t.create(-1)).toThrow(InvalidArgumentError);
  });

  it('the kernel reaps through its table: exit frees everything and recycles the ASID', () => {
    const k = boot();
    const a = k.createProcess();
    expect(k.mmap(a, 0, 8192, 3, 0x22).ok).toBe(true);
    const asid = a.asid;
    k.exit(a);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    expect(k.liveProcesses).toEqual([]);
    expect(k.allProcesses).toEqual([a]);
    expect(k.createProcess().asid).toBe(asid);
    assertAudit(k);
  });
});
