/**
 * The page-level API of seed `000_…` (mm_user): map one page, allocate-and-map one page, look up
 * the slot of an address, unmap a range — kept so the seed's own tests run against mmkit. Each
 * goes through the process's {@link AddressSpace}, so these pages are VMA-covered like any other.
 */

import { type AddressInput, hex, type LeafAttributes, type NeutralEntry } from '@mmkit/core';
import type { MapOutcome } from './address-space.js';
import { anonVmaPrepareAt } from './anon-vma.js';
import type { KernelContext } from './context.js';
import { FRAME_STATE_NAMES, FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { checkedAddress, checkLeafAttributes, invalidArgument } from './syscalls.js';
import { isCowVma } from './vma.js';

/** Page number of a page-aligned user address. @throws InvalidArgumentError */
export function userVpn(k: KernelContext, va: AddressInput, what: string): number {
  const v = checkedAddress(va, what);
  const d = k.arch.description;
  if (v < d.userRange.start || v >= d.userRange.end) {
    throw invalidArgument(
      what,
      hex(v),
      `an address in the user half ${hex(d.userRange.start)}..${hex(d.userRange.end)}`,
    );
  }
  if (v % BigInt(k.bounds.pageBytes) !== 0n) throw invalidArgument(what, hex(v), 'a page-aligned address');
  return Number(v >> BigInt(d.pageShift));
}

/**
 * Checks leaf attributes from the caller before anything changes: their shape, and that the
 * backend can encode them with `pa` (a refused encoding after the root was allocated would leave
 * the root behind). @throws InvalidArgumentError, or the backend's UnrepresentableError.
 */
function checkAttrs(k: KernelContext, attrs: unknown, pa: number): LeafAttributes {
  const a = checkLeafAttributes('attrs', attrs);
  k.arch.codec.encode({ kind: 'leaf', pa, attrs: a }, 1);
  return a;
}

/** Seed `map_page`: maps `va` to frame `pa`; nothing changes on failure. */
export function mapUserPage(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  pa: number,
  attrs: LeafAttributes,
): MapOutcome {
  const space = k.live(proc).space;
  const vpn = userVpn(k, va, 'user address');
  if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0 || pa % k.bounds.pageBytes !== 0)
    throw invalidArgument('physical address', pa, 'a page-aligned non-negative safe integer');
  // A frame of the pool must be one allocated for user pages (the caller's reference): mapping a
  // free, reserved, kernel or page-table frame into user space breaks the frame accounting.
  const state = k.allocator.stateOf(pa);
  if (state !== undefined && state !== FrameState.USER)
    throw invalidArgument(
      'physical address',
      hex(pa),
      `a frame allocated for user pages (allocator.alloc('user')) or one outside the pool; this frame is ${FRAME_STATE_NAMES[state]}`,
    );
  const out = space.mapPageCovered(vpn, pa, checkAttrs(k, attrs, pa));
  // A page other than the zero page: the VMA has anonymous memory now (anon-vma.ts), so fork copies it.
  if (out.ok && pa !== k.zeroPage) anonVmaPrepareAt(space, vpn);
  // The caller's frame in a private VMA is a page mapped by this PTE alone (anon-exclusive, as a
  // fresh page a fault maps) unless another PTE maps it too (then neither is, as after fork).
  if (out.ok && state === FrameState.USER)
    if (k.rmap.count(pa) === 1 && isCowVma(space.vmas.find(vpn)!.value)) k.anonExclusive.set(pa);
    else k.anonExclusive.clear(pa);
  return out;
}

/** Seed `allocate_user_page`: the new frame's kernel virtual address, or 0 when out of memory. */
export function allocateUserPage(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  attrs: LeafAttributes,
): bigint {
  const space = k.live(proc).space;
  const vpn = userVpn(k, va, 'user address');
  // Allocated frames are always addressable (the allocator reserves what paBits cannot reach): check the attributes.
  const pa = space.allocPage(vpn, checkAttrs(k, attrs, 0), true);
  if (pa !== 0) anonVmaPrepareAt(space, vpn); // the VMA has anonymous memory now (anon-vma.ts)
  return pa === 0 ? 0n : k.linearMapBase + BigInt(pa);
}

/** Seed `lookup_pte_slot`: where the walk of `va` stops, or undefined without a root. */
export function lookupUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
): { level: number; descriptorPa: number; entry: NeutralEntry } | undefined {
  const space = k.live(proc).space;
  const vpn = userVpn(k, va, 'user address');
  return space.lookup(vpn);
}

/** Seed `unmap_user_range`: unmaps the pages in [start, end) (rounded up to pages). */
export function unmapUserRange(
  k: KernelContext,
  proc: Process,
  start: AddressInput,
  end: AddressInput,
): number {
  const space = k.live(proc).space;
  const s = checkedAddress(start, 'start');
  const e = checkedAddress(end, 'end');
  if (e <= s || space.root === 0) return 0;
  const page = BigInt(k.bounds.pageBytes);
  const sv = Math.max(Number((s + page - 1n) / page), k.bounds.userStartVpn);
  const ev = Math.min(Number((e + page - 1n) / page), k.bounds.userEndVpn);
  if (ev <= sv) return 0;
  const before = space.residentPages;
  space.unmapRange(sv, ev);
  return before - space.residentPages;
}
