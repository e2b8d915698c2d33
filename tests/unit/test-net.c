/*
 * Unit tests for the net-client core (net/net.c): checks on the send path
 * (size, peer, link), link state, counters, scatter-gather, the client
 * list, the "info network" line and teardown.  Queueing and flow control
 * are in test-queue.c.
 */
#include "net-test-clients.h"

static void test_free_null(void)
{
    net_client_free(NULL);
    net_queue_free(NULL);
    net_cleanup();      /* nothing to free */
    g_assert_null(net_client_find("nic0"));
}

/* A frame to or from a client whose link is down: dropped, "sent". */
static void assert_link_drop(TestClient *from, TestClient *to)
{
    uint64_t dropped = from->nc.stats.dropped + to->nc.stats.dropped;
    unsigned frames = to->frames->len, sent = from->sent->len;

    g_assert_cmpint(test_send(from, 1, 100), ==, 100);
    g_assert_cmpint(test_send_async(from, 2, 200), ==, 200);
    g_assert_cmpuint(to->frames->len, ==, frames);
    g_assert_cmpuint(to->receive_calls, ==, frames);
    g_assert_cmpuint(test_queued(to), ==, 0);
    g_assert_cmpuint(from->sent->len, ==, sent);
    g_assert_cmpuint(from->nc.stats.dropped + to->nc.stats.dropped, ==,
                     dropped + 2);
    g_assert_cmpuint(from->nc.stats.tx_frames, ==, 0);
    g_assert_cmpuint(to->nc.stats.rx_frames, ==, 0);
}

static void test_link_down_sender(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    backend->nc.link_down = true;       /* this side only */
    assert_link_drop(backend, nic);
    net_cleanup();
}

static void test_link_down_receiver(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->nc.link_down = true;           /* this side only */
    assert_link_drop(backend, nic);
    net_cleanup();
}

static void test_link_down_both_directions(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    net_client_set_link(&nic->nc, false);
    assert_link_drop(backend, nic);
    assert_link_drop(nic, backend);
    /* Up again: frames flow. */
    net_client_set_link(&nic->nc, true);
    g_assert_cmpint(test_send(backend, 3, 300), ==, 300);
    g_assert_cmpuint(nic->frames->len, ==, 1);
    test_assert_frame(nic, 0, 3, 300);
    net_cleanup();
}

static void test_no_peer(void)
{
    TestClient *backend = test_client_new(&test_backend_info, NULL, "net0");

    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_cmpint(test_send_async(backend, 1, 100), ==, 100);
    g_assert_cmpuint(backend->sent->len, ==, 0);
    g_assert_cmpuint(backend->nc.stats.tx_frames, ==, 0);
    net_cleanup();
}

static void test_oversized(void)
{
    TestClient *nic, *backend;
    g_autofree uint8_t *big = g_malloc0(NET_BUFSIZE + 1);
    struct iovec iov[] = {
        { big, NET_BUFSIZE / 2 }, { big, NET_BUFSIZE / 2 + 1 },
    };

    test_pair_new(&nic, &backend);
    g_assert_cmpint(net_client_send(&backend->nc, big, NET_BUFSIZE + 1), ==,
                    -EMSGSIZE);
    g_assert_cmpint(test_send_async(backend, 0, NET_BUFSIZE + 1), ==,
                    -EMSGSIZE);
    g_assert_cmpint(net_client_send_iov_async(&backend->nc, iov, 2, NULL),
                    ==, -EMSGSIZE);
    g_assert_cmpuint(backend->nc.stats.oversized, ==, 3);
    g_assert_cmpuint(nic->receive_calls, ==, 0);
    g_assert_cmpuint(backend->sent->len, ==, 0);
    /* Refused even when it would only have been queued. */
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 1, NET_BUFSIZE + 1), ==, -EMSGSIZE);
    g_assert_cmpuint(test_queued(nic), ==, 0);
    g_assert_cmpuint(backend->nc.stats.oversized, ==, 4);

    /* NET_BUFSIZE itself is fine. */
    nic->can_receive = true;
    g_assert_cmpint(test_send(backend, 2, NET_BUFSIZE), ==, NET_BUFSIZE);
    test_assert_frame(nic, 0, 2, NET_BUFSIZE);
    g_assert_cmpuint(backend->nc.stats.oversized, ==, 4);
    net_cleanup();
}

static void test_empty(void)
{
    TestClient *nic, *backend;
    uint8_t byte = 0;
    struct iovec iov[] = { { &byte, 0 }, { &byte, 0 } };

    test_pair_new(&nic, &backend);
    g_assert_cmpint(net_client_send(&backend->nc, &byte, 0), ==, -EINVAL);
    g_assert_cmpint(net_client_send_async(&backend->nc, &byte, 0,
                                          test_sent_cb), ==, -EINVAL);
    g_assert_cmpint(net_client_send_iov_async(&backend->nc, iov, 2, NULL),
                    ==, -EINVAL);
    g_assert_cmpint(net_client_send_iov_async(&backend->nc, iov, 0, NULL),
                    ==, -EINVAL);
    g_assert_cmpuint(nic->receive_calls, ==, 0);
    g_assert_cmpuint(backend->sent->len, ==, 0);
    /* Counted (on one end or the other). */
    g_assert_cmpuint(backend->nc.stats.dropped + nic->nc.stats.dropped, ==, 4);
    net_cleanup();
}

static void test_set_link(void)
{
    TestClient *nic, *backend, *lone;

    test_pair_new(&nic, &backend);
    lone = test_client_new(&test_backend_info, NULL, "lone");
    g_assert_false(nic->nc.link_down);
    g_assert_false(backend->nc.link_down);

    net_client_set_link(&nic->nc, false);
    g_assert_true(nic->nc.link_down);
    g_assert_true(backend->nc.link_down);
    g_assert_cmpuint(nic->link_changes, ==, 1);
    g_assert_cmpuint(backend->link_changes, ==, 1);
    g_assert_false(lone->nc.link_down);
    g_assert_cmpuint(lone->link_changes, ==, 0);

    /* From the other end. */
    net_client_set_link(&backend->nc, true);
    g_assert_false(nic->nc.link_down);
    g_assert_false(backend->nc.link_down);
    g_assert_cmpuint(nic->link_changes, ==, 2);
    g_assert_cmpuint(backend->link_changes, ==, 2);

    /* Without a peer: itself only. */
    net_client_set_link(&lone->nc, false);
    g_assert_true(lone->nc.link_down);
    g_assert_cmpuint(lone->link_changes, ==, 1);
    g_assert_false(nic->nc.link_down);
    g_assert_cmpuint(nic->link_changes, ==, 2);
    net_cleanup();
}

static void test_counters(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_cmpint(test_send(backend, 1, 250), ==, 250);
    g_assert_cmpint(test_send(nic, 2, 42), ==, 42);
    g_assert_cmpuint(nic->nc.stats.rx_frames, ==, 2);
    g_assert_cmpuint(nic->nc.stats.rx_bytes, ==, 350);
    g_assert_cmpuint(nic->nc.stats.tx_frames, ==, 1);
    g_assert_cmpuint(nic->nc.stats.tx_bytes, ==, 42);
    g_assert_cmpuint(backend->nc.stats.tx_frames, ==, 2);
    g_assert_cmpuint(backend->nc.stats.tx_bytes, ==, 350);
    g_assert_cmpuint(backend->nc.stats.rx_frames, ==, 1);
    g_assert_cmpuint(backend->nc.stats.rx_bytes, ==, 42);

    /* Queued frames count when they are delivered, not before. */
    nic->can_receive = false;
    g_assert_cmpint(test_send(backend, 3, 1000), ==, 0);
    g_assert_cmpuint(nic->nc.stats.rx_frames, ==, 2);
    g_assert_cmpuint(backend->nc.stats.tx_frames, ==, 2);
    nic->can_receive = true;
    net_client_flush_queued(&nic->nc);
    g_assert_cmpuint(nic->nc.stats.rx_frames, ==, 3);
    g_assert_cmpuint(nic->nc.stats.rx_bytes, ==, 1350);
    g_assert_cmpuint(backend->nc.stats.tx_frames, ==, 3);
    g_assert_cmpuint(backend->nc.stats.tx_bytes, ==, 1350);

    /* A receiver that rejects a frame (negative errno) drops it. */
    nic->receive_ret = -EIO;
    g_assert_cmpint(test_send(backend, 4, 500), ==, 500);
    g_assert_cmpuint(nic->nc.stats.dropped, ==, 1);
    g_assert_cmpuint(nic->nc.stats.rx_frames, ==, 3);
    g_assert_cmpuint(backend->nc.stats.tx_frames, ==, 3);
    g_assert_cmpuint(test_queued(nic), ==, 0);
    g_assert_cmpuint(nic->nc.stats.oversized, ==, 0);
    g_assert_cmpuint(nic->nc.stats.resets, ==, 0);
    net_cleanup();
}

/* A frame dropped because the queue is full is visible in the stats. */
static void test_stats_queue_overflow(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    nic->can_receive = false;
    for (unsigned i = 0; i < NET_QUEUE_DEFAULT_FRAMES; i++) {
        g_assert_cmpint(test_send(backend, i, 64), ==, 0);
    }
    g_assert_cmpint(test_send(backend, 9999, 64), ==, 64);
    g_assert_cmpuint(net_queue_dropped(nic->nc.incoming_queue), ==, 1);
    /* "dropped: frames to this client that were lost" (net.h) */
    g_assert_cmpuint(nic->nc.stats.dropped, ==, 1);
    net_cleanup();
}

/* Scatter-gather frames are gathered for receivers without receive_iov. */
static void test_gather(void)
{
    TestClient *nic, *backend;
    uint8_t frame[3000];
    struct iovec iov[] = {
        { frame, 14 }, { frame + 14, 0 }, { frame + 14, 1000 },
        { frame + 1014, 1986 },
    };

    test_pair_new(&nic, &backend);
    test_frame_fill(frame, sizeof(frame), 77);
    g_assert_cmpint(net_client_send_iov_async(&backend->nc, iov,
                                              G_N_ELEMENTS(iov), NULL),
                    ==, sizeof(frame));
    g_assert_cmpint(net_client_send_iov_async(&nic->nc, iov,
                                              G_N_ELEMENTS(iov), NULL),
                    ==, sizeof(frame));
    g_assert_cmpuint(nic->frames->len, ==, 1);
    test_assert_frame(nic, 0, 77, sizeof(frame));
    g_assert_cmpuint(backend->frames->len, ==, 1);
    test_assert_frame(backend, 0, 77, sizeof(frame));

    /* Queued, then flushed: still intact. */
    nic->can_receive = false;
    g_assert_cmpint(net_client_send_iov_async(&backend->nc, iov,
                                              G_N_ELEMENTS(iov), NULL),
                    ==, 0);
    memset(frame, 0, sizeof(frame));    /* the queue holds a copy */
    nic->can_receive = true;
    net_client_flush_queued(&nic->nc);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    test_assert_frame(nic, 1, 77, sizeof(frame));
    net_cleanup();
}

static void collect_names(NetClientState *nc, void *opaque)
{
    g_ptr_array_add(opaque, nc->name);
}

static void test_find_foreach(void)
{
    TestClient *a = test_client_new(&test_backend_info, NULL, "a");
    TestClient *b = test_client_new(&test_nic_info, a, "b");
    TestClient *c = test_client_new(&test_backend_info, NULL, "c");
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    g_assert_true(net_client_find("a") == &a->nc);
    g_assert_true(net_client_find("b") == &b->nc);
    g_assert_true(net_client_find("c") == &c->nc);
    g_assert_null(net_client_find("d"));
    g_assert_null(net_client_find("A"));
    g_assert_true(b->nc.peer == &a->nc && a->nc.peer == &b->nc);
    g_assert_null(c->nc.peer);
    g_assert_cmpstr(b->nc.model, ==, "test-nic");

    net_client_foreach(collect_names, names);
    g_assert_cmpuint(names->len, ==, 3);
    g_assert_cmpstr(names->pdata[0], ==, "a");
    g_assert_cmpstr(names->pdata[1], ==, "b");
    g_assert_cmpstr(names->pdata[2], ==, "c");

    net_client_free(&b->nc);
    g_assert_null(net_client_find("b"));
    g_assert_true(net_client_find("c") == &c->nc);
    g_ptr_array_set_size(names, 0);
    net_client_foreach(collect_names, names);
    g_assert_cmpuint(names->len, ==, 2);
    g_assert_cmpstr(names->pdata[0], ==, "a");
    g_assert_cmpstr(names->pdata[1], ==, "c");
    net_cleanup();
}

static void test_format_info(void)
{
    TestClient *nic, *backend;
    g_autoptr(GString) out = g_string_new("");

    test_pair_new(&nic, &backend);
    net_client_set_info_str(&backend->nc, "socket: connection from %s:%d",
                            "127.0.0.1", 4000);
    net_client_format_info(&backend->nc, out);
    g_assert_cmpstr(out->str, ==, "net0: index=0,type=test-backend,"
                    "socket: connection from 127.0.0.1:4000");

    g_string_truncate(out, 0);
    net_client_set_info_str(&nic->nc, "model=%s,macaddr=%s", "nic-stub",
                            "52:54:00:12:34:56");
    net_client_format_info(&nic->nc, out);
    g_assert_cmpstr(out->str, ==, "nic0: index=0,type=test-nic,"
                    "model=nic-stub,macaddr=52:54:00:12:34:56");
    net_cleanup();
}

/* Freeing a backend takes the NIC's link down and leaves it peerless. */
static void test_free_sender_link(void)
{
    TestClient *nic, *backend;

    test_pair_new(&nic, &backend);
    net_client_free(&backend->nc);
    g_assert_null(nic->nc.peer);
    g_assert_true(nic->nc.link_down);
    g_assert_cmpuint(nic->link_changes, ==, 1);
    g_assert_null(net_client_find("net0"));
    g_assert_cmpint(test_send(nic, 0, 100), ==, 100);
    net_cleanup();
}

static unsigned counting_cb_calls;

static void counting_sent_cb(NetClientState *sender, ssize_t len)
{
    g_assert_cmpint(len, ==, 0);
    counting_cb_calls++;
}

/* net_cleanup frees every client, releasing waiting senders. */
static void test_cleanup_all(void)
{
    TestClient *nic, *backend, *nic2, *backend2, *lone;
    unsigned before = test_cleanups;
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    test_pair_new(&nic, &backend);
    backend2 = test_client_new(&test_backend_info, NULL, "net1");
    nic2 = test_client_new(&test_nic_info, backend2, "nic1");
    lone = test_client_new(&test_backend_info, NULL, "net2");
    (void)lone;
    nic->can_receive = false;
    nic2->refuse = 1;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 0);
    g_assert_cmpint(test_send(backend, 1, NET_BUFSIZE), ==, 0);
    g_assert_cmpint(test_send_cb(backend2, 2, 100, counting_sent_cb), ==, 0);
    g_assert_cmpint(test_send_async(nic2, 3, 100), ==, 100);

    counting_cb_calls = 0;
    net_cleanup();
    g_assert_cmpuint(test_cleanups - before, ==, 5);
    g_assert_cmpuint(counting_cb_calls, ==, 1);     /* released with 0 */
    g_assert_null(net_client_find("nic0"));
    g_assert_null(net_client_find("net2"));
    net_client_foreach(collect_names, names);
    g_assert_cmpuint(names->len, ==, 0);
    net_cleanup();      /* again: nothing left */
    g_assert_cmpuint(test_cleanups - before, ==, 5);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/net/free-null", test_free_null);
    g_test_add_func("/net/net/link-down/sender", test_link_down_sender);
    g_test_add_func("/net/net/link-down/receiver", test_link_down_receiver);
    g_test_add_func("/net/net/link-down/both-directions",
                    test_link_down_both_directions);
    g_test_add_func("/net/net/no-peer", test_no_peer);
    g_test_add_func("/net/net/oversized", test_oversized);
    g_test_add_func("/net/net/empty", test_empty);
    g_test_add_func("/net/net/set-link", test_set_link);
    g_test_add_func("/net/net/counters", test_counters);
    g_test_add_func("/net/net/gather", test_gather);
    g_test_add_func("/net/net/find-foreach", test_find_foreach);
    g_test_add_func("/net/net/format-info", test_format_info);
    g_test_add_func("/net/net/free-sender-link", test_free_sender_link);
    g_test_add_func("/net/net/cleanup-all", test_cleanup_all);
    /* Fails on the current core (see the report): kept last so it does not
     * hide the results of the others. */
    g_test_add_func("/net/net/stats/queue-overflow",
                    test_stats_queue_overflow);
    return g_test_run();
}
