/*
 * mm-peer: the real-kernel peer of mmkit's vm benchmarks (packages/kernel/bench/vm.bench.ts).
 *
 * Measures, on the machine it runs on, with clock_gettime(CLOCK_MONOTONIC):
 *   (a) mmap+munmap pairs of one anonymous private 4 KiB page (PROT_READ|PROT_WRITE), never touched;
 *   (b) demand faults: mmap 1 GiB anonymous private (MAP_NORESERVE), write one byte per 4 KiB page,
 *       munmap; in three variants: MADV_NOHUGEPAGE (one fault per 4 KiB page: the fair peer of
 *       mmkit's 4 KiB demand faults), the system's THP policy with no madvise, and MADV_HUGEPAGE
 *       (transparent huge pages: one fault per 2 MiB when THP can supply a huge page);
 *   (c) VMA lookups among up to 100 000 VMAs (vm.max_map_count permitting): mincore() of one
 *       random page per call. mincore has no
 *       exact mmkit peer (it is a syscall that looks up the VMA and walks the page table for one
 *       page); it is reported for context, not as a ratio. With those VMAs still present, (a) is
 *       measured again (mmap placement and munmap in a large VMA tree).
 * Every measurement is repeated (`repeats` times, after one discarded warm-up run for the demand
 * faults) and the best run is reported.
 *
 * Usage: mm-peer [pairs [repeats]]   (pairs default 1000000, repeats default 5)
 * Output: one JSON object on stdout; diagnostics on stderr; exit 1 if a syscall fails.
 *
 * Build: cc -O2 -o mm-peer mm-peer.c   (C11, Linux, no dependencies)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define REGION (1UL << 30) /* 1 GiB */
#define VMAS 100000UL
#define LOOKUPS 1000000UL

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "mm-peer: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long minor_faults(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) die("getrusage");
  return ru.ru_minflt;
}

/* (a) n mmap+munmap pairs of one untouched 4 KiB page; returns pairs per second. */
static double mmap_munmap_pairs(unsigned long n) {
  double t0 = now_s();
  for (unsigned long i = 0; i < n; i++) {
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap (pair)");
    if (munmap(p, PAGE) != 0) die("munmap (pair)");
  }
  return (double)n / (now_s() - t0);
}

/* madvise mode of a demand-fault run. */
enum advice { ADVICE_NONE, ADVICE_NOHUGEPAGE, ADVICE_HUGEPAGE };

struct fault_run {
  double touches_per_s; /* 4 KiB pages written per second (262144 per run) */
  double faults;        /* minor faults the run took (getrusage), ≈ 262144 without THP */
  double map_unmap_s;   /* mmap + madvise + munmap time, outside the touch loop */
  double cycle_per_s;   /* 4 KiB pages per second of the whole cycle: mmap, madvise, touch, munmap */
};

/*
 * (b) mmap 1 GiB, apply the advice, write one byte per 4 KiB page (timed), munmap.
 * The rate is in pages touched per second: with THP most touches do not fault at all.
 */
static struct fault_run demand_faults(enum advice advice) {
  struct fault_run r;
  double t0 = now_s();
  unsigned char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) die("mmap (1 GiB)");
  if (advice == ADVICE_NOHUGEPAGE && madvise(p, REGION, MADV_NOHUGEPAGE) != 0)
    die("madvise(MADV_NOHUGEPAGE)");
  if (advice == ADVICE_HUGEPAGE && madvise(p, REGION, MADV_HUGEPAGE) != 0)
    die("madvise(MADV_HUGEPAGE)");
  double t1 = now_s();
  long f0 = minor_faults();
  for (unsigned long off = 0; off < REGION; off += PAGE) ((volatile unsigned char *)p)[off] = 1;
  long f1 = minor_faults();
  double t2 = now_s();
  if (munmap(p, REGION) != 0) die("munmap (1 GiB)");
  double t3 = now_s();
  r.touches_per_s = (double)(REGION / PAGE) / (t2 - t1);
  r.faults = (double)(f1 - f0);
  r.map_unmap_s = (t1 - t0) + (t3 - t2);
  r.cycle_per_s = (double)(REGION / PAGE) / (t3 - t0);
  return r;
}

/*
 * Best of `repeats` runs, after one discarded warm-up run: the first touch of guest memory on a
 * virtual machine (and the first THP compaction) is much slower than the steady state.
 */
static struct fault_run best_fault_run(enum advice advice, int repeats) {
  (void)demand_faults(advice);
  struct fault_run best = demand_faults(advice);
  for (int i = 1; i < repeats; i++) {
    struct fault_run r = demand_faults(advice);
    double cycle = r.cycle_per_s > best.cycle_per_s ? r.cycle_per_s : best.cycle_per_s;
    if (r.touches_per_s > best.touches_per_s) best = r;
    best.cycle_per_s = cycle; /* the best cycle of any run, independently of the best touch loop */
  }
  return best;
}

/* xorshift64: a reproducible random page index. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return rnd_state;
}

/* Lines of /proc/self/maps (the VMAs this process has now), or -1. */
static long current_vmas(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  long n = 0;
  int c;
  while ((c = getc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

static long read_long(const char *path, long fallback) {
  FILE *f = fopen(path, "r");
  if (!f) return fallback;
  long v;
  if (fscanf(f, "%ld", &v) != 1) v = fallback;
  fclose(f);
  return v;
}

/*
 * (c) Up to 100 000 one-page VMAs, then mincore() of one random page per call: the kernel finds
 * the VMA (maple tree) and walks the page table for that page. The VMAs are the pages of one
 * reserved window with alternating protections (PROT_READ|PROT_WRITE, PROT_READ, …), so no two
 * neighbours merge. Linux caps a process at vm.max_map_count VMAs (65530 by default), so the count
 * is min(100 000, max_map_count − VMAs already present − 64); *made reports the count reached.
 * Returns lookups per second (best of `repeats`). Then, with the VMAs still present, measures
 * `pairs` mmap+munmap pairs again (*pairs_with_vmas, best of `repeats`).
 */
static double vma_lookups(int repeats, unsigned long pairs, unsigned long *made, long *limit,
                          double *pairs_with_vmas) {
  *limit = read_long("/proc/sys/vm/max_map_count", 65530);
  long have = current_vmas();
  long room = *limit - (have < 0 ? 1000 : have) - 64;
  unsigned long n = room < (long)VMAS ? (room > 0 ? (unsigned long)room : 0) : VMAS;
  *made = 0;
  if (n == 0) return 0;
  size_t span = n * PAGE;
  unsigned char *base = mmap(NULL, span, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) die("mmap (VMA window)");
  for (unsigned long i = 1; i < n; i += 2)
    if (mprotect(base + i * PAGE, PAGE, PROT_READ) != 0) die("mprotect (VMA)");
  long after = current_vmas();
  *made = have >= 0 && after >= 0 ? (unsigned long)(after - have) : n;
  unsigned long *pages = malloc(LOOKUPS * sizeof *pages);
  if (!pages) die("malloc");
  for (unsigned long i = 0; i < LOOKUPS; i++) pages[i] = rnd() % n;
  unsigned char vec;
  double best = 0;
  unsigned long resident = 0;
  for (int k = 0; k < repeats; k++) {
    double t0 = now_s();
    for (unsigned long i = 0; i < LOOKUPS; i++) {
      if (mincore(base + pages[i] * PAGE, PAGE, &vec) != 0) die("mincore");
      resident += vec & 1;
    }
    double rate = (double)LOOKUPS / (now_s() - t0);
    if (rate > best) best = rate;
  }
  free(pages);
  /* mmap+munmap pairs again, now with the VMAs present (placement searches a big tree). */
  *pairs_with_vmas = 0;
  for (int k = 0; k < repeats; k++) {
    double r = mmap_munmap_pairs(pairs);
    if (r > *pairs_with_vmas) *pairs_with_vmas = r;
  }
  if (munmap(base, span) != 0) die("munmap (VMA window)");
  if (resident != 0) fprintf(stderr, "mm-peer: %lu untouched pages reported resident\n", resident);
  return best;
}

static void read_line(const char *path, char *out, size_t size) {
  out[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fgets(out, (int)size, f)) out[strcspn(out, "\n")] = 0;
  fclose(f);
}

/* Writes s as a JSON string (escapes quotes, backslashes and control characters). */
static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

int main(int argc, char **argv) {
  unsigned long pairs = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000UL;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  if (pairs == 0 || repeats < 1) {
    fprintf(stderr, "usage: mm-peer [pairs>0 [repeats>0]]\n");
    return 2;
  }
  if (sysconf(_SC_PAGESIZE) != (long)PAGE) {
    fprintf(stderr, "mm-peer: page size is %ld, expected 4096\n", sysconf(_SC_PAGESIZE));
    return 1;
  }

  double best_pairs = 0;
  for (int i = 0; i < repeats; i++) {
    double r = mmap_munmap_pairs(pairs);
    if (r > best_pairs) best_pairs = r;
  }
  struct fault_run nohuge = best_fault_run(ADVICE_NOHUGEPAGE, repeats);
  struct fault_run deflt = best_fault_run(ADVICE_NONE, repeats);
  struct fault_run thp = best_fault_run(ADVICE_HUGEPAGE, repeats);
  unsigned long vmas = 0;
  long max_map_count = 0;
  double pairs_with_vmas = 0;
  double lookups = vma_lookups(repeats, pairs, &vmas, &max_map_count, &pairs_with_vmas);

  struct utsname u;
  if (uname(&u) != 0) die("uname");
  char thp_enabled[128], thp_defrag[128];
  read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp_enabled, sizeof thp_enabled);
  read_line("/sys/kernel/mm/transparent_hugepage/defrag", thp_defrag, sizeof thp_defrag);

  printf("{\"kernel\":");
  json_string(u.release);
  printf(",\"machine\":");
  json_string(u.machine);
  printf(",\"thp_enabled\":");
  json_string(thp_enabled);
  printf(",\"thp_defrag\":");
  json_string(thp_defrag);
  printf(",\"pairs\":%lu,\"repeats\":%d,\"region_bytes\":%lu,\"pages_touched\":%lu", pairs, repeats,
         REGION, REGION / PAGE);
  printf(",\"mmap_munmap_pairs_per_s\":%.1f", best_pairs);
  printf(",\"demand_faults_per_s_nohuge\":%.1f,\"faults_nohuge\":%.0f", nohuge.touches_per_s,
         nohuge.faults);
  printf(",\"demand_faults_per_s_default\":%.1f,\"faults_default\":%.0f", deflt.touches_per_s,
         deflt.faults);
  printf(",\"demand_faults_per_s_thp\":%.1f,\"faults_thp\":%.0f", thp.touches_per_s, thp.faults);
  printf(",\"map_unmap_1gib_s_nohuge\":%.6f", nohuge.map_unmap_s);
  printf(",\"demand_fault_cycle_pages_per_s_nohuge\":%.1f", nohuge.cycle_per_s);
  printf(",\"vmas\":%lu,\"max_map_count\":%ld,\"mincore_lookups_per_s\":%.1f", vmas,
         max_map_count, lookups);
  printf(",\"mmap_munmap_pairs_per_s_with_vmas\":%.1f}\n", pairs_with_vmas);
  return 0;
}
