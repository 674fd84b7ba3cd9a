/**
 * The initial process stack: argc, argv, envp and the auxiliary vector laid
 * out as the System V ABI (x86-64 psABI §3.4.1 "Initial Stack and Register
 * State"; the AArch64 ELF ABI defers to the same Linux convention) and in the
 * exact order Linux builds them (`fs/exec.c` copies the strings,
 * `fs/binfmt_elf.c` `create_elf_tables` writes the tables). Pure data: the
 * result is the byte image of `[sp, stackTop)` that the kernel copies into the
 * new stack, plus the addresses it needs.
 *
 * ```
 *  stackTop ──►  ┌────────────────────────────────────┐  high addresses
 *                │ one zero word (end marker)         │  bprm->p = vm_end - sizeof(void *)
 *                │ execfn "\0"           ◄ AT_EXECFN  │  copied first (copy_string_kernel)
 *                │ envp[envc-1] … envp[0] strings     │  copied last-to-first (copy_strings)
 *                │ argv[argc-1] … argv[0] strings     │  ◄ arg_start = argv[0]
 *                │ 0–15 bytes (p &= ~15)              │  arch_align_stack, no randomization
 *                │ platform "\0"         ◄ AT_PLATFORM│  if a platform string is given
 *                │ 16 random bytes       ◄ AT_RANDOM  │
 *                │ 0–15 bytes of zero padding         │  STACK_ROUND
 *                │ auxv: (type, value) … (AT_NULL, 0) │
 *                │ 0                                  │
 *                │ envp[0] … envp[envc-1] pointers    │
 *                │ 0                                  │
 *                │ argv[0] … argv[argc-1] pointers    │
 *  sp ─────────► │ argc                               │  16-byte aligned
 *                └────────────────────────────────────┘  low addresses
 * ```
 * Every slot is one word (`wordBytes`: 8 for ELF64; 4 for a 32-bit process).
 * In memory the strings read in ascending order: argv[0], argv[1], …, envp[0],
 * …, execfn. Cross-checked byte for byte against the stack Linux 6.18 built
 * for `fixtures/elf/stackdump-x86_64` (see `initial-stack.test.ts`).
 *
 * Choices, written down: Linux randomizes the alignment step
 * (`arch_align_stack` subtracts a random amount below a page when ASLR is on);
 * mmkit does what Linux does without randomization (`setarch -R`). The 16
 * AT_RANDOM bytes come from the caller or from a seeded, non-cryptographic
 * generator, so runs are reproducible. An empty argv becomes `[""]`, as in
 * Linux since 5.18.
 */
import { AlignmentError, hex, MmError } from '@mmkit/core';
import { AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM, AUXV_NAMES, type AuxvEntry } from './auxv.js';
import { invalidArgument, plain, showValue } from './syscalls.js';

// ---------------------------------------------------------------------------
// Limits (Linux fs/exec.c, include/uapi/linux/binfmts.h, include/linux/resource.h)

/** Longest single argument or environment string, NUL included (Linux MAX_ARG_STRLEN = 32 pages). */
export const MAX_ARG_STRLEN = 131072;
/** Minimum room for strings whatever the stack limit (Linux ARG_MAX = 32 pages). */
export const ARG_MAX = 131072;
/** Default stack size limit (Linux _STK_LIM, the default RLIMIT_STACK). */
export const DEFAULT_STACK_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * The arguments and environment do not fit: a string longer than {@link MAX_ARG_STRLEN},
 * strings larger than the room Linux allows (a quarter of the stack limit, at most 6 MiB,
 * at least {@link ARG_MAX}), or a stack image larger than the stack limit. `errno` is `E2BIG`.
 */
export class ArgumentListTooLongError extends MmError {
  /** The POSIX error number name the exec facade reports. */
  readonly errno = 'E2BIG';
  constructor(
    readonly what: string,
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      'E_RANGE',
      `E2BIG: ${plain(what)} needs ${showValue(sizeBytes)} bytes; the limit is ${showValue(limitBytes)} bytes`,
    );
  }
}

// ---------------------------------------------------------------------------
// Building

/** Options of {@link buildInitialStack}. */
export interface InitialStackOptions {
  /** Arguments; an empty list becomes `[""]` (Linux ≥ 5.18). Strings are UTF-8 encoded and must not contain NUL. */
  readonly argv: readonly string[];
  /** Environment strings (`NAME=value`). */
  readonly envp: readonly string[];
  /**
   * Auxiliary vector entries from the caller, in order (AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ,
   * AT_ENTRY, AT_BASE, …; {@link linuxAuxv} builds Linux's list). AT_RANDOM, AT_EXECFN and
   * AT_PLATFORM (if `platform` is set) are filled in by this function: an entry of one of those
   * types in the list is a placeholder whose value is replaced in place; missing ones are
   * appended in Linux's order (AT_RANDOM, AT_EXECFN, AT_PLATFORM). AT_NULL is always added
   * and must not be in the list.
   */
  readonly auxv: readonly AuxvEntry[];
  /** Exclusive end of the stack (`vm_end`), 16-byte aligned (Linux uses a page-aligned STACK_TOP). */
  readonly stackTop: bigint;
  /** Word size: 8 (ELF64, default) or 4 (a 32-bit process). */
  readonly wordBytes?: 4 | 8;
  /** Platform string for AT_PLATFORM (`x86_64`, `aarch64`); none if undefined. */
  readonly platform?: string;
  /** File name for AT_EXECFN (the path given to execve); default argv[0]. */
  readonly execfn?: string;
  /** The 16 AT_RANDOM bytes; if undefined they are derived from `randomSeed`. */
  readonly random?: Uint8Array;
  /** Seed of the deterministic generator used when `random` is undefined (default 0). */
  readonly randomSeed?: number;
  /** RLIMIT_STACK in bytes (default 8 MiB); bounds the strings and the whole image. */
  readonly stackLimitBytes?: number;
}

/** The built stack: the image of `[sp, stackTop)` and the addresses inside it. */
export interface InitialStack {
  /** Initial stack pointer (16-byte aligned), pointing at argc. */
  readonly sp: bigint;
  readonly stackTop: bigint;
  /** Contents of `[sp, stackTop)`, little-endian. */
  readonly bytes: Uint8Array;
  readonly wordBytes: 4 | 8;
  readonly argc: number;
  /** Address of argv[0]'s pointer (`sp + word`). */
  readonly argvAddress: bigint;
  /** Address of envp[0]'s pointer. */
  readonly envpAddress: bigint;
  /** Address of the first auxv pair. */
  readonly auxvAddress: bigint;
  /** Address of each argv string. */
  readonly argvPointers: readonly bigint[];
  /** Address of each envp string. */
  readonly envpPointers: readonly bigint[];
  /** The auxiliary vector as written, ending with AT_NULL. */
  readonly auxv: readonly AuxvEntry[];
  /** Address of the 16 AT_RANDOM bytes. */
  readonly randomAddress: bigint;
  /** The 16 AT_RANDOM bytes. */
  readonly random: Uint8Array;
  /** Address of the AT_EXECFN string. */
  readonly execfnAddress: bigint;
  /** Address of the AT_PLATFORM string, if any. */
  readonly platformAddress: bigint | undefined;
  /** Linux mm->arg_start / arg_end / env_start / env_end (for /proc/PID/cmdline and environ). */
  readonly argStart: bigint;
  readonly argEnd: bigint;
  readonly envStart: bigint;
  readonly envEnd: bigint;
}

const PLACEHOLDERS = [AT_RANDOM, AT_EXECFN, AT_PLATFORM] as const;
const encoder = new TextEncoder();

function encodeString(what: string, s: unknown): Uint8Array {
  if (typeof s !== 'string') throw invalidArgument(what, s, 'a string');
  if (s.includes('\0')) throw invalidArgument(what, s, 'a string without NUL characters');
  const utf8 = encoder.encode(s);
  const out = new Uint8Array(utf8.length + 1);
  out.set(utf8);
  if (out.length > MAX_ARG_STRLEN) throw new ArgumentListTooLongError(what, out.length, MAX_ARG_STRLEN);
  return out;
}

/** 16 deterministic bytes from a seed (a splitmix-style mixer; not cryptographic). */
function seededRandom(seed: number): Uint8Array {
  const out = new Uint8Array(16);
  let s = seed >>> 0;
  for (let i = 0; i < 16; i += 4) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    out[i] = z & 0xff;
    out[i + 1] = (z >>> 8) & 0xff;
    out[i + 2] = (z >>> 16) & 0xff;
    out[i + 3] = z >>> 24;
  }
  return out;
}

/**
 * Builds the initial stack of a new process as Linux's `create_elf_tables` does (see the module
 * diagram): strings at the top (argv, envp, execfn, then platform and the 16 AT_RANDOM bytes below
 * them), then — from `sp` up — argc, the argv pointers and NULL, the envp pointers and NULL, the
 * auxiliary vector ending with AT_NULL; `sp` is 16-byte aligned.
 * @throws ArgumentListTooLongError (E2BIG) for strings or an image that exceed Linux's limits;
 *   AlignmentError for a `stackTop` that is not 16-byte aligned; InvalidArgumentError for a bad
 *   word size, string, auxv entry, random block or a stack top too low for the image.
 */
export function buildInitialStack(options: InitialStackOptions): InitialStack {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('options', options, 'an object { argv, envp, auxv, stackTop, … }');
  const w = options.wordBytes ?? 8;
  if (w !== 8 && w !== 4) throw invalidArgument('word size', w, '4 or 8 bytes');
  const W = BigInt(w);
  const wordLimit = 1n << (8n * W);
  const stackTop = options.stackTop;
  if (typeof stackTop !== 'bigint' || stackTop <= 0n || stackTop > wordLimit) {
    throw invalidArgument('stack top', stackTop, `a bigint in (0, 2^${8 * w}]`);
  }
  if (stackTop % 16n !== 0n) throw new AlignmentError('stack top', stackTop, 16n);
  const limit = options.stackLimitBytes ?? DEFAULT_STACK_LIMIT_BYTES;
  if (!Number.isSafeInteger(limit) || limit <= 0) {
    throw invalidArgument('stack limit', limit, 'a positive safe integer (bytes)');
  }

  if (!Array.isArray(options.argv)) throw invalidArgument('argv', options.argv, 'an array of strings');
  if (!Array.isArray(options.envp)) throw invalidArgument('envp', options.envp, 'an array of strings');
  const argvIn = options.argv.length === 0 ? [''] : options.argv;
  const argv = argvIn.map((s, i) => encodeString(`argv[${i}]`, s));
  const envp = options.envp.map((s, i) => encodeString(`envp[${i}]`, s));
  const execfn = encodeString('execfn', options.execfn ?? argvIn[0]);
  const platform = options.platform === undefined ? undefined : encodeString('platform', options.platform);

  // Linux bprm_stack_limits: room for the strings, after reserving the pointers.
  let room = Math.max(Math.min((DEFAULT_STACK_LIMIT_BYTES / 4) * 3, Math.floor(limit / 4)), ARG_MAX);
  const pointerBytes = (argv.length + envp.length) * w;
  if (room <= pointerBytes) throw new ArgumentListTooLongError('argv and envp pointers', pointerBytes, room);
  room -= pointerBytes;
  let stringBytes = execfn.length;
  for (const s of argv) stringBytes += s.length;
  for (const s of envp) stringBytes += s.length;
  if (stringBytes > room)
    throw new ArgumentListTooLongError('argument and environment strings', stringBytes, room);

  let random: Uint8Array;
  if (options.random !== undefined) {
    if (!(options.random instanceof Uint8Array) || options.random.length !== 16) {
      throw invalidArgument('random', options.random, 'a Uint8Array of exactly 16 bytes');
    }
    random = options.random.slice();
  } else {
    const seed = options.randomSeed ?? 0;
    if (!Number.isSafeInteger(seed)) throw invalidArgument('random seed', seed, 'a safe integer');
    random = seededRandom(seed);
  }

  // Strings, from the top down (fs/exec.c): end marker, execfn, envp last-to-first, argv last-to-first.
  let p = stackTop - W;
  const execfnAddress = p - BigInt(execfn.length);
  p = execfnAddress;
  const envpPointers: bigint[] = new Array(envp.length);
  for (let i = envp.length - 1; i >= 0; i--) {
    p -= BigInt(envp[i]!.length);
    envpPointers[i] = p;
  }
  const argvPointers: bigint[] = new Array(argv.length);
  for (let i = argv.length - 1; i >= 0; i--) {
    p -= BigInt(argv[i]!.length);
    argvPointers[i] = p;
  }
  const argStart = p;
  const argEnd = envp.length > 0 ? envpPointers[0]! : execfnAddress;
  const envStart = argEnd;
  const envEnd = execfnAddress;

  // create_elf_tables: align, platform, random bytes.
  p &= ~15n;
  let platformAddress: bigint | undefined;
  if (platform) {
    p -= BigInt(platform.length);
    platformAddress = p;
  }
  p -= 16n;
  const randomAddress = p;

  const auxv = completeAuxv(options.auxv, randomAddress, execfnAddress, platformAddress, wordLimit);
  const items = argv.length + 1 + (envp.length + 1) + 1;
  const tableBytes = BigInt((auxv.length * 2 + items) * w);
  if (p < tableBytes) {
    throw invalidArgument(
      'stack top',
      stackTop,
      `an address above the ${stackTop - p + tableBytes}-byte stack image`,
    );
  }
  const sp = (p - tableBytes) & ~15n;
  const total = stackTop - sp;
  if (total > BigInt(limit)) throw new ArgumentListTooLongError('the initial stack', Number(total), limit);

  const bytes = new Uint8Array(Number(total));
  const view = new DataView(bytes.buffer);
  const at = (addr: bigint) => Number(addr - sp);
  const put = (addr: bigint, value: bigint) => {
    if (w === 8) view.setBigUint64(at(addr), value, true);
    else view.setUint32(at(addr), Number(value), true);
  };
  let slot = sp;
  put(slot, BigInt(argv.length));
  slot += W;
  const argvAddress = slot;
  for (const a of argvPointers) {
    put(slot, a);
    slot += W;
  }
  slot += W; // NULL
  const envpAddress = slot;
  for (const e of envpPointers) {
    put(slot, e);
    slot += W;
  }
  slot += W; // NULL
  const auxvAddress = slot;
  for (const e of auxv) {
    put(slot, BigInt(e.type));
    put(slot + W, e.value);
    slot += 2n * W;
  }
  for (let i = 0; i < argv.length; i++) bytes.set(argv[i]!, at(argvPointers[i]!));
  for (let i = 0; i < envp.length; i++) bytes.set(envp[i]!, at(envpPointers[i]!));
  bytes.set(execfn, at(execfnAddress));
  if (platform && platformAddress !== undefined) bytes.set(platform, at(platformAddress));
  bytes.set(random, at(randomAddress));

  return {
    sp,
    stackTop,
    bytes,
    wordBytes: w,
    argc: argv.length,
    argvAddress,
    envpAddress,
    auxvAddress,
    argvPointers,
    envpPointers,
    auxv,
    randomAddress,
    random,
    execfnAddress,
    platformAddress,
    argStart,
    argEnd,
    envStart,
    envEnd,
  };
}

function completeAuxv(
  given: readonly AuxvEntry[],
  randomAddress: bigint,
  execfnAddress: bigint,
  platformAddress: bigint | undefined,
  wordLimit: bigint,
): AuxvEntry[] {
  if (!Array.isArray(given)) throw invalidArgument('auxv', given, 'an array of { type, value } entries');
  const filled: Record<number, bigint | undefined> = {
    [AT_RANDOM]: randomAddress,
    [AT_EXECFN]: execfnAddress,
    [AT_PLATFORM]: platformAddress,
  };
  const seen = new Set<number>();
  const out: AuxvEntry[] = [];
  given.forEach((e, i) => {
    const what = `auxv[${i}]`;
    if (typeof e !== 'object' || e === null) throw invalidArgument(what, e, 'a { type, value } entry');
    const { type, value } = e;
    if (!Number.isSafeInteger(type) || type < 0 || BigInt(type) >= wordLimit) {
      throw invalidArgument(`${what}.type`, type, 'a non-negative integer that fits a word');
    }
    if (type === AT_NULL) throw invalidArgument(`${what}.type`, type, 'not AT_NULL (it is added at the end)');
    if ((PLACEHOLDERS as readonly number[]).includes(type)) {
      if (seen.has(type)) throw invalidArgument(`${what}.type`, type, `one ${AUXV_NAMES[type]} entry`);
      seen.add(type);
      const v = filled[type];
      if (v === undefined) {
        throw invalidArgument(`${what}.type`, type, 'AT_PLATFORM only together with a platform string');
      }
      out.push({ type, value: v });
      return;
    }
    if (typeof value !== 'bigint' || value < 0n || value >= wordLimit) {
      throw invalidArgument(`${what}.value`, value, `a bigint in [0, ${hex(wordLimit)})`);
    }
    out.push({ type, value });
  });
  for (const type of PLACEHOLDERS) {
    const v = filled[type];
    if (!seen.has(type) && v !== undefined) out.push({ type, value: v });
  }
  out.push({ type: AT_NULL, value: 0n });
  return out;
}

// ---------------------------------------------------------------------------
// Reading a stack image back

/** What {@link readInitialStack} decodes. */
export interface DecodedInitialStack {
  readonly argc: number;
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  /** The auxiliary vector, AT_NULL included. */
  readonly auxv: readonly AuxvEntry[];
  /** The AT_EXECFN string, if the vector has one pointing into the image. */
  readonly execfn: string | undefined;
  /** The AT_PLATFORM string, if present. */
  readonly platform: string | undefined;
  /** The 16 AT_RANDOM bytes, if present. */
  readonly random: Uint8Array | undefined;
}

/**
 * Decodes a stack image `bytes` = `[sp, sp + bytes.length)` as a program sees it at entry:
 * argc, argv, envp, auxv and the strings they point to. Used to check images built by
 * {@link buildInitialStack} and images dumped from a real kernel.
 * @throws InvalidArgumentError if a table or string lies outside the image or is unterminated.
 */
export function readInitialStack(bytes: Uint8Array, sp: bigint, wordBytes: 4 | 8 = 8): DecodedInitialStack {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('stack image', bytes, 'a Uint8Array');
  if (typeof sp !== 'bigint' || sp < 0n || sp >= 1n << 64n)
    throw invalidArgument('sp', sp, 'a bigint in [0, 2^64)');
  if (wordBytes !== 4 && wordBytes !== 8) throw invalidArgument('word size', wordBytes, '4 or 8 bytes');
  const w = wordBytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (off: number): bigint => {
    if (off < 0 || off + w > bytes.length) {
      throw invalidArgument('stack image', `offset ${off}`, `a word inside the ${bytes.length}-byte image`);
    }
    return w === 8 ? view.getBigUint64(off, true) : BigInt(view.getUint32(off, true));
  };
  const decoder = new TextDecoder();
  const str = (addr: bigint, what: string): string => {
    const start = addr - sp;
    if (start < 0n || start >= BigInt(bytes.length)) {
      throw invalidArgument(what, addr, 'a pointer into the stack image');
    }
    const s = Number(start);
    const end = bytes.indexOf(0, s);
    if (end < 0) throw invalidArgument(what, addr, 'a NUL-terminated string inside the image');
    return decoder.decode(bytes.subarray(s, end));
  };
  let off = 0;
  const argcWord = word(off);
  if (argcWord > BigInt(bytes.length)) throw invalidArgument('argc', argcWord, 'a count that fits the image');
  const argc = Number(argcWord);
  off += w;
  const argv: string[] = [];
  for (let i = 0; i < argc; i++, off += w) argv.push(str(word(off), `argv[${i}]`));
  if (word(off) !== 0n) throw invalidArgument('argv terminator', word(off), '0 (NULL)');
  off += w;
  const envp: string[] = [];
  for (let p = word(off); p !== 0n; off += w, p = word(off)) envp.push(str(p, `envp[${envp.length}]`));
  off += w;
  const auxv: AuxvEntry[] = [];
  for (;;) {
    const type = word(off);
    const value = word(off + w);
    off += 2 * w;
    auxv.push({ type: Number(type), value });
    if (type === 0n) break;
  }
  const find = (t: number) => auxv.find((e) => e.type === t)?.value;
  const execfnAt = find(AT_EXECFN);
  const platformAt = find(AT_PLATFORM);
  const randomAt = find(AT_RANDOM);
  let random: Uint8Array | undefined;
  if (randomAt !== undefined) {
    const s = randomAt - sp;
    if (s < 0n || s + 16n > BigInt(bytes.length)) {
      throw invalidArgument('AT_RANDOM', randomAt, 'a pointer to 16 bytes inside the image');
    }
    random = bytes.slice(Number(s), Number(s) + 16);
  }
  return {
    argc,
    argv,
    envp,
    auxv,
    execfn: execfnAt === undefined ? undefined : str(execfnAt, 'AT_EXECFN'),
    platform: platformAt === undefined ? undefined : str(platformAt, 'AT_PLATFORM'),
    random,
  };
}
