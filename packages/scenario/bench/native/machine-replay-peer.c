/*
 * machine-replay-peer: the C peer of the machine-replay benchmark (../machine-replay.bench.ts).
 *
 * The same work as mmkit's MachineReplay.feed on a warm x86-64 machine, on the same bytes: for
 * each reference of the trace (a 4 KiB page number and an access kind), find its 2 MiB region's
 * shift (a 256-entry direct-mapped cache, a binary search of the region table on a miss), look the
 * page up in a direct-mapped TLB of the same size and indexing as mmkit's core Tlb (tag = page
 * number, index = page & (entries - 1), hit = same page and the access's user permission bit
 * cached), and on a miss walk the IA-32e 4-level tables in the exported physical memory as
 * X86Mmu.walk does for a user access: P and the reserved address bits above MAXPHYADDR at every
 * level, PS at the PDPT/PD, A set on each table entry as the walk descends (and on a 1 GiB leaf),
 * R/W and U/S ANDed and XD ORed along the path, the user permission check, A (and D for a write)
 * written back on success, write permission cached only for a dirty leaf. Then fill the TLB.
 * A walk that faults is an error: the bench replays a warm machine (every page present).
 *
 * With MEMO = 1 it also keeps mmkit's hit memo (MachineReplay's `segment`): per access kind, the
 * last page known to pass the region lookup and the TLB hit test; a reference equal to it is a
 * hit with nothing else read; every memo is forgotten on a region-cache miss and on a TLB miss,
 * and set after a hit or a fill. MEMO = 0 is the plain per-access loop.
 *
 * usage: machine-replay-peer TABLES CR3 MAXPHYADDR REGIONS PAGES KINDS TLB_ENTRIES RUNS [MEMO]
 *   TABLES   records of (uint64 pa, 4096 bytes): every page-table frame of the process
 *   REGIONS  pairs of (uint64 region index, int64 page shift), sorted by region
 *   PAGES    uint64 page numbers of the trace; KINDS one byte per page: 0 read, 1 write, 2 fetch
 * Each run starts with an empty TLB and region cache; prints one JSON object with the counts of
 * the last run and the best rate, by the wall clock (`accesses_per_s`) and by the process's CPU
 * time (`accesses_per_cpu_s`: what a loaded machine disturbs least). Exit 1 on bad input or a faulting walk.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { P = 1, RW = 2, US = 4, A = 32, D = 64, PS = 128 };
enum { UR = 1, UW = 2, UX = 4 };
#define XD 0x80000000u
#define REGION_PAGES 512
#define REGION_CACHE 256

static uint8_t *mem;
static uint64_t mem_base, mem_size, cr3;
static uint32_t rsvd_hi;

static void die(const char *msg) {
  fprintf(stderr, "machine-replay-peer: %s\n", msg);
  exit(1);
}

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open an input file");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read an input file");
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static inline uint8_t *at(uint64_t pa) {
  if (pa - mem_base > mem_size - 8) die("table read outside the exported tables");
  return mem + (pa - mem_base);
}
static inline uint64_t rd64(uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); } /* the low word only, as hardware */

/* A user walk of `vpn` for `access`; returns the permissions to cache (-1: a fault) and the frame. */
static inline int walk(uint64_t vpn, int access, uint64_t *pfn_out) {
  const uint64_t vhi = vpn >> 32, top = vhi >> 3;
  if (vhi >= 0x100000 || (top != 0 && top != 0x1ffff)) return -1;
  uint64_t table = cr3;
  uint32_t rwus = RW | US, nx = 0, lo, hi;
  uint8_t *dp;
  int level = 4;
  for (;;) {
    dp = at(table + ((vpn >> (9 * (level - 1))) & 511) * 8);
    const uint64_t e = rd64(dp);
    lo = (uint32_t)e, hi = (uint32_t)(e >> 32);
    if (!(lo & P) || (hi & rsvd_hi)) return -1;
    if (level == 1) break;
    if (lo & PS) {
      if (level >= 4) return -1;
      if (level == 3 && !(lo & A)) wr32(dp, lo |= A);
      break;
    }
    if (!(lo & A)) wr32(dp, lo | A);
    rwus &= lo, nx |= hi;
    table = (uint64_t)(hi & 0xfffff) << 32 | (lo & 0xfffff000u);
    level--;
  }
  rwus &= lo, nx |= hi;
  const uint64_t base = (uint64_t)(hi & 0xfffff) << 20;
  uint64_t pfn;
  if (level == 1) pfn = base + (lo >> 12);
  else if (level == 2) pfn = base + ((uint64_t)(lo >> 21) << 9) + (vpn & 511);
  else pfn = base + ((uint64_t)(lo >> 30) << 18) + (vpn & 0x3ffff);
  if (!(rwus & US)) return -1;
  const int xd = (nx & XD) != 0, writable = (rwus & RW) != 0;
  int perms = writable ? (xd ? UR | UW : UR | UW | UX) : xd ? UR : UR | UX;
  if (!(perms & (1 << access))) return -1;
  const uint32_t next = access == 1 ? lo | A | D : lo | A;
  if (next != lo) wr32(dp, next);
  if (!(next & D)) perms &= ~UW;
  *pfn_out = pfn;
  return perms;
}

int main(int argc, char **argv) {
  if (argc != 9 && argc != 10) die("usage: TABLES CR3 MAXPHYADDR REGIONS PAGES KINDS TLB_ENTRIES RUNS [MEMO]");
  size_t tlen, rlen, plen, klen;
  uint8_t *tables = read_file(argv[1], &tlen);
  cr3 = strtoull(argv[2], 0, 0);
  const int maxphy = atoi(argv[3]);
  if (maxphy < 32 || maxphy > 52) die("bad MAXPHYADDR");
  /* Entry bits 51:MAXPHYADDR are reserved: in the high word, bits 19:(MAXPHYADDR - 32). */
  rsvd_hi = 0xfffffu & ~((1u << (maxphy - 32)) - 1);
  uint64_t *regions = read_file(argv[4], &rlen);
  uint64_t *pages = read_file(argv[5], &plen);
  uint8_t *kinds = read_file(argv[6], &klen);
  const uint64_t tlb_entries = strtoull(argv[7], 0, 0);
  const int runs = atoi(argv[8]);
  const int use_memo = argc == 10 ? atoi(argv[9]) : 0;
  if (use_memo != 0 && use_memo != 1) die("bad MEMO (0 or 1)");
  const size_t rec = 8 + 4096, ntables = tlen / rec, nregions = rlen / 16, n = plen / 8;
  if (tlen % rec || rlen % 16 || plen % 8 || klen != n || !ntables || !nregions || runs < 1 ||
      !tlb_entries || (tlb_entries & (tlb_entries - 1)))
    die("bad input sizes");
  /* Physical memory: one zeroed span from the lowest to the highest table, each table at its PA. */
  uint64_t lo_pa = UINT64_MAX, hi_pa = 0;
  for (size_t i = 0; i < ntables; i++) {
    uint64_t pa;
    memcpy(&pa, tables + i * rec, 8);
    if (pa < lo_pa) lo_pa = pa;
    if (pa + 4096 > hi_pa) hi_pa = pa + 4096;
  }
  mem_base = lo_pa, mem_size = hi_pa - lo_pa;
  mem = calloc(mem_size, 1);
  if (!mem) die("out of memory");
  uint8_t *pristine = malloc(tlen);
  memcpy(pristine, tables, tlen);
  const uint64_t mask = tlb_entries - 1;
  uint64_t *tag = malloc(tlb_entries * 8), *tpfn = malloc(tlb_entries * 8);
  uint8_t *tperm = malloc(tlb_entries);
  int64_t rtag[REGION_CACHE], rdelta[REGION_CACHE];
  double best = 0, best_cpu = 0;
  uint64_t hits = 0, misses = 0, pfn_sum = 0;
  for (int run = 0; run < runs; run++) {
    for (size_t i = 0; i < ntables; i++) {
      uint64_t pa;
      memcpy(&pa, pristine + i * rec, 8);
      memcpy(mem + (pa - mem_base), pristine + i * rec + 8, 4096);
    }
    for (uint64_t i = 0; i < tlb_entries; i++) tag[i] = UINT64_MAX;
    for (int i = 0; i < REGION_CACHE; i++) rtag[i] = -1;
    hits = misses = pfn_sum = 0;
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (use_memo) {
      /* The hit memo, by kind (256 entries: any byte indexes it, as mmkit's); UINT64_MAX = none. */
      uint64_t memo[256];
      for (int k = 0; k < 256; k++) memo[k] = UINT64_MAX;
      for (size_t i = 0; i < n; i++) {
        const uint64_t page = pages[i];
        const int kind = kinds[i];
        if (memo[kind] == page) {
          hits++;
          continue;
        }
        const uint64_t region = page / REGION_PAGES;
        const int ci = (int)(region & (REGION_CACHE - 1));
        if (rtag[ci] != (int64_t)region) {
          memo[0] = memo[1] = memo[2] = UINT64_MAX;
          size_t a = 0, b = nregions;
          while (a < b) {
            size_t m = (a + b) / 2;
            if (regions[2 * m] < region) a = m + 1;
            else b = m;
          }
          if (a == nregions || regions[2 * a] != region) die("a page outside every region");
          rtag[ci] = (int64_t)region, rdelta[ci] = (int64_t)regions[2 * a + 1];
        }
        const uint64_t vpn = page + (uint64_t)rdelta[ci];
        const uint64_t ti = vpn & mask;
        if (tag[ti] == vpn && (tperm[ti] & (1 << kind))) {
          hits++;
        } else {
          memo[0] = memo[1] = memo[2] = UINT64_MAX;
          uint64_t pfn;
          const int perms = walk(vpn, kind, &pfn);
          if (perms < 0) die("a walk faulted: the bench's machine must be warm");
          tag[ti] = vpn, tperm[ti] = (uint8_t)perms, tpfn[ti] = pfn;
          pfn_sum += pfn;
          misses++;
          if (!(perms & (1 << kind))) continue;
        }
        memo[kind] = page;
      }
    } else {
      for (size_t i = 0; i < n; i++) {
        const uint64_t page = pages[i];
        const int kind = kinds[i];
        const uint64_t region = page / REGION_PAGES;
        const int ci = (int)(region & (REGION_CACHE - 1));
        if (rtag[ci] != (int64_t)region) {
          size_t a = 0, b = nregions;
          while (a < b) {
            size_t m = (a + b) / 2;
            if (regions[2 * m] < region) a = m + 1;
            else b = m;
          }
          if (a == nregions || regions[2 * a] != region) die("a page outside every region");
          rtag[ci] = (int64_t)region, rdelta[ci] = (int64_t)regions[2 * a + 1];
        }
        const uint64_t vpn = page + (uint64_t)rdelta[ci];
        const uint64_t ti = vpn & mask;
        if (tag[ti] == vpn && (tperm[ti] & (1 << kind))) {
          hits++;
        } else {
          uint64_t pfn;
          const int perms = walk(vpn, kind, &pfn);
          if (perms < 0) die("a walk faulted: the bench's machine must be warm");
          tag[ti] = vpn, tperm[ti] = (uint8_t)perms, tpfn[ti] = pfn;
          pfn_sum += pfn;
          misses++;
        }
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const double cs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    if ((double)n / s > best) best = (double)n / s;
    if ((double)n / cs > best_cpu) best_cpu = (double)n / cs;
  }
  printf("{\"accesses\":%zu,\"hits\":%llu,\"misses\":%llu,\"pfn_sum\":%llu,\"accesses_per_s\":%.0f,"
         "\"accesses_per_cpu_s\":%.0f}\n",
         n, (unsigned long long)hits, (unsigned long long)misses, (unsigned long long)pfn_sum, best, best_cpu);
  return 0;
}
