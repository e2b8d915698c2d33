/*
 * DOC: fuzz-common: the harnesses' shared input reader, checks and ring work
 *
 * A harness reads its input with fuzz_u8() ... fuzz_u64() (little-endian,
 * zeros once the input is used up, so every input is a valid program of
 * operations) and states what the code under test promises with
 * fuzz_check(): a broken promise aborts, which libFuzzer records as a
 * crash like any ASan report.  fuzz_ring_tx()/fuzz_ring_rx() do what
 * net/vhost-user.c does with a ring, and check every iovec net/virtq.c
 * returns against the memory the harness gave it (FuzzSpans), so a
 * translation that escapes guest memory fails even where ASan would not
 * see it (a pointer into another valid allocation or mapping).
 */
#include "fuzz-common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_input_init(FuzzInput *in, const uint8_t *data, size_t size)
{
    in->data = data;
    in->size = size;
    in->pos = 0;
}

bool fuzz_input_empty(const FuzzInput *in)
{
    return in->pos >= in->size;
}

size_t fuzz_bytes(FuzzInput *in, void *buf, size_t max)
{
    size_t n = MIN(max, in->size - in->pos);

    memcpy(buf, in->data + in->pos, n);
    in->pos += n;
    return n;
}

/* @n bytes as a little-endian number (missing bytes read as zero). */
static uint64_t fuzz_le(FuzzInput *in, unsigned n)
{
    uint8_t b[8] = { 0 };
    uint64_t v = 0;

    fuzz_bytes(in, b, n);
    for (unsigned i = n; i-- > 0;) {
        v = v << 8 | b[i];
    }
    return v;
}

uint8_t fuzz_u8(FuzzInput *in)
{
    return (uint8_t)fuzz_le(in, 1);
}

uint16_t fuzz_u16(FuzzInput *in)
{
    return (uint16_t)fuzz_le(in, 2);
}

uint32_t fuzz_u32(FuzzInput *in)
{
    return (uint32_t)fuzz_le(in, 4);
}

uint64_t fuzz_u64(FuzzInput *in)
{
    return fuzz_le(in, 8);
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz: invariant broken: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void fuzz_trace(const char *fmt, ...)
{
    static int on = -1;
    va_list ap;

    if (on < 0) {
        on = getenv("FUZZ_TRACE") != NULL;
    }
    if (!on) {
        return;
    }
    fputs("fuzz: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

unsigned fuzz_fd_count(void)
{
    DIR *dir = opendir("/proc/self/fd");
    unsigned n = 0;

    fuzz_check(dir != NULL, "/proc/self/fd: %s", g_strerror(errno));
    while (readdir(dir)) {
        n++;                    /* ".", ".." and the listing's own fd too */
    }
    closedir(dir);
    return n;
}

void fuzz_spans_add(FuzzSpans *spans, const void *base, size_t size)
{
    fuzz_check(spans->n < FUZZ_MAX_SPANS, "too many spans");
    spans->span[spans->n].base = base;
    spans->span[spans->n].size = size;
    spans->n++;
}

bool fuzz_spans_inside(const FuzzSpans *spans, const void *p, size_t len)
{
    uintptr_t start = (uintptr_t)p;

    if (len == 0) {
        return true;
    }
    for (unsigned i = 0; i < spans->n; i++) {
        uintptr_t base = (uintptr_t)spans->span[i].base;

        if (start >= base && start - base <= spans->span[i].size &&
            len <= spans->span[i].size - (start - base)) {
            return true;
        }
    }
    return false;
}

void fuzz_check_rings(const Virtq *vq, const FuzzSpans *spans)
{
    fuzz_check(vq->num && vq->num <= VIRTQ_MAX_SIZE &&
               !(vq->num & (vq->num - 1)), "ring size %u accepted", vq->num);
    fuzz_check(fuzz_spans_inside(spans, vq->desc, virtq_desc_size(vq->num)) &&
               fuzz_spans_inside(spans, vq->avail,
                                 virtq_avail_size(vq->num)) &&
               fuzz_spans_inside(spans, vq->used, virtq_used_size(vq->num)),
               "a ring of size %u outside guest memory accepted", vq->num);
}

/* Each of @n iovecs inside @spans; returns their total length. */
static size_t fuzz_check_iov(const struct iovec *iov, unsigned n,
                             const FuzzSpans *spans, const char *what)
{
    size_t total = 0;

    for (unsigned i = 0; i < n; i++) {
        fuzz_check(fuzz_spans_inside(spans, iov[i].iov_base, iov[i].iov_len),
                   "%s iovec %u (%p, %zu bytes) is outside guest memory",
                   what, i, iov[i].iov_base, iov[i].iov_len);
        total += iov[i].iov_len;
    }
    return total;
}

/* What virtq_pop promises about a chain it returned. */
static void fuzz_check_element(const Virtq *vq, const VirtqElement *elem,
                               const FuzzSpans *spans)
{
    fuzz_check(elem->head < vq->num, "head %u >= ring size %u",
               elem->head, vq->num);
    fuzz_check(elem->out_num + elem->in_num <= VIRTQ_MAX_IOV,
               "%u + %u iovecs", elem->out_num, elem->in_num);
    fuzz_check(fuzz_check_iov(elem->iov, elem->out_num, spans, "out")
               == elem->out_len, "out_len does not add up");
    fuzz_check(fuzz_check_iov(elem->iov + elem->out_num, elem->in_num,
                              spans, "in") == elem->in_len,
               "in_len does not add up");
}

/* Read every readable byte and write every writable one, as a user would. */
static unsigned fuzz_touch_element(const VirtqElement *elem)
{
    unsigned sum = 0;

    for (unsigned i = 0; i < elem->out_num; i++) {
        const uint8_t *p = elem->iov[i].iov_base;

        for (size_t j = 0; j < elem->iov[i].iov_len; j++) {
            sum += p[j];
        }
    }
    for (unsigned i = elem->out_num; i < elem->out_num + elem->in_num; i++) {
        memset(elem->iov[i].iov_base, 0xa5, elem->iov[i].iov_len);
    }
    return sum;
}

/* virtq_element_strip's promise: the frame is what follows the header. */
static void fuzz_strip(VirtqElement *elem, size_t hdr_len,
                       const FuzzSpans *spans)
{
    size_t out_len = elem->out_len;
    int pieces = virtq_element_strip(elem, hdr_len);

    if (out_len < hdr_len) {
        fuzz_check(pieces == -1, "strip of a %zu-byte chain gave %d",
                   out_len, pieces);
        return;
    }
    fuzz_check(pieces >= 0 && (unsigned)pieces <= VIRTQ_MAX_IOV,
               "strip gave %d pieces", pieces);
    fuzz_check(fuzz_check_iov(elem->iov, (unsigned)pieces, spans, "frame")
               == out_len - hdr_len, "stripped frame length is wrong");
}

/* Publish: what was pushed is in used->idx, nothing left pending. */
static void fuzz_flush(Virtq *vq)
{
    bool publish = vq->num && vq->used_pending;
    uint16_t want = (uint16_t)(vq->used_idx + vq->used_pending);

    virtq_flush(vq);
    fuzz_check(!publish || (vq->used_pending == 0 && vq->used_idx == want &&
                            GUINT16_FROM_LE(vq->used->idx) == want),
               "virtq_flush did not publish used idx %u", want);
    virtq_should_notify(vq);
}

static VirtqElement fuzz_elem;      /* 16 KiB: not on the stack */

void fuzz_ring_tx(Virtq *vq, const VuMem *mem, const FuzzSpans *spans,
                  size_t hdr_len, unsigned max, unsigned keep)
{
    uint16_t heads[64];
    unsigned popped = 0;

    max = MIN(max, G_N_ELEMENTS(heads));
    while (popped < max) {
        int r = virtq_pop(vq, mem, &fuzz_elem);

        fuzz_trace("pop: %d%s%s", r, vq->broken ? " broken: " : "",
                   vq->broken ? vq->broken_reason : "");
        fuzz_check(r >= -1 && r <= 1, "virtq_pop returned %d", r);
        fuzz_check(r != -1 || (vq->broken && vq->broken_reason),
                   "virtq_pop failed without marking the ring broken");
        if (r != 1) {
            break;
        }
        fuzz_check(!vq->broken, "virtq_pop popped from a broken ring");
        fuzz_check_element(vq, &fuzz_elem, spans);
        fuzz_trace("  head %u: %u out (%zu bytes), %u in (%zu bytes)",
                   fuzz_elem.head, fuzz_elem.out_num, fuzz_elem.out_len,
                   fuzz_elem.in_num, fuzz_elem.in_len);
        fuzz_touch_element(&fuzz_elem);
        heads[popped++] = fuzz_elem.head;
        if (popped > keep) {
            continue;                   /* given back below: keep it */
        }
        fuzz_strip(&fuzz_elem, hdr_len, spans);
    }
    for (unsigned i = 0; i < MIN(popped, keep); i++) {
        virtq_push(vq, heads[i], 0);
    }
    if (popped > keep) {
        virtq_unpop(vq, popped - keep);
    }
    fuzz_flush(vq);
}

static uint8_t fuzz_frame[65536];

void fuzz_ring_rx(Virtq *vq, const VuMem *mem, size_t hdr_len,
                  bool mergeable, size_t len, unsigned pieces)
{
    struct iovec iov[4];
    size_t at = 0;
    uint16_t last_avail = vq->last_avail_idx;
    uint16_t pending = vq->used_pending;
    ssize_t r;

    len = CLAMP(len, 1, sizeof(fuzz_frame));   /* net.c drops empty frames */
    pieces = CLAMP(pieces, 1, G_N_ELEMENTS(iov));
    for (unsigned i = 0; i < pieces; i++) {
        size_t n = i == pieces - 1 ? len - at : len / pieces;

        iov[i].iov_base = fuzz_frame + at;
        iov[i].iov_len = n;
        at += n;
    }
    r = virtq_rx_frame(vq, mem, &fuzz_elem, hdr_len, mergeable, iov,
                       (int)pieces);
    fuzz_trace("rx %zu bytes in %u pieces: %zd%s%s", len, pieces, r,
               vq->broken ? " broken: " : "",
               vq->broken ? vq->broken_reason : "");
    fuzz_check(r == (ssize_t)len || r == 0 || r == -EIO || r == -EMSGSIZE,
               "virtq_rx_frame of %zu bytes returned %zd", len, r);
    fuzz_check((r == -EIO) == (vq->broken && vq->broken_reason != NULL),
               "virtq_rx_frame returned %zd with the ring %sbroken", r,
               vq->broken ? "" : "not ");
    fuzz_check(r > 0 || r == -EIO || (vq->last_avail_idx == last_avail &&
                                      vq->used_pending == pending),
               "virtq_rx_frame returned %zd but consumed buffers", r);
    fuzz_flush(vq);
}
