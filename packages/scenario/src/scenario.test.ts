import { isMmError } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXAMPLE_SCENARIOS,
  exampleScenario,
  parseScenario,
  runScenario,
  type Scenario,
  ScenarioError,
  start,
  summarize,
} from './index.js';

function errorOf(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('parseScenario', () => {
  it('reads JSON and YAML to the same scenario', () => {
    const yaml =
      'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: mmap, process: p, length: 2 pages, prot: rw-, as: buf }\n';
    const json = JSON.stringify({
      board: 'virt',
      steps: [
        { op: 'spawn', as: 'p' },
        { op: 'mmap', process: 'p', length: '2 pages', prot: 'rw-', as: 'buf' },
      ],
    });
    expect(parseScenario(yaml)).toEqual(parseScenario(json));
  });

  it('names the file, the line, the step, the field, the value and what was expected', () => {
    const text =
      'board: virt\nsteps:\n  - op: spawn\n    as: p\n  - op: mmap\n    process: p\n    length: lots\n    prot: rw-\n';
    const e = errorOf(() => parseScenario(text, 'x.yaml'));
    expect(e.message).toBe(
      'x.yaml:7: step 2 (mmap): length "lots" is not valid; expected a byte count: a number (0x3000, 12288), 12K / 2M / 1G (powers of 1024) or "3 pages"',
    );
    expect([e.source, e.line, e.stepIndex, e.field, e.value, e.code]).toEqual([
      'x.yaml',
      7,
      1,
      'length',
      'lots',
      'E_INVALID_ARGUMENT',
    ]);
  });

  it.each([
    ['steps: []', 'board is missing'],
    ['board: virt\nsteps: 3', 'steps 3 is not a list'],
    ['board: virt\nboard: pc\nsteps: []', 'not valid JSON or YAML'],
    ['board: virt\nsteps:\n  - { op: jump }', 'op "jump" is not a step; expected one of: spawn, mmap'],
    [
      'board: virt\nsteps:\n  - { op: exit, process: nobody }',
      'process "nobody" is not defined by an earlier step',
    ],
    [
      'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: read, process: p, addr: buf+8 }',
      'name "buf" in addr',
    ],
    ['board: virt\nsteps:\n  - { op: spawn, as: p, colour: red }', 'unknown field "colour"'],
    ['board: virt\nsteps:\n  - { op: spawn }', 'as is missing'],
    [
      'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: read, process: p, addr: 0, size: 3 }',
      'size 3 is not valid; expected 1, 2, 4 or 8',
    ],
    [
      'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: write, process: p, addr: 0 }',
      'value or text is missing',
    ],
    ['board: virt\nsteps:\n  - { op: spawn, as: p, expect: maybe }', 'expect "maybe" is not valid'],
    ['board: virt\ncpus: 0\nsteps: []', 'cpus 0 is not a CPU count'],
    ['board: virt\nextra: 1\nsteps: []', 'unknown field "extra"'],
    ['[1, 2]', 'the scenario is [1,2]'],
    ['board: virt\nsteps:\n  - *nowhere', 'not valid YAML: Unresolved alias'],
  ])('rejects %j', (text, part) => {
    const e = errorOf(() => parseScenario(text, 's.yaml'));
    expect(e.message).toContain(part);
    expect(e.message).toMatch(/^s\.yaml(:\d+)?: /);
    expect(e.message).not.toContain('\n');
  });

  it('turns any text into a scenario or one ScenarioError, never another exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          parseScenario(`board: virt\nsteps:\n  - ${text}\n`);
        } catch (e) {
          expect(e).toBeInstanceOf(ScenarioError);
          expect(isMmError(e)).toBe(true);
        }
      }),
    );
  });
});

describe('runScenario', () => {
  it.each(EXAMPLE_SCENARIOS.map((s) => [s.id]))(
    'runs the shipped %s scenario with every expectation met',
    (id) => {
      const r = runScenario(parseScenario(exampleScenario(id)!.yaml, `${id}.yaml`));
      expect(r.problems).toEqual([]);
      expect(r.audit).toEqual({ ok: true, problems: [] });
      expect(r.ok).toBe(true);
      if (id !== 'mprotect-segv') expect(r.frames.final).toBe(r.frames.baseline);
    },
  );

  it('is deterministic and logs step, kernel events and result in order', () => {
    const s = parseScenario(exampleScenario('demo')!.yaml);
    const a = runScenario(s);
    const b = runScenario(s);
    expect(a.events).toEqual(b.events);
    const types = a.events.filter((e) => e.index === 0).map((e) => e.type);
    expect(types[0]).toBe('step');
    expect(types.at(-1)).toBe('result');
    expect(types).toContain('mm');
    const faults = a.events.flatMap((e) => (e.type === 'mm' && e.event.type === 'fault' ? [e.event] : []));
    expect(faults.map((f) => f.syndrome)).toContain(0x92000047n); // EL0 write, translation fault L3
    expect(a.processes.get('init')?.state).toBe('exited');
    expect(a.processes.get('child')?.state).toBe('killed');
  });

  it('forks copy-on-write by default and eagerly with options.fork: eager (the cow events tell)', () => {
    const steps = parseScenario(
      'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: brk, process: p, to: heap+0x1000 }\n' +
        '  - { op: write, process: p, addr: heap, text: abc }\n  - { op: fork, process: p, as: c }\n' +
        '  - { op: write, process: c, addr: heap, text: xyz }\n  - { op: read, process: p, addr: heap, length: 3, equals: abc }\n',
    ).steps;
    const cowsOf = (run: ReturnType<typeof runScenario>) =>
      run.events.flatMap((e) => (e.type === 'mm' && e.event.type === 'cow' ? [e.event.action] : []));
    const cow = runScenario({ board: 'virt', steps });
    expect(cow.ok).toBe(true);
    expect(cowsOf(cow)).toEqual(['copy']);
    const eager = runScenario({ board: 'virt', options: { fork: 'eager' }, steps });
    expect(eager.ok).toBe(true);
    expect(cowsOf(eager)).toEqual([]);
    const e = errorOf(() => parseScenario('board: virt\noptions: { fork: lazy }\nsteps: []\n'));
    expect(e.message).toContain('fork');
    expect(e.message).toContain('"cow" or "eager"');
    const z = errorOf(() => parseScenario('board: virt\noptions: { zeroPage: 1 }\nsteps: []\n'));
    expect(z.message).toContain('true or false');
  });

  it('oomScoreAdj sets /proc/PID/oom_score_adj (EINVAL outside -1000..1000); options.oomKiller: false kills the faulting process', () => {
    const run = runScenario(
      parseScenario(
        'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: oomScoreAdj, process: p, value: 500 }\n' +
          '  - { op: fork, process: p, as: c }\n  - { op: oomScoreAdj, process: c, value: 1001, expect: EINVAL }\n',
      ),
    );
    expect(run.ok).toBe(true);
    expect(run.processes.get('c')!.oomScoreAdj).toBe(500); // fork copied it; 1001 changed nothing
    expect(run.steps[1]!.summary).toBe('oom_score_adj of p = 500');
    expect(run.steps[1]!.outcome).toMatch(/^oom_score_adj 500; oom_score \d+$/);
    expect(run.steps[3]!.outcome).toBe('EINVAL (oom_score_adj 1001 is not an integer from -1000 to 1000)');
    const e = errorOf(() =>
      parseScenario(
        'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: oomScoreAdj, process: p, value: "x" }\n',
      ),
    );
    expect(e.message).toBe(
      'line 4: step 2 (oomScoreAdj): value "x" is not valid; expected an integer such as -1000 or 500',
    );
    // The shipped oom scenario without the killer: the hog's own fault kills it; the cache lives.
    const off = runScenario({
      ...parseScenario(exampleScenario('oom')!.yaml),
      options: { oomKiller: false },
    });
    expect(off.processes.get('cache')!.alive).toBe(true);
    expect(off.steps.find((r) => r.status.startsWith('killed'))!.outcome).toBe(
      'pid 3 killed: out of memory (SIGSEGV)',
    );
    expect(
      errorOf(() => parseScenario('board: virt\noptions: { oomKiller: 1 }\nsteps: []\n')).message,
    ).toContain('true or false');
  });

  it('reports an unmet expectation as a problem (the run is not ok)', () => {
    const s: Scenario = {
      board: 'virt',
      steps: [
        { op: 'spawn', as: 'p' },
        { op: 'read', process: 'p', addr: 'wild', expect: 'ok' },
      ],
    };
    const r = runScenario(s);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(['step 2 (read p wild 8 bytes): expected ok, got killed: invalid address']);
    expect(r.audit.ok).toBe(true);
  });

  it('checks equals against what a read returned', () => {
    const steps = (equals: string | number): Scenario => ({
      board: 'virt',
      steps: [
        { op: 'spawn', as: 'p' },
        { op: 'brk', process: 'p', to: 'heap+0x1000' },
        { op: 'write', process: 'p', addr: 'heap', value: '0x1234', size: 2 },
        { op: 'read', process: 'p', addr: 'heap', size: 2, equals },
      ],
    });
    expect(runScenario(steps('0x1234')).ok).toBe(true);
    expect(runScenario(steps(0x1235)).problems).toHaveLength(1);
  });

  it('makes a use of a dead process or a failed name a step error, not an exception', () => {
    const r = runScenario({
      board: 'virt',
      steps: [
        { op: 'spawn', as: 'p' },
        {
          op: 'mmap',
          process: 'p',
          length: '0x1000',
          prot: 'rw-',
          as: 'big',
          addr: 'wild',
          flags: ['fixed-noreplace', 'fixed'],
        },
        { op: 'read', process: 'p', addr: 'heap', expect: 'killed' },
        { op: 'exit', process: 'p' },
      ],
    });
    expect(r.steps[2]!.status).toBe('killed: invalid address');
    expect(r.steps[3]!.status).toBe('error');
    expect(r.steps[3]!.outcome).toBe('process p (pid 1) is killed');
  });

  it('steps one at a time', () => {
    const st = start(parseScenario(exampleScenario('fork-exec')!.yaml));
    expect(st.next).toBe(0);
    const first = st.step();
    expect(first?.summary).toBe('spawn shell');
    expect(st.processes.get('shell')?.pid).toBe(1);
    while (!st.done) st.step();
    expect(st.step()).toBeUndefined();
    expect(st.finish().ok).toBe(true);
  });

  it('checks the board, paging format and RAM (and the overrides) with the field named', () => {
    const s: Scenario = { board: 'virt', steps: [] };
    expect(errorOf(() => start({ ...s, board: 'vax' })).field).toBe('board');
    expect(errorOf(() => start({ ...s, arch: 'x86_64' })).message).toBe(
      'arch "x86_64" does not run on board virt; expected aarch64',
    );
    expect(errorOf(() => start(s, { ram: '3M' })).message).toContain('is not a RAM size of board virt');
    expect(start(s, { board: 'pc', arch: 'x86-32' }).machine.arch.id).toBe('x86-32');
  });

  it('reports progress: boot, each step, the audit', () => {
    const seen: string[] = [];
    runScenario(
      { board: 'virt', steps: [{ op: 'spawn', as: 'p' }] },
      {
        onProgress: (p) =>
          seen.push(
            `${p.phase} ${p.done}/${p.total}${p.detail ? ` (${p.detail.phase} ${p.detail.done}/${p.detail.total})` : ''}`,
          ),
      },
    );
    // Boot and the audit carry the kernel's own reports (KernelOptions.onProgress, audit's onProgress):
    // boot phase by phase; the virt board's frame table (1 GiB of RAM plus the seed pool's hole:
    // 770048 frames) is below the audit's 2^20-frame report interval, so only its start and end.
    expect(seen).toEqual([
      'boot 0/3',
      'boot 0/3 (frame table 0/5)',
      'boot 0/3 (reverse map 1/5)',
      'boot 0/3 (swap map 2/5)',
      'boot 0/3 (linear map 3/5)',
      'boot 0/3 (cpus 4/5)',
      'boot 0/3 (boot 5/5)',
      'boot 1/3',
      'step 2/3',
      'audit 2/3',
      'audit 2/3 (audit 0/770048)',
      'audit 2/3 (audit 770048/770048)',
      'audit 3/3',
    ]);
  });

  it('random step sequences: only ScenarioError escapes, and the kernel audit stays clean', () => {
    const step = fc.record(
      {
        op: fc.constantFrom(
          'mmap',
          'munmap',
          'mprotect',
          'mremap',
          'brk',
          'touch',
          'read',
          'write',
          'fork',
          'exec',
          'exit',
          'copy-to-user',
          'madvise',
          'mincore',
          'mlock',
          'munlock',
          'oomScoreAdj',
        ),
        process: fc.constantFrom('p', 'q'),
        as: fc.constantFrom('q', 'b'),
        addr: fc.constantFrom('heap', 'wild', 'b', 'stack-top-8', 'b+0x1000', '0x1000'),
        length: fc.constantFrom('4K', '2 pages', '0x3000'),
        newLength: fc.constantFrom('8K', '1M'),
        prot: fc.constantFrom('rw-', 'r--', '---'),
        to: fc.constantFrom('heap+0x2000', 'heap'),
        text: fc.constant('hi'),
        advice: fc.constantFrom('dontneed', 'free', 'cold', 'pageout', 'willneed', 'random', 'bogus'),
        value: fc.constantFrom(-1000, 0, 1000, 1001),
      },
      { requiredKeys: ['op', 'process'] },
    );
    let ran = 0;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), (steps) => {
        const s = {
          board: 'virt',
          steps: [{ op: 'spawn', as: 'p' }, { op: 'fork', process: 'p', as: 'q' }, ...steps],
        };
        try {
          const r = runScenario(s as unknown as Scenario);
          ran++;
          expect(r.audit).toEqual({ ok: true, problems: [] });
        } catch (e) {
          expect(e).toBeInstanceOf(ScenarioError);
        }
      }),
      { numRuns: 40 },
    );
    expect(ran).toBeGreaterThan(0);
  });
});

describe('madvise, mincore, mlock and munlock steps', () => {
  const yaml = `board: virt
steps:
  - { op: spawn, as: p }
  - { op: mmap, process: p, length: 3 pages, prot: rw-, as: b }
  - { op: write, process: p, addr: b, value: 7 }
  - { op: write, process: p, addr: b+0x1000, value: 8 }
  - { op: mincore, process: p, addr: b, length: 3 pages, equals: "110" }
  - { op: madvise, process: p, addr: b, length: 4K, advice: dontneed }
  - { op: read, process: p, addr: b, equals: 0 }
  - { op: madvise, process: p, addr: b+0x1000, length: 4K, advice: free }
  - { op: read, process: p, addr: b+0x1000, equals: 8 }
  - { op: mlock, process: p, addr: b, length: 3 pages }
  - { op: mincore, process: p, addr: b, length: 3 pages, equals: "111" }
  - { op: madvise, process: p, addr: b, length: 4K, advice: cold, expect: EINVAL }
  - { op: munlock, process: p, addr: b, length: 3 pages }
  - { op: mlock, process: p, addr: b, length: 2 pages, onFault: true }
  - { op: madvise, process: p, addr: b, length: 1, advice: dontneed-locked }
  - { op: mincore, process: p, addr: wild, length: 4K, expect: ENOMEM }
`;

  it('run with Linux results, and say what they did', () => {
    const r = runScenario(parseScenario(yaml, 'advice.yaml'));
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    const outcomes = r.steps.map((s) => s.outcome);
    expect(outcomes).toContain('resident 110 (2 of 3 pages)');
    expect(outcomes).toContain('resident 111 (3 of 3 pages)');
    expect(outcomes.some((o) => o.startsWith('locked; VmLck 12 kB'))).toBe(true);
    expect(outcomes.some((o) => o.startsWith('locked on fault; VmLck 8 kB'))).toBe(true);
    expect(r.steps.map((s) => summarize(s.step))).toContain('madvise p b 4K dontneed');
  });

  it('a residency that differs from `equals` is a problem of the run', () => {
    const r = runScenario(
      parseScenario(
        'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: mincore, process: p, addr: stack-top-0x1000, length: 4K, equals: "0" }\n',
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/residency 0/);
  });

  it('refuses an unknown advice and a residency that is not 0s and 1s, naming the line', () => {
    expect(() =>
      parseScenario(
        'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: madvise, process: p, addr: heap, length: 4K, advice: dontfork }\n',
      ),
    ).toThrow(
      /advice.*one of normal, random, sequential, willneed, dontneed, free, cold, pageout, dontneed-locked/s,
    );
    expect(() =>
      parseScenario(
        'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: mincore, process: p, addr: heap, length: 4K, equals: yes }\n',
      ),
    ).toThrow(/line 4/);
  });
});

describe('swap steps', () => {
  const ARCHS = ['aarch64', 'x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const;

  it.each(ARCHS)(
    'the "swap" example on %s: shared pages swapped out once, a major then a minor fault, swapoff',
    (arch) => {
      const s = parseScenario(exampleScenario('swap')!.yaml, 'swap.yaml');
      const run = runScenario(s, arch === 'aarch64' ? {} : { board: 'pc', arch, ram: '64M' });
      expect(run.problems).toEqual([]);
      expect(run.ok).toBe(true);
      const swaps = run.steps.flatMap((r) =>
        r.events.flatMap((e) =>
          e.type === 'swap' ? [{ step: r.step.op, action: e.action, pid: e.pid, major: e.major }] : [],
        ),
      );
      const reclaim = run.steps.find((r) => r.step.op === 'reclaim')!;
      expect(reclaim.value).toBeGreaterThan(2);
      // Each shared heap page: two swap-out events (one per PTE).
      expect(swaps.filter((x) => x.step === 'reclaim' && x.action === 'swap-out').length).toBeGreaterThan(
        Number(reclaim.value),
      );
      const ins = swaps.filter((x) => x.step === 'read' && x.action === 'swap-in');
      expect(ins.slice(0, 2).map((x) => [x.pid, x.major])).toEqual([
        [1, true],
        [2, false],
      ]);
      expect(swaps.at(-1)).toMatchObject({ step: 'swapoff', action: 'swapoff' });
    },
  );

  it('validates swap steps: sizes, counts, the readahead option', () => {
    const bad = (step: string) => errorOf(() => parseScenario(`board: virt\nsteps:\n  - ${step}\n`));
    expect(bad('{ op: swapon }').message).toContain('size is missing');
    expect(bad('{ op: swapon, size: lots }').message).toContain('size "lots" is not valid');
    expect(bad('{ op: swapon, size: 8 pages, priority: -1 }').message).toContain('a non-negative integer');
    expect(bad('{ op: swapoff, type: x }').message).toContain('type "x" is not valid');
    expect(bad('{ op: reclaim, pages: 1.5 }').message).toContain('pages 1.5 is not valid');
    expect(
      errorOf(() => parseScenario('board: virt\noptions: { swapReadahead: 3 }\nsteps: []\n')).message,
    ).toContain('power of two');
    const run = runScenario(
      parseScenario(
        'board: virt\noptions: { swapReadahead: 4 }\nsteps:\n  - { op: swapoff, type: 0, expect: EINVAL }\n  - { op: swapon, size: 1 pages, expect: ok }\n  - { op: reclaim, pages: 5 }\n',
      ),
    );
    expect(run.steps.map((r) => r.status)).toEqual(['EINVAL', 'error', 'ok']);
    expect(run.steps[1]!.outcome).toContain('swapon pages');
    expect(run.steps[2]!.outcome).toContain('0 pages swapped out (no swap device)');
  });

  it('validates and applies the reclaim options: policy, watermarks, autoReclaim', () => {
    const bad = (options: string) =>
      errorOf(() => parseScenario(`board: virt\noptions: ${options}\nsteps: []\n`)).message;
    expect(bad('{ reclaimPolicy: opt }')).toContain('option reclaimPolicy "opt" is not valid');
    expect(bad('{ autoReclaim: 1 }')).toContain('option autoReclaim 1 is not valid');
    expect(bad('{ watermarks: { min: 3, low: 2, high: 4 } }')).toContain('watermarks.low');
    expect(bad('{ watermarks: 5 }')).toContain('option watermarks');
    // Low watermark just under the free frames after boot: kswapd wakes once swap exists.
    const run = runScenario(
      parseScenario(
        'board: virt\nram: 64M\noptions: { watermarks: { min: 0, low: 15730, high: 15732 }, reclaimPolicy: clock }\nsteps:\n  - { op: spawn, as: a }\n  - { op: brk, process: a, to: heap+0x40000 }\n  - { op: swapon, size: 64 pages }\n  - { op: write, process: a, addr: heap, value: 9 }\n  - { op: read, process: a, addr: heap, equals: 9 }\n',
      ),
    );
    expect(run.ok).toBe(true);
    const reclaim = run.steps.flatMap((s) => s.events).filter((e) => e.type === 'reclaim');
    expect(reclaim.map((e) => (e.type === 'reclaim' ? e.action : ''))).toContain('kswapd-wake');
    expect(reclaim.map((e) => (e.type === 'reclaim' ? e.action : ''))).toContain('kswapd-sleep');
  });
});
