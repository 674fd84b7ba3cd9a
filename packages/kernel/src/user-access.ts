/**
 * Accesses to user memory through a simulated CPU: the process's own loads, stores and
 * instruction fetches (a fatal fault kills it), and the kernel's copy_{from,to}_user on its behalf
 * (the soft path: a bad pointer is EFAULT, never a kill; seed `000_…`'s
 * check_and_prefault_user_range). Every access goes TLB → walk → fault handler → retry; the
 * single-page path allocates nothing and uses no BigInt for number addresses.
 */
import { type AccessKind, type AddressInput, Privilege, type PrivilegeLevel, vaOf } from '@mmkit/core';
import type { KernelContext } from './context.js';
import type { Cpu } from './cpu.js';
import type { KillReason, KillSignal, Process } from './process.js';
import type { Errno } from './syscalls.js';
import { checkedAddress, invalidArgument } from './syscalls.js';

/** Result of a user access. */
export type AccessResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly killed: KillReason;
      readonly signal?: KillSignal['signal'];
      readonly code?: KillSignal['code'];
    };

/** Result of a soft (copy to/from user) access. */
export type CopyResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errno: Errno };

function cpuFor(k: KernelContext, proc: Process, cpuIndex: unknown): Cpu {
  k.live(proc);
  const cpu = typeof cpuIndex === 'number' ? k.cpus[cpuIndex] : undefined;
  if (!cpu) throw invalidArgument('cpu', cpuIndex, `a CPU index 0..${k.cpus.length - 1}`);
  cpu.switchTo(proc);
  return cpu;
}

/** The failed-access result after a killing fault. */
function outcomeOf(proc: Process): AccessResult<never> {
  const sig = proc.killSignal;
  return {
    ok: false,
    killed: proc.killReason ?? 'invalid address',
    ...(sig ? { signal: sig.signal, code: sig.code } : {}),
  };
}

function checkSize(size: unknown): 1 | 2 | 4 | 8 {
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8)
    throw invalidArgument('access size', size, '1, 2, 4 or 8');
  return size;
}

/**
 * The most bytes one user read or write moves: Linux's MAX_RW_COUNT (INT_MAX rounded down to a
 * page). A longer length is refused before a buffer of that size is allocated.
 */
export const MAX_RW_COUNT = 0x7fff_f000;

function checkLength(length: unknown): number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0)
    throw invalidArgument('length', length, 'a non-negative safe integer');
  return length;
}

function checkReadLength(length: unknown): number {
  if (checkLength(length) > MAX_RW_COUNT)
    throw invalidArgument('length', length, `at most ${MAX_RW_COUNT} bytes (MAX_RW_COUNT)`);
  return length as number;
}

function checkData(data: unknown): Uint8Array {
  if (!(data instanceof Uint8Array)) throw invalidArgument('data', data, 'a Uint8Array');
  return data;
}

/** 2^(8n) by store size n (1, 2, 4, 8). */
const STORE_LIMIT = [0, 2 ** 8, 2 ** 16, 0, 2 ** 32, 0, 0, 0, 2 ** 64];

/**
 * Checks a store value: an integer (number or bigint) that fits the access size, unsigned or
 * two's-complement signed (−2^(8n−1) … 2^(8n) − 1). Anything else (1.5, NaN, a string) is refused
 * instead of being truncated.
 */
function checkValue(value: unknown, size: 1 | 2 | 4 | 8): number | bigint {
  if (typeof value === 'number') {
    const lim = STORE_LIMIT[size]!; // 2^(8n): a table, not `2 **` per store
    if (Number.isSafeInteger(value) && value >= -lim / 2 && value < lim) return value;
  } else if (typeof value === 'bigint') {
    const bits = BigInt(8 * size);
    if (value >= -(1n << (bits - 1n)) && value < 1n << bits) return value;
  }
  throw invalidArgument('value', value, `an integer that fits a ${size}-byte store`);
}

/** A user load; see `Kernel.load`. */
export function loadUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  sizeBytes: 1 | 2 | 4 | 8,
  cpuIndex: number,
): AccessResult<number | bigint> {
  return accessValue(k, proc, va, checkSize(sizeBytes), 0, 0, cpuIndex);
}

/** A user store; see `Kernel.store`. */
export function storeUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  sizeBytes: 1 | 2 | 4 | 8,
  value: number | bigint,
  cpuIndex: number,
): AccessResult<void> {
  const size = checkSize(sizeBytes);
  return accessValue(k, proc, va, size, 1, checkValue(value, size), cpuIndex) as AccessResult<void>;
}

/** A user instruction fetch; see `Kernel.fetch`. */
export function fetchUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  sizeBytes: 1 | 2 | 4 | 8,
  cpuIndex: number,
): AccessResult<number | bigint> {
  return accessValue(k, proc, va, checkSize(sizeBytes), 2, 0, cpuIndex);
}

/** What every successful store returns: one frozen object, not one per access. */
const STORE_OK: AccessResult<number> = Object.freeze({ ok: true as const, value: 0 });

function accessValue(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  size: 1 | 2 | 4 | 8,
  access: AccessKind,
  value: number | bigint,
  cpuIndex: number,
): AccessResult<number | bigint> {
  const cpu = cpuFor(k, proc, cpuIndex);
  const pageBytes = k.bounds.pageBytes;
  let vpn: number;
  let off: number;
  if (typeof va === 'number' && Number.isSafeInteger(va) && va >= 0) {
    // Number fast path: no BigInt per access. Page sizes are powers of two and `&` sees the low
    // 32 bits of a safe integer exactly, so the mask is the remainder (no floating-point `%`,
    // a library call for addresses above 2^31).
    off = va & (pageBytes - 1);
    vpn = (va - off) / pageBytes;
  } else {
    const v = checkedAddress(va, 'user address');
    const page = BigInt(pageBytes);
    vpn = Number(v / page);
    off = Number(v % page);
  }
  if (off + size > pageBytes) {
    // Crosses a page: byte by byte, each translated (both pages must be accessible).
    const bytes = new Uint8Array(size);
    if (access === 1) {
      let x = BigInt(value);
      for (let i = 0; i < size; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
    }
    if (!accessBytes(k, proc, cpu, vaOf(vpn, off), bytes, access, Privilege.User, false))
      return outcomeOf(proc);
    let out = 0n;
    for (let i = size - 1; i >= 0; i--) out = (out << 8n) | BigInt(bytes[i]!);
    return { ok: true, value: size === 8 ? out : Number(out) };
  }
  proc.accesses++; // process virtual time (working sets, PFF); accessBytes counts its pages itself
  if (proc.tracker !== undefined) proc.tracker.onAccess(k, proc, vpn);
  const pfn = cpu.translate(proc, vpn, off, size, access, Privilege.User, false);
  if (pfn < 0) return outcomeOf(proc);
  const pa = pfn * pageBytes + off;
  if (access === 1) {
    k.memory.writeN(pa, size, value);
    return STORE_OK;
  }
  return { ok: true, value: k.memory.readN(pa, size) };
}

/** Reads `length` bytes of user memory as the process would. */
export function readUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  length: number,
  cpuIndex: number,
): AccessResult<Uint8Array> {
  const n = checkReadLength(length);
  const cpu = cpuFor(k, proc, cpuIndex);
  const v = checkedAddress(va, 'user address');
  const out = new Uint8Array(n);
  return accessBytes(k, proc, cpu, v, out, 0, Privilege.User, false)
    ? { ok: true, value: out }
    : outcomeOf(proc);
}

/** Writes bytes to user memory as the process would. */
export function writeUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  data: Uint8Array,
  cpuIndex: number,
): AccessResult<void> {
  checkData(data);
  const cpu = cpuFor(k, proc, cpuIndex);
  return accessBytes(k, proc, cpu, checkedAddress(va, 'user address'), data, 1, Privilege.User, false)
    ? { ok: true, value: undefined }
    : outcomeOf(proc);
}

function accessBytes(
  k: KernelContext,
  proc: Process,
  cpu: Cpu,
  va: bigint,
  buf: Uint8Array,
  access: AccessKind,
  privilege: PrivilegeLevel,
  soft: boolean,
): boolean {
  const pageBytes = k.bounds.pageBytes;
  const page = BigInt(pageBytes);
  let done = 0;
  let vpn = Number(va / page);
  let off = Number(va % page);
  while (done < buf.length) {
    const n = Math.min(buf.length - done, pageBytes - off);
    proc.accesses++;
    if (proc.tracker !== undefined) proc.tracker.onAccess(k, proc, vpn);
    const pfn = cpu.translate(proc, vpn, off, 1, access, privilege, soft);
    if (pfn < 0) return false;
    const pa = pfn * pageBytes + off;
    if (access === 1) k.memory.writeBytes(pa, buf.subarray(done, done + n));
    else buf.set(k.memory.readBytes(pa, n), done);
    done += n;
    vpn++;
    off = 0;
  }
  return true;
}

/**
 * Checks and prefaults [va, va + length) for a kernel access on behalf of the process: heap and
 * stack pages are demand-allocated; anything else, an overflow, a range past the stack top, or out
 * of memory is EFAULT — never a kill (seed `check_and_prefault_user_range`).
 */
export function prefaultUserRange(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  length: number,
  write: boolean,
  cpuIndex: number,
): CopyResult<void> {
  k.live(proc);
  checkLength(length);
  const v = checkedAddress(va, 'user address');
  const end = v + BigInt(length);
  if (end >= 1n << 64n || end > proc.space.layout.stackTop) return { ok: false, errno: 'EFAULT' };
  if (length === 0) return { ok: true, value: undefined };
  const cpu = cpuFor(k, proc, cpuIndex);
  const page = BigInt(k.bounds.pageBytes);
  const last = Number((end - 1n) / page);
  for (let vpn = Number(v / page); vpn <= last; vpn++) {
    if (cpu.translate(proc, vpn, 0, 1, write ? 1 : 0, Privilege.User, true) < 0)
      return { ok: false, errno: 'EFAULT' };
  }
  return { ok: true, value: undefined };
}

/** copy_from_user: reads user memory for the kernel; a bad pointer is EFAULT, never a kill. */
export function copyFromUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  length: number,
  cpuIndex: number,
): CopyResult<Uint8Array> {
  const pre = prefaultUserRange(k, proc, va, length, false, cpuIndex);
  if (!pre.ok) return pre;
  const out = new Uint8Array(length);
  if (length === 0) return { ok: true, value: out };
  const cpu = cpuFor(k, proc, cpuIndex);
  return accessBytes(k, proc, cpu, checkedAddress(va), out, 0, Privilege.User, true)
    ? { ok: true, value: out }
    : { ok: false, errno: 'EFAULT' };
}

/** copy_to_user: writes user memory for the kernel; a bad pointer is EFAULT, never a kill. */
export function copyToUser(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  data: Uint8Array,
  cpuIndex: number,
): CopyResult<void> {
  checkData(data);
  const pre = prefaultUserRange(k, proc, va, data.length, true, cpuIndex);
  if (!pre.ok) return pre;
  if (data.length === 0) return { ok: true, value: undefined };
  const cpu = cpuFor(k, proc, cpuIndex);
  return accessBytes(k, proc, cpu, checkedAddress(va), data, 1, Privilege.User, true)
    ? { ok: true, value: undefined }
    : { ok: false, errno: 'EFAULT' };
}
