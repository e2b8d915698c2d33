/*
 * Unit tests for incoming queues and flow control (net/queue.c through the
 * net/net.c API): a test backend sends to a test NIC whose readiness the
 * test controls.  What is checked is what the two ends see: which frames
 * arrive, in which order, intact; what each send returns; when and how
 * often completion callbacks fire; what is dropped and counted.
 */
#include "net-test-clients.h"

/* Completion callback that does not touch the sender (it may be freed). */
static unsigned blind_cb_calls;

static void blind_sent_cb(NetClientState *sender, ssize_t len)
{
    blind_cb_calls++;
}

static void test_direct(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_cmpint(test_send_async(backend, 1, 60), ==, 60);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    test_assert_frame(nic, 0, 0, 100);
    test_assert_frame(nic, 1, 1, 60);
    g_assert_cmpuint(test_queued(nic), ==, 0);
    /* Delivered at once: no completion callback, now or later. */
    net_client_flush_queued(&nic->nc);
    g_assert_cmpuint(backend->sent->len, ==, 0);

    /* The other direction, scatter-gather, into receive_iov. */
    g_assert_cmpint(test_send(nic, 7, 1500), ==, 1500);
    g_assert_cmpuint(backend->frames->len, ==, 1);
    test_assert_frame(backend, 0, 7, 1500);
    net_cleanup();
}

/* A receiver that returned 0 gets nothing more until it flushes. */
static void test_flush_order(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->refuse = 1;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 0);
    g_assert_cmpint(test_send(backend, 1, 200), ==, 0);
    g_assert_cmpint(test_send(backend, 2, 300), ==, 0);
    g_assert_cmpuint(nic->receive_calls, ==, 1);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    g_assert_cmpuint(test_queued(nic), ==, 3);
    g_assert_false(net_client_can_receive(&nic->nc));

    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(nic->frames->len, ==, 3);
    test_assert_frame(nic, 0, 0, 100);
    test_assert_frame(nic, 1, 1, 200);
    test_assert_frame(nic, 2, 2, 300);
    g_assert_cmpuint(test_queued(nic), ==, 0);
    g_assert_true(net_client_can_receive(&nic->nc));
    /* Direct again. */
    g_assert_cmpint(test_send(backend, 3, 50), ==, 50);
    test_assert_frame(nic, 3, 3, 50);
    net_cleanup();
}

/* can_receive() false queues without calling receive(). */
static void test_can_receive_false(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 0, 64), ==, 0);
    g_assert_cmpint(test_send(backend, 1, 65), ==, 0);
    g_assert_cmpuint(nic->receive_calls, ==, 0);
    g_assert_cmpuint(test_queued(nic), ==, 2);
    /* Not receivable yet: flushing delivers nothing. */
    g_assert_false(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(nic->receive_calls, ==, 0);

    /* Receivable again: a new frame goes behind the queued ones. */
    nic->can_receive = true;
    g_assert_cmpint(test_send(backend, 2, 66), >, 0);
    g_assert_cmpuint(nic->frames->len, ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        test_assert_frame(nic, i, i, 64 + i);
    }
    g_assert_cmpuint(test_queued(nic), ==, 0);
    net_cleanup();
}

static void stop_after_two(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 2) {
        c->can_receive = false;
    }
}

static void refuse_after_two(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 2) {
        c->refuse = 1;
    }
}

/* A flush stops where the receiver stops taking and resumes there. */
static void test_flush_partial(void)
{
    void (*stops[])(TestClient *, const uint8_t *, size_t) = {
        stop_after_two, refuse_after_two,
    };

    for (unsigned s = 0; s < G_N_ELEMENTS(stops); s++) {
        TestClient *nic, *backend;

        test_pair_new(&nic, &backend);
        nic->can_receive = false;
        for (unsigned i = 0; i < 5; i++) {
            g_assert_cmpint(test_send(backend, i, 100 + i), ==, 0);
        }
        nic->can_receive = true;
        nic->on_receive = stops[s];
        g_assert_false(net_client_flush_queued(&nic->nc));
        g_assert_cmpuint(nic->frames->len, ==, 2);
        g_assert_cmpuint(test_queued(nic), ==, 3);

        nic->on_receive = NULL;
        nic->can_receive = true;
        g_assert_true(net_client_flush_queued(&nic->nc));
        g_assert_cmpuint(nic->frames->len, ==, 5);
        for (unsigned i = 0; i < 5; i++) {
            test_assert_frame(nic, i, i, 100 + i);
        }
        net_cleanup();
    }
}

/*
 * Async send: 0 when queued; the callback fires once, after the send
 * returned (test_sent_cb asserts it is not inside the send), with the length.
 */
static void test_async_callback(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->can_receive = false;
    g_assert_cmpint(test_send_async(backend, 0, 300), ==, 0);
    g_assert_cmpuint(backend->sent->len, ==, 0);
    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(backend->sent->len, ==, 1);
    g_assert_cmpint(test_sent_at(backend, 0), ==, 300);
    test_assert_frame(nic, 0, 0, 300);
    /* Exactly once. */
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(backend->sent->len, ==, 1);

    /* Queued because receive() returned 0. */
    nic->refuse = 1;
    g_assert_cmpint(test_send_async(backend, 1, 400), ==, 0);
    g_assert_cmpuint(nic->receive_calls, ==, 2);
    g_assert_cmpuint(backend->sent->len, ==, 1);
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(backend->sent->len, ==, 2);
    g_assert_cmpint(test_sent_at(backend, 1), ==, 400);
    test_assert_frame(nic, 1, 1, 400);
    net_cleanup();
}

/* Without a callback the queue holds NET_QUEUE_DEFAULT_FRAMES frames. */
static void test_bound_frames(void)
{
    TestClient *nic, *backend;
    NetQueue *queue;

    test_pair_new(&nic, &backend);
    queue = nic->nc.incoming_queue;
    nic->can_receive = false;
    for (unsigned i = 0; i < NET_QUEUE_DEFAULT_FRAMES; i++) {
        g_assert_cmpint(test_send(backend, i, 64), ==, 0);
    }
    g_assert_cmpuint(net_queue_dropped(queue), ==, 0);
    /* Dropped, reported as sent, counted. */
    g_assert_cmpint(test_send(backend, 5000, 64), ==, 64);
    g_assert_cmpint(test_send(backend, 5001, 64), ==, 64);
    g_assert_cmpuint(net_queue_dropped(queue), ==, 2);
    g_assert_cmpuint(test_queued(nic), ==, NET_QUEUE_DEFAULT_FRAMES);
    /* A frame with a callback is not dropped. */
    g_assert_cmpint(test_send_async(backend, 6000, NET_BUFSIZE), ==, 0);
    g_assert_cmpuint(net_queue_dropped(queue), ==, 2);

    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(nic->frames->len, ==, NET_QUEUE_DEFAULT_FRAMES + 1);
    for (unsigned i = 0; i < NET_QUEUE_DEFAULT_FRAMES; i++) {
        g_assert_cmpuint(test_frame_seq(nic, i), ==, i);
    }
    test_assert_frame(nic, NET_QUEUE_DEFAULT_FRAMES, 6000, NET_BUFSIZE);
    g_assert_cmpuint(backend->sent->len, ==, 1);
    g_assert_cmpint(test_sent_at(backend, 0), ==, NET_BUFSIZE);
    net_cleanup();
}

/* Without a callback the queue holds NET_QUEUE_DEFAULT_BYTES bytes. */
static void test_bound_bytes(void)
{
    const size_t len = 65536;
    const unsigned fit = NET_QUEUE_DEFAULT_BYTES / len;
    TestClient *nic, *backend;
    NetQueue *queue;

    g_assert_cmpuint(fit, <, NET_QUEUE_DEFAULT_FRAMES);
    test_pair_new(&nic, &backend);
    queue = nic->nc.incoming_queue;
    nic->can_receive = false;
    for (unsigned i = 0; i < fit; i++) {
        g_assert_cmpint(test_send(backend, i, len), ==, 0);
    }
    g_assert_cmpint(test_send(backend, 100, len), ==, (ssize_t)len);
    g_assert_cmpuint(net_queue_dropped(queue), ==, 1);
    /* Even one byte more is over the byte bound. */
    g_assert_cmpint(test_send(backend, 101, 1), ==, 1);
    g_assert_cmpuint(net_queue_dropped(queue), ==, 2);
    /* With a callback: queued beyond the bound. */
    g_assert_cmpint(test_send_async(backend, 200, NET_BUFSIZE), ==, 0);
    g_assert_cmpuint(net_queue_dropped(queue), ==, 2);

    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(nic->frames->len, ==, fit + 1);
    for (unsigned i = 0; i < fit; i++) {
        test_assert_frame(nic, i, i, len);
    }
    test_assert_frame(nic, fit, 200, NET_BUFSIZE);
    g_assert_cmpuint(backend->sent->len, ==, 1);
    g_assert_cmpint(test_sent_at(backend, 0), ==, NET_BUFSIZE);
    net_cleanup();
}

/* ---- sends from inside callbacks and hooks ------------------------------ */

#define CHAIN_LEN 50
static unsigned chain_sent;         /* frames sent by the chain */
static unsigned chain_queued;       /* of which the send returned 0 */

static size_t chain_frame_len(unsigned seq)
{
    return 60 + (seq * 97) % 1400;
}

static void chain_cb(NetClientState *sender, ssize_t len)
{
    TestClient *c = test_client(sender);
    unsigned seq = chain_sent;

    g_assert_false(c->in_send);
    g_array_append_val(c->sent, len);
    if (chain_sent == CHAIN_LEN) {
        return;
    }
    /* A frame without callback in between, then the next with one. */
    if (seq % 3 == 0) {
        g_assert_cmpint(test_send(c, 1000 + seq, 70), >=, 0);
    }
    chain_sent++;
    if (test_send_cb(c, seq, chain_frame_len(seq), chain_cb) == 0) {
        chain_queued++;
    }
}

static void refuse_at_twenty(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 20) {
        c->refuse = 1;
    }
}

/* Order holds when the sender sends again from its completion callback. */
static void test_order_from_callback(void)
{
    TestClient *nic, *backend;
    unsigned n = 0;

    test_pair_new(&nic, &backend);
    chain_sent = 1;
    chain_queued = 1;
    nic->can_receive = false;
    g_assert_cmpint(test_send_cb(backend, 0, chain_frame_len(0), chain_cb),
                    ==, 0);
    nic->can_receive = true;
    /* The receiver stops once in the middle of the chain. */
    nic->on_receive = refuse_at_twenty;
    net_client_flush_queued(&nic->nc);
    g_assert_cmpuint(nic->frames->len, ==, 20);
    g_assert_cmpuint(test_queued(nic), >, 0);
    while (test_queued(nic) && n++ < 10) {
        net_client_flush_queued(&nic->nc);
    }
    g_assert_cmpuint(chain_sent, ==, CHAIN_LEN);
    g_assert_cmpuint(test_queued(nic), ==, 0);

    /* Every frame arrived, in the order sent, and each callback fired once. */
    n = 0;
    for (unsigned seq = 0; seq < CHAIN_LEN; seq++) {
        if (seq > 0 && seq % 3 == 0) {
            test_assert_frame(nic, n++, 1000 + seq, 70);
        }
        test_assert_frame(nic, n++, seq, chain_frame_len(seq));
    }
    g_assert_cmpuint(nic->frames->len, ==, n);
    /* Sent from inside the flush loop: all were queued (returned 0). */
    g_assert_cmpuint(chain_queued, ==, CHAIN_LEN);
    g_assert_cmpuint(backend->sent->len, ==, CHAIN_LEN);
    for (unsigned i = 0; i < backend->sent->len; i++) {
        g_assert_cmpint(test_sent_at(backend, i), ==, chain_frame_len(i));
    }
    net_cleanup();
}

static void nic_reply_once(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 1) {
        g_assert_cmpint(test_send(c, 100, 60), ==, 60);
    }
}

static ssize_t echo_ret = -1;

static void backend_echo_once(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 1) {
        echo_ret = test_send_async(c, 200, 70);
    }
}

/*
 * The NIC answers a frame from inside receive(); the backend echoes the
 * answer from inside its receive(), back into the NIC that is still
 * receiving.  The echo must reach the NIC (or be reported delivered), and if
 * it was queued (send returned 0) its callback must fire, from the main
 * loop (not inside the backend's send): nobody else will flush a NIC that
 * never refused anything.
 */
static void test_send_inside_receive(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->on_receive = nic_reply_once;
    backend->on_receive = backend_echo_once;
    echo_ret = -1;
    g_assert_cmpint(test_send(backend, 0, 50), ==, 50);
    g_assert_cmpint(echo_ret, >=, 0);
    g_assert_cmpuint(backend->frames->len, ==, 1);
    test_assert_frame(backend, 0, 100, 60);

    /* A frame queued from inside a delivery is flushed by the main loop. */
    for (int i = 0; i < 10 && test_queued(nic); i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_cmpuint(test_queued(nic), ==, 0);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    test_assert_frame(nic, 0, 0, 50);
    test_assert_frame(nic, 1, 200, 70);
    g_assert_cmpuint(backend->sent->len, ==, echo_ret == 0 ? 1 : 0);
    net_cleanup();
}

static void flush_self(TestClient *c, const uint8_t *buf, size_t len)
{
    net_client_flush_queued(&c->nc);
}

/* A receiver that flushes itself from inside receive() gets no duplicates. */
static void test_flush_inside_receive(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->can_receive = false;
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(test_send_async(backend, i, 100 + i), ==, 0);
    }
    nic->can_receive = true;
    nic->on_receive = flush_self;
    net_client_flush_queued(&nic->nc);
    g_assert_cmpuint(nic->frames->len, ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        test_assert_frame(nic, i, i, 100 + i);
        g_assert_cmpint(test_sent_at(backend, i), ==, 100 + i);
    }
    g_assert_cmpuint(backend->sent->len, ==, 3);
    g_assert_cmpuint(test_queued(nic), ==, 0);
    net_cleanup();
}

/* ---- teardown ------------------------------------------------------------ */

/* Freeing the sender drops its queued frames, with no callback to it. */
static void test_purge_sender(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    backend->cleanups = &cleanups;
    blind_cb_calls = 0;
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 0);
    g_assert_cmpint(test_send_cb(backend, 1, 100, blind_sent_cb), ==, 0);
    net_client_free(&backend->nc);
    g_assert_cmpuint(cleanups, ==, 1);
    g_assert_cmpuint(blind_cb_calls, ==, 0);
    g_assert_null(nic->nc.peer);

    nic->can_receive = true;
    net_client_flush_queued(&nic->nc);
    g_assert_cmpuint(nic->receive_calls, ==, 0);
    g_assert_cmpuint(blind_cb_calls, ==, 0);
    g_assert_cmpuint(nic->nc.stats.rx_frames, ==, 0);
    net_cleanup();
}

/*
 * Frames of a freed sender no longer count: the queue is empty and a new
 * backend attached to the NIC can queue a full bound of frames.
 */
static void test_purge_frees_room(void)
{
    TestClient *nic, *backend, *backend2;

    test_pair_new(&nic, &backend);
    nic->can_receive = false;
    for (unsigned i = 0; i < NET_QUEUE_DEFAULT_FRAMES; i++) {
        g_assert_cmpint(test_send(backend, i, 64), ==, 0);
    }
    net_client_free(&backend->nc);
    g_assert_cmpuint(test_queued(nic), ==, 0);

    backend2 = test_client_new(&test_backend_info, NULL, "net1");
    net_client_set_peer(&backend2->nc, &nic->nc);
    net_client_set_link(&nic->nc, true);
    g_assert_cmpint(test_send(backend2, 7, 64), ==, 0);
    g_assert_cmpuint(net_queue_dropped(nic->nc.incoming_queue), ==, 0);
    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(nic->frames->len, ==, 1);
    test_assert_frame(nic, 0, 7, 64);
    net_cleanup();
}

/*
 * Freeing the receiver releases a sender waiting for a callback.  The
 * sender is a backend: its NIC went away, its own link state stays (as in
 * QEMU), so a NIC attached later works at once.
 */
static void test_free_receiver(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    nic->cleanups = &cleanups;
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 0);
    g_assert_cmpint(test_send_async(backend, 1, 200), ==, 0);
    net_client_free(&nic->nc);
    g_assert_cmpuint(cleanups, ==, 1);
    g_assert_cmpuint(backend->sent->len, ==, 1);
    g_assert_cmpint(test_sent_at(backend, 0), ==, 0);
    g_assert_null(backend->nc.peer);
    g_assert_false(backend->nc.link_down);
    g_assert_cmpuint(backend->link_changes, ==, 0);
    /* Nowhere to go now: dropped, reported sent, no callback. */
    g_assert_cmpint(test_send_async(backend, 2, 300), ==, 300);
    g_assert_cmpuint(backend->sent->len, ==, 1);
    net_cleanup();
}

static void free_sender_cb(NetClientState *sender, ssize_t len)
{
    blind_cb_calls++;
    net_client_free(sender);
}

/* A sender may free itself from its completion callback. */
static void test_sender_frees_itself(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    blind_cb_calls = 0;
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 0);
    g_assert_cmpint(test_send_cb(backend, 1, 200, free_sender_cb), ==, 0);
    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));
    g_assert_cmpuint(blind_cb_calls, ==, 1);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    test_assert_frame(nic, 1, 1, 200);
    g_assert_null(net_client_find("net0"));
    g_assert_null(nic->nc.peer);
    net_cleanup();
}

static ssize_t resend_ret;

static void resend_cb(NetClientState *sender, ssize_t len)
{
    blind_cb_calls++;
    g_assert_cmpint(len, ==, 0);
    resend_ret = test_send_async(test_client(sender), 9, 90);
}

/* Released by the receiver's end, a sender that resends is not stuck. */
static void test_release_then_send(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    blind_cb_calls = 0;
    resend_ret = -1;
    nic->can_receive = false;
    g_assert_cmpint(test_send_cb(backend, 0, 100, resend_cb), ==, 0);
    net_client_free(&nic->nc);
    g_assert_cmpuint(blind_cb_calls, ==, 1);
    g_assert_cmpint(resend_ret, ==, 90);        /* no peer: dropped */
    g_assert_cmpuint(backend->sent->len, ==, 0);
    net_cleanup();
}

/* ---- randomized: an honest async sender never loses a frame ------------- */

typedef struct Expect {
    uint32_t seq;
    size_t len;
} Expect;

static GArray *lossless_received;   /* Expect of every frame taken */

/* Check each frame's bytes as it arrives; keep only (seq, len). */
static void lossless_on_receive(TestClient *c, const uint8_t *buf,
                                size_t len)
{
    Expect e = { test_frame_seq(c, 0), len };

    test_assert_frame(c, 0, e.seq, len);
    g_array_append_val(lossless_received, e);
    g_ptr_array_set_size(c->frames, 0);
}

static bool lossless_last_is(uint32_t seq)
{
    return lossless_received->len &&
           g_array_index(lossless_received, Expect,
                         lossless_received->len - 1).seq == seq;
}

/*
 * A backend floods a NIC that stalls, refuses and flushes at random.  The
 * backend honours the rule: after an async send returned 0 it sends nothing
 * until the callback fired.  Frames without callback may be dropped
 * (counted); frames with one never are; nothing is reordered or damaged.
 */
static void test_honest_sender_lossless(void)
{
    TestClient *nic, *backend;
    GArray *expect = g_array_new(FALSE, FALSE, sizeof(Expect));
    unsigned cb_queued = 0, dropped = 0, refused_hits = 0;
    uint32_t seq = 0;

    lossless_received = g_array_new(FALSE, FALSE, sizeof(Expect));
    test_pair_new(&nic, &backend);
    nic->on_receive = lossless_on_receive;
    for (unsigned step = 0; step < 20000; step++) {
        int what = g_test_rand_int_range(0, 100);

        if (what < 90 && backend->sent->len == cb_queued) {
            /* Not waiting for a callback: the sender may send. */
            bool cb = g_test_rand_int_range(0, 100) < 3;
            size_t len = g_test_rand_int_range(0, 100) < 30
                ? (size_t)g_test_rand_int_range(4, 1600)
                : (size_t)g_test_rand_int_range(4, NET_BUFSIZE + 1);
            ssize_t ret = cb ? test_send_async(backend, seq, len)
                             : test_send(backend, seq, len);
            Expect e = { seq++, len };

            g_assert_cmpint(ret, >=, 0);
            if (ret == 0) {
                cb_queued += cb;
                g_array_append_val(expect, e);
            } else if (lossless_last_is(e.seq)) {
                g_assert_cmpint(ret, ==, (ssize_t)len);
                g_array_append_val(expect, e);      /* delivered at once */
            } else {
                g_assert_cmpint(ret, ==, (ssize_t)len);
                g_assert_false(cb);     /* only frames without cb drop */
                dropped++;
            }
        } else if (what < 92) {
            /* The NIC's ring fills up or drains. */
            nic->can_receive = g_test_rand_bit();
            if (nic->can_receive) {
                net_client_flush_queued(&nic->nc);
            }
        } else if (what < 94) {
            nic->refuse = 1;
            refused_hits++;
        } else if (nic->can_receive) {
            /* The NIC keeps its promise to flush (and may stop again). */
            net_client_flush_queued(&nic->nc);
        }
    }
    nic->can_receive = true;
    nic->refuse = 0;
    g_assert_true(net_client_flush_queued(&nic->nc));

    /* Everything not dropped arrived, in order. */
    g_assert_cmpuint(lossless_received->len, ==, expect->len);
    for (unsigned i = 0; i < expect->len; i++) {
        Expect *want = &g_array_index(expect, Expect, i);
        Expect *got = &g_array_index(lossless_received, Expect, i);

        g_assert_cmpuint(got->seq, ==, want->seq);
        g_assert_cmpuint(got->len, ==, want->len);
    }
    g_assert_cmpuint(backend->sent->len, ==, cb_queued);
    g_assert_cmpuint(net_queue_dropped(nic->nc.incoming_queue), ==, dropped);
    g_test_message("%u frames, %u dropped, %u callbacks", seq, dropped,
                   cb_queued);
    /* The run exercised queueing, dropping and callbacks. */
    g_assert_cmpuint(cb_queued, >, 10);
    g_assert_cmpuint(dropped, >, 0);
    g_assert_cmpuint(refused_hits, >, 0);
    g_array_unref(expect);
    g_clear_pointer(&lossless_received, g_array_unref);
    net_cleanup();
}

/*
 * The high-water mark: the most frames and bytes queued at once, kept
 * when the queue drains; a full queue reaches the bound and stays there.
 */
static void test_high_water(void)
{
    TestClient *nic, *backend;
    NetQueue *queue;

    test_pair_new(&nic, &backend);
    queue = nic->nc.incoming_queue;
    g_assert_cmpuint(net_queue_high_water_frames(queue), ==, 0);
    /* Delivered directly: never queued. */
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_cmpuint(net_queue_high_water_frames(queue), ==, 0);
    g_assert_cmpuint(net_queue_high_water_bytes(queue), ==, 0);

    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 1, 100), ==, 0);
    g_assert_cmpint(test_send(backend, 2, 300), ==, 0);
    g_assert_cmpint(test_send(backend, 3, 50), ==, 0);
    g_assert_cmpuint(net_queue_high_water_frames(queue), ==, 3);
    g_assert_cmpuint(net_queue_high_water_bytes(queue), ==, 450);
    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));
    /* Drained: the mark stays; two frames do not move it. */
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 4, 1000), ==, 0);
    g_assert_cmpint(test_send(backend, 5, 10), ==, 0);
    g_assert_cmpuint(net_queue_high_water_frames(queue), ==, 3);
    g_assert_cmpuint(net_queue_high_water_bytes(queue), ==, 1010);
    nic->can_receive = true;
    g_assert_true(net_client_flush_queued(&nic->nc));

    /* Full: the bound, and the drops beyond it do not count. */
    nic->can_receive = false;
    for (unsigned i = 0; i < NET_QUEUE_DEFAULT_FRAMES + 10; i++) {
        test_send(backend, 10 + i, 64);
    }
    g_assert_cmpuint(net_queue_dropped(queue), ==, 10);
    g_assert_cmpuint(nic->nc.stats.dropped_by[NET_DROP_QUEUE_FULL], ==, 10);
    g_assert_cmpuint(nic->nc.stats.dropped, ==, 10);
    g_assert_cmpuint(net_queue_high_water_frames(queue), ==,
                     NET_QUEUE_DEFAULT_FRAMES);
    g_assert_cmpuint(net_queue_high_water_bytes(queue), ==,
                     NET_QUEUE_DEFAULT_FRAMES * 64);
    net_cleanup();
}

/* Drops by reason: link down, empty frames. */
static void test_drop_reasons(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    g_assert_cmpint(test_send(backend, 0, 0), ==, -EINVAL);
    g_assert_cmpuint(backend->nc.stats.dropped_by[NET_DROP_MALFORMED], ==, 1);
    net_client_set_link(&backend->nc, false);
    g_assert_cmpint(test_send(backend, 1, 60), ==, 60);
    g_assert_cmpint(test_send(backend, 2, 60), ==, 60);
    g_assert_cmpuint(backend->nc.stats.dropped_by[NET_DROP_LINK_DOWN], ==, 2);
    g_assert_cmpuint(backend->nc.stats.dropped, ==, 3);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    net_cleanup();
}

static TestClient *reentry_backend;
static ssize_t reentry_ret;
static unsigned reentry_calls;

/* From inside its receive(), the NIC is sent a second frame. */
static void send_to_self_once(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 1) {
        reentry_ret = test_send(reentry_backend, 1, 70);
        reentry_calls = c->receive_calls;
    }
}

/*
 * A frame delivered at once keeps the receiver's queue busy while its
 * receive() runs: a frame sent to it from in there waits in the queue
 * (no nested receive()) and the main loop delivers it, in order.
 */
static void test_direct_reentry(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    reentry_backend = backend;
    reentry_ret = -1;
    nic->on_receive = send_to_self_once;
    g_assert_cmpint(test_send(backend, 0, 60), ==, 60);
    g_assert_cmpint(reentry_ret, ==, 0);
    g_assert_cmpuint(reentry_calls, ==, 1);
    g_assert_cmpuint(nic->frames->len, ==, 1);
    g_assert_cmpuint(test_queued(nic), ==, 1);
    for (int i = 0; i < 10 && test_queued(nic); i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_cmpuint(nic->frames->len, ==, 2);
    test_assert_frame(nic, 0, 0, 60);
    test_assert_frame(nic, 1, 1, 70);
    net_cleanup();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/queue/direct", test_direct);
    g_test_add_func("/net/queue/direct-reentry", test_direct_reentry);
    g_test_add_func("/net/queue/flush-order", test_flush_order);
    g_test_add_func("/net/queue/can-receive-false", test_can_receive_false);
    g_test_add_func("/net/queue/flush-partial", test_flush_partial);
    g_test_add_func("/net/queue/async-callback", test_async_callback);
    g_test_add_func("/net/queue/bound-frames", test_bound_frames);
    g_test_add_func("/net/queue/bound-bytes", test_bound_bytes);
    g_test_add_func("/net/queue/high-water", test_high_water);
    g_test_add_func("/net/queue/drop-reasons", test_drop_reasons);
    g_test_add_func("/net/queue/order-from-callback",
                    test_order_from_callback);
    g_test_add_func("/net/queue/flush-inside-receive",
                    test_flush_inside_receive);
    g_test_add_func("/net/queue/purge-sender", test_purge_sender);
    g_test_add_func("/net/queue/free-receiver", test_free_receiver);
    g_test_add_func("/net/queue/sender-frees-itself",
                    test_sender_frees_itself);
    g_test_add_func("/net/queue/release-then-send", test_release_then_send);
    g_test_add_func("/net/queue/honest-sender-lossless",
                    test_honest_sender_lossless);
    /* These two fail on the current core (see the report): keep them last
     * so a failure does not hide the results of the others. */
    g_test_add_func("/net/queue/send-inside-receive",
                    test_send_inside_receive);
    g_test_add_func("/net/queue/purge-frees-room", test_purge_frees_room);
    return g_test_run();
}
