/*
 * replay-peer: the C peer of mmkit's policy-replay benchmark (../replay.bench.ts).
 *
 * FIFO, CLOCK (second chance, one reference bit, a new page's bit clear) and exact LRU over the
 * same trace of page numbers, in the straightforward C form: an open-addressing hash table from
 * key to slot (linear probing, backward-shift deletion, at most half full: the same table as
 * mmkit's KeyIndex, with the same hash), plus a ring of slots with a hand for FIFO and CLOCK and a
 * doubly linked list in arrays for LRU. Each run first checks every key is below 2^53 (mmkit's
 * replaySync validates its keys in one pass too), then replays the whole trace once. The miss
 * counts must equal mmkit's (the bench compares them).
 *
 * usage: replay-peer TRACE CAPACITY RUNS
 *   TRACE  little-endian uint64 page numbers; CAPACITY pages; RUNS timed runs per policy (best kept)
 * Prints one JSON object: per policy, misses and refs/s; then the compact-trace side (below):
 * `compact` (distinct keys, refs/s) and `<policy>_ids` (misses, refs/s of the loop alone; the
 * timing includes allocating the id-indexed arrays, as mmkit's createReplayer does). Exit 1 on
 * bad input.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EMPTY UINT64_MAX

static uint64_t *tkeys; /* hash table keys (EMPTY = free) */
static int32_t *tvals;
static uint32_t tmask;
static uint64_t *key; /* per slot */
static int32_t *prev, *next;
static uint8_t *ref;

static void die(const char *msg) {
  fprintf(stderr, "replay-peer: %s\n", msg);
  exit(1);
}

static inline uint32_t home(uint64_t k) {
  uint32_t h = ((uint32_t)k ^ ((uint32_t)(k >> 32) * 0x27d4eb2du)) * 0x9e3779b1u;
  return (h ^ (h >> 15)) & tmask;
}

static inline int32_t get(uint64_t k) {
  for (uint32_t i = home(k);; i = (i + 1) & tmask) {
    if (tkeys[i] == k) return tvals[i];
    if (tkeys[i] == EMPTY) return -1;
  }
}

static inline void put(uint64_t k, int32_t v) { /* k is absent */
  uint32_t i = home(k);
  while (tkeys[i] != EMPTY) i = (i + 1) & tmask;
  tkeys[i] = k, tvals[i] = v;
}

static inline void del(uint64_t k) { /* k is present */
  uint32_t i = home(k);
  while (tkeys[i] != k) i = (i + 1) & tmask;
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & tmask; tkeys[j] != EMPTY; j = (j + 1) & tmask) {
    const uint32_t h = home(tkeys[j]);
    if (((j - h) & tmask) >= ((j - hole) & tmask)) tkeys[hole] = tkeys[j], tvals[hole] = tvals[j], hole = j;
  }
  tkeys[hole] = EMPTY;
}

enum { FIFO, CLOCK, LRU };

/* Replays the trace through one policy; returns the hits. */
static uint64_t replay(int policy, const uint64_t *trace, size_t n, uint32_t cap) {
  for (size_t i = 0; i < n; i++)
    if (trace[i] >> 53) die("a key is not below 2^53");
  memset(tkeys, 0xff, ((size_t)tmask + 1) * 8);
  uint32_t size = 0, hand = 0;
  int32_t newest = -1, oldest = -1;
  uint64_t hits = 0;
  for (size_t i = 0; i < n; i++) {
    const uint64_t k = trace[i];
    const int32_t s = get(k);
    if (s >= 0) {
      hits++;
      if (policy == CLOCK) ref[s] = 1;
      else if (policy == LRU && s != newest) { /* unlink s, push it newest */
        if (prev[s] >= 0) next[prev[s]] = next[s];
        else oldest = next[s];
        prev[next[s]] = prev[s]; /* s is not the newest, so next[s] exists */
        prev[s] = newest, next[s] = -1, next[newest] = s, newest = s;
      }
      continue;
    }
    int32_t slot;
    if (size < cap) slot = (int32_t)size++;
    else if (policy == LRU) {
      slot = oldest;
      del(key[slot]);
      oldest = next[slot];
      if (oldest >= 0) prev[oldest] = -1;
      else newest = -1;
    } else {
      if (policy == CLOCK)
        while (ref[hand]) ref[hand] = 0, hand = hand + 1 == cap ? 0 : hand + 1;
      slot = (int32_t)hand;
      hand = hand + 1 == cap ? 0 : hand + 1;
      del(key[slot]);
    }
    key[slot] = k;
    put(k, slot);
    if (policy == CLOCK) ref[slot] = 0;
    else if (policy == LRU) {
      prev[slot] = newest, next[slot] = -1;
      if (newest >= 0) next[newest] = slot;
      else oldest = slot;
      newest = slot;
    }
  }
  return hits;
}

/*
 * The compact-trace side (mmkit's compactTrace + specialised loops, in C): keys renamed to dense
 * ids in order of first reference through an open-addressing table that grows with the distinct
 * keys (at most half full, the same hash), each key checked below 2^53 on first sight; then FIFO,
 * CLOCK and LRU over the ids with arrays indexed by id.
 */
static uint32_t compact(const uint64_t *trace, size_t n, int32_t *ids) {
  uint32_t size = 1024, mask = size - 1, count = 0;
  uint64_t *ck = malloc((size_t)size * 8);
  int32_t *cv = malloc((size_t)size * 4);
  if (!ck || !cv) die("out of memory");
  memset(ck, 0xff, (size_t)size * 8);
  for (size_t i = 0; i < n; i++) {
    const uint64_t k = trace[i];
    uint32_t h = ((uint32_t)k ^ ((uint32_t)(k >> 32) * 0x27d4eb2du)) * 0x9e3779b1u;
    uint32_t j = (h ^ (h >> 15)) & mask;
    for (;; j = (j + 1) & mask) {
      if (ck[j] == EMPTY) {
        if (k >> 53) die("a key is not below 2^53");
        ck[j] = k, cv[j] = (int32_t)count, ids[i] = (int32_t)count++;
        if (count * 2 > size) { /* grow */
          const uint32_t old = size;
          uint64_t *ok = ck;
          int32_t *ov = cv;
          size *= 2, mask = size - 1;
          ck = malloc((size_t)size * 8), cv = malloc((size_t)size * 4);
          if (!ck || !cv) die("out of memory");
          memset(ck, 0xff, (size_t)size * 8);
          for (uint32_t a = 0; a < old; a++) {
            if (ok[a] == EMPTY) continue;
            uint32_t hh = ((uint32_t)ok[a] ^ ((uint32_t)(ok[a] >> 32) * 0x27d4eb2du)) * 0x9e3779b1u;
            uint32_t b = (hh ^ (hh >> 15)) & mask;
            while (ck[b] != EMPTY) b = (b + 1) & mask;
            ck[b] = ok[a], cv[b] = ov[a];
          }
          free(ok), free(ov);
        }
        break;
      }
      if (ck[j] == k) {
        ids[i] = cv[j];
        break;
      }
    }
  }
  free(ck), free(cv);
  return count;
}

/* Replays ids through one policy with arrays indexed by id (as mmkit's fast-replay.ts); hits. */
static uint64_t replay_ids(int policy, const int32_t *ids, size_t n, uint32_t distinct, uint32_t cap) {
  int32_t *slot = malloc((size_t)distinct * 4), *ring = malloc((size_t)cap * 4);
  int32_t *lp = malloc(((size_t)distinct + 1) * 4), *ln = malloc(((size_t)distinct + 1) * 4);
  uint8_t *rb = calloc(cap, 1);
  if (!slot || !ring || !lp || !ln || !rb) die("out of memory");
  memset(slot, 0xff, (size_t)distinct * 4);
  const int32_t head = (int32_t)distinct;
  lp[head] = ln[head] = head;
  uint32_t size = 0, hand = 0;
  uint64_t hits = 0;
  for (size_t i = 0; i < n; i++) {
    const int32_t id = ids[i];
    const int32_t s = slot[id];
    if (s >= 0) {
      hits++;
      if (policy == CLOCK) rb[s] = 1;
      else if (policy == LRU && ln[head] != id) {
        lp[ln[id]] = lp[id], ln[lp[id]] = ln[id];
        ln[id] = ln[head], lp[ln[head]] = id, lp[id] = head, ln[head] = id;
      }
      continue;
    }
    if (policy == LRU) {
      if (size < cap) size++;
      else {
        const int32_t v = lp[head];
        ln[lp[v]] = head, lp[head] = lp[v], slot[v] = -1;
      }
      slot[id] = 0;
      ln[id] = ln[head], lp[ln[head]] = id, lp[id] = head, ln[head] = id;
      continue;
    }
    uint32_t t;
    if (size < cap) t = size++;
    else {
      if (policy == CLOCK)
        while (rb[hand]) rb[hand] = 0, hand = hand + 1 == cap ? 0 : hand + 1;
      t = hand;
      slot[ring[t]] = -1;
      hand = hand + 1 == cap ? 0 : hand + 1;
    }
    ring[t] = id, rb[t] = 0, slot[id] = (int32_t)t;
  }
  free(slot), free(ring), free(lp), free(ln), free(rb);
  return hits;
}

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open the trace");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc(n > 0 ? (size_t)n : 1);
  if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) die("cannot read the trace");
  fclose(f);
  *len = (size_t)n;
  return p;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 4) die("usage: replay-peer TRACE CAPACITY RUNS");
  size_t len;
  const uint64_t *trace = read_file(argv[1], &len);
  const size_t n = len / 8;
  const long cap = atol(argv[2]);
  const int runs = atoi(argv[3]);
  if (n == 0 || cap < 1 || cap > (1L << 28) || runs < 1) die("bad arguments");
  size_t tsize = 16;
  while (tsize < (size_t)cap * 2) tsize *= 2;
  tmask = (uint32_t)(tsize - 1);
  tkeys = malloc(tsize * 8), tvals = malloc(tsize * 4);
  key = malloc((size_t)cap * 8), prev = malloc((size_t)cap * 4), next = malloc((size_t)cap * 4);
  ref = calloc((size_t)cap, 1);
  if (!tkeys || !tvals || !key || !prev || !next || !ref) die("out of memory");
  static const char *names[] = {"fifo", "clock", "lru"};
  printf("{\"refs\": %zu, \"capacity\": %ld, \"runs\": %d", n, cap, runs);
  for (int p = FIFO; p <= LRU; p++) {
    double best = 0;
    uint64_t hits = 0;
    for (int r = 0; r < runs; r++) {
      const double t0 = now_s();
      const uint64_t h = replay(p, trace, n, (uint32_t)cap);
      const double rate = (double)n / (now_s() - t0);
      if (r > 0 && h != hits) die("runs disagree");
      hits = h;
      if (rate > best) best = rate;
    }
    printf(", \"%s\": {\"misses\": %llu, \"refs_per_s\": %.1f}", names[p], (unsigned long long)(n - hits), best);
  }
  int32_t *ids = malloc(n * 4);
  if (!ids) die("out of memory");
  double best = 0;
  uint32_t distinct = 0;
  for (int r = 0; r < runs; r++) {
    const double t0 = now_s();
    distinct = compact(trace, n, ids);
    const double rate = (double)n / (now_s() - t0);
    if (rate > best) best = rate;
  }
  printf(", \"compact\": {\"distinct\": %u, \"refs_per_s\": %.1f}", distinct, best);
  static const char *id_names[] = {"fifo_ids", "clock_ids", "lru_ids"};
  for (int p = FIFO; p <= LRU; p++) {
    double best_ids = 0;
    uint64_t hits = 0;
    for (int r = 0; r < runs; r++) {
      const double t0 = now_s();
      hits = replay_ids(p, ids, n, distinct, (uint32_t)cap);
      const double rate = (double)n / (now_s() - t0);
      if (rate > best_ids) best_ids = rate;
    }
    printf(", \"%s\": {\"misses\": %llu, \"refs_per_s\": %.1f}", id_names[p], (unsigned long long)(n - hits), best_ids);
  }
  printf("}\n");
  return 0;
}
