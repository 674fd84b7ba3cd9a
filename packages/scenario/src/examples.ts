/**
 * Example scenarios shipped with the package, as YAML text (so a browser bundle needs no file
 * access). `mmkit demo` runs `demo`; the others show one mechanism each.
 */

/** A shipped scenario: its id, a one-line summary and the YAML text. */
export interface ExampleScenario {
  readonly id: string;
  readonly summary: string;
  readonly yaml: string;
}

const DEMO = `# The short life of two processes that touches every mechanism of the memory manager.
name: demo
description: >-
  brk growth and demand faults, stack growth, copy_to_user with a good and a bad pointer, fork
  isolation on a second CPU, a brk shrink with its TLB invalidation, mmap and mprotect splitting a
  VMA, a stack overflow into the guard page, a wild pointer, a write to text, exit.
board: virt
arch: aarch64
cpus: 2
steps:
  - title: "spawn init: text mapped user r-x, top stack page mapped"
    op: spawn
    as: init

  - title: brk grows the heap by 3 pages; first touches are demand-zero faults
    op: brk
    process: init
    to: heap+0x3000
  - { op: write, process: init, addr: heap, text: hello from the heap }
  - { op: write, process: init, addr: heap+0x2000, value: 0x1122_3344_5566_7788 }
  - { op: read, process: init, addr: heap, length: 19, equals: hello from the heap }

  - title: the stack grows down on demand
    op: write
    process: init
    addr: stack-top-0x3010
    value: 7

  - title: "copy_to_user: a good pointer, then a wild one (EFAULT, not a kill)"
    op: copy-to-user
    process: init
    addr: heap+0x1000
    text: syscall result
    expect: ok
  - { op: copy-to-user, process: init, addr: wild, text: x, expect: EFAULT }

  - title: "fork (copy-on-write) and isolation: the child writes on CPU 1 (a COW copy), the parent keeps its data"
    op: fork
    process: init
    as: child
  - { op: read, process: child, addr: heap, length: 19, cpu: 1, equals: hello from the heap }
  - { op: write, process: child, addr: heap, text: HELLO FROM THE KID!, cpu: 1 }
  - { op: read, process: init, addr: heap, length: 19, equals: hello from the heap }

  - title: "brk shrinks by 2 pages: PTEs cleared, references dropped (the child still shares the frames), TLBs invalidated on both CPUs"
    op: brk
    process: init
    to: heap+0x1000
  - { op: brk, process: init, to: heap+0x3000 }
  - { op: read, process: init, addr: heap+0x2000, equals: 0 }

  - title: "mmap three pages, then mprotect the middle one read-only: the VMA splits in three"
    op: mmap
    process: init
    length: 3 pages
    prot: rw-
    as: buf
  - { op: write, process: init, addr: buf+0x1000, value: 1 }
  - { op: mprotect, process: init, addr: buf+0x1000, length: 0x1000, prot: r-- }
  - { op: maps, process: init }

  - title: page-table dump of init, and the registers that select it
    op: dump
    process: init

  - title: the child overflows its stack into the guard page
    op: write
    process: child
    addr: stack-low-8
    value: 0
    cpu: 1
    expect: "killed: stack overflow"

  - title: a new process follows a wild pointer
    op: spawn
    as: stray
  - { op: read, process: stray, addr: wild, expect: "killed: invalid address" }

  - title: "a fork of init writes to its text: a permission fault"
    op: fork
    process: init
    as: victim
  - { op: write, process: victim, addr: text, size: 4, value: 0, expect: "killed: permission fault" }

  - title: init exits
    op: exit
    process: init
`;

const FORK_EXEC = `# fork shares the address space copy-on-write; exec in the child replaces it, the parent keeps its pages.
name: fork-exec
description: fork, then exec in the child; the parent's heap is untouched and every frame comes back.
board: virt
steps:
  - { op: spawn, as: shell }
  - { op: brk, process: shell, to: heap+0x2000 }
  - { op: write, process: shell, addr: heap, text: parent data }
  - title: fork shares the heap copy-on-write
    op: fork
    process: shell
    as: child
  - { op: read, process: child, addr: heap, length: 11, equals: parent data }
  - title: exec gives the child a fresh address space (no heap pages)
    op: exec
    process: child
  - { op: copy-from-user, process: child, addr: heap, length: 11, expect: EFAULT }
  - { op: read, process: shell, addr: heap, length: 11, equals: parent data }
  - { op: exit, process: child }
  - { op: exit, process: shell }
`;

const MPROTECT_SEGV = `# mprotect makes a page read-only; the next store is a permission fault (SIGSEGV).
name: mprotect-segv
description: On the PC with 4-level paging, a store to a page made read-only kills the process.
board: pc
arch: x86_64
steps:
  - { op: spawn, as: app }
  - { op: mmap, process: app, length: 2 pages, prot: rw-, as: buf }
  - { op: write, process: app, addr: buf, value: 0x42 }
  - title: mprotect the first page read-only (the VMA splits in two)
    op: mprotect
    process: app
    addr: buf
    length: 4K
    prot: r--
  - { op: read, process: app, addr: buf, equals: 0x42 }
  - { op: write, process: app, addr: buf+0x1000, value: 1, expect: ok }
  - title: a store to the read-only page
    op: write
    process: app
    addr: buf
    value: 1
    expect: "killed: permission fault"
`;

const BRK_GROWTH = `# The heap grows with brk; pages arrive on first touch and go away when it shrinks.
name: brk-growth
description: brk grows the heap by 16 pages, every page is touched, then brk shrinks it again.
board: rpi4b
ram: 4G
steps:
  - { op: spawn, as: app }
  - title: brk grows the heap by 16 pages (nothing is mapped yet)
    op: brk
    process: app
    to: heap+0x10000
  - title: touching each page is one demand-zero fault
    op: touch
    process: app
    addr: heap
    length: 16 pages
    write: true
  - title: brk shrinks by 12 pages; their frames are freed
    op: brk
    process: app
    to: heap+0x4000
  - { op: read, process: app, addr: heap+0x3000, equals: 0 }
  - { op: exit, process: app }
`;

const OOM = `# Out of memory: the OOM killer chooses by badness, spares oom_score_adj -1000, and the allocation is retried.
name: oom
description: >-
  Three processes on a 16 MiB machine: a daemon that must survive (oom_score_adj -1000), a cache
  holding 8 MiB, and a hog whose memory grows 4 MiB at a time. When nothing is left, the OOM
  killer kills the process with the highest badness (resident pages + swap entries + page tables)
  that is not -1000: first the cache, and the hog's fault is retried; later the hog itself, now
  the biggest. The daemon outlives both.
board: virt
ram: 16M
steps:
  - title: "the daemon: oom_score_adj -1000, the OOM killer never chooses it"
    op: spawn
    as: daemon
  - { op: oomScoreAdj, process: daemon, value: -1000 }
  - { op: mmap, process: daemon, length: 1M, prot: rw-, as: state }
  - { op: touch, process: daemon, addr: state, length: 1M, write: true }

  - title: the cache holds 8 MiB
    op: spawn
    as: cache
  - { op: mmap, process: cache, length: 8M, prot: rw-, as: lines }
  - { op: touch, process: cache, addr: lines, length: 8M, write: true }

  - title: the hog grows 4 MiB at a time
    op: spawn
    as: hog
  - { op: mmap, process: hog, length: 16M, prot: rw-, as: arena }
  - { op: touch, process: hog, addr: arena, length: 4M, write: true }
  - title: "out of memory: the cache is the biggest, the OOM killer kills it and the hog's fault is retried"
    op: touch
    process: hog
    addr: arena+0x40_0000
    length: 4M
    write: true
    expect: ok
  - { op: touch, process: hog, addr: arena+0x80_0000, length: 4M, write: true, expect: ok }
  - title: "out of memory again: now the hog is the biggest, and its own fault kills it"
    op: touch
    process: hog
    addr: arena+0xC0_0000
    length: 4M
    write: true
    expect: "killed: out of memory"

  - { op: read, process: daemon, addr: state, equals: 0 }
  - { op: exit, process: daemon }
`;

const SWAP = `# Swap: pages shared after fork go to a swap device once and come back once.
name: swap
description: >-
  A small machine with a swap device: two processes share heap pages after fork, reclaim swaps
  them out (one slot per page, two swap PTEs), the parent's touch reads the page back (a major
  fault, into the swap cache), the child's touch finds it there (a minor fault).
board: virt
ram: 64M
steps:
  - { op: spawn, as: parent }
  - { op: brk, process: parent, to: heap+0x2000 }
  - { op: write, process: parent, addr: heap, text: kept across swap }
  - { op: write, process: parent, addr: heap+0x1000, value: 0x5eed }
  - title: fork shares the heap copy-on-write
    op: fork
    process: parent
    as: child
  - title: a 64-page swap device (slot 0 is its header)
    op: swapon
    size: 64 pages
  - title: "reclaim: every private page goes to swap, each shared page once (two swap PTEs, slot count 2)"
    op: reclaim
    pages: 64
  - title: the parent's touch reads the page from the device (a major fault)
    op: read
    process: parent
    addr: heap
    length: 16
    equals: kept across swap
  - title: the child's touch finds it in the swap cache (a minor fault); the slot stays with the cache
    op: read
    process: child
    addr: heap
    length: 16
    equals: kept across swap
  - { op: read, process: child, addr: heap+0x1000, equals: 0x5eed }
  - title: swapoff brings the rest back
    op: swapoff
    type: 0
  - { op: read, process: parent, addr: heap+0x1000, equals: 0x5eed }
  - { op: exit, process: child }
  - { op: exit, process: parent }
`;

/** The shipped scenarios, by id. */
export const EXAMPLE_SCENARIOS: readonly ExampleScenario[] = [
  {
    id: 'demo',
    summary: 'the mmkit demo: two processes and every mechanism of the memory manager',
    yaml: DEMO,
  },
  { id: 'fork-exec', summary: 'fork, then exec in the child; the parent keeps its heap', yaml: FORK_EXEC },
  {
    id: 'mprotect-segv',
    summary: 'a store to a page made read-only kills the process (x86-64)',
    yaml: MPROTECT_SEGV,
  },
  {
    id: 'brk-growth',
    summary: 'the heap grows with brk, faults in page by page, and shrinks',
    yaml: BRK_GROWTH,
  },
  {
    id: 'oom',
    summary:
      'out of memory: the OOM killer kills the biggest process, never a -1000 one, and the fault is retried',
    yaml: OOM,
  },
  {
    id: 'swap',
    summary: 'pages shared after fork are swapped out once and in once: a major then a minor fault',
    yaml: SWAP,
  },
];

/** The shipped scenario `id`, or undefined. */
export function exampleScenario(id: string): ExampleScenario | undefined {
  return EXAMPLE_SCENARIOS.find((s) => s.id === id);
}
