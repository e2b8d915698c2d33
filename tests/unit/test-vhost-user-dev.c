/*
 * Unit tests for the vhost-user protocol state machine
 * (net/vhost-user-dev.c), fed messages as net/vhost-user.c feeds them.
 *
 * Guest memory is a memfd mapped through the real mmap seam (as the
 * daemon does); a counting seam checks that every mapping is undone.
 * Every refused message must give VU_DEV_CLOSE with a message, and every
 * fd that came with any message must be closed or kept by the device
 * (checked with fcntl after the call and after cleanup).
 */
#include "net/vhost-user-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (64 * 1024)
#define GPA_BASE 0x100000ULL
#define UVA_BASE 0x7f0000000000ULL

static int maps_live;

static void *test_map(void *opaque, int fd, uint64_t size, uint64_t offset)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   (off_t)offset);

    if (p == MAP_FAILED) {
        return NULL;
    }
    maps_live++;
    return p;
}

static void test_unmap(void *opaque, void *addr, uint64_t size)
{
    munmap(addr, size);
    maps_live--;
}

static unsigned changed_count;

static void test_changed(void *opaque, unsigned index)
{
    changed_count++;
}

static const VuDevOps test_ops = {
    .map = test_map,
    .unmap = test_unmap,
    .vring_changed = test_changed,
};

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

typedef struct Fx {
    VuDev dev;
    VuMsgReply reply;
    GError *err;
} Fx;

static void fx_init(Fx *f)
{
    memset(f, 0, sizeof(*f));
    vu_dev_init(&f->dev, &test_ops, NULL);
    maps_live = 0;
}

static void fx_cleanup(Fx *f)
{
    vu_dev_cleanup(&f->dev);
    g_clear_error(&f->err);
    g_assert_cmpint(maps_live, ==, 0);
}

static VuDevResult send_msg(Fx *f, uint32_t req, uint32_t flags,
                            const void *payload, size_t len, int *fds,
                            size_t nfds)
{
    VuMsgHeader hdr = { req, flags, (uint32_t)len };
    int copy[VU_MSG_MAX_FDS + 1];

    /* The device marks fds it took as -1: keep the caller's numbers. */
    g_assert_cmpuint(nfds, <=, G_N_ELEMENTS(copy));
    if (nfds) {
        memcpy(copy, fds, nfds * sizeof(int));
    }
    g_clear_error(&f->err);
    return vu_dev_handle(&f->dev, &hdr, payload, len, copy, nfds, &f->reply,
                         &f->err);
}

static VuDevResult send_u64(Fx *f, uint32_t req, uint64_t v)
{
    return send_msg(f, req, VHOST_USER_VERSION, &v, sizeof(v), NULL, 0);
}

static VuDevResult send_state(Fx *f, uint32_t req, uint32_t index,
                              uint32_t num)
{
    uint32_t s[2] = { index, num };

    return send_msg(f, req, VHOST_USER_VERSION, s, sizeof(s), NULL, 0);
}

static void assert_refused(Fx *f, VuDevResult r, const char *what)
{
    g_assert_cmpint(r, ==, VU_DEV_CLOSE);
    g_assert_nonnull(f->err);
    if (!strstr(f->err->message, what)) {
        g_error("message '%s' does not mention '%s'", f->err->message, what);
    }
}

static uint64_t reply_u64(Fx *f)
{
    uint64_t v;

    g_assert_cmpuint(f->reply.hdr.size, ==, 8);
    g_assert_cmpuint(f->reply.hdr.flags, ==,
                     VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
    memcpy(&v, f->reply.payload, 8);
    return v;
}

/* A memfd of MEM_SIZE; the caller sends it (it is taken). */
static int guest_memfd(void)
{
    int fd = memfd_create("test-guest", MFD_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, MEM_SIZE), ==, 0);
    return fd;
}

static VuDevResult send_mem_table(Fx *f, unsigned n, const uint64_t *gpas,
                                  int *fds, size_t nfds)
{
    uint8_t buf[8 + 32 * VU_MEM_MAX_REGIONS] = { 0 };
    uint32_t n32 = n;

    memcpy(buf, &n32, 4);
    for (unsigned i = 0; i < n; i++) {
        uint64_t r[4] = { gpas[i], MEM_SIZE, UVA_BASE + gpas[i], 0 };

        memcpy(buf + 8 + 32 * i, r, sizeof(r));
    }
    return send_msg(f, VHOST_USER_SET_MEM_TABLE, VHOST_USER_VERSION, buf,
                    8 + 32 * n, fds, nfds);
}

static void test_features(void)
{
    Fx f;

    fx_init(&f);
    g_assert_cmpint(send_msg(&f, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION,
                             NULL, 0, NULL, 0), ==, VU_DEV_REPLY);
    g_assert_cmphex(reply_u64(&f), ==, VU_DEV_FEATURES);
    g_assert_cmpuint(f.reply.hdr.request, ==, VHOST_USER_GET_FEATURES);
    g_assert_cmpint(send_u64(&f, VHOST_USER_SET_FEATURES, VU_DEV_FEATURES),
                    ==, VU_DEV_DONE);
    g_assert_true(vu_dev_has(&f.dev, VIRTIO_RING_F_EVENT_IDX));
    g_assert_cmpuint(vu_dev_hdr_len(&f.dev), ==, 12);
    assert_refused(&f, send_u64(&f, VHOST_USER_SET_FEATURES, 1ULL << 17),
                   "unsupported features");
    g_assert_cmpint(send_msg(&f, VHOST_USER_GET_PROTOCOL_FEATURES,
                             VHOST_USER_VERSION, NULL, 0, NULL, 0),
                    ==, VU_DEV_REPLY);
    g_assert_cmphex(reply_u64(&f), ==, VU_DEV_PROTOCOL_FEATURES);
    assert_refused(&f, send_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES,
                                1ULL << 1), "unsupported protocol features");
    g_assert_cmpint(send_msg(&f, VHOST_USER_GET_QUEUE_NUM, VHOST_USER_VERSION,
                             NULL, 0, NULL, 0), ==, VU_DEV_REPLY);
    g_assert_cmpuint(reply_u64(&f), ==, 1);
    fx_cleanup(&f);
}

static void test_reply_ack(void)
{
    Fx f;
    uint32_t ask = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK;

    fx_init(&f);
    /* Not negotiated: no reply even if asked. */
    g_assert_cmpint(send_msg(&f, VHOST_USER_SET_OWNER, ask, NULL, 0, NULL,
                             0), ==, VU_DEV_DONE);
    g_assert_cmpint(send_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES,
                             1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK),
                    ==, VU_DEV_DONE);
    g_assert_cmpint(send_msg(&f, VHOST_USER_SET_OWNER, ask, NULL, 0, NULL,
                             0), ==, VU_DEV_REPLY);
    g_assert_cmpuint(f.reply.hdr.request, ==, VHOST_USER_SET_OWNER);
    g_assert_cmpuint(reply_u64(&f), ==, 0);
    g_assert_cmpint(send_msg(&f, VHOST_USER_SET_OWNER, VHOST_USER_VERSION,
                             NULL, 0, NULL, 0), ==, VU_DEV_DONE);
    fx_cleanup(&f);
}

static void test_bad_headers(void)
{
    Fx f;
    uint64_t v = 0;
    int efd = eventfd(0, EFD_CLOEXEC);

    fx_init(&f);
    assert_refused(&f, send_msg(&f, VHOST_USER_GET_FEATURES, 0, NULL, 0,
                                NULL, 0), "version");
    assert_refused(&f, send_msg(&f, VHOST_USER_GET_FEATURES, 2, NULL, 0,
                                NULL, 0), "version");
    assert_refused(&f, send_msg(&f, 99, VHOST_USER_VERSION, NULL, 0, NULL,
                                0), "unsupported request 99");
    assert_refused(&f, send_msg(&f, 0, VHOST_USER_VERSION, NULL, 0, NULL, 0),
                   "unsupported request 0");
    assert_refused(&f, send_msg(&f, VHOST_USER_SET_LOG_BASE,
                                VHOST_USER_VERSION, &v, 8, NULL, 0),
                   "unsupported request 6");
    assert_refused(&f, send_msg(&f, VHOST_USER_SET_FEATURES,
                                VHOST_USER_VERSION, &v, 4, NULL, 0),
                   "4-byte payload");
    assert_refused(&f, send_msg(&f, VHOST_USER_GET_FEATURES,
                                VHOST_USER_VERSION, &v, 8, NULL, 0),
                   "8-byte payload");
    /* An fd nobody asked for is refused and closed. */
    assert_refused(&f, send_msg(&f, VHOST_USER_SET_FEATURES,
                                VHOST_USER_VERSION, &v, 8, &efd, 1),
                   "with 1 fds");
    g_assert_false(fd_open(efd));
    fx_cleanup(&f);
}

static void test_bad_vring_values(void)
{
    Fx f;
    int efd = eventfd(0, EFD_CLOEXEC);

    fx_init(&f);
    assert_refused(&f, send_state(&f, VHOST_USER_SET_VRING_NUM, 2, 256),
                   "out of range");
    assert_refused(&f, send_state(&f, VHOST_USER_SET_VRING_NUM, 0, 100),
                   "power of two");
    assert_refused(&f, send_state(&f, VHOST_USER_SET_VRING_NUM, 0, 2048),
                   "power of two");
    assert_refused(&f, send_state(&f, VHOST_USER_SET_VRING_NUM, 0, 0),
                   "power of two");
    assert_refused(&f, send_state(&f, VHOST_USER_SET_VRING_BASE, 0, 70000),
                   "out of range");
    assert_refused(&f, send_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 2),
                   "enable");
    assert_refused(&f, send_state(&f, VHOST_USER_GET_VRING_BASE, 5, 0),
                   "out of range");
    /* A kick for vring 3 with an fd: refused, fd closed. */
    {
        uint64_t v = 3;

        assert_refused(&f, send_msg(&f, VHOST_USER_SET_VRING_KICK,
                                    VHOST_USER_VERSION, &v, 8, &efd, 1),
                       "out of range");
        g_assert_false(fd_open(efd));
    }
    /* The no-fd bit with an fd anyway. */
    efd = eventfd(0, EFD_CLOEXEC);
    {
        uint64_t v = VHOST_USER_VRING_NOFD_MASK;

        assert_refused(&f, send_msg(&f, VHOST_USER_SET_VRING_CALL,
                                    VHOST_USER_VERSION, &v, 8, &efd, 1),
                       "fds");
        g_assert_false(fd_open(efd));
    }
    assert_refused(&f, send_u64(&f, VHOST_USER_SET_VRING_KICK, 0x1000),
                   "bad vring fd payload");
    fx_cleanup(&f);
}

static void test_mem_table(void)
{
    Fx f;
    uint64_t gpas[2] = { GPA_BASE, GPA_BASE + MEM_SIZE };
    int fds[2] = { guest_memfd(), guest_memfd() };

    fx_init(&f);
    g_assert_cmpint(send_mem_table(&f, 2, gpas, fds, 2), ==, VU_DEV_DONE);
    g_assert_false(fd_open(fds[0]));        /* mapped, fd closed */
    g_assert_cmpuint(f.dev.mem.nregions, ==, 2);
    g_assert_cmpint(maps_live, ==, 2);
    g_assert_nonnull(vu_mem_gpa_to_host(&f.dev.mem, GPA_BASE + MEM_SIZE, 8));
    g_assert_null(vu_mem_gpa_to_host(&f.dev.mem, GPA_BASE + MEM_SIZE - 4, 8));
    /* A new table replaces the old one: old mappings go. */
    fds[0] = guest_memfd();
    g_assert_cmpint(send_mem_table(&f, 1, gpas, fds, 1), ==, VU_DEV_DONE);
    g_assert_cmpint(maps_live, ==, 1);
    fx_cleanup(&f);
}

static void test_mem_table_bad(void)
{
    Fx f;
    uint64_t same[2] = { GPA_BASE, GPA_BASE + 0x1000 };     /* overlap */
    int fds[3] = { guest_memfd(), guest_memfd(), guest_memfd() };

    fx_init(&f);
    assert_refused(&f, send_mem_table(&f, 2, same, fds, 2), "overlaps");
    g_assert_false(fd_open(fds[0]));
    g_assert_false(fd_open(fds[1]));
    g_assert_cmpint(maps_live, ==, 0);      /* the first mapping undone */
    g_assert_cmpuint(f.dev.mem.nregions, ==, 0);
    /* Two regions, one fd. */
    assert_refused(&f, send_mem_table(&f, 2, same, &fds[2], 1), "fds");
    g_assert_false(fd_open(fds[2]));
    /* Zero regions; nine regions; a size that does not match. */
    assert_refused(&f, send_mem_table(&f, 0, same, NULL, 0),
                   "bad memory table");
    {
        uint32_t n = 9;
        uint8_t buf[8 + 32 * 9] = { 0 };

        memcpy(buf, &n, 4);
        assert_refused(&f, send_msg(&f, VHOST_USER_SET_MEM_TABLE,
                                    VHOST_USER_VERSION, buf, sizeof(buf),
                                    NULL, 0), "");
        n = 1;
        memcpy(buf, &n, 4);
        assert_refused(&f, send_msg(&f, VHOST_USER_SET_MEM_TABLE,
                                    VHOST_USER_VERSION, buf, 8 + 16, NULL,
                                    0), "bad memory table");
    }
    fx_cleanup(&f);
}

/* The usual QEMU sequence for vring @i with ring parts at @off. */
static void setup_vring(Fx *f, unsigned i, uint64_t off, int kick)
{
    uint64_t a[5] = { 0 };
    uint32_t idx = i;
    uint64_t v = i;

    g_assert_cmpint(send_state(f, VHOST_USER_SET_VRING_NUM, i, 256), ==,
                    VU_DEV_DONE);
    g_assert_cmpint(send_state(f, VHOST_USER_SET_VRING_BASE, i, 0), ==,
                    VU_DEV_DONE);
    memcpy(&a[0], &idx, 4);
    a[1] = UVA_BASE + GPA_BASE + off;               /* desc */
    a[2] = UVA_BASE + GPA_BASE + off + 0x2000;      /* used */
    a[3] = UVA_BASE + GPA_BASE + off + 0x1000;      /* avail */
    g_assert_cmpint(send_msg(f, VHOST_USER_SET_VRING_ADDR, VHOST_USER_VERSION,
                             a, 40, NULL, 0), ==, VU_DEV_DONE);
    g_assert_cmpint(send_msg(f, VHOST_USER_SET_VRING_KICK, VHOST_USER_VERSION,
                             &v, 8, &kick, 1), ==, VU_DEV_DONE);
}

static void test_vring_lifecycle(void)
{
    Fx f;
    uint64_t gpas[1] = { GPA_BASE };
    int mfd = guest_memfd();
    int kick = eventfd(0, EFD_CLOEXEC), kick2;
    uint32_t s[2];

    fx_init(&f);
    g_assert_cmpint(send_u64(&f, VHOST_USER_SET_FEATURES, VU_DEV_FEATURES),
                    ==, VU_DEV_DONE);
    g_assert_cmpint(send_mem_table(&f, 1, gpas, &mfd, 1), ==, VU_DEV_DONE);
    changed_count = 0;
    setup_vring(&f, VU_DEV_TX, 0x4000, kick);
    g_assert_cmpuint(changed_count, >, 0);
    g_assert_true(fd_open(kick));               /* kept by the device */
    g_assert_cmpint(f.dev.vring[VU_DEV_TX].kick_fd, ==, kick);
    g_assert_true(virtq_ready(&f.dev.vring[VU_DEV_TX].vq));
    /* PROTOCOL_FEATURES negotiated: rings start disabled. */
    g_assert_false(vu_dev_vring_live(&f.dev, VU_DEV_TX));
    g_assert_cmpint(send_state(&f, VHOST_USER_SET_VRING_ENABLE, VU_DEV_TX, 1),
                    ==, VU_DEV_DONE);
    g_assert_true(vu_dev_vring_live(&f.dev, VU_DEV_TX));
    g_assert_true(f.dev.vring[VU_DEV_TX].vq.event_idx);
    /* GET_VRING_BASE stops it, answers where, closes the kick fd. */
    f.dev.vring[VU_DEV_TX].vq.last_avail_idx = 77;
    g_assert_cmpint(send_state(&f, VHOST_USER_GET_VRING_BASE, VU_DEV_TX, 0),
                    ==, VU_DEV_REPLY);
    memcpy(s, f.reply.payload, 8);
    g_assert_cmpuint(s[0], ==, VU_DEV_TX);
    g_assert_cmpuint(s[1], ==, 77);
    g_assert_false(vu_dev_vring_live(&f.dev, VU_DEV_TX));
    g_assert_false(fd_open(kick));
    /* Set up again; cleanup closes what the device holds. */
    kick2 = eventfd(0, EFD_CLOEXEC);
    setup_vring(&f, VU_DEV_TX, 0x4000, kick2);
    g_assert_true(virtq_ready(&f.dev.vring[VU_DEV_TX].vq));
    fx_cleanup(&f);
    g_assert_false(fd_open(kick2));
}

static void test_vring_outside_memory(void)
{
    Fx f;
    uint64_t gpas[1] = { GPA_BASE };
    int mfd = guest_memfd();
    int kick = eventfd(0, EFD_CLOEXEC);

    fx_init(&f);
    g_assert_cmpint(send_mem_table(&f, 1, gpas, &mfd, 1), ==, VU_DEV_DONE);
    /* Rings at the very end: the used ring runs past the region. */
    setup_vring(&f, VU_DEV_RX, MEM_SIZE - 0x2000 - 0x10, kick);
    g_assert_true(f.dev.vring[VU_DEV_RX].vq.broken);
    g_assert_nonnull(strstr(f.dev.vring[VU_DEV_RX].vq.broken_reason,
                            "outside"));
    g_assert_false(vu_dev_vring_live(&f.dev, VU_DEV_RX));
    /* RESET_OWNER: rings forgotten, fds closed, not broken any more. */
    g_assert_cmpint(send_msg(&f, VHOST_USER_RESET_OWNER, VHOST_USER_VERSION,
                             NULL, 0, NULL, 0), ==, VU_DEV_DONE);
    g_assert_false(f.dev.vring[VU_DEV_RX].vq.broken);
    g_assert_false(fd_open(kick));
    fx_cleanup(&f);
}

static void test_call_err_fds(void)
{
    Fx f;
    int call = eventfd(0, EFD_CLOEXEC), call2 = eventfd(0, EFD_CLOEXEC);
    int err = eventfd(0, EFD_CLOEXEC);
    uint64_t v = VU_DEV_RX;

    fx_init(&f);
    g_assert_cmpint(send_msg(&f, VHOST_USER_SET_VRING_CALL,
                             VHOST_USER_VERSION, &v, 8, &call, 1), ==,
                    VU_DEV_DONE);
    g_assert_true(fd_open(call));
    /* A second call fd replaces (closes) the first. */
    g_assert_cmpint(send_msg(&f, VHOST_USER_SET_VRING_CALL,
                             VHOST_USER_VERSION, &v, 8, &call2, 1), ==,
                    VU_DEV_DONE);
    g_assert_false(fd_open(call));
    g_assert_cmpint(send_msg(&f, VHOST_USER_SET_VRING_ERR,
                             VHOST_USER_VERSION, &v, 8, &err, 1), ==,
                    VU_DEV_DONE);
    /* Polling: the no-fd bit drops the call fd. */
    g_assert_cmpint(send_u64(&f, VHOST_USER_SET_VRING_CALL,
                             VU_DEV_RX | VHOST_USER_VRING_NOFD_MASK), ==,
                    VU_DEV_DONE);
    g_assert_false(fd_open(call2));
    g_assert_cmpint(f.dev.vring[VU_DEV_RX].call_fd, ==, -1);
    fx_cleanup(&f);
    g_assert_false(fd_open(err));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/vhost-user-dev/features", test_features);
    g_test_add_func("/net/vhost-user-dev/reply-ack", test_reply_ack);
    g_test_add_func("/net/vhost-user-dev/bad-headers", test_bad_headers);
    g_test_add_func("/net/vhost-user-dev/bad-vring-values",
                    test_bad_vring_values);
    g_test_add_func("/net/vhost-user-dev/mem-table", test_mem_table);
    g_test_add_func("/net/vhost-user-dev/mem-table-bad", test_mem_table_bad);
    g_test_add_func("/net/vhost-user-dev/vring-lifecycle",
                    test_vring_lifecycle);
    g_test_add_func("/net/vhost-user-dev/vring-outside-memory",
                    test_vring_outside_memory);
    g_test_add_func("/net/vhost-user-dev/call-err-fds", test_call_err_fds);
    return g_test_run();
}
