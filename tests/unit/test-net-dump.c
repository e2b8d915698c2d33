/*
 * Unit tests for filter-dump (net/dump.c): the pcap bytes written, the
 * queue= directions, writes when the buffer fills, and a write error
 * (the dump's file replaced by /dev/full) that stops the dump with one
 * log line while frames keep flowing.
 */
#include "net-test-clients.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <unistd.h>

#include "net/dump.h"
#include "system/object.h"
#include "qapi-commands.h"

typedef struct PcapRecord {
    uint32_t caplen, len;
    const uint8_t *data;
} PcapRecord;

static void dump_add(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void dump_add(const char *fmt, ...)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(ObjectOptions) opts = NULL;
    g_autofree char *str = NULL;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    opts = object_parse(str, &err);
    g_assert_no_error(err);
    g_assert_true(object_add(opts, &err));
    g_assert_no_error(err);
}

static void dump_del(const char *id)
{
    g_autoptr(GError) err = NULL;

    qmp_object_del(id, &err);
    g_assert_no_error(err);
}

/* Parse @path: checks the header (snaplen @snaplen), returns records. */
static GArray *pcap_read(const char *path, uint32_t snaplen, gchar **bytes)
{
    GArray *recs = g_array_new(false, false, sizeof(PcapRecord));
    gsize size, pos = 24;
    uint32_t hdr[6];

    g_assert_true(g_file_get_contents(path, bytes, &size, NULL));
    g_assert_cmpuint(size, >=, 24);
    memcpy(hdr, *bytes, 24);
    g_assert_cmphex(hdr[0], ==, 0xa1b2c3d4);
    g_assert_cmpuint(hdr[1], ==, 2 | (4 << 16));    /* version 2.4 */
    g_assert_cmpuint(hdr[4], ==, snaplen);
    g_assert_cmpuint(hdr[5], ==, 1);                /* LINKTYPE_ETHERNET */
    while (pos < size) {
        PcapRecord r;
        uint32_t rh[4];

        g_assert_cmpuint(size - pos, >=, 16);
        memcpy(rh, *bytes + pos, 16);
        r.caplen = rh[2];
        r.len = rh[3];
        g_assert_cmpuint(rh[1], <, 1000000);        /* ts_usec */
        r.data = (const uint8_t *)*bytes + pos + 16;
        pos += 16 + r.caplen;
        g_assert_cmpuint(pos, <=, size);
        g_array_append_val(recs, r);
    }
    return recs;
}

static void assert_record(PcapRecord *r, uint32_t seq, size_t len,
                          uint32_t maxlen)
{
    g_autofree uint8_t *want = g_malloc(len);

    test_frame_fill(want, len, seq);
    g_assert_cmpuint(r->len, ==, len);
    g_assert_cmpuint(r->caplen, ==, MIN(len, maxlen));
    g_assert_cmpmem(r->data, r->caplen, want, MIN(len, maxlen));
}

/* Both directions in order; queue=tx and queue=rx split them; maxlen. */
static void test_records(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-dump-XXXXXX", NULL);
    g_autofree char *all = g_build_filename(dir, "all.pcap", NULL);
    g_autofree char *tx = g_build_filename(dir, "tx.pcap", NULL);
    g_autofree char *rx = g_build_filename(dir, "rx.pcap", NULL);
    g_autofree char *b1 = NULL, *b2 = NULL, *b3 = NULL;
    g_autoptr(GArray) r_all = NULL, r_tx = NULL, r_rx = NULL;
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    dump_add("filter-dump,id=all,netdev=net0,file=%s,maxlen=100", all);
    dump_add("filter-dump,id=tx,netdev=net0,file=%s,queue=tx", tx);
    dump_add("filter-dump,id=rx,netdev=net0,file=%s,queue=rx", rx);
    test_send(backend, 1, 60);      /* sent by net0: tx */
    test_send(nic, 2, 1500);        /* sent to net0: rx */
    test_send(backend, 3, 100);
    test_send(backend, 4, 101);
    g_assert_cmpuint(nic->frames->len, ==, 3);
    dump_del("all");
    dump_del("tx");
    dump_del("rx");

    r_all = pcap_read(all, 100, &b1);
    g_assert_cmpuint(r_all->len, ==, 4);
    assert_record(&g_array_index(r_all, PcapRecord, 0), 1, 60, 100);
    assert_record(&g_array_index(r_all, PcapRecord, 1), 2, 1500, 100);
    assert_record(&g_array_index(r_all, PcapRecord, 2), 3, 100, 100);
    assert_record(&g_array_index(r_all, PcapRecord, 3), 4, 101, 100);
    r_tx = pcap_read(tx, 65536, &b2);
    g_assert_cmpuint(r_tx->len, ==, 3);
    assert_record(&g_array_index(r_tx, PcapRecord, 0), 1, 60, 65536);
    assert_record(&g_array_index(r_tx, PcapRecord, 2), 4, 101, 65536);
    r_rx = pcap_read(rx, 65536, &b3);
    g_assert_cmpuint(r_rx->len, ==, 1);
    assert_record(&g_array_index(r_rx, PcapRecord, 0), 2, 1500, 65536);
    net_cleanup();
    g_remove(all);
    g_remove(tx);
    g_remove(rx);
    g_rmdir(dir);
}

static off_t file_size(const char *path)
{
    GStatBuf st;

    g_assert_cmpint(g_stat(path, &st), ==, 0);
    return st.st_size;
}

/* Nothing is written per frame; a full buffer is written at once. */
static void test_buffer_full(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-dump-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "d.pcap", NULL);
    g_autofree char *bytes = NULL;
    g_autoptr(GArray) recs = NULL;
    TestClient *nic, *backend;
    unsigned n = 0;

    test_pair_new(&nic, &backend);
    dump_add("filter-dump,id=d,netdev=net0,file=%s", path);
    for (; n < 100; n++) {
        test_send(backend, n, 1000);
    }
    g_assert_cmpint(file_size(path), ==, 24);      /* buffered */
    while (file_size(path) == 24) {
        test_send(backend, n++, 1000);
    }
    /* Written when the next record did not fit. */
    g_assert_cmpuint(n, ==, NET_DUMP_BUFFER_SIZE / 1016 + 1);
    g_assert_cmpint(file_size(path), ==, 24 + (n - 1) * 1016);
    dump_del("d");
    recs = pcap_read(path, 65536, &bytes);
    g_assert_cmpuint(recs->len, ==, n);
    for (unsigned i = 0; i < n; i++) {
        assert_record(&g_array_index(recs, PcapRecord, i), i, 1000, 65536);
    }
    net_cleanup();
    g_remove(path);
    g_rmdir(dir);
}

/* The fd this process has open on @path, or -1. */
static int fd_of(const char *path)
{
    g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
    const char *name;

    while ((name = g_dir_read_name(d))) {
        g_autofree char *link = g_build_filename("/proc/self/fd", name, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);

        if (target && g_str_equal(target, path)) {
            return atoi(name);
        }
    }
    return -1;
}

static void write_error_child(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-dump-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "d.pcap", NULL);
    TestClient *nic, *backend;
    int fd, full;

    test_pair_new(&nic, &backend);
    dump_add("filter-dump,id=d,netdev=net0,file=%s", path);
    fd = fd_of(path);
    g_assert_cmpint(fd, >=, 0);
    full = open("/dev/full", O_WRONLY);
    g_assert_cmpint(dup2(full, fd), ==, fd);
    close(full);
    for (unsigned i = 0; i < 1000; i++) {       /* ~1 MB: several flushes */
        g_assert_cmpint(test_send(backend, i, 1000), ==, 1000);
    }
    g_assert_cmpuint(nic->frames->len, ==, 1000);
    dump_del("d");
    net_cleanup();
    g_remove(path);
    g_rmdir(dir);
}

static void test_write_error(void)
{
    if (g_test_subprocess()) {
        write_error_child();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("vmwire: filter-dump d: write error on "
                              "*: No space left on device; dump stopped\n");
    /* Exactly one line. */
    g_test_trap_assert_stderr_unmatched("*dump stopped*dump stopped*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/dump/records", test_records);
    g_test_add_func("/net/dump/buffer-full", test_buffer_full);
    g_test_add_func("/net/dump/write-error", test_write_error);
    return g_test_run();
}
