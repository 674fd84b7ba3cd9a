/*
 * tlb-peer: the C peer of mmkit's TLB-hit benchmark (`Tlb.lookup (hit)` in ../core.bench.ts).
 *
 * The same direct-mapped, ASID-tagged TLB as mmkit's Tlb (core/src/tlb.ts), with its typed arrays
 * as C arrays of the same element sizes: an 8-byte page-number tag per entry (mmkit: Float64Array,
 * here uint64_t with all-ones for "empty"), int32 ASID, uint8 global flag, 8-byte frame, uint8
 * permissions / memory type / level, 8-byte block start and size; index = page number & (size-1).
 * A lookup compares the tag and (ASID or global), counts a hit or a miss and returns the index or
 * -1, as Tlb.lookup. The bench's fill sequence and lookup sequence are the same: the page numbers
 * come from the bench (one file, in lookup order), each filled as a 4 KiB user RW translation.
 *
 * usage: tlb-peer VPNS ENTRIES ASID PASSES RUNS
 *   VPNS     little-endian uint64 page numbers: fill order = lookup order
 *   ENTRIES  TLB size (a power of two); PASSES lookups of the whole list per timed run; RUNS runs
 * Prints one JSON object; exit 1 on bad input or if a lookup misses.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__GNUC__)
#define BARRIER() __asm__ __volatile__("" ::: "memory") /* keeps passes from being merged */
#else
#define BARRIER() ((void)0)
#endif

enum { UR = 1, UW = 2, KR = 8, KW = 16 };
#define EMPTY UINT64_MAX

typedef struct {
  uint64_t mask;
  uint64_t *vpn, *pfn, *block_vpn, *block_pages;
  int32_t *asid;
  uint8_t *global, *perms, *mtype, *level;
  uint64_t hits, misses, fills;
} tlb;

static void die(const char *msg) {
  fprintf(stderr, "tlb-peer: %s\n", msg);
  exit(1);
}

static void *alloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (!p) die("out of memory");
  return p;
}

static void tlb_init(tlb *t, size_t size) {
  t->mask = size - 1;
  t->vpn = alloc(size, 8), t->pfn = alloc(size, 8), t->block_vpn = alloc(size, 8), t->block_pages = alloc(size, 8);
  t->asid = alloc(size, 4);
  t->global = alloc(size, 1), t->perms = alloc(size, 1), t->mtype = alloc(size, 1), t->level = alloc(size, 1);
  for (size_t i = 0; i < size; i++) t->vpn[i] = EMPTY;
  t->hits = t->misses = t->fills = 0;
}

static void tlb_fill(tlb *t, uint64_t vpn, int32_t asid, int global, uint64_t pfn, int perms, int mtype, int level,
                     uint64_t block_vpn, uint64_t block_pages) {
  const uint64_t i = vpn & t->mask;
  t->vpn[i] = vpn, t->asid[i] = asid, t->global[i] = (uint8_t)global, t->pfn[i] = pfn;
  t->perms[i] = (uint8_t)perms, t->mtype[i] = (uint8_t)mtype, t->level[i] = (uint8_t)level;
  t->block_vpn[i] = block_vpn, t->block_pages[i] = block_pages;
  t->fills++;
}

static inline int64_t tlb_lookup(tlb *t, uint64_t vpn, int32_t asid) {
  const uint64_t i = vpn & t->mask;
  if (t->vpn[i] == vpn && (t->asid[i] == asid || t->global[i] == 1)) {
    t->hits++;
    return (int64_t)i;
  }
  t->misses++;
  return -1;
}

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open an input file");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc(n > 0 ? (size_t)n : 1);
  if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) die("cannot read an input file");
  fclose(f);
  *len = (size_t)n;
  return p;
}

static uint32_t fnv_word(uint32_t h, uint32_t w) {
  for (int k = 0; k < 4; k++) h = (h ^ ((w >> (8 * k)) & 0xff)) * 16777619u;
  return h;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 6) die("usage: tlb-peer VPNS ENTRIES ASID PASSES RUNS");
  size_t len;
  const uint64_t *vpns = read_file(argv[1], &len);
  const size_t n = len / 8, entries = strtoull(argv[2], 0, 0);
  const int32_t asid = (int32_t)atoi(argv[3]);
  const int passes = atoi(argv[4]), runs = atoi(argv[5]);
  if (n == 0 || entries == 0 || (entries & (entries - 1)) || passes < 1 || runs < 1 || runs > 100)
    die("bad arguments");
  tlb t;
  tlb_init(&t, entries);
  for (size_t i = 0; i < n; i++) tlb_fill(&t, vpns[i], asid, 0, vpns[i], UR | UW | KR | KW, 0, 1, vpns[i], 1);

  /* Untimed: the sequence of returned indices, hashed as the bench hashes mmkit's. */
  uint32_t h = 2166136261u;
  int64_t index_sum = 0;
  for (size_t i = 0; i < n; i++) {
    const int64_t k = tlb_lookup(&t, vpns[i], asid);
    if (k < 0) die("a lookup missed");
    index_sum += k;
    h = fnv_word(h, (uint32_t)k);
  }

  double rates[100];
  volatile int64_t sink = 0;
  for (int k = 0; k < runs; k++) {
    int64_t s = 0;
    const double t0 = now_s();
    for (int p = 0; p < passes; p++) {
      for (size_t i = 0; i < n; i++) s += tlb_lookup(&t, vpns[i], asid);
      BARRIER();
    }
    rates[k] = (double)n * passes / (now_s() - t0);
    sink += s;
  }
  if (t.misses != 0) die("lookups missed");
  qsort(rates, (size_t)runs, sizeof rates[0], cmp_double);
  printf("{\"ops_per_s\": %.1f, \"ops_per_s_median\": %.1f, \"runs\": %d, \"lookups_per_run\": %.0f,"
         " \"index_fnv\": %u, \"index_sum\": %lld, \"hits\": %llu, \"sink\": %lld}\n",
         rates[runs - 1], rates[runs / 2], runs, (double)n * passes, h, (long long)index_sum,
         (unsigned long long)t.hits, (long long)(sink & 1));
  return 0;
}
