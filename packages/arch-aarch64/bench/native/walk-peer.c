/*
 * walk-peer: the C peer of mmkit's AArch64 walk benchmark (../walk.bench.ts).
 *
 * A straightforward VMSAv8-64 stage-1 walker (4 KiB granule, 4 levels, 48-bit VA and OA) with
 * the checks mmkit's Aarch64Mmu.walk does: TTBR select and VA[63:48] check, invalid and
 * block-where-not-allowed descriptors, Address size faults on OA bits above 48, APTable / UXNTable
 * / PXNTable folded into AP[2:1] / UXN / PXN, Access flag (HA) and DBM (HD), PAN and WXN, the
 * permission check for the access, and the write-back of AF / AP[2] when the walk succeeds.
 * It walks the very table bytes mmkit built (exported by the bench), for the same VAs, in order.
 *
 * usage: walk-peer TABLES TABLES_PA ROOT_PA VPNS PASSES RUNS HA HD PAN WXN T0,T1,...,T7
 *   TABLES   raw bytes of physical memory from TABLES_PA (every table the walk reads)
 *   VPNS     little-endian uint64 page numbers (VA >> 12) to walk, as user reads
 *   PASSES   walks of the whole VPNS list per timed run; RUNS timed runs (the best is reported)
 *   T0..T7   memory-type code of each MAIR AttrIndx (mmkit's MairMap.typeOfIndex)
 * Prints one JSON object. Exit 1 on bad input, or if a table read falls outside TABLES.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { F_TRANSLATION = 0, F_ACCESS_FLAG = 1, F_PERMISSION = 2, F_ADDRESS_SIZE = 3 };
enum { UR = 1, UW = 2, UX = 4, KR = 8, KW = 16, KX = 32 };
#define D_VALID (1ull << 0)
#define D_TABLE (1ull << 1)
#define D_AP1 (1ull << 6)
#define D_AP2 (1ull << 7)
#define D_AF (1ull << 10)
#define D_NG (1ull << 11)
#define D_DBM (1ull << 51)
#define D_PXN (1ull << 53)
#define D_UXN (1ull << 54)
#define TABLE_OA_HIGH (0xfull << 48)
#define LEAF_OA_HIGH (0x3ull << 48)
#define ADDR_MASK 0x0000fffffffff000ull
enum { TA_PXN = 1, TA_UXN = 2, TA_AP0 = 4, TA_AP1 = 8 };

typedef struct {
  int ok, level, perms, mtype, global, dirty, fault;
  uint64_t pfn;
} walk_result;

static uint8_t *mem;
static uint64_t mem_base, mem_size;
static uint64_t ttbr0, ttbr1;
static int ha, hd, pan, wxn;
static uint8_t type_of_index[8];

static void die(const char *msg) {
  fprintf(stderr, "walk-peer: %s\n", msg);
  exit(1);
}

static inline uint64_t *desc_at(uint64_t pa) {
  if (pa - mem_base >= mem_size) die("table read outside the exported tables");
  return (uint64_t *)(mem + (pa - mem_base));
}

static inline int fault(walk_result *r, int kind, int level) {
  r->ok = 0, r->fault = kind, r->level = level, r->pfn = 0, r->perms = r->mtype = r->global = r->dirty = 0;
  return 0;
}

static inline int walk(uint64_t vpn, int access, int priv, walk_result *r) {
  const uint64_t vhi = vpn >> 32; /* VA[63:44] */
  const unsigned select = (vhi >> 11) & 1;
  if (vhi >= 0x100000 || (vhi >> 4) != (select ? 0xffffu : 0)) return fault(r, F_TRANSLATION, 4);
  uint64_t table = select ? ttbr1 : ttbr0, d = 0, *dp = 0;
  unsigned ta = 0;
  int level = 4;
  for (;;) {
    dp = desc_at(table + ((vpn >> (9 * (level - 1))) & 511) * 8);
    d = *dp;
    if (!(d & D_VALID)) return fault(r, F_TRANSLATION, level);
    if (!(d & D_TABLE)) {
      if (level == 1 || level == 4) return fault(r, F_TRANSLATION, level);
      break; /* block */
    }
    if (level == 1) break; /* page */
    if (d & TABLE_OA_HIGH) return fault(r, F_ADDRESS_SIZE, level);
    ta |= (unsigned)(d >> 59);
    table = d & ADDR_MASK;
    level--;
  }
  if (d & LEAF_OA_HIGH) return fault(r, F_ADDRESS_SIZE, level);
  uint64_t next = d;
  if (!(d & D_AF)) {
    if (!ha) return fault(r, F_ACCESS_FLAG, level);
    next |= D_AF;
  }
  if (access == 1 && (d & D_DBM) && hd) next &= ~D_AP2;
  const int el0 = (next & D_AP1) && !(ta & TA_AP0);
  const int ro = (next & D_AP2) || (ta & TA_AP1);
  const int uxn = (d & D_UXN) || (ta & TA_UXN);
  const int pxn = (d & D_PXN) || (ta & TA_PXN);
  const int user_write = el0 && !ro;
  int perms = 0;
  if (el0) perms = user_write ? UR | UW : UR;
  if (!uxn && !(wxn && user_write)) perms |= UX;
  if (!(el0 && pan)) perms |= ro ? KR : KR | KW;
  if (!pxn && !user_write && !(wxn && !ro)) perms |= KX;
  if (!(perms & (1 << (access + 3 * priv)))) return fault(r, F_PERMISSION, level);
  if (next != d) *dp = next;
  const uint64_t in_leaf = level == 1 ? 0 : level == 2 ? 511 : 0x3ffff;
  r->ok = 1, r->fault = 0, r->level = level, r->perms = perms;
  r->pfn = ((d & ADDR_MASK) >> 12 & ~in_leaf) + (vpn & in_leaf);
  r->mtype = type_of_index[(d >> 2) & 7];
  r->global = !(d & D_NG);
  r->dirty = !(next & D_AP2);
  return 1;
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

static uint32_t fnv_bytes(uint32_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
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
  if (argc != 12) die("usage: walk-peer TABLES TABLES_PA ROOT_PA VPNS PASSES RUNS HA HD PAN WXN T0,..,T7");
  size_t vlen;
  mem = read_file(argv[1], &vlen);
  mem_size = vlen;
  mem_base = strtoull(argv[2], 0, 0);
  ttbr0 = ttbr1 = strtoull(argv[3], 0, 0);
  const uint64_t *vpns = read_file(argv[4], &vlen);
  const size_t n = vlen / 8;
  const int passes = atoi(argv[5]), runs = atoi(argv[6]);
  ha = atoi(argv[7]), hd = atoi(argv[8]) && ha, pan = atoi(argv[9]), wxn = atoi(argv[10]);
  const char *t = argv[11];
  for (int i = 0; i < 8; i++) {
    char *end;
    type_of_index[i] = (uint8_t)strtoul(t, &end, 10);
    if (end == t || (i < 7 && *end != ',')) die("bad memory-type list");
    t = end + 1;
  }
  if (n == 0 || passes < 1 || runs < 1 || runs > 100) die("bad counts");
  const uint32_t table_fnv = fnv_bytes(2166136261u, mem, mem_size);

  /* One untimed pass: the results, hashed as the bench hashes mmkit's (this also applies any
   * AF write-back, as mmkit's warm-up does). */
  walk_result r;
  uint32_t h = 2166136261u;
  uint64_t pfn_sum = 0, faults = 0;
  for (size_t i = 0; i < n; i++) {
    walk(vpns[i], 0, 0, &r);
    pfn_sum += r.pfn;
    faults += !r.ok;
    h = fnv_word(fnv_word(h, (uint32_t)r.pfn), (uint32_t)(r.pfn >> 32));
    h = fnv_word(h, r.ok ? (uint32_t)(r.perms | r.level << 8 | r.mtype << 12 | r.global << 16 | r.dirty << 17)
                         : 0x80000000u | (uint32_t)(r.fault << 8 | r.level));
  }

  double rates[100];
  volatile uint64_t sink = 0;
  for (int k = 0; k < runs; k++) {
    uint64_t s = 0;
    const double t0 = now_s();
    for (int p = 0; p < passes; p++)
      for (size_t i = 0; i < n; i++) {
        walk(vpns[i], 0, 0, &r);
        s += r.pfn + (uint64_t)(r.perms ^ r.mtype ^ r.global ^ r.dirty ^ r.level);
      }
    rates[k] = (double)n * passes / (now_s() - t0);
    sink += s;
  }
  qsort(rates, (size_t)runs, sizeof rates[0], cmp_double);
  printf("{\"ops_per_s\": %.1f, \"ops_per_s_median\": %.1f, \"runs\": %d, \"walks_per_run\": %.0f,"
         " \"table_bytes\": %llu, \"table_fnv\": %u, \"result_fnv\": %u, \"pfn_sum\": %llu, \"faults\": %llu,"
         " \"sink\": %llu}\n",
         rates[runs - 1], rates[runs / 2], runs, (double)n * passes, (unsigned long long)mem_size, table_fnv, h,
         (unsigned long long)pfn_sum, (unsigned long long)faults, (unsigned long long)(sink & 1));
  return 0;
}
