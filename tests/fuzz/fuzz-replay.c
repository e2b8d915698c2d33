/*
 * DOC: fuzz-replay: a harness's inputs as a unit test, without libFuzzer
 *
 * Every harness in tests/fuzz/ defines LLVMFuzzerTestOneInput().  Linked
 * with -fsanitize=fuzzer (clang, -Dfuzzing=true) libFuzzer drives it; linked
 * with this file instead (any compiler, every build) it is a plain program
 * that feeds it each file of the directories and files on its command line,
 * in name order, and prints one TAP line per input.  Meson runs it over the
 * harness's seed corpus and its regressions/ directory, so every input that
 * once crashed keeps being replayed by `make check` (ASan+UBSan) and
 * `make valgrind`.  An input that crashes kills the program: the last
 * "# replaying" line on stderr names it.
 *
 *     test-fuzz-TARGET [--tap] DIR|FILE...
 *
 * A path that does not exist is skipped (a target's regressions/ directory
 * before its first finding); with no input at all the empty one is fed.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* g_ptr_array_sort hands the comparison pointers to the elements. */
static gint fuzz_replay_name_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends @path to @files: the files of a directory (sorted), or itself. */
static bool fuzz_replay_collect(const char *path, GPtrArray *files)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    GDir *dir;
    const char *name;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        /* A target without regressions yet: meson names the directory. */
        fprintf(stderr, "# %s: none\n", path);
        return true;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_ptr_array_add(files, g_strdup(path));
        return true;
    }
    dir = g_dir_open(path, 0, &err);
    if (!dir) {
        fprintf(stderr, "fuzz-replay: %s\n", err->message);
        return false;
    }
    while ((name = g_dir_read_name(dir))) {
        if (name[0] != '.') {
            g_ptr_array_add(names, g_build_filename(path, name, NULL));
        }
    }
    g_dir_close(dir);
    g_ptr_array_sort(names, fuzz_replay_name_cmp);
    for (guint i = 0; i < names->len; i++) {
        g_ptr_array_add(files, g_steal_pointer(&names->pdata[i]));
    }
    return true;
}

/* Feeds one file to the harness; false if it cannot be read. */
static bool fuzz_replay_one(const char *path)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *data = NULL;
    gsize size;

    if (!g_file_get_contents(path, &data, &size, &err)) {
        fprintf(stderr, "fuzz-replay: %s\n", err->message);
        return false;
    }
    fprintf(stderr, "# replaying %s (%zu bytes)\n", path, (size_t)size);
    /* A copy of exactly @size bytes: ASan sees a read past the input. */
    g_autofree uint8_t *input = g_memdup2(data, size);
    LLVMFuzzerTestOneInput(input, size);
    return true;
}

/* @path's last three components ("regressions/fuzz-virtq/crash-1"). */
static const char *fuzz_replay_short_name(const char *path)
{
    const char *p = path + strlen(path);
    int slashes = 0;

    while (p > path && slashes < 3) {
        p--;
        slashes += *p == '/';
    }
    return *p == '/' ? p + 1 : p;
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    bool ok = true;

    if (LLVMFuzzerInitialize) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tap") != 0) {
            ok = fuzz_replay_collect(argv[i], files) && ok;
        }
    }
    if (!ok) {
        printf("1..1\nnot ok 1 - unreadable inputs\n");
        return 1;
    }
    if (files->len == 0) {
        /* A new harness without seeds yet: at least the empty input. */
        static const uint8_t empty[1];

        printf("1..1\n");
        LLVMFuzzerTestOneInput(empty, 0);
        printf("ok 1 - the empty input (no seeds, no regressions)\n");
        return 0;
    }
    printf("1..%u\n", files->len);
    for (guint i = 0; i < files->len; i++) {
        const char *path = files->pdata[i];
        bool readable = fuzz_replay_one(path);

        printf("%s %u - %s\n", readable ? "ok" : "not ok", i + 1,
               fuzz_replay_short_name(path));
        fflush(stdout);
        ok = ok && readable;
    }
    return ok ? 0 : 1;
}
