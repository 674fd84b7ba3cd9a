/*
 * alloc-peer: the C peer of mmkit's page-allocator benchmarks (`PageAllocator alloc+free pair` and
 * `drain an 8 GiB pool` in ../kernel.bench.ts).
 *
 * A straightforward LIFO free-stack page allocator over a frame table of the same pool, starting
 * from the same state bytes (one per frame: 0 free, 1 reserved, 2 page table, 3 user, 4 kernel,
 * as mmkit's FrameState, exported by the bench from PageAllocator.forEachFrame; frames between
 * pool ranges are reserved). Per frame it keeps what mmkit's frame table keeps: the state byte, a
 * reference count and an owner (int32 each), plus, per 2 MiB block, the free-frame count, the
 * longest-free-run bound and a "fully free" bit; and per frame a host-memory slot (int32, -1 =
 * never written) that alloc and free check and zero when present, as mmkit's
 * PhysicalMemory.discardFrame does. The free stack hands frames out in ascending address order on a
 * fresh pool and LIFO afterwards, the same order as mmkit's free list. free() validates like
 * mmkit's: alignment, inside the pool, not free, not reserved, a USER frame with one reference.
 *
 * usage: alloc-peer STATES FIRST_PFN pairs PAIRS PASSES RUNS
 *        alloc-peer STATES FIRST_PFN drain RUNS
 * Prints one JSON object; exit 1 on bad input or an allocator error.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FREE = 0, RESERVED = 1, PAGE_TABLE = 2, USER = 3, KERNEL = 4 };
#define BLOCK 512

static size_t frames, blocks, top;
static uint64_t first_pfn;
static unsigned block_off; /* first_pfn % 512: index + block_off is congruent to the pfn mod 512 */
static uint8_t *state, *host;
static int32_t *refs, *owner, *slot;
static uint32_t *stack, *full_bits;
static uint16_t *block_free, *block_run;
static int64_t nfree, full_blocks, counts[5];

static void die(const char *msg) {
  fprintf(stderr, "alloc-peer: %s\n", msg);
  exit(1);
}

static void *alloc_array(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) die("out of memory");
  return p;
}

/* Builds the allocator from the state bytes (untimed). */
static void init(const uint8_t *states) {
  memcpy(state, states, frames);
  memset(block_free, 0, blocks * 2);
  memset(full_bits, 0, ((blocks + 31) / 32) * 4);
  memset(counts, 0, sizeof counts);
  top = 0, nfree = 0, full_blocks = 0;
  for (size_t i = frames; i-- > 0;) { /* descending, so the lowest free frame is on top */
    counts[state[i]]++;
    refs[i] = 0, owner[i] = -1, slot[i] = -1;
    if (state[i] == FREE) stack[top++] = (uint32_t)i, block_free[(i + block_off) / BLOCK]++, nfree++;
  }
  for (size_t b = 0; b < blocks; b++) {
    block_run[b] = BLOCK;
    if (block_free[b] == BLOCK) full_bits[b >> 5] |= 1u << (b & 31), full_blocks++;
  }
}

static inline void discard(size_t i) {
  if (slot[i] >= 0) { /* host memory behind the frame: zero it and give the slot back */
    memset(host + (size_t)slot[i] * 4096, 0, 4096);
    slot[i] = -1;
  }
}

static inline uint64_t alloc_frame(uint8_t st, int32_t own) {
  if (top == 0) return 0;
  const size_t i = stack[--top];
  discard(i);
  state[i] = st, refs[i] = st == USER, owner[i] = own;
  const size_t b = (i + block_off) / BLOCK;
  if (block_free[b] == BLOCK) full_bits[b >> 5] &= ~(1u << (b & 31)), full_blocks--;
  block_free[b]--;
  nfree--, counts[FREE]--, counts[st]++;
  return (first_pfn + i) * 4096;
}

static inline void free_frame(uint64_t pa) {
  if (pa & 4095) die("free of an unaligned address");
  const uint64_t i = pa / 4096 - first_pfn;
  if (i >= frames) die("free outside the pool");
  const uint8_t st = state[i];
  if (st == FREE) die("double free");
  if (st == RESERVED) die("free of a reserved frame");
  if (st == USER && refs[i] > 1) die("free of a shared frame");
  discard(i);
  state[i] = FREE;
  stack[top++] = (uint32_t)i;
  const size_t b = (i + block_off) / BLOCK;
  block_run[b] = BLOCK;
  if (++block_free[b] == BLOCK) full_bits[b >> 5] |= 1u << (b & 31), full_blocks++;
  nfree++, counts[st]--, counts[FREE]++;
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
  if (argc < 5) die("usage: alloc-peer STATES FIRST_PFN pairs PAIRS PASSES RUNS | drain RUNS");
  const uint8_t *states = read_file(argv[1], &frames);
  first_pfn = strtoull(argv[2], 0, 0);
  block_off = (unsigned)(first_pfn % BLOCK);
  for (size_t i = 0; i < frames; i++)
    if (states[i] > KERNEL) die("bad state byte");
  if (frames == 0 || frames > UINT32_MAX) die("bad frame count");
  blocks = (frames + block_off + BLOCK - 1) / BLOCK;
  state = alloc_array(frames, 1), host = alloc_array(1, 4096);
  refs = alloc_array(frames, 4), owner = alloc_array(frames, 4), slot = alloc_array(frames, 4);
  stack = alloc_array(frames, 4), full_bits = alloc_array((blocks + 31) / 32, 4);
  block_free = alloc_array(blocks, 2), block_run = alloc_array(blocks, 2);
  const uint32_t states_fnv = fnv_bytes(2166136261u, states, frames);
  double rates[100];
  if (strcmp(argv[3], "pairs") == 0 && argc == 7) {
    const long pairs = atol(argv[4]), passes = atol(argv[5]);
    const int runs = atoi(argv[6]);
    if (pairs < 1 || passes < 1 || runs < 1 || runs > 100) die("bad counts");
    init(states);
    uint64_t pa_sum = 0; /* one untimed call, as the bench's checking call */
    for (long k = 0; k < pairs; k++) {
      const uint64_t pa = alloc_frame(USER, -1);
      pa_sum += pa;
      free_frame(pa);
    }
    volatile uint64_t sink = 0;
    for (int r = 0; r < runs; r++) {
      uint64_t s = 0;
      const double t0 = now_s();
      for (long p = 0; p < passes; p++)
        for (long k = 0; k < pairs; k++) {
          const uint64_t pa = alloc_frame(USER, -1);
          s += pa;
          free_frame(pa);
        }
      rates[r] = (double)pairs * passes / (now_s() - t0);
      sink += s;
    }
    qsort(rates, (size_t)runs, sizeof rates[0], cmp_double);
    printf("{\"ops_per_s\": %.1f, \"ops_per_s_median\": %.1f, \"runs\": %d, \"pairs_per_run\": %.0f,"
           " \"frames\": %zu, \"free\": %lld, \"states_fnv\": %u, \"end_states_fnv\": %u, \"pa_sum\": %llu,"
           " \"sink\": %llu}\n",
           rates[runs - 1], rates[runs / 2], runs, (double)pairs * passes, frames, (long long)nfree, states_fnv,
           fnv_bytes(2166136261u, state, frames), (unsigned long long)pa_sum, (unsigned long long)(sink & 1));
  } else if (strcmp(argv[3], "drain") == 0 && argc == 5) {
    const int runs = atoi(argv[4]);
    if (runs < 1 || runs > 100) die("bad counts");
    double ms[100];
    uint32_t order_fnv = 2166136261u;
    uint64_t n = 0, pa_sum = 0;
    init(states); /* one untimed drain: the order of the frames handed out */
    for (uint64_t pa; (pa = alloc_frame(USER, -1)) != 0;)
      n++, pa_sum += pa, order_fnv = fnv_word(fnv_word(order_fnv, (uint32_t)pa), (uint32_t)(pa >> 32));
    for (int r = 0; r < runs; r++) {
      init(states);
      uint64_t k = 0;
      const double t0 = now_s();
      while (alloc_frame(USER, -1) != 0) k++;
      ms[r] = (now_s() - t0) * 1000;
      if (k != n) die("drains differ");
    }
    qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
    printf("{\"ms\": %.3f, \"ms_median\": %.3f, \"runs\": %d, \"frames\": %llu, \"frames_per_s\": %.1f,"
           " \"states_fnv\": %u, \"end_states_fnv\": %u, \"order_fnv\": %u, \"pa_sum\": %llu, \"user\": %lld}\n",
           ms[0], ms[runs / 2], runs, (unsigned long long)n, n / (ms[0] / 1000), states_fnv,
           fnv_bytes(2166136261u, state, frames), order_fnv, (unsigned long long)pa_sum, (long long)counts[USER]);
  } else
    die("usage: alloc-peer STATES FIRST_PFN pairs PAIRS PASSES RUNS | drain RUNS");
  return 0;
}
