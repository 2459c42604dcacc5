/* The system-call floor of a header-only read: per file open, fstat, one read of `bytes`
 * (default 4096), close, and nothing else; CPU time per file (the process's, so a busy
 * machine's waiting is left out), median of `rounds`. Compared in docs/python.md with what
 * `jpgtool.quality_many` and Pillow take per file.
 *
 *     cc -O2 -o /tmp/open-read-floor benches/open-read-floor.c
 *     find DIR -name '*.jpg' | /tmp/open-read-floor [bytes] [rounds]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    size_t bytes = argc > 1 ? (size_t)atol(argv[1]) : 4096;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    size_t n = 0, cap = 1024;
    char **paths = malloc(cap * sizeof *paths), line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (n == cap) paths = realloc(paths, (cap *= 2) * sizeof *paths);
        paths[n++] = strdup(line);
    }
    if (n == 0 || rounds < 1 || bytes == 0) {
        fprintf(stderr, "usage: find DIR -name '*.jpg' | open-read-floor [bytes] [rounds]\n");
        return 2;
    }
    char *buf = malloc(bytes);
    double *per_file = malloc(rounds * sizeof *per_file);
    long total = 0;
    for (int r = 0; r < rounds; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        for (size_t i = 0; i < n; i++) {
            int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            struct stat st;
            fstat(fd, &st);
            total += read(fd, buf, bytes);
            close(fd);
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        per_file[r] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n;
    }
    qsort(per_file, rounds, sizeof *per_file, by_value);
    printf("%zu files, read %zu bytes each: %.2f us of CPU per file (median of %d rounds; %ld bytes read)\n",
           n, bytes, per_file[rounds / 2], rounds, total);
    return 0;
}
