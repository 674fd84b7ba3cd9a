/**
 * The page-level API of seed `000_…` (mm_user): map one page, allocate-and-map one page, look up
 * the slot of an address, unmap a range — kept so the seed's own tests run against mmkit. Each
 * goes through the process's {@link AddressSpace}, so these pages are VMA-covered like any other.
 */
import {
  type AddressInput,
  hex,
  InvalidArgumentError,
  type LeafAttributes,
  type NeutralEntry,
  toAddress,
} from '@mmkit/core';
import type { MapOutcome } from './address-space.js';
import type { KernelContext } from './context.js';
import type { Process } from './process.js';

/** Page number of a page-aligned user address. @throws InvalidArgumentError */
export function userVpn(k: KernelContext, va: AddressInput, what: string): number {
  const v = toAddress(va, what);
  const d = k.arch.description;
  if (v < d.userRange.start || v >= d.userRange.end) {
    throw new InvalidArgumentError(
      what,
      hex(v),
      `an address in the user half ${hex(d.userRange.start)}..${hex(d.userRange.end)}`,
    );
  }
  if (v % BigInt(k.bounds.pageBytes) !== 0n)
    throw new InvalidArgumentError(what, hex(v), 'a page-aligned address');
  return Number(v >> BigInt(d.pageShift));
}

function checkAttrs(attrs: unknown): LeafAttributes {
  const a = attrs as LeafAttributes | null;
  if (a === null || typeof a !== 'object' || typeof a.user !== 'object' || typeof a.kernel !== 'object')
    throw new InvalidArgumentError('attrs', attrs, 'LeafAttributes (see Kernel.userAttributes)');
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
    throw new InvalidArgumentError('physical address', pa, 'a page-aligned non-negative safe integer');
  return space.mapPageCovered(vpn, pa, checkAttrs(attrs));
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
  const pa = space.allocPage(vpn, checkAttrs(attrs), true);
  return pa === 0 ? 0n : k.linearMapBase + BigInt(pa);
}

/** Seed `lookup_pte_slot`: where the walk of `va` stops, or undefined without a root. */
export function lookupUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
): { level: number; descriptorPa: number; entry: NeutralEntry } | undefined {
  const vpn = userVpn(k, va, 'user address');
  return proc.space.lookup(vpn);
}

/** Seed `unmap_user_range`: unmaps the pages in [start, end) (rounded up to pages). */
export function unmapUserRange(
  k: KernelContext,
  proc: Process,
  start: AddressInput,
  end: AddressInput,
): number {
  const space = k.live(proc).space;
  const s = toAddress(start, 'start');
  const e = toAddress(end, 'end');
  if (e <= s || space.root === 0) return 0;
  const page = BigInt(k.bounds.pageBytes);
  const sv = Math.max(Number((s + page - 1n) / page), k.bounds.userStartVpn);
  const ev = Math.min(Number((e + page - 1n) / page), k.bounds.userEndVpn);
  if (ev <= sv) return 0;
  const before = space.residentPages;
  space.unmapRange(sv, ev);
  return before - space.residentPages;
}
