/**
 * The editor checks pass on the toy backend and fire on a defective codec (a check that cannot
 * fail proves nothing).
 */
import { type ArchBackend, type FlushObligation, type LeafRef, PageTableEditor } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { checkEditorMapUnmap, checkLeafTemplate, describeEditorConformance } from './editor-checks.js';
import { createToyArch } from './toy-arch.js';

describeEditorConformance('toy32', () => createToyArch());

/** Leaves are written one page off: every output address is wrong. */
function offByOnePage(backend: ArchBackend): ArchBackend {
  const codec = backend.codec;
  return {
    ...backend,
    codec: {
      ...codec,
      encode: (entry, level) =>
        codec.encode(entry.kind === 'leaf' ? { ...entry, pa: entry.pa + 4096 } : entry, level),
      decode: (lo, hi, level) => codec.decode(lo, hi, level),
      nextTable: (lo, hi, level) => codec.nextTable(lo, hi, level),
    },
  };
}

describe('editor checks fire on a defective backend', () => {
  it('a codec that shifts output addresses fails map/unmap and gets no leaf template', () => {
    const bad = offByOnePage(createToyArch());
    expect(checkEditorMapUnmap(bad).join('\n')).toMatch(/lookup found leaf/);
    expect(checkLeafTemplate(bad)).toEqual([]); // no template for it: encode(0) | pa is not encode(pa)
  });

  it('an unmap that leaves a software entry behind fails map/unmap (the descriptor must be zero)', () => {
    /** Unmap writes software payload 1 over the leaf instead of an all-zero descriptor. */
    class UnmapLeavesSoftware extends PageTableEditor {
      override unmap(
        root: number,
        vpn: number,
        asid = 0,
      ): { leaf: LeafRef; flush: FlushObligation } | undefined {
        const r = super.unmap(root, vpn, asid);
        if (r) this.writeEntry(r.leaf.descriptorPa, { kind: 'software', payload: 1 }, r.leaf.level);
        return r;
      }
    }
    const problems = checkEditorMapUnmap(createToyArch(), {
      createEditor: (b, m, o) => new UnmapLeavesSoftware(b, m, o),
    });
    expect(problems.join('\n')).toMatch(/level 1 user half vpn 2: unmap left descriptor \[2,0\], not zero/);
    expect(checkEditorMapUnmap(createToyArch())).toEqual([]);
  });
});
