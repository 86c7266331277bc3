/*
 * bench/spawn.c — `spawn RUNS CMD [ARGS...]`: start-up time and peak RSS.
 *
 * Runs CMD RUNS times (fork, exec, wait4; its stdout and stderr go to
 * /dev/null) and prints one line "median_us min_us median_rss_kib
 * max_rss_kib": wall time from fork to reaped child, and the child's peak
 * resident set (ru_maxrss: the whole process, shared libraries included).
 * A C helper rather than shell: `date` and /usr/bin/time cost a fork and
 * exec of their own, as much as the ~1 ms being measured. Exits 1 if any
 * run fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    int runs = argc > 2 ? atoi(argv[1]) : 0;
    if (runs <= 0) {
        fprintf(stderr, "usage: spawn RUNS CMD [ARGS...]\n");
        return 2;
    }
    long *us = calloc((size_t)runs, sizeof *us), *rss = calloc((size_t)runs, sizeof *rss);
    if (!us || !rss)
        return 1;
    for (int i = 0; i < runs; i++) {
        long t0 = now_us();
        pid_t pid = fork();
        if (pid < 0) {
            perror("spawn: fork");
            return 1;
        }
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
            execvp(argv[2], argv + 2);
            _exit(127);
        }
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) {
            perror("spawn: wait4");
            return 1;
        }
        us[i] = now_us() - t0;
        rss[i] = ru.ru_maxrss;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn: %s failed (status 0x%x)\n", argv[2], status);
            return 1;
        }
    }
    long max_rss = 0;
    for (int i = 0; i < runs; i++)
        if (rss[i] > max_rss)
            max_rss = rss[i];
    qsort(us, (size_t)runs, sizeof *us, cmp_long);
    qsort(rss, (size_t)runs, sizeof *rss, cmp_long);
    printf("%ld %ld %ld %ld\n", us[runs / 2], us[0], rss[runs / 2], max_rss);
    return 0;
}
