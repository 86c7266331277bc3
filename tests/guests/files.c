/*
 * tests/guests/files.c — file I/O relative to the current directory.
 *
 * compare.sh runs it in a fresh empty directory: natively with that as the
 * working directory, under weft with `--dir .` (the preopen wasi-libc
 * resolves relative paths against). Text and binary stdio, seeking, append
 * and update modes, POSIX open/read/write/lseek/ftruncate, stat, rename,
 * unlink, mkdir/rmdir and directory listing, and the errno of the usual
 * failures, printed by name because the two libcs word strerror apart.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

#define CHECK(what, expr)                                                                       \
    do {                                                                                        \
        errno = 0;                                                                              \
        long long r_ = (long long)(expr);                                                       \
        printf("%-34s -> %lld %s\n", what, r_, r_ < 0 ? errname(errno) : "");                  \
    } while (0)

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted listing: readdir's order is the file system's, not ours. */
static void list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("opendir %s: %s\n", dir, errname(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    printf("%s:", dir);
    for (int i = 0; i < n; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0)
            printf(" %s(%s%lld)", names[i], S_ISDIR(st.st_mode) ? "dir " : "",
                   S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
        free(names[i]);
    }
    putchar('\n');
}

static void text_files(void)
{
    CHECK("mkdir sub", mkdir("sub", 0755));
    CHECK("mkdir sub again", mkdir("sub", 0755));
    FILE *f = fopen("sub/notes.txt", "w");
    for (int i = 1; i <= 100; i++)
        fprintf(f, "line %d: %d squared is %d\n", i, i, i * i);
    fclose(f);
    f = fopen("sub/notes.txt", "a");
    fputs("appended line\n", f);
    fclose(f);

    f = fopen("sub/notes.txt", "r");
    char line[128];
    int lines = 0;
    size_t chars = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        chars += strlen(line);
        if (lines == 42 || strncmp(line, "appended", 8) == 0)
            printf("read: %s", line);
    }
    printf("notes.txt: %d lines, %zu chars, eof %d\n", lines, chars, feof(f));
    rewind(f);
    int a, b, c;
    int got = fscanf(f, "line %d: %d squared is %d", &a, &b, &c);
    printf("fscanf: %d items: %d %d %d\n", got, a, b, c);
    fclose(f);

    f = fopen("sub/notes.txt", "r+");
    fseek(f, 5, SEEK_SET);
    fputs("ONE", f);
    fclose(f);
    f = fopen("sub/notes.txt", "r");
    printf("after r+: %s", fgets(line, sizeof line, f));
    fclose(f);
}

static void binary_files(void)
{
    enum { SIZE = 1 << 20, BLOCK = 4096 };
    uint8_t *buf = malloc(BLOCK);
    FILE *f = fopen("data.bin", "wb");
    for (int blk = 0; blk < SIZE / BLOCK; blk++) {
        for (int i = 0; i < BLOCK; i++)
            buf[i] = (uint8_t)(blk * 7 + i * 13);
        if (fwrite(buf, 1, BLOCK, f) != BLOCK)
            printf("short write at block %d\n", blk);
    }
    printf("ftell after writing: %ld\n", ftell(f));
    fclose(f);

    f = fopen("data.bin", "rb");
    fseek(f, 0, SEEK_END);
    printf("size by fseek/ftell: %ld\n", ftell(f));
    fseek(f, SIZE / 2 + 3, SEEK_SET);
    uint8_t small[8];
    size_t n = fread(small, 1, sizeof small, f);
    printf("at %d:", SIZE / 2 + 3);
    for (size_t i = 0; i < n; i++)
        printf(" %02x", small[i]);
    putchar('\n');
    fseek(f, -4, SEEK_CUR);
    printf("after SEEK_CUR -4: %ld\n", ftell(f));
    rewind(f);
    uint64_t sum = 0xcbf29ce484222325u; /* FNV-1a */
    size_t total = 0;
    while ((n = fread(buf, 1, 1000, f)) > 0) {
        for (size_t i = 0; i < n; i++)
            sum = (sum ^ buf[i]) * 0x100000001b3u;
        total += n;
    }
    printf("read back %zu bytes, hash %016" PRIx64 "\n", total, sum);
    fclose(f);
    free(buf);
}

static void posix_io(void)
{
    int fd = open("raw.dat", O_CREAT | O_EXCL | O_WRONLY, 0644);
    printf("open O_CREAT|O_EXCL: %s\n", fd >= 0 ? "ok" : errname(errno));
    CHECK("open O_EXCL again", open("raw.dat", O_CREAT | O_EXCL | O_WRONLY, 0644));
    CHECK("write 26", write(fd, "abcdefghijklmnopqrstuvwxyz", 26));
    CHECK("lseek 10 SEEK_SET", lseek(fd, 10, SEEK_SET));
    CHECK("write 3", write(fd, "KLM", 3));
    CHECK("lseek 0 SEEK_END", lseek(fd, 0, SEEK_END));
    CHECK("ftruncate 20", ftruncate(fd, 20));
    CHECK("close", close(fd));
    CHECK("close again", close(fd));
    fd = open("raw.dat", O_RDONLY);
    char buf[64] = {0};
    CHECK("read", read(fd, buf, sizeof buf - 1));
    printf("raw.dat: %s\n", buf);
    CHECK("read at eof", read(fd, buf, sizeof buf));
    close(fd);
    CHECK("write to closed fd", write(fd, "x", 1));

    struct stat st;
    CHECK("stat raw.dat", stat("raw.dat", &st));
    printf("  size %lld, regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode) ? 1 : 0);
    CHECK("stat missing", stat("missing", &st));
    CHECK("open missing", open("missing/file", O_RDONLY));
    errno = 0;
    FILE *missing = fopen("no-such-file", "r");
    printf("fopen missing: %s %s\n", missing ? "opened?!" : "NULL", errname(errno));
    CHECK("rename raw.dat -> sub/moved.dat", rename("raw.dat", "sub/moved.dat"));
    CHECK("access raw.dat", access("raw.dat", F_OK));
    CHECK("rmdir sub (not empty)", rmdir("sub"));
    CHECK("open sub as dir O_DIRECTORY", (fd = open("sub", O_RDONLY | O_DIRECTORY)) >= 0);
    close(fd);
    CHECK("mkdir sub/deeper", mkdir("sub/deeper", 0755));
    FILE *f = fopen("sub/deeper/leaf.txt", "w");
    fputs("leaf\n", f);
    fclose(f);
}

int main(void)
{
    text_files();
    binary_files();
    posix_io();
    list(".");
    list("sub");
    list("sub/deeper");
    CHECK("unlink sub/deeper/leaf.txt", unlink("sub/deeper/leaf.txt"));
    CHECK("rmdir sub/deeper", rmdir("sub/deeper"));
    CHECK("unlink data.bin", unlink("data.bin"));
    CHECK("unlink data.bin again", unlink("data.bin"));
    list(".");
    list("sub");
    return 0;
}
