/*
 * tests/store/tmpdir.h — a fresh temporary directory per test, removed
 * (with the files in it) when the test ends, pass or fail. Shared by the
 * store's test programs; include after ../unit/test.h.
 */
#ifndef WEFT_TESTS_STORE_TMPDIR_H
#define WEFT_TESTS_STORE_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tmpdir_remove(void *arg)
{
    char *dir = arg;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* A new empty directory under $TMPDIR (or /tmp) named weft-TAG-XXXXXX;
 * the test owns it until it ends. */
static char *tmpdir_new(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(4096);
    ASSERT_NOT_NULL(dir);
    snprintf(dir, 4096, "%s/weft-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    ASSERT_NOT_NULL(mkdtemp(dir));
    test_defer(tmpdir_remove, dir);
    return dir;
}

#endif
