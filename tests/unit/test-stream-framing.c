/*
 * DOC: unit tests of the stream framing parser
 *
 * A stream of [len32be][frame]... is built in memory and fed to a
 * StreamFraming in every way a socket could deliver it: split at every byte
 * (inside length headers too), at every pair of points, one byte at a time,
 * many frames in one read, through the zero-copy read space in large reads.
 * Every frame must come out intact, in order, once; lengths above
 * NET_BUFSIZE must be reported; empty frames skipped and counted; and the
 * caller must be able to stop pulling at any frame and resume later.
 */
#include <string.h>
#include <glib.h>
#include "net/stream-framing.h"

typedef struct TestStream {
    GByteArray *bytes;          /* the encoded stream */
    GPtrArray *frames;          /* GByteArray per non-empty frame, in order */
    unsigned empty;             /* zero-length frames encoded */
} TestStream;

static TestStream *test_stream_new(void)
{
    TestStream *ts = g_new0(TestStream, 1);

    ts->bytes = g_byte_array_new();
    ts->frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    return ts;
}

static void test_stream_free(TestStream *ts)
{
    g_byte_array_unref(ts->bytes);
    g_ptr_array_unref(ts->frames);
    g_free(ts);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestStream, test_stream_free)

/* Append a frame of @len bytes whose content depends on @seed. */
static void test_stream_add(TestStream *ts, uint32_t len, unsigned seed)
{
    uint8_t hdr[4];
    GByteArray *frame = g_byte_array_sized_new(len);

    stream_framing_put_header(hdr, len);
    g_byte_array_append(ts->bytes, hdr, sizeof(hdr));
    for (uint32_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
        g_byte_array_append(frame, &b, 1);
    }
    g_byte_array_append(ts->bytes, frame->data, len);
    if (len == 0) {
        ts->empty++;
        g_byte_array_unref(frame);
    } else {
        g_ptr_array_add(ts->frames, frame);
    }
}

/* Checks frames as they come out against the expected list. */
typedef struct Checker {
    TestStream *ts;
    unsigned next;              /* index of the next expected frame */
    unsigned empty;
} Checker;

/* Pull up to @max frames (0: all); returns the last result. */
static StreamFramingResult checker_drain(Checker *c, StreamFraming *sf,
                                         unsigned max)
{
    unsigned pulled = 0;

    for (;;) {
        const uint8_t *frame = NULL;
        size_t len = 0;
        StreamFramingResult r = stream_framing_next(sf, &frame, &len);

        if (r == STREAM_FRAMING_EMPTY) {
            c->empty++;
            continue;
        }
        if (r != STREAM_FRAMING_FRAME) {
            return r;
        }
        g_assert_cmpuint(c->next, <, c->ts->frames->len);
        GByteArray *want = g_ptr_array_index(c->ts->frames, c->next);
        g_assert_cmpmem(frame, len, want->data, want->len);
        /* Zero-copy: the frame lies in the parser's own buffer. */
        g_assert_true(frame >= sf->buf &&
                      frame + len <= sf->buf + sizeof(sf->buf));
        c->next++;
        if (max && ++pulled == max) {
            return r;
        }
    }
}

static void checker_feed_all(Checker *c, StreamFraming *sf,
                             const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t n = stream_framing_feed(sf, data, len);

        g_assert_cmpuint(n, >, 0);
        data += n;
        len -= n;
        g_assert_cmpint(checker_drain(c, sf, 0), ==,
                        STREAM_FRAMING_NEED_MORE);
    }
}

static void checker_assert_done(Checker *c, StreamFraming *sf)
{
    g_assert_cmpuint(c->next, ==, c->ts->frames->len);
    g_assert_cmpuint(c->empty, ==, c->ts->empty);
    g_assert_cmpuint(stream_framing_pending(sf), ==, 0);
}

static TestStream *small_stream(void)
{
    TestStream *ts = test_stream_new();
    static const uint32_t lens[] = { 1, 60, 0, 5, 1514, 2, 0, 0, 64, 3 };

    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        test_stream_add(ts, lens[i], i);
    }
    return ts;
}

static void test_split_every_point(void)
{
    g_autoptr(TestStream) ts = small_stream();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    size_t total = ts->bytes->len;

    for (size_t cut = 0; cut <= total; cut++) {
        Checker c = { .ts = ts };

        stream_framing_reset(sf);
        checker_feed_all(&c, sf, ts->bytes->data, cut);
        checker_feed_all(&c, sf, ts->bytes->data + cut, total - cut);
        checker_assert_done(&c, sf);
    }
}

static void test_split_every_pair(void)
{
    g_autoptr(TestStream) ts = test_stream_new();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    size_t total;

    test_stream_add(ts, 3, 1);
    test_stream_add(ts, 0, 2);
    test_stream_add(ts, 9, 3);
    test_stream_add(ts, 1, 4);
    test_stream_add(ts, 17, 5);
    total = ts->bytes->len;
    for (size_t a = 0; a <= total; a++) {
        for (size_t b = a; b <= total; b++) {
            Checker c = { .ts = ts };

            stream_framing_reset(sf);
            checker_feed_all(&c, sf, ts->bytes->data, a);
            checker_feed_all(&c, sf, ts->bytes->data + a, b - a);
            checker_feed_all(&c, sf, ts->bytes->data + b, total - b);
            checker_assert_done(&c, sf);
        }
    }
}

static void test_byte_at_a_time(void)
{
    g_autoptr(TestStream) ts = small_stream();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    Checker c = { .ts = ts };

    for (size_t i = 0; i < ts->bytes->len; i++) {
        checker_feed_all(&c, sf, ts->bytes->data + i, 1);
    }
    checker_assert_done(&c, sf);
    g_assert_cmpuint(sf->empty_frames, ==, ts->empty);
}

/* recv()-style: write straight into the read space, @chunk bytes a time. */
static void feed_by_read_space(Checker *c, StreamFraming *sf,
                               const uint8_t *data, size_t len, size_t chunk)
{
    while (len > 0) {
        size_t room;
        uint8_t *space = stream_framing_read_space(sf, &room);
        size_t n = MIN(MIN(room, chunk), len);

        g_assert_cmpuint(room, >=, STREAM_FRAMING_READ_ROOM);
        memcpy(space, data, n);
        stream_framing_commit(sf, n);
        data += n;
        len -= n;
        g_assert_cmpint(checker_drain(c, sf, 0), ==,
                        STREAM_FRAMING_NEED_MORE);
    }
}

static void test_many_frames_one_read(void)
{
    g_autoptr(TestStream) ts = test_stream_new();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    Checker c = { .ts = ts };

    /* 1000 small frames: 68 KiB, more than one read's worth. */
    for (unsigned i = 0; i < 1000; i++) {
        test_stream_add(ts, 60 + i % 8, i);
    }
    feed_by_read_space(&c, sf, ts->bytes->data, ts->bytes->len,
                       STREAM_FRAMING_READ_ROOM);
    checker_assert_done(&c, sf);
    g_assert_cmpuint(sf->frames, ==, 1000);
}

static void test_max_size_frame(void)
{
    g_autoptr(TestStream) ts = test_stream_new();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    static const size_t chunks[] = { 1, 3, 1000, 4096, 65536 };

    test_stream_add(ts, 7, 0);          /* shifts the big ones off 0 */
    test_stream_add(ts, NET_BUFSIZE, 1);
    test_stream_add(ts, NET_BUFSIZE - 1, 2);
    test_stream_add(ts, NET_BUFSIZE, 3);
    test_stream_add(ts, 1, 4);
    for (unsigned i = 0; i < G_N_ELEMENTS(chunks); i++) {
        Checker c = { .ts = ts };

        stream_framing_reset(sf);
        feed_by_read_space(&c, sf, ts->bytes->data, ts->bytes->len,
                           chunks[i]);
        checker_assert_done(&c, sf);
    }
    /* Large reads across big frames must have moved partial frames. */
    g_assert_cmpuint(sf->compactions, >, 0);
}

static void test_oversized(void)
{
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    g_autoptr(TestStream) ts = test_stream_new();
    Checker c = { .ts = ts };
    uint8_t bad[4];
    const uint8_t *frame = NULL;
    size_t len = 0;

    test_stream_add(ts, 10, 1);
    stream_framing_put_header(bad, NET_BUFSIZE + 1);
    g_assert_cmpuint(stream_framing_feed(sf, ts->bytes->data,
                                         ts->bytes->len), ==, ts->bytes->len);
    /* Only the header: reported at once, without waiting for a body. */
    g_assert_cmpuint(stream_framing_feed(sf, bad, 4), ==, 4);
    g_assert_cmpint(checker_drain(&c, sf, 0), ==, STREAM_FRAMING_OVERSIZED);
    g_assert_cmpuint(c.next, ==, 1);    /* the good frame before it came out */
    /* Sticky until reset, whatever follows. */
    stream_framing_feed(sf, ts->bytes->data, ts->bytes->len);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_OVERSIZED);
    g_assert_null(frame);

    /* Every header byte matters: 0xffffffff, and 2^24 from the top byte. */
    stream_framing_reset(sf);
    stream_framing_feed(sf, "\xff\xff\xff\xff", 4);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_OVERSIZED);
    stream_framing_reset(sf);
    stream_framing_feed(sf, "\x01\x00\x00\x00", 4);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_OVERSIZED);

    /* After reset the parser works again. */
    stream_framing_reset(sf);
    c = (Checker){ .ts = ts };
    checker_feed_all(&c, sf, ts->bytes->data, ts->bytes->len);
    checker_assert_done(&c, sf);
}

static void test_zero_length(void)
{
    g_autoptr(TestStream) ts = test_stream_new();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    const uint8_t *frame = NULL;
    size_t len = 0;

    test_stream_add(ts, 0, 0);
    test_stream_add(ts, 0, 1);
    test_stream_add(ts, 42, 2);
    stream_framing_feed(sf, ts->bytes->data, ts->bytes->len);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_EMPTY);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_EMPTY);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_FRAME);
    g_assert_cmpuint(len, ==, 42);
    g_assert_cmpint(stream_framing_next(sf, &frame, &len), ==,
                    STREAM_FRAMING_NEED_MORE);
    g_assert_cmpuint(sf->empty_frames, ==, 2);
    g_assert_cmpuint(sf->frames, ==, 1);
}

/*
 * The caller stops after some frames (its peer pushed back), more bytes
 * arrive meanwhile, and it resumes: nothing lost, nothing reordered.
 */
static void test_stop_and_resume(void)
{
    g_autoptr(TestStream) ts = test_stream_new();
    g_autofree StreamFraming *sf = g_new0(StreamFraming, 1);
    Checker c = { .ts = ts };
    GRand *rand = g_rand_new_with_seed(42);
    size_t off = 0, total;

    for (unsigned i = 0; i < 3000; i++) {
        test_stream_add(ts, g_rand_int_range(rand, 0, 1600), i);
    }
    total = ts->bytes->len;
    while (off < total || stream_framing_pending(sf) > 0) {
        size_t want = MIN((size_t)g_rand_int_range(rand, 1, 20000),
                          total - off);
        size_t n = stream_framing_feed(sf, ts->bytes->data + off, want);
        StreamFramingResult r;

        off += n;
        /* Pull a few frames only, sometimes none. */
        r = checker_drain(&c, sf, g_rand_int_range(rand, 1, 6));
        g_assert_cmpint(r, !=, STREAM_FRAMING_OVERSIZED);
        if (off == total && r == STREAM_FRAMING_NEED_MORE) {
            break;
        }
    }
    checker_assert_done(&c, sf);
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/stream-framing/split-every-point",
                    test_split_every_point);
    g_test_add_func("/net/stream-framing/split-every-pair",
                    test_split_every_pair);
    g_test_add_func("/net/stream-framing/byte-at-a-time",
                    test_byte_at_a_time);
    g_test_add_func("/net/stream-framing/many-frames-one-read",
                    test_many_frames_one_read);
    g_test_add_func("/net/stream-framing/max-size-frame",
                    test_max_size_frame);
    g_test_add_func("/net/stream-framing/oversized", test_oversized);
    g_test_add_func("/net/stream-framing/zero-length", test_zero_length);
    g_test_add_func("/net/stream-framing/stop-and-resume",
                    test_stop_and_resume);
    return g_test_run();
}
