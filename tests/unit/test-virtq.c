/*
 * Unit tests for guest memory and split virtqueues (net/virtq.c).
 *
 * The "guest memory" is an anonymous mapping with a PROT_NONE guard page
 * on each side: a read or write one byte outside the region crashes the
 * test, so every malformed-ring case also proves that nothing outside the
 * memory table was touched.  Rings are built in that memory as a guest
 * driver would; each malformed case must leave the queue broken with a
 * reason, pop nothing more, and be cleared only by virtq_reset().
 */
#include "net/virtq.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (64 * 1024)
#define GPA_BASE 0x100000ULL
#define UVA_BASE 0x7f0000000000ULL
#define DESC_OFF 0x0
#define AVAIL_OFF 0x4000            /* after 1024 descriptors */
#define USED_OFF 0x5000
#define BUF_OFF 0x8000

typedef struct Fx {
    uint8_t *map;                   /* guard page, memory, guard page */
    size_t page;
    uint8_t *mem;
    VuMem vm;
    Virtq vq;
    unsigned num;
    VirtqDesc *desc;
    VirtqAvail *avail;
    VirtqUsed *used;
    VirtqElement *elem;
} Fx;

static void fx_init(Fx *f, unsigned num)
{
    const char *reason = NULL;

    memset(f, 0, sizeof(*f));
    f->page = (size_t)sysconf(_SC_PAGESIZE);
    f->map = mmap(NULL, MEM_SIZE + 2 * f->page, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert_true(f->map != MAP_FAILED);
    g_assert_cmpint(mprotect(f->map, f->page, PROT_NONE), ==, 0);
    g_assert_cmpint(mprotect(f->map + f->page + MEM_SIZE, f->page,
                             PROT_NONE), ==, 0);
    f->mem = f->map + f->page;
    g_assert_true(vu_mem_add(&f->vm, GPA_BASE, MEM_SIZE, UVA_BASE, f->mem));
    f->num = num;
    g_assert_true(virtq_setup(&f->vq, &f->vm, num, UVA_BASE + DESC_OFF,
                              UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF,
                              &reason));
    f->desc = (VirtqDesc *)(f->mem + DESC_OFF);
    f->avail = (VirtqAvail *)(f->mem + AVAIL_OFF);
    f->used = (VirtqUsed *)(f->mem + USED_OFF);
    f->elem = g_new0(VirtqElement, 1);
}

static void fx_cleanup(Fx *f)
{
    munmap(f->map, MEM_SIZE + 2 * f->page);
    g_free(f->elem);
}

static uint64_t gpa(uint64_t off)
{
    return GPA_BASE + off;
}

static void set_desc(Fx *f, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    f->desc[i] = (VirtqDesc) { addr, len, flags, next };
}

static void make_avail(Fx *f, uint16_t head)
{
    f->avail->ring[f->avail->idx % f->num] = head;
    f->avail->idx++;
}

/* Pop must report a broken ring, and keep doing so. */
static void assert_broken(Fx *f)
{
    g_assert_cmpint(virtq_pop(&f->vq, &f->vm, f->elem), ==, -1);
    g_assert_true(f->vq.broken);
    g_assert_nonnull(f->vq.broken_reason);
    g_assert_cmpint(virtq_pop(&f->vq, &f->vm, f->elem), ==, -1);
    g_assert_false(virtq_ready(&f->vq));
}

static void assert_broken_reason(Fx *f, const char *what)
{
    assert_broken(f);
    if (!strstr(f->vq.broken_reason, what)) {
        g_error("reason '%s' does not mention '%s'", f->vq.broken_reason,
                what);
    }
}

/* ---- memory table ---- */

static void test_mem_translate(void)
{
    uint8_t a[256], b[256];
    VuMem m = { 0 };
    struct iovec iov[4];

    g_assert_true(vu_mem_add(&m, 0x1000, 256, 0x9000, a));
    g_assert_true(vu_mem_add(&m, 0x1100, 256, 0x5000, b));  /* adjacent */
    g_assert_true(vu_mem_gpa_to_host(&m, 0x1000, 256) == a);
    g_assert_true(vu_mem_gpa_to_host(&m, 0x10ff, 1) == a + 255);
    g_assert_null(vu_mem_gpa_to_host(&m, 0x10ff, 2));       /* spans two */
    g_assert_null(vu_mem_gpa_to_host(&m, 0x1000, 0));
    g_assert_null(vu_mem_gpa_to_host(&m, 0xfff, 1));
    g_assert_null(vu_mem_gpa_to_host(&m, 0x1200, 1));
    g_assert_null(vu_mem_gpa_to_host(&m, UINT64_MAX - 1, 4)); /* wraps */
    g_assert_null(vu_mem_gpa_to_host(&m, 0x1000, UINT64_MAX));
    g_assert_true(vu_mem_uva_to_host(&m, 0x5010, 16) == b + 16);
    g_assert_null(vu_mem_uva_to_host(&m, 0x50f0, 32));
    /* A buffer over both adjacent regions: two pieces. */
    g_assert_cmpint(vu_mem_gpa_to_iov(&m, 0x10f0, 32, iov, 4), ==, 2);
    g_assert_true(iov[0].iov_base == a + 0xf0 && iov[0].iov_len == 16);
    g_assert_true(iov[1].iov_base == b && iov[1].iov_len == 16);
    g_assert_cmpint(vu_mem_gpa_to_iov(&m, 0x10f0, 32, iov, 1), ==, -1);
    g_assert_cmpint(vu_mem_gpa_to_iov(&m, 0x10f0, 0x200, iov, 4), ==, -1);
    g_assert_cmpint(vu_mem_gpa_to_iov(&m, UINT64_MAX, 2, iov, 4), ==, -1);
    g_assert_cmpint(vu_mem_gpa_to_iov(&m, 0x1000, 0, iov, 4), ==, 0);
}

static void test_mem_add_refused(void)
{
    uint8_t a[64];
    VuMem m = { 0 };

    g_assert_true(vu_mem_add(&m, 0x1000, 64, 0x1000, a));
    g_assert_false(vu_mem_add(&m, 0x1020, 64, 0x8000, a));   /* gpa */
    g_assert_false(vu_mem_add(&m, 0x8000, 64, 0x0fe0, a));   /* uva */
    g_assert_false(vu_mem_add(&m, 0x8000, 0, 0x8000, a));
    g_assert_false(vu_mem_add(&m, UINT64_MAX - 8, 64, 0x9000, a));
    g_assert_false(vu_mem_add(&m, 0x9000, 64, UINT64_MAX - 8, a));
    g_assert_false(vu_mem_add(&m, 0x9000, 64, 0x9000, NULL));
    for (unsigned i = 1; i < VU_MEM_MAX_REGIONS; i++) {
        g_assert_true(vu_mem_add(&m, 0x10000 * (i + 1), 64,
                                 0x10000 * (i + 1), a));
    }
    g_assert_false(vu_mem_add(&m, 0x100000, 64, 0x100000, a)); /* full */
    g_assert_cmpuint(m.nregions, ==, VU_MEM_MAX_REGIONS);
}

/* ---- setup ---- */

static void test_setup_refused(void)
{
    Fx f;
    const char *reason = NULL;

    fx_init(&f, 8);
    g_assert_false(virtq_setup(&f.vq, &f.vm, 6, UVA_BASE, UVA_BASE + 0x1000,
                               UVA_BASE + 0x2000, &reason));
    g_assert_nonnull(strstr(reason, "power of two"));
    g_assert_false(virtq_setup(&f.vq, &f.vm, 2048, UVA_BASE,
                               UVA_BASE + 0x1000, UVA_BASE + 0x2000,
                               &reason));
    g_assert_false(virtq_setup(&f.vq, &f.vm, 8, UVA_BASE + MEM_SIZE - 64,
                               UVA_BASE + 0x1000, UVA_BASE + 0x2000,
                               &reason));
    g_assert_nonnull(strstr(reason, "outside"));
    g_assert_false(virtq_setup(&f.vq, &f.vm, 8, UVA_BASE,
                               UVA_BASE + 0x1000, UVA_BASE + MEM_SIZE - 8,
                               &reason));
    g_assert_false(virtq_setup(&f.vq, &f.vm, 8, UVA_BASE + 8,
                               UVA_BASE + 0x1000, UVA_BASE + 0x2000,
                               &reason));
    g_assert_nonnull(strstr(reason, "aligned"));
    g_assert_false(virtq_setup(&f.vq, &f.vm, 8, UVA_BASE,
                               UVA_BASE + 0x1001, UVA_BASE + 0x2000,
                               &reason));
    g_assert_false(virtq_setup(&f.vq, &f.vm, 8, UVA_BASE,
                               UVA_BASE + 0x1000, UVA_BASE + 0x2002,
                               &reason));
    g_assert_false(virtq_ready(&f.vq));
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 0);
    fx_cleanup(&f);
}

/* ---- good chains ---- */

static void test_pop_chain(void)
{
    Fx f;

    fx_init(&f, 8);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 0);
    set_desc(&f, 3, gpa(BUF_OFF), 100, VIRTQ_DESC_F_NEXT, 5);
    set_desc(&f, 5, gpa(BUF_OFF + 0x100), 50, VIRTQ_DESC_F_NEXT, 1);
    set_desc(&f, 1, gpa(BUF_OFF + 0x200), 200, VIRTQ_DESC_F_WRITE, 0);
    make_avail(&f, 3);
    g_assert_cmpuint(virtq_avail_count(&f.vq), ==, 1);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    g_assert_cmpuint(f.elem->head, ==, 3);
    g_assert_cmpuint(f.elem->out_num, ==, 2);
    g_assert_cmpuint(f.elem->in_num, ==, 1);
    g_assert_cmpuint(f.elem->out_len, ==, 150);
    g_assert_cmpuint(f.elem->in_len, ==, 200);
    g_assert_true(f.elem->iov[0].iov_base == f.mem + BUF_OFF);
    g_assert_true(f.elem->iov[2].iov_base == f.mem + BUF_OFF + 0x200);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 0);
    /* Used: invisible until the flush, one idx store. */
    virtq_push(&f.vq, 3, 42);
    g_assert_cmpuint(f.used->idx, ==, 0);
    virtq_flush(&f.vq);
    g_assert_cmpuint(f.used->idx, ==, 1);
    g_assert_cmpuint(f.used->ring[0].id, ==, 3);
    g_assert_cmpuint(f.used->ring[0].len, ==, 42);
    fx_cleanup(&f);
}

static void test_pop_indirect(void)
{
    Fx f;
    VirtqDesc *table;

    fx_init(&f, 8);
    f.vq.indirect = true;
    table = (VirtqDesc *)(f.mem + BUF_OFF + 0x1000);
    table[0] = (VirtqDesc) { gpa(BUF_OFF), 10, VIRTQ_DESC_F_NEXT, 2 };
    table[2] = (VirtqDesc) { gpa(BUF_OFF + 0x100), 20, VIRTQ_DESC_F_NEXT,
                             1 };
    table[1] = (VirtqDesc) { gpa(BUF_OFF + 0x200), 30, VIRTQ_DESC_F_WRITE,
                             0 };
    set_desc(&f, 0, gpa(BUF_OFF + 0x1000), 3 * sizeof(VirtqDesc),
             VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    g_assert_cmpuint(f.elem->out_len, ==, 30);
    g_assert_cmpuint(f.elem->in_len, ==, 30);
    g_assert_cmpuint(f.elem->out_num + f.elem->in_num, ==, 3);
    fx_cleanup(&f);
}

/* ---- malformed rings: each one breaks the queue ---- */

static void test_bad_desc_outside(void)
{
    Fx f;

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(MEM_SIZE - 8), 16, 0, 0);     /* runs past the end */
    make_avail(&f, 0);
    assert_broken_reason(&f, "outside guest memory");
    fx_cleanup(&f);

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(0) - 1, 1, 0, 0);             /* just before */
    make_avail(&f, 0);
    assert_broken_reason(&f, "outside guest memory");
    fx_cleanup(&f);

    fx_init(&f, 8);
    set_desc(&f, 0, UINT64_MAX - 4, 16, 0, 0);        /* wraps */
    make_avail(&f, 0);
    assert_broken_reason(&f, "outside guest memory");
    fx_cleanup(&f);
}

static void test_bad_loop(void)
{
    Fx f;

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 1, VIRTQ_DESC_F_NEXT, 1);
    set_desc(&f, 1, gpa(BUF_OFF), 1, VIRTQ_DESC_F_NEXT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "longer than the ring");
    fx_cleanup(&f);

    /* A self loop of one byte in a 1024-entry ring: still ends. */
    fx_init(&f, 1024);
    set_desc(&f, 7, gpa(BUF_OFF), 1, VIRTQ_DESC_F_NEXT, 7);
    make_avail(&f, 7);
    assert_broken_reason(&f, "longer than the ring");
    fx_cleanup(&f);
}

static void test_bad_indexes(void)
{
    Fx f;

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 1, VIRTQ_DESC_F_NEXT, 8);
    make_avail(&f, 0);
    assert_broken_reason(&f, "next descriptor index");
    fx_cleanup(&f);

    fx_init(&f, 8);
    make_avail(&f, 8);
    assert_broken_reason(&f, "head descriptor index");
    fx_cleanup(&f);

    fx_init(&f, 8);
    f.avail->idx = 9;                   /* more than num ahead */
    assert_broken_reason(&f, "too far ahead");
    fx_cleanup(&f);
}

static void test_bad_indirect(void)
{
    Fx f;
    VirtqDesc *table;

    fx_init(&f, 8);                     /* not negotiated */
    set_desc(&f, 0, gpa(BUF_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "not negotiated");
    fx_cleanup(&f);

    fx_init(&f, 8);
    f.vq.indirect = true;
    table = (VirtqDesc *)(f.mem + BUF_OFF);
    table[0] = (VirtqDesc) { gpa(BUF_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0 };
    set_desc(&f, 0, gpa(BUF_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "inside an indirect table");
    fx_cleanup(&f);

    /*
     * An "indirect table" that is the ring's own descriptor table: once
     * walked forever (found by fuzz-virtq), now refused as nesting.
     */
    fx_init(&f, 8);
    f.vq.indirect = true;
    set_desc(&f, 0, gpa(DESC_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "inside an indirect table");
    fx_cleanup(&f);

    fx_init(&f, 8);
    f.vq.indirect = true;
    set_desc(&f, 0, gpa(BUF_OFF), 24, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "multiple of 16");
    fx_cleanup(&f);

    fx_init(&f, 8);
    f.vq.indirect = true;
    set_desc(&f, 0, gpa(MEM_SIZE - 16), 32, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "outside guest memory");
    fx_cleanup(&f);

    fx_init(&f, 8);
    f.vq.indirect = true;
    set_desc(&f, 0, gpa(BUF_OFF), 16 * 9, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "longer than the ring");
    fx_cleanup(&f);

    /* A loop inside the table. */
    fx_init(&f, 8);
    f.vq.indirect = true;
    table = (VirtqDesc *)(f.mem + BUF_OFF + 0x1000);
    table[0] = (VirtqDesc) { gpa(BUF_OFF), 1, VIRTQ_DESC_F_NEXT, 1 };
    table[1] = (VirtqDesc) { gpa(BUF_OFF), 1, VIRTQ_DESC_F_NEXT, 0 };
    set_desc(&f, 0, gpa(BUF_OFF + 0x1000), 32, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "longer than the ring");
    fx_cleanup(&f);
}

static void test_bad_order(void)
{
    Fx f;

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
             1);
    set_desc(&f, 1, gpa(BUF_OFF), 10, 0, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "readable descriptor after a writable");
    fx_cleanup(&f);
}

/*
 * Zero-length buffers are refused (as QEMU does): they add no iovec
 * piece, so without this a chain of them cost ring-size reads for
 * nothing, per frame (fuzzing finding F4).
 */
static void test_bad_zero_length(void)
{
    Fx f;

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 10, VIRTQ_DESC_F_NEXT, 1);
    set_desc(&f, 1, gpa(BUF_OFF), 0, 0, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "zero-length buffer");
    fx_cleanup(&f);

    fx_init(&f, 8);                     /* alone: not the fast path */
    set_desc(&f, 0, gpa(BUF_OFF), 0, VIRTQ_DESC_F_WRITE, 0);
    make_avail(&f, 0);
    assert_broken_reason(&f, "zero-length buffer");
    fx_cleanup(&f);
}

static void test_broken_until_reset(void)
{
    Fx f;
    const char *reason;

    fx_init(&f, 8);
    make_avail(&f, 9);
    assert_broken(&f);
    /* Fixing the ring does not help; a reset and a new setup do. */
    f.avail->ring[0] = 0;
    set_desc(&f, 0, gpa(BUF_OFF), 10, 0, 0);
    assert_broken(&f);
    virtq_reset(&f.vq);
    g_assert_false(f.vq.broken);
    g_assert_true(virtq_setup(&f.vq, &f.vm, 8, UVA_BASE + DESC_OFF,
                              UVA_BASE + AVAIL_OFF, UVA_BASE + USED_OFF,
                              &reason));
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    fx_cleanup(&f);
}

/* 1024 one-byte pieces: the most one chain can have, accepted. */
static void test_too_many_pieces(void)
{
    Fx f;

    fx_init(&f, 1024);
    for (unsigned i = 0; i < 1024; i++) {
        set_desc(&f, i, gpa(BUF_OFF + i), 1, VIRTQ_DESC_F_NEXT,
                 (uint16_t)(i + 1));
    }
    f.desc[1023].flags = 0;
    make_avail(&f, 0);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    g_assert_cmpuint(f.elem->out_num, ==, 1024);
    fx_cleanup(&f);
}

/* ---- RX ---- */

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(seed + i * 13);
    }
}

/* @n writable buffers of @len bytes at BUF_OFF + i * 0x800. */
static void rx_buffers(Fx *f, unsigned n, uint32_t len)
{
    for (unsigned i = 0; i < n; i++) {
        set_desc(f, i, gpa(BUF_OFF + i * 0x800), len, VIRTQ_DESC_F_WRITE, 0);
        make_avail(f, (uint16_t)i);
    }
}

static void test_rx_mergeable(void)
{
    Fx f;
    uint8_t frame[3000], got[3000];
    struct iovec iov[2] = { { frame, 1000 }, { frame + 1000, 2000 } };
    uint16_t nbufs;

    fill(frame, sizeof(frame), 5);
    fx_init(&f, 8);
    rx_buffers(&f, 4, 1500);
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   true, iov, 2), ==, 3000);
    virtq_flush(&f.vq);
    g_assert_cmpuint(f.used->idx, ==, 3);           /* 12 + 3000 bytes */
    g_assert_cmpuint(f.used->ring[0].len, ==, 1500);
    g_assert_cmpuint(f.used->ring[1].len, ==, 1500);
    g_assert_cmpuint(f.used->ring[2].len, ==, 12);
    memcpy(&nbufs, f.mem + BUF_OFF + 10, 2);
    g_assert_cmpuint(nbufs, ==, 3);
    memcpy(got, f.mem + BUF_OFF + 12, 1488);
    memcpy(got + 1488, f.mem + BUF_OFF + 0x800, 1500);
    memcpy(got + 2988, f.mem + BUF_OFF + 0x1000, 12);
    g_assert_cmpmem(got, sizeof(got), frame, sizeof(frame));
    fx_cleanup(&f);
}

static void test_rx_no_room(void)
{
    Fx f;
    uint16_t *avail_event;
    uint8_t frame[3000] = { 0 };
    struct iovec iov = { frame, sizeof(frame) };

    fx_init(&f, 8);
    rx_buffers(&f, 2, 1500);            /* 3000 + 12 needs a third */
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   true, &iov, 1), ==, 0);
    virtq_flush(&f.vq);
    g_assert_cmpuint(f.used->idx, ==, 0);           /* nothing consumed */
    g_assert_cmpuint(f.vq.last_avail_idx, ==, 0);
    g_assert_cmpuint(virtq_avail_count(&f.vq), ==, 2);
    /*
     * With EVENT_IDX a kick must come with the guest's next buffer: from
     * index 2 on, not 0 (the first unused), which the guest is past.
     */
    f.vq.event_idx = true;
    g_assert_false(virtq_enable_for_more(&f.vq));
    avail_event = (uint16_t *)&f.used->ring[8];
    g_assert_cmpuint(*avail_event, ==, 2);
    /* The guest adds a buffer: now it fits. */
    set_desc(&f, 2, gpa(BUF_OFF + 0x1000), 1500, VIRTQ_DESC_F_WRITE, 0);
    make_avail(&f, 2);
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   true, &iov, 1), ==, 3000);
    fx_cleanup(&f);
}

static void test_rx_not_mergeable(void)
{
    Fx f;
    uint8_t frame[3000] = { 0 };
    struct iovec iov = { frame, sizeof(frame) };

    fx_init(&f, 8);
    rx_buffers(&f, 4, 1500);
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   false, &iov, 1), ==, -EMSGSIZE);
    g_assert_cmpuint(f.vq.last_avail_idx, ==, 0);
    iov.iov_len = 1488;                 /* exactly one buffer */
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   false, &iov, 1), ==, 1488);
    virtq_flush(&f.vq);
    g_assert_cmpuint(f.used->ring[0].len, ==, 1500);
    g_assert_false(f.vq.broken);
    fx_cleanup(&f);
}

static void test_rx_bad_buffer(void)
{
    Fx f;
    uint8_t frame[64] = { 0 };
    struct iovec iov = { frame, sizeof(frame) };

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 1500, 0, 0);       /* not writable */
    make_avail(&f, 0);
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   true, &iov, 1), ==, -EIO);
    g_assert_true(f.vq.broken);
    fx_cleanup(&f);

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 8, VIRTQ_DESC_F_WRITE, 0); /* < header */
    make_avail(&f, 0);
    g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem, VIRTIO_NET_HDR_LEN,
                                   true, &iov, 1), ==, -EIO);
    fx_cleanup(&f);
}

/* A guest re-posting one buffer it never saw used: bounded, no abort. */
static void test_rx_reposted(void)
{
    Fx f;
    uint8_t frame[64] = { 0 };
    struct iovec iov = { frame, sizeof(frame) };

    fx_init(&f, 8);
    set_desc(&f, 0, gpa(BUF_OFF), 1500, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < 70000; i++) {
        make_avail(&f, 0);
        g_assert_cmpint(virtq_rx_frame(&f.vq, &f.vm, f.elem,
                                       VIRTIO_NET_HDR_LEN, true, &iov, 1),
                        ==, 64);
        g_assert_cmpuint(f.vq.used_pending, <=, 8);
    }
    virtq_flush(&f.vq);
    g_assert_cmpuint(f.used->idx, ==, (uint16_t)70000);
    g_assert_false(f.vq.broken);
    fx_cleanup(&f);
}

/* ---- notifications ---- */

static void test_event_idx(void)
{
    Fx f;
    uint16_t *used_event, *avail_event;

    fx_init(&f, 8);
    f.vq.event_idx = true;
    used_event = &f.avail->ring[8];
    avail_event = (uint16_t *)&f.used->ring[8];
    rx_buffers(&f, 6, 100);
    /* First signal always goes. */
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    g_assert_cmpuint(*avail_event, ==, 1);          /* kicks wanted from 1 */
    virtq_push(&f.vq, f.elem->head, 0);
    virtq_flush(&f.vq);
    g_assert_true(virtq_should_notify(&f.vq));
    /* The guest wants an interrupt once used idx passes 3. */
    *used_event = 3;
    for (int i = 0; i < 2; i++) {
        g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
        virtq_push(&f.vq, f.elem->head, 0);
        virtq_flush(&f.vq);
        g_assert_false(virtq_should_notify(&f.vq));  /* idx 2, 3 */
    }
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    virtq_push(&f.vq, f.elem->head, 0);
    virtq_flush(&f.vq);
    g_assert_true(virtq_should_notify(&f.vq));      /* idx 4 crosses 3 */
    g_assert_false(virtq_should_notify(&f.vq));     /* nothing new */
    /* Kicks off: avail_event stays; re-enabled: it moves, and recheck. */
    virtq_set_notification(&f.vq, false);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    g_assert_cmpuint(*avail_event, ==, 4);
    g_assert_true(virtq_enable_and_recheck(&f.vq)); /* one still there */
    g_assert_cmpuint(*avail_event, ==, 5);
    g_assert_cmpint(virtq_pop(&f.vq, &f.vm, f.elem), ==, 1);
    g_assert_false(virtq_enable_and_recheck(&f.vq));
    fx_cleanup(&f);
}

static void test_legacy_flags(void)
{
    Fx f;

    fx_init(&f, 8);
    virtq_set_notification(&f.vq, false);
    g_assert_cmpuint(f.used->flags, ==, VIRTQ_USED_F_NO_NOTIFY);
    virtq_set_notification(&f.vq, true);
    g_assert_cmpuint(f.used->flags, ==, 0);
    g_assert_true(virtq_should_notify(&f.vq));
    f.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    g_assert_false(virtq_should_notify(&f.vq));
    fx_cleanup(&f);
}

static void test_strip(void)
{
    VirtqElement *e = g_new0(VirtqElement, 1);
    uint8_t a[8], b[100];

    e->iov[0] = (struct iovec) { a, sizeof(a) };
    e->iov[1] = (struct iovec) { b, sizeof(b) };
    e->out_num = 2;
    e->out_len = 108;
    g_assert_cmpint(virtq_element_strip(e, 12), ==, 1);
    g_assert_true(e->iov[0].iov_base == b + 4 && e->iov[0].iov_len == 96);
    g_assert_cmpuint(e->out_len, ==, 96);
    g_assert_cmpint(virtq_element_strip(e, 200), ==, -1);
    g_free(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/virtq/mem/translate", test_mem_translate);
    g_test_add_func("/net/virtq/mem/add-refused", test_mem_add_refused);
    g_test_add_func("/net/virtq/setup-refused", test_setup_refused);
    g_test_add_func("/net/virtq/pop/chain", test_pop_chain);
    g_test_add_func("/net/virtq/pop/indirect", test_pop_indirect);
    g_test_add_func("/net/virtq/pop/too-many-pieces", test_too_many_pieces);
    g_test_add_func("/net/virtq/bad/outside", test_bad_desc_outside);
    g_test_add_func("/net/virtq/bad/loop", test_bad_loop);
    g_test_add_func("/net/virtq/bad/indexes", test_bad_indexes);
    g_test_add_func("/net/virtq/bad/indirect", test_bad_indirect);
    g_test_add_func("/net/virtq/bad/order", test_bad_order);
    g_test_add_func("/net/virtq/bad/zero-length", test_bad_zero_length);
    g_test_add_func("/net/virtq/bad/until-reset", test_broken_until_reset);
    g_test_add_func("/net/virtq/rx/mergeable", test_rx_mergeable);
    g_test_add_func("/net/virtq/rx/no-room", test_rx_no_room);
    g_test_add_func("/net/virtq/rx/not-mergeable", test_rx_not_mergeable);
    g_test_add_func("/net/virtq/rx/bad-buffer", test_rx_bad_buffer);
    g_test_add_func("/net/virtq/rx/reposted", test_rx_reposted);
    g_test_add_func("/net/virtq/notify/event-idx", test_event_idx);
    g_test_add_func("/net/virtq/notify/legacy", test_legacy_flags);
    g_test_add_func("/net/virtq/strip", test_strip);
    return g_test_run();
}
