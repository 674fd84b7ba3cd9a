/*
 * zap-peer: the real-kernel peer of mmkit's teardown benchmarks (packages/kernel/bench/zap.bench.ts).
 *
 * A process maps `mib` MiB anonymous private (MADV_NOHUGEPAGE: 4 KiB pages, as mmkit's private
 * mappings) and writes one byte per page (all resident, all dirty). Then, `repeats` times, two
 * forked children, each holding every page copy-on-write shared with the parent:
 *   (a) exit: the child takes a CLOCK_MONOTONIC timestamp, sends it through a pipe and _exit()s;
 *       the parent reads it and times up to the return of waitpid() — the child's exit_mmap
 *       (unmap_vmas → zap_pte_range: every PTE cleared, every page's mapcount and reference
 *       dropped, then free_pgtables) plus the exit notification and the parent's wake-up;
 *   (b) munmap: the child munmap()s the whole range, timed in the child (the same zap and
 *       free_pgtables, no process teardown), reports through the pipe and exits.
 * The parent's fork() of (a) is timed too (copy_page_range), as the yardstick the exit is quoted
 * against. After each run the parent checks that its pages still hold what it wrote. One
 * discarded warm-up run, then the best of `repeats` for each.
 *
 * Usage: zap-peer [mib [repeats]]   (defaults 256 and 5)
 * Output: one JSON object on stdout; diagnostics on stderr; exit 1 if a syscall fails.
 *
 * Build: cc -std=c11 -O2 -o zap-peer zap-peer.c   (C11, Linux, no dependencies)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void reap(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child");
}

int main(int argc, char **argv) {
  unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  if (mib == 0 || repeats < 1) {
    fprintf(stderr, "usage: zap-peer [mib [repeats]]\n");
    return 1;
  }
  size_t bytes = mib << 20, pages = bytes / PAGE;
  volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  if (madvise((void *)p, bytes, MADV_NOHUGEPAGE) != 0) die("madvise");
  for (size_t i = 0; i < pages; i++) p[i * PAGE] = (char)(i | 1);

  double best_fork = 1e30, best_exit = 1e30, best_munmap = 1e30;
  for (int r = 0; r <= repeats; r++) { /* run 0 is a discarded warm-up */
    /* (a) fork, then the child's exit. */
    int fd[2];
    if (pipe(fd) != 0) die("pipe");
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(fd[0]);
      double c0 = now_s();
      if (write(fd[1], &c0, sizeof c0) != (ssize_t)sizeof c0) _exit(1);
      _exit(0);
    }
    double t1 = now_s();
    close(fd[1]);
    double c0;
    if (read(fd[0], &c0, sizeof c0) != (ssize_t)sizeof c0) die("read exit timestamp");
    reap(pid);
    double t2 = now_s();
    close(fd[0]);
    /* (b) the child's munmap of the whole range. */
    if (pipe(fd) != 0) die("pipe");
    pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(fd[0]);
      double m0 = now_s();
      if (munmap((void *)p, bytes) != 0) _exit(1);
      double m = now_s() - m0;
      if (write(fd[1], &m, sizeof m) != (ssize_t)sizeof m) _exit(1);
      _exit(0);
    }
    close(fd[1]);
    double m;
    if (read(fd[0], &m, sizeof m) != (ssize_t)sizeof m) die("read munmap time");
    reap(pid);
    close(fd[0]);
    for (size_t i = 0; i < pages; i += 4099) {
      if (p[i * PAGE] != (char)(i | 1)) {
        fprintf(stderr, "the parent lost page %zu\n", i);
        return 1;
      }
    }
    if (r == 0) continue;
    if (t1 - t0 < best_fork) best_fork = t1 - t0;
    if (t2 - c0 < best_exit) best_exit = t2 - c0;
    if (m < best_munmap) best_munmap = m;
  }
  struct utsname un;
  uname(&un);
  printf("{\"kernel\":\"%s\",\"machine\":\"%s\",\"mib\":%lu,\"pages\":%zu,\"repeats\":%d,"
         "\"fork_ms\":%.6f,\"exit_ms\":%.6f,\"munmap_ms\":%.6f}\n",
         un.release, un.machine, mib, pages, repeats, best_fork * 1e3, best_exit * 1e3, best_munmap * 1e3);
  return 0;
}
