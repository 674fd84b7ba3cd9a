/*
 * walk-peer: the C peer of mmkit's x86 walk benchmarks (../walk.bench.ts).
 *
 * Straightforward x86 walkers of the two formats the bench measures, with the checks mmkit's
 * X86Mmu.walk does for them:
 * - IA-32e 4-level paging (8-byte entries): canonical check (#GP as a non-canonical fault), P,
 *   reserved bits (address bits above MAXPHYADDR, XD without NXE, PS in a PML4E, the bits inside
 *   a 2 MiB / 1 GiB leaf), A set on each table entry as the walk descends (and on a 1 GiB leaf
 *   first), R/W and U/S ANDed and XD ORed over the path;
 * - 32-bit paging (4-byte entries, 2 levels): VA below 4 GiB, P, 4 MiB PSE pages with PSE-36
 *   address bits and their reserved bits, A on the PDE;
 * then the leaf: user access to a supervisor page, R/W with CR0.WP, SMEP, SMAP (EFLAGS.AC clear),
 * XD, the access's permission bit, A (and D for a write) written back only when the access
 * succeeds, write permission reported only for dirty leaves, the PAT memory type, G with CR4.PGE.
 * Protection keys are not modelled (the bench refuses to run the peer with CR4.PKE).
 *
 * usage: walk-peer MODE TABLES TABLES_PA CR3 VPNS PASSES RUNS MAXPHYADDR NXE PSE PSE36 PGE WP SMEP SMAP T0,..,T7
 *   MODE     64 (x86_64, 4 levels) or 32 (x86-32)
 *   TABLES   raw bytes of physical memory from TABLES_PA (every table the walk reads)
 *   VPNS     little-endian uint64 page numbers (VA >> 12) to walk, as user reads
 *   PASSES   walks of the whole VPNS list per timed run; RUNS timed runs (the best is reported)
 *   T0..T7   memory-type code of each PAT index (mmkit's PatMap.typeOfIndex)
 * Prints one JSON object. Exit 1 on bad input, or if a table read falls outside TABLES.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { F_TRANSLATION = 0, F_PERMISSION = 2, F_RESERVED = 5, F_NON_CANONICAL = 6 };
enum { UR = 1, UW = 2, UX = 4, KR = 8, KW = 16, KX = 32 };
enum { P = 1, RW = 2, US = 4, A = 32, D = 64, PS = 128, G = 256 };
#define XD 0x80000000u
#define RSVD_2M 0x1fe000u
#define RSVD_1G 0x3fffe000u

typedef struct {
  int ok, level, perms, mtype, global, dirty, fault;
  uint64_t pfn;
} walk_result;

static uint8_t *mem;
static uint64_t mem_base, mem_size, cr3;
static int mode64, pse, pge, wp, smep, smap;
static uint32_t rsvd_hi, rsvd_4m;
static uint8_t type_of_index[8];

static void die(const char *msg) {
  fprintf(stderr, "walk-peer: %s\n", msg);
  exit(1);
}

static inline uint8_t *at(uint64_t pa, unsigned size) {
  if (pa - mem_base > mem_size - size) die("table read outside the exported tables");
  return mem + (pa - mem_base);
}
static inline uint64_t rd64(uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t rd32(uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); } /* the low word only, as hardware */

static inline int fault(walk_result *r, int kind, int level) {
  r->ok = 0, r->fault = kind, r->level = level, r->pfn = 0, r->perms = r->mtype = r->global = r->dirty = 0;
  return 0;
}

static inline int leaf(walk_result *r, int level, uint32_t lo, uint8_t *dp, uint32_t rwus, int xd, uint64_t pfn,
                       int access, int priv) {
  const int user = (rwus & US) != 0, writable = (rwus & RW) != 0;
  if (priv == 0 && !user) return fault(r, F_PERMISSION, level);
  int perms = 0;
  if (user) perms = writable ? (xd ? UR | UW : UR | UW | UX) : xd ? UR : UR | UX;
  if (!(user && smap)) perms |= writable || !wp ? KR | KW : KR; /* EFLAGS.AC clear */
  if (!xd && !(user && smep)) perms |= KX;
  if (!(perms & (1 << (access + 3 * priv)))) return fault(r, F_PERMISSION, level);
  const uint32_t next = access == 1 ? lo | A | D : lo | A;
  if (next != lo) wr32(dp, next);
  if (!(next & D)) perms &= ~(UW | KW);
  r->ok = 1, r->fault = 0, r->level = level, r->perms = perms, r->pfn = pfn;
  r->mtype = type_of_index[((lo >> 3) & 3) | (((level == 1 ? lo >> 7 : lo >> 12) & 1) << 2)];
  r->global = (lo & G) && pge;
  r->dirty = (next & D) != 0;
  return 1;
}

static inline int walk64(uint64_t vpn, int access, int priv, walk_result *r) {
  const uint64_t vhi = vpn >> 32, top = vhi >> 3; /* VA[63:47] */
  if (vhi >= 0x100000 || (top != 0 && top != 0x1ffff)) return fault(r, F_NON_CANONICAL, 0);
  uint64_t table = cr3;
  uint32_t rwus = RW | US, nx = 0, lo, hi;
  uint8_t *dp;
  int level = 4;
  for (;;) {
    dp = at(table + ((vpn >> (9 * (level - 1))) & 511) * 8, 8);
    const uint64_t e = rd64(dp);
    lo = (uint32_t)e, hi = (uint32_t)(e >> 32);
    if (!(lo & P)) return fault(r, F_TRANSLATION, level);
    if (hi & rsvd_hi) return fault(r, F_RESERVED, level);
    if (level == 1) break;
    if (lo & PS) {
      if (level >= 4) return fault(r, F_RESERVED, level);
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
  else if (level == 2) {
    if (lo & RSVD_2M) return fault(r, F_RESERVED, level);
    pfn = base + ((uint64_t)(lo >> 21) << 9) + (vpn & 511);
  } else {
    if (lo & RSVD_1G) return fault(r, F_RESERVED, level);
    pfn = base + ((uint64_t)(lo >> 30) << 18) + (vpn & 0x3ffff);
  }
  return leaf(r, level, lo, dp, rwus, (nx & XD) != 0, pfn, access, priv);
}

static inline int walk32(uint64_t vpn, int access, int priv, walk_result *r) {
  if (vpn >= 0x100000) return fault(r, F_NON_CANONICAL, 0);
  uint8_t *dp = at(cr3 + (vpn >> 10) * 4, 4);
  uint32_t lo = rd32(dp);
  if (!(lo & P)) return fault(r, F_TRANSLATION, 2);
  if (pse && (lo & PS)) {
    if (lo & rsvd_4m) return fault(r, F_RESERVED, 2);
    const uint64_t pfn = ((uint64_t)(lo >> 22) << 10) + ((uint64_t)((lo >> 13) & 0xff) << 20) + (vpn & 1023);
    return leaf(r, 2, lo, dp, lo, 0, pfn, access, priv);
  }
  if (!(lo & A)) wr32(dp, lo | A);
  const uint32_t rwus = lo;
  dp = at((uint64_t)(lo & 0xfffff000u) + (vpn & 1023) * 4, 4);
  lo = rd32(dp);
  if (!(lo & P)) return fault(r, F_TRANSLATION, 1);
  return leaf(r, 1, lo, dp, rwus & lo, 0, lo >> 12, access, priv);
}

static inline int walk(uint64_t vpn, int access, int priv, walk_result *r) {
  return mode64 ? walk64(vpn, access, priv, r) : walk32(vpn, access, priv, r);
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
  if (argc != 17) die("usage: walk-peer MODE TABLES TABLES_PA CR3 VPNS PASSES RUNS MAXPHYADDR NXE PSE PSE36 PGE WP SMEP SMAP T0,..,T7");
  mode64 = atoi(argv[1]) == 64;
  if (!mode64 && atoi(argv[1]) != 32) die("MODE must be 64 or 32");
  size_t len;
  mem = read_file(argv[2], &len);
  mem_size = len;
  mem_base = strtoull(argv[3], 0, 0);
  cr3 = strtoull(argv[4], 0, 0);
  const uint64_t *vpns = read_file(argv[5], &len);
  const size_t n = len / 8;
  const int passes = atoi(argv[6]), runs = atoi(argv[7]), m = atoi(argv[8]), nxe = atoi(argv[9]);
  pse = atoi(argv[10]);
  const int pse36 = atoi(argv[11]);
  pge = atoi(argv[12]), wp = atoi(argv[13]), smep = atoi(argv[14]), smap = atoi(argv[15]);
  const char *t = argv[16];
  for (int i = 0; i < 8; i++) {
    char *end;
    type_of_index[i] = (uint8_t)strtoul(t, &end, 10);
    if (end == t || (i < 7 && *end != ',')) die("bad memory-type list");
    t = end + 1;
  }
  if (n == 0 || passes < 1 || runs < 1 || runs > 100 || m < 32 || m > 52 || mem_size < 8) die("bad arguments");
  /* Reserved-bit masks, as mmkit's deriveFormat: IA-32e address bits above MAXPHYADDR and XD
   * without NXE; 32-bit 4 MiB pages: bit 21 and the PSE-36 bits above MAXPHYADDR. */
  rsvd_hi = mode64 ? ((0xfffffu & ~((1u << (m - 32)) - 1)) | (nxe ? 0 : XD)) : 0;
  rsvd_4m = 0x3fffffu & ~((1u << ((pse36 ? m : 32) - 19)) - 1);
  const uint32_t table_fnv = fnv_bytes(2166136261u, mem, mem_size);

  walk_result r;
  uint32_t h = 2166136261u;
  uint64_t pfn_sum = 0, faults = 0;
  for (size_t i = 0; i < n; i++) { /* untimed: the results, hashed as the bench hashes mmkit's */
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
