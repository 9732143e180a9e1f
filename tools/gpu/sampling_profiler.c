// A sampling profiler for machines without perf (the GPU machine): LD_PRELOAD this library and
// set SPROF_OUT=FILE; every SPROF_US microseconds of process CPU time (ITIMER_PROF, default
// 200) the running thread's call stack is recorded, and at exit the stacks go to FILE and the
// process's memory map to FILE.maps. tools/gpu/sprof_report.py turns them into a flat and an
// inclusive profile by function (symbolized with addr2line on the machine that built the
// binaries). Used to find where the host spends a CUDA decode step's time.
#define _GNU_SOURCE
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

enum { kMaxSamples = 1 << 18, kDepth = 48 };

static void* g_frames[kMaxSamples][kDepth];
static unsigned char g_depth[kMaxSamples];
static volatile int g_count;
static const char* g_out;

static void on_prof(int sig) {
    (void)sig;
    const int i = __atomic_fetch_add(&g_count, 1, __ATOMIC_RELAXED);
    if (i >= kMaxSamples) return;
    g_depth[i] = (unsigned char)backtrace(g_frames[i], kDepth);
}

__attribute__((constructor)) static void sprof_start(void) {
    g_out = getenv("SPROF_OUT");
    if (g_out == NULL) return;
    void* prime[4];
    backtrace(prime, 4);  // loads the unwinder now, not inside the first signal
    const char* us = getenv("SPROF_US");
    const long period = us ? atol(us) : 200;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prof;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval it = {{0, period}, {0, period}};
    setitimer(ITIMER_PROF, &it, NULL);
}

__attribute__((destructor)) static void sprof_stop(void) {
    if (g_out == NULL) return;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_PROF, &off, NULL);
    FILE* f = fopen(g_out, "w");
    if (f == NULL) return;
    const int n = g_count < kMaxSamples ? g_count : kMaxSamples;
    for (int i = 0; i < n; ++i) {
        // Frame 0-1 are the handler and the signal trampoline.
        for (int d = 2; d < g_depth[i]; ++d) fprintf(f, "%p ", g_frames[i][d]);
        fputc('\n', f);
    }
    fclose(f);
    char maps[4096];
    snprintf(maps, sizeof maps, "%s.maps", g_out);
    FILE* in = fopen("/proc/self/maps", "r");
    FILE* out = fopen(maps, "w");
    if (in != NULL && out != NULL) {
        char line[1024];
        while (fgets(line, sizeof line, in)) fputs(line, out);
    }
    if (in) fclose(in);
    if (out) fclose(out);
}
