/*
 * Unit tests for the bounded frame FIFO (net/frame-ring.c).
 *
 * Fixed scenarios check the bounds (frames and bytes), FIFO order, the
 * wrap-around of the arena and that a refused push changes nothing.  A
 * randomized test drives interleaved pushes and pops with varying sizes
 * against a trivial model (a GQueue of copies) and checks every frame's
 * bytes, the counters and where frames may be placed.  Run with --seed to
 * replay a failure.
 */
#include "net/frame-ring.h"

#include <glib.h>
#include <string.h>

/* Fill @buf with a pattern that depends on @seq, so frames differ. */
static void fill_frame(uint8_t *buf, size_t len, unsigned seq)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seq * 31 + i * 7 + (i >> 8));
    }
}

static FrameSlot *push_pattern(FrameRing *r, size_t len, unsigned seq)
{
    g_autofree uint8_t *buf = g_malloc(len ? len : 1);

    fill_frame(buf, len, seq);
    return frame_ring_push(r, buf, len);
}

static void assert_slot_pattern(const FrameSlot *slot, size_t len,
                                unsigned seq)
{
    g_autofree uint8_t *want = g_malloc(len);

    g_assert_nonnull(slot);
    g_assert_cmpuint(slot->len, ==, len);
    fill_frame(want, len, seq);
    g_assert_cmpmem(slot->data, slot->len, want, len);
}

static size_t slot_offset(const FrameRing *r, const FrameSlot *slot)
{
    return (size_t)(slot->data - r->arena);
}

static void test_empty(void)
{
    FrameRing r;

    frame_ring_init(&r, 100, 4);
    g_assert_true(frame_ring_is_empty(&r));
    g_assert_null(frame_ring_peek(&r));
    g_assert_null(frame_ring_at(&r, 0));
    g_assert_cmpuint(r.bytes, ==, 0);
    g_assert_false(frame_ring_has_room(&r, 0));     /* empty frames: no */
    g_assert_true(frame_ring_has_room(&r, 1));
    g_assert_true(frame_ring_has_room(&r, 100));
    g_assert_false(frame_ring_has_room(&r, 101));
    g_assert_null(push_pattern(&r, 0, 1));
    g_assert_null(push_pattern(&r, 101, 1));
    g_assert_true(frame_ring_is_empty(&r));
    frame_ring_destroy(&r);
}

static void test_fifo(void)
{
    static const size_t lens[] = { 10, 1, 33, 7, 20 };
    FrameRing r;
    size_t total = 0;

    frame_ring_init(&r, 200, 8);
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        FrameSlot *slot = push_pattern(&r, lens[i], i);

        assert_slot_pattern(slot, lens[i], i);
        total += lens[i];
        g_assert_cmpuint(r.count, ==, i + 1);
        g_assert_cmpuint(r.bytes, ==, total);
    }
    /* frame_ring_at indexes from the oldest. */
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        assert_slot_pattern(frame_ring_at(&r, i), lens[i], i);
    }
    g_assert_null(frame_ring_at(&r, G_N_ELEMENTS(lens)));
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        assert_slot_pattern(frame_ring_peek(&r), lens[i], i);
        frame_ring_pop(&r);
        total -= lens[i];
        g_assert_cmpuint(r.bytes, ==, total);
    }
    g_assert_true(frame_ring_is_empty(&r));
    g_assert_null(frame_ring_peek(&r));
    frame_ring_destroy(&r);
}

static void test_push_iov(void)
{
    uint8_t a[] = { 1, 2, 3 }, b[] = { 4 }, c[] = { 5, 6, 7, 8, 9 };
    uint8_t want[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    struct iovec iov[] = {
        { a, sizeof(a) }, { b, 0 }, { b, sizeof(b) }, { c, sizeof(c) },
    };
    FrameRing r;
    FrameSlot *slot;

    frame_ring_init(&r, 64, 4);
    slot = frame_ring_push_iov(&r, iov, G_N_ELEMENTS(iov), sizeof(want));
    g_assert_nonnull(slot);
    g_assert_cmpmem(slot->data, slot->len, want, sizeof(want));
    g_assert_cmpuint(r.bytes, ==, sizeof(want));
    /* A fresh slot has no owner, callback or partial progress. */
    g_assert_null(slot->owner);
    g_assert_null(slot->cb);
    frame_ring_destroy(&r);
}

static void test_bound_frames(void)
{
    FrameRing r;

    frame_ring_init(&r, 1000, 3);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_nonnull(push_pattern(&r, 10, i));
    }
    g_assert_false(frame_ring_has_room(&r, 1));
    g_assert_null(push_pattern(&r, 1, 99));
    g_assert_cmpuint(r.count, ==, 3);
    g_assert_cmpuint(r.bytes, ==, 30);
    frame_ring_pop(&r);
    g_assert_true(frame_ring_has_room(&r, 10));
    g_assert_nonnull(push_pattern(&r, 10, 3));
    for (unsigned i = 0; i < 3; i++) {
        assert_slot_pattern(frame_ring_at(&r, i), 10, i + 1);
    }
    frame_ring_destroy(&r);
}

static void test_bound_bytes(void)
{
    FrameRing r;

    frame_ring_init(&r, 100, 16);
    g_assert_nonnull(push_pattern(&r, 60, 0));
    g_assert_false(frame_ring_has_room(&r, 41));
    g_assert_null(push_pattern(&r, 41, 1));
    g_assert_nonnull(push_pattern(&r, 40, 1));      /* fills it exactly */
    g_assert_cmpuint(r.bytes, ==, 100);
    g_assert_false(frame_ring_has_room(&r, 1));
    g_assert_null(push_pattern(&r, 1, 2));
    assert_slot_pattern(frame_ring_at(&r, 0), 60, 0);
    assert_slot_pattern(frame_ring_at(&r, 1), 40, 1);
    frame_ring_destroy(&r);
}

static void test_wrap(void)
{
    FrameRing r;
    FrameSlot *slot;

    frame_ring_init(&r, 100, 8);
    g_assert_nonnull(push_pattern(&r, 40, 0));      /* A at 0 */
    g_assert_nonnull(push_pattern(&r, 40, 1));      /* B at 40 */
    frame_ring_pop(&r);                             /* A gone: 0..39 free */

    /* C (30) does not fit in the 20 bytes at the end: it goes to 0. */
    slot = push_pattern(&r, 30, 2);
    g_assert_nonnull(slot);
    g_assert_cmpuint(slot_offset(&r, slot), ==, 0);
    /* D (10) fills the gap between C and B exactly. */
    slot = push_pattern(&r, 10, 3);
    g_assert_nonnull(slot);
    g_assert_cmpuint(slot_offset(&r, slot), ==, 30);
    g_assert_false(frame_ring_has_room(&r, 1));
    g_assert_null(push_pattern(&r, 1, 4));

    /* FIFO order holds across the wrap: B, C, D. */
    assert_slot_pattern(frame_ring_at(&r, 0), 40, 1);
    assert_slot_pattern(frame_ring_at(&r, 1), 30, 2);
    assert_slot_pattern(frame_ring_at(&r, 2), 10, 3);
    frame_ring_pop(&r);                             /* B gone */
    assert_slot_pattern(frame_ring_peek(&r), 30, 2);

    /* Now linear again: 60 bytes free at the end, none before C. */
    g_assert_true(frame_ring_has_room(&r, 60));
    g_assert_false(frame_ring_has_room(&r, 61));
    slot = push_pattern(&r, 60, 5);
    g_assert_nonnull(slot);
    g_assert_cmpuint(slot_offset(&r, slot), ==, 40);
    assert_slot_pattern(frame_ring_at(&r, 0), 30, 2);
    assert_slot_pattern(frame_ring_at(&r, 1), 10, 3);
    assert_slot_pattern(frame_ring_at(&r, 2), 60, 5);
    frame_ring_destroy(&r);
}

/* Does not fit at the end, nor before rd: refused although bytes are free. */
static void test_wrap_refused(void)
{
    FrameRing r;

    frame_ring_init(&r, 100, 8);
    g_assert_nonnull(push_pattern(&r, 40, 0));
    g_assert_nonnull(push_pattern(&r, 40, 1));
    frame_ring_pop(&r);             /* free: 0..39 and 80..99 */
    g_assert_false(frame_ring_has_room(&r, 41));
    g_assert_null(push_pattern(&r, 41, 2));
    g_assert_true(frame_ring_has_room(&r, 40));
    g_assert_cmpuint(r.count, ==, 1);
    assert_slot_pattern(frame_ring_peek(&r), 40, 1);
    frame_ring_destroy(&r);
}

/* A refused push leaves the ring and every held frame as they were. */
static void assert_refusal_changes_nothing(FrameRing *r, size_t len)
{
    FrameRing before = *r;
    g_autofree uint8_t *arena = g_memdup2(r->arena, r->arena_size);
    g_autofree FrameSlot *slots =
        g_memdup2(r->slots, sizeof(FrameSlot) * r->max_frames);

    g_assert_false(frame_ring_has_room(r, len));
    g_assert_null(push_pattern(r, len, 0xdead));
    g_assert_true(r->arena == before.arena);
    g_assert_cmpuint(r->rd, ==, before.rd);
    g_assert_cmpuint(r->wr, ==, before.wr);
    g_assert_cmpuint(r->first, ==, before.first);
    g_assert_cmpuint(r->count, ==, before.count);
    g_assert_cmpuint(r->bytes, ==, before.bytes);
    g_assert_cmpmem(slots, sizeof(FrameSlot) * r->max_frames,
                    r->slots, sizeof(FrameSlot) * r->max_frames);
    /* The bytes of held frames (the rest of the arena is undefined). */
    for (unsigned i = 0; i < r->count; i++) {
        FrameSlot *slot = frame_ring_at(r, i);
        size_t off = slot_offset(r, slot);

        g_assert_cmpmem(arena + off, slot->len, slot->data, slot->len);
    }
}

static void test_full_refusal(void)
{
    FrameRing r;

    /* Full in frames. */
    frame_ring_init(&r, 100, 2);
    push_pattern(&r, 5, 0);
    push_pattern(&r, 5, 1);
    assert_refusal_changes_nothing(&r, 1);
    frame_ring_destroy(&r);

    /* Full in bytes, linear. */
    frame_ring_init(&r, 100, 8);
    push_pattern(&r, 70, 0);
    assert_refusal_changes_nothing(&r, 31);
    frame_ring_destroy(&r);

    /* Full in bytes, wrapped. */
    frame_ring_init(&r, 100, 8);
    push_pattern(&r, 50, 0);
    push_pattern(&r, 45, 1);
    frame_ring_pop(&r);
    push_pattern(&r, 20, 2);        /* wraps to 0 */
    assert_refusal_changes_nothing(&r, 31);
    frame_ring_destroy(&r);
}

/* The same ring used until empty starts from offset 0 again. */
static void test_empty_resets(void)
{
    FrameRing r;
    FrameSlot *slot;

    frame_ring_init(&r, 100, 4);
    push_pattern(&r, 70, 0);
    frame_ring_pop(&r);
    /* 80 bytes fit again: an empty ring is whole. */
    slot = push_pattern(&r, 80, 1);
    g_assert_nonnull(slot);
    g_assert_cmpuint(slot_offset(&r, slot), ==, 0);
    assert_slot_pattern(slot, 80, 1);
    frame_ring_destroy(&r);
}

/* ---- randomized, against a model ---------------------------------------- */

typedef struct ModelFrame {
    unsigned seq;
    size_t len;
    uint8_t *data;
} ModelFrame;

static void model_frame_free(gpointer p)
{
    ModelFrame *m = p;

    g_free(m->data);
    g_free(m);
}

/*
 * Where a frame may go, worked out from the slots alone (not from rd/wr):
 * an empty ring is whole; otherwise the free room is after the newest frame
 * (up to the end if the newest lies after the oldest, else up to the oldest)
 * and, in the linear case, before the oldest.
 */
static bool model_fits(FrameRing *r, size_t len)
{
    FrameSlot *oldest, *newest;
    size_t start, end;

    if (len == 0 || len > r->arena_size || r->count == r->max_frames) {
        return false;
    }
    if (r->count == 0) {
        return true;
    }
    oldest = frame_ring_at(r, 0);
    newest = frame_ring_at(r, r->count - 1);
    start = slot_offset(r, oldest);
    end = slot_offset(r, newest) + newest->len;
    if (slot_offset(r, newest) >= start) {
        return r->arena_size - end >= len || start >= len;
    }
    return start - end >= len;
}

static void check_against_model(FrameRing *r, GQueue *model)
{
    size_t bytes = 0;
    unsigned i = 0;

    g_assert_cmpuint(r->count, ==, g_queue_get_length(model));
    g_assert_cmpuint(r->count, <=, r->max_frames);
    for (GList *l = model->head; l; l = l->next, i++) {
        ModelFrame *m = l->data;
        FrameSlot *slot = frame_ring_at(r, i);
        size_t off;

        g_assert_nonnull(slot);
        off = slot_offset(r, slot);
        g_assert_cmpuint(off + slot->len, <=, r->arena_size);
        g_assert_cmpmem(slot->data, slot->len, m->data, m->len);
        bytes += m->len;
        /* No two frames held overlap. */
        for (unsigned j = 0; j < i; j++) {
            FrameSlot *other = frame_ring_at(r, j);
            size_t o = slot_offset(r, other);

            g_assert_true(off + slot->len <= o || o + other->len <= off);
        }
    }
    g_assert_cmpuint(r->bytes, ==, bytes);
    g_assert_cmpuint(r->bytes, <=, r->arena_size);
}

static void run_random(size_t arena_size, unsigned max_frames,
                       size_t max_len, unsigned iterations)
{
    FrameRing r;
    GQueue model = G_QUEUE_INIT;
    unsigned seq = 0, pushed = 0, refused = 0, popped = 0, wrapped = 0;

    frame_ring_init(&r, arena_size, max_frames);
    for (unsigned it = 0; it < iterations; it++) {
        /* Bias towards pushing so the ring is often full. */
        bool push = g_test_rand_int_range(0, 100) < 55 ||
                    g_queue_is_empty(&model);

        if (push) {
            size_t len = (size_t)g_test_rand_int_range(1, (gint32)max_len + 1);
            bool fits = model_fits(&r, len);
            ModelFrame *m = g_new0(ModelFrame, 1);
            FrameSlot *slot;

            m->seq = seq++;
            m->len = len;
            m->data = g_malloc(len);
            fill_frame(m->data, len, m->seq);
            g_assert_cmpint(frame_ring_has_room(&r, len), ==, fits);
            slot = frame_ring_push(&r, m->data, len);
            g_assert_cmpint(slot != NULL, ==, fits);
            if (slot) {
                if (slot_offset(&r, slot) == 0 && r.count > 1) {
                    wrapped++;
                }
                g_queue_push_tail(&model, m);
                pushed++;
            } else {
                model_frame_free(m);
                refused++;
            }
        } else {
            ModelFrame *m = g_queue_pop_head(&model);
            FrameSlot *slot = frame_ring_peek(&r);

            g_assert_nonnull(slot);
            g_assert_cmpmem(slot->data, slot->len, m->data, m->len);
            frame_ring_pop(&r);
            model_frame_free(m);
            popped++;
        }
        if (it % 16 == 0 || r.count < 4) {
            check_against_model(&r, &model);
        }
    }
    check_against_model(&r, &model);
    /* The run exercised what it is meant to. */
    g_assert_cmpuint(pushed, >, iterations / 4);
    g_assert_cmpuint(refused, >, 0);
    g_assert_cmpuint(popped, >, iterations / 4);
    g_assert_cmpuint(wrapped, >, 0);
    while (!g_queue_is_empty(&model)) {
        ModelFrame *m = g_queue_pop_head(&model);

        assert_slot_pattern(frame_ring_peek(&r), m->len, m->seq);
        frame_ring_pop(&r);
        model_frame_free(m);
    }
    g_assert_true(frame_ring_is_empty(&r));
    frame_ring_destroy(&r);
}

static void test_random_bytes_bound(void)
{
    run_random(1000, 64, 300, 200000);
}

static void test_random_frames_bound(void)
{
    run_random(4096, 5, 200, 200000);
}

static void test_random_tiny(void)
{
    run_random(17, 4, 17, 100000);
}

/*
 * An idle ring costs only its struct: the storage comes with the first
 * push (a refused one allocates nothing) and stays once the ring drains.
 */
static void test_lazy_storage(void)
{
    FrameRing r;
    uint8_t *arena;

    frame_ring_init(&r, 100, 4);
    g_assert_null(r.arena);
    g_assert_null(r.slots);
    g_assert_true(frame_ring_has_room(&r, 100));
    g_assert_null(push_pattern(&r, 101, 0));
    g_assert_null(r.arena);
    g_assert_nonnull(push_pattern(&r, 40, 1));
    g_assert_nonnull(r.arena);
    g_assert_nonnull(r.slots);
    arena = r.arena;
    frame_ring_pop(&r);
    g_assert_true(r.arena == arena);
    g_assert_nonnull(push_pattern(&r, 40, 2));
    g_assert_true(r.arena == arena);
    frame_ring_destroy(&r);
    g_assert_null(r.arena);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/frame-ring/empty", test_empty);
    g_test_add_func("/net/frame-ring/lazy-storage", test_lazy_storage);
    g_test_add_func("/net/frame-ring/fifo", test_fifo);
    g_test_add_func("/net/frame-ring/push-iov", test_push_iov);
    g_test_add_func("/net/frame-ring/bound-frames", test_bound_frames);
    g_test_add_func("/net/frame-ring/bound-bytes", test_bound_bytes);
    g_test_add_func("/net/frame-ring/wrap", test_wrap);
    g_test_add_func("/net/frame-ring/wrap-refused", test_wrap_refused);
    g_test_add_func("/net/frame-ring/full-refusal", test_full_refusal);
    g_test_add_func("/net/frame-ring/empty-resets", test_empty_resets);
    g_test_add_func("/net/frame-ring/random/bytes-bound",
                    test_random_bytes_bound);
    g_test_add_func("/net/frame-ring/random/frames-bound",
                    test_random_frames_bound);
    g_test_add_func("/net/frame-ring/random/tiny", test_random_tiny);
    return g_test_run();
}
