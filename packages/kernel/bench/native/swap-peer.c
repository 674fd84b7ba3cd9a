/*
 * swap-peer: the C side of mmkit's swap round-trip benchmark (../swap.bench.ts).
 *
 * The same data movement and bookkeeping as mmkit's swap-out (reclaimFrame) and swap-in
 * (do_swap_page), without page-table walks, TLB maintenance or fault delivery: PAGES frames of
 * 4 KiB (each holding its index + 1 in its first 8 bytes, the rest written), a flat array of
 * 64-bit PTEs (one per page, x86-64 layout: present leaf = pfn << 12 | 0x67; swap PTE = type in
 * bits 62:58, ~offset in bits 49:9, as Linux's __swp_entry with the L1TF inversion), a swap area of
 * PAGES + 1 slots (slot 0 the header) with a uint32 count per slot (swap_map) and a next-fit
 * cursor, and a LIFO free stack of frames. One round trip = swap-out of every page (next-fit slot,
 * memcpy frame → slot, PTE := swap entry, count = 1, frame freed) then swap-in of every page
 * (decode the PTE, pop a frame, memcpy slot → frame, PTE := present leaf, count → 0, slot freed).
 * The checksum is the sum over pages of the first 8 bytes after the last round trip (mmkit computes
 * the same). Slots are handed out next-fit from slot 1, so both sides use slots 1 … PAGES in order.
 *
 * usage: swap-peer PAGES REPEATS      Prints one JSON object; exit 1 on bad input or a self-check.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE 4096
#define OFFSET_BITS 41
#define OFFSET_MASK ((UINT64_C(1) << OFFSET_BITS) - 1)

static size_t pages;
static uint8_t *frames, *area;
static uint64_t *pte;
static uint32_t *counts, *free_stack;
static size_t free_top, cursor = 1, used;

static void die(const char *msg) {
  fprintf(stderr, "swap-peer: %s\n", msg);
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t alloc_slot(void) {
  size_t s = cursor;
  for (size_t n = 1; n <= pages; n++, s++) {
    if (s > pages) s = 1;
    if (counts[s] == 0) {
      counts[s] = 1;
      used++;
      cursor = s + 1 > pages ? 1 : s + 1;
      return s;
    }
  }
  die("device full");
  return 0;
}

static void swap_out(size_t i) {
  uint64_t e = pte[i];
  if ((e & 1) == 0) die("swap-out of a non-present page");
  size_t pfn = (size_t)(e >> 12);
  size_t s = alloc_slot();
  memcpy(area + s * PAGE, frames + pfn * PAGE, PAGE);
  pte[i] = (UINT64_C(0) << 58) | ((~(uint64_t)s & OFFSET_MASK) << 9);
  free_stack[free_top++] = (uint32_t)pfn;
}

static void swap_in(size_t i) {
  uint64_t e = pte[i];
  if ((e & 1) != 0 || e == 0) die("swap-in of a present page");
  size_t s = (size_t)(~(e >> 9) & OFFSET_MASK);
  if (s == 0 || s > pages || counts[s] == 0) die("swap PTE names a free slot");
  if (free_top == 0) die("out of frames");
  size_t pfn = free_stack[--free_top];
  memcpy(frames + pfn * PAGE, area + s * PAGE, PAGE);
  pte[i] = ((uint64_t)pfn << 12) | 0x67;
  if (--counts[s] == 0) used--;
}

int main(int argc, char **argv) {
  if (argc != 3) die("usage: swap-peer PAGES REPEATS");
  pages = (size_t)strtoull(argv[1], NULL, 10);
  int repeats = atoi(argv[2]);
  if (pages == 0 || pages > (1u << 24) || repeats < 1) die("bad arguments");
  frames = malloc(pages * PAGE);
  area = malloc((pages + 1) * PAGE);
  pte = calloc(pages, sizeof *pte);
  counts = calloc(pages + 1, sizeof *counts);
  free_stack = malloc(pages * sizeof *free_stack);
  if (!frames || !area || !pte || !counts || !free_stack) die("out of host memory");
  for (size_t i = 0; i < pages; i++) {
    memset(frames + i * PAGE, (int)(i & 0xff), PAGE);
    uint64_t v = i + 1;
    memcpy(frames + i * PAGE, &v, 8);
    pte[i] = ((uint64_t)i << 12) | 0x67;
  }
  memset(area, 0, (pages + 1) * PAGE); /* touch the area once, as a warm-up would */
  double best = 0;
  for (int r = 0; r < repeats + 1; r++) {
    double t0 = now();
    for (size_t i = 0; i < pages; i++) swap_out(i);
    for (size_t i = 0; i < pages; i++) swap_in(i);
    double t = now() - t0;
    if (used != 0) die("slots left in use");
    if (r > 0 && (double)pages / t > best) best = (double)pages / t; /* run 0 is the warm-up */
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < pages; i++) {
    uint64_t v;
    memcpy(&v, frames + (pte[i] >> 12) * PAGE, 8);
    sum += v;
  }
  printf("{\"pages\":%zu,\"repeats\":%d,\"round_trips_per_s\":%.1f,\"checksum\":%llu}\n", pages, repeats, best,
         (unsigned long long)sum);
  return 0;
}
