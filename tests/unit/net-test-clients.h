/*
 * Test-only net clients shared by test-queue.c and test-net.c.
 *
 * A TestClient records every frame it receives and every completion
 * callback it gets.  Two NetClientInfo tables use it:
 *
 *   test_nic_info      a "NIC" whose can_receive() and receive() results
 *                      the test controls; it has no receive_iov, so the core
 *                      must gather scatter-gather frames for it;
 *   test_backend_info  a "backend" with receive_iov and no can_receive.
 *
 * Frames carry a sequence number in their first four bytes and a pattern
 * derived from it in the rest, so order and integrity can be checked.
 */
#ifndef TESTS_NET_TEST_CLIENTS_H
#define TESTS_NET_TEST_CLIENTS_H

#include "net/net.h"
#include "net/queue.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

typedef struct TestClient TestClient;

typedef struct TestClient {
    NetClientState nc;
    /* What the hooks do. */
    bool can_receive;           /* answer of can_receive() (NIC only) */
    unsigned refuse;            /* receive() returns 0 for this many calls */
    ssize_t receive_ret;        /* if != 0, receive() returns this */
    void (*on_receive)(TestClient *c, const uint8_t *buf, size_t len);
    /* What happened. */
    GPtrArray *frames;          /* GBytes of every frame taken */
    unsigned receive_calls;     /* including refused ones */
    unsigned link_changes;
    GArray *sent;               /* ssize_t len of every completion */
    bool in_send;               /* inside a test_send*() call */
    unsigned *cleanups;         /* if set, incremented by cleanup() */
} TestClient;

static unsigned test_cleanups;  /* cleanup() calls of all test clients */

static inline TestClient *test_client(NetClientState *nc)
{
    return container_of(nc, TestClient, nc);
}

/* ---- frames ------------------------------------------------------------ */

static inline void test_frame_fill(uint8_t *buf, size_t len, uint32_t seq)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seq * 13 + i * 5 + (i >> 9));
    }
    if (len >= 4) {
        memcpy(buf, &seq, 4);
    }
}

/* The sequence number of received frame @i of @c. */
static inline uint32_t test_frame_seq(TestClient *c, unsigned i)
{
    gsize len;
    const uint8_t *data;
    uint32_t seq;

    g_assert_cmpuint(i, <, c->frames->len);
    data = g_bytes_get_data(c->frames->pdata[i], &len);
    g_assert_cmpuint(len, >=, 4);
    memcpy(&seq, data, 4);
    return seq;
}

/* Received frame @i of @c is frame @seq of @len bytes, intact. */
static inline void test_assert_frame(TestClient *c, unsigned i, uint32_t seq,
                                     size_t len)
{
    g_autofree uint8_t *want = g_malloc(len);
    gsize got_len;
    const uint8_t *got;

    g_assert_cmpuint(i, <, c->frames->len);
    got = g_bytes_get_data(c->frames->pdata[i], &got_len);
    test_frame_fill(want, len, seq);
    g_assert_cmpmem(got, got_len, want, len);
}

/* ---- hooks --------------------------------------------------------------- */

static inline ssize_t test_take(TestClient *c, const uint8_t *buf,
                                size_t len)
{
    c->receive_calls++;
    if (c->refuse) {
        c->refuse--;
        return 0;
    }
    if (c->receive_ret) {
        return c->receive_ret;
    }
    g_ptr_array_add(c->frames, g_bytes_new(buf, len));
    if (c->on_receive) {
        c->on_receive(c, buf, len);
    }
    return (ssize_t)len;
}

static inline ssize_t test_nic_receive(NetClientState *nc, const uint8_t *buf,
                                       size_t len)
{
    return test_take(test_client(nc), buf, len);
}

static inline bool test_nic_can_receive(NetClientState *nc)
{
    return test_client(nc)->can_receive;
}

static inline ssize_t test_backend_receive_iov(NetClientState *nc,
                                               const struct iovec *iov,
                                               int iovcnt)
{
    size_t len = iov_size_total(iov, iovcnt);
    g_autofree uint8_t *buf = g_malloc(len);

    iov_to_buf(iov, iovcnt, buf, len);
    return test_take(test_client(nc), buf, len);
}

static inline ssize_t test_backend_receive(NetClientState *nc,
                                           const uint8_t *buf, size_t len)
{
    g_assert_not_reached();     /* receive_iov is there */
    return -EIO;
}

static inline void test_link_status_changed(NetClientState *nc)
{
    test_client(nc)->link_changes++;
}

static inline void test_cleanup(NetClientState *nc)
{
    TestClient *c = test_client(nc);

    test_cleanups++;
    if (c->cleanups) {
        (*c->cleanups)++;
    }
    g_ptr_array_unref(c->frames);
    g_array_unref(c->sent);
}

static const NetClientInfo test_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "test-nic",
    .size = sizeof(TestClient),
    .receive = test_nic_receive,
    .can_receive = test_nic_can_receive,
    .cleanup = test_cleanup,
    .link_status_changed = test_link_status_changed,
};

static const NetClientInfo test_backend_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "test-backend",
    .size = sizeof(TestClient),
    .receive = test_backend_receive,
    .receive_iov = test_backend_receive_iov,
    .cleanup = test_cleanup,
    .link_status_changed = test_link_status_changed,
};

static inline TestClient *test_client_new(const NetClientInfo *info,
                                          TestClient *peer, const char *name)
{
    NetClientState *nc = net_client_new(info, peer ? &peer->nc : NULL,
                                        info->type_name, name);
    TestClient *c = test_client(nc);

    c->can_receive = true;
    c->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    c->sent = g_array_new(FALSE, FALSE, sizeof(ssize_t));
    return c;
}

/* A NIC "nic0" and a backend "net0" peered with it. */
static inline void test_pair_new(TestClient **nic, TestClient **backend)
{
    *backend = test_client_new(&test_backend_info, NULL, "net0");
    *nic = test_client_new(&test_nic_info, *backend, "nic0");
}

/* ---- sending ------------------------------------------------------------- */

/* Completion callback: records the length; never inside its own send. */
static inline void test_sent_cb(NetClientState *sender, ssize_t len)
{
    TestClient *c = test_client(sender);

    g_assert_false(c->in_send);
    g_array_append_val(c->sent, len);
}

static inline ssize_t test_send_cb(TestClient *c, uint32_t seq, size_t len,
                                   NetPacketSent *cb)
{
    g_autofree uint8_t *buf = g_malloc(len ? len : 1);
    bool was_in_send = c->in_send;
    ssize_t ret;

    test_frame_fill(buf, len, seq);
    c->in_send = true;
    ret = net_client_send_async(&c->nc, buf, len, cb);
    c->in_send = was_in_send;
    return ret;
}

static inline ssize_t test_send(TestClient *c, uint32_t seq, size_t len)
{
    return test_send_cb(c, seq, len, NULL);
}

static inline ssize_t test_send_async(TestClient *c, uint32_t seq, size_t len)
{
    return test_send_cb(c, seq, len, test_sent_cb);
}

static inline ssize_t test_sent_at(TestClient *c, unsigned i)
{
    g_assert_cmpuint(i, <, c->sent->len);
    return g_array_index(c->sent, ssize_t, i);
}

/* The frames queued for @c. */
static inline unsigned test_queued(TestClient *c)
{
    return net_queue_frames(c->nc.incoming_queue);
}

#endif /* TESTS_NET_TEST_CLIENTS_H */
