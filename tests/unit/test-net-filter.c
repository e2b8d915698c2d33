/*
 * Unit tests for the filter chain (net/filter.c) with a kind of filter
 * defined here, so that nothing in them is filter-dump's: a filter sees
 * what its netdev sends (tx) and what is sent to it (rx), in order, the
 * sender's chain before the receiver's; queue= and status= are the
 * chain's; `info network` prints every kind's "filters:" lines; a filter
 * can be removed (directly or as an object) and goes with its netdev.
 */
#include "net-test-clients.h"

#include "net/filter.h"
#include "system/object.h"
#include "util/error.h"

typedef struct TestFilter {
    NetFilterState nf;
    unsigned frames;            /* frames seen */
} TestFilter;

/* One frame a test filter saw. */
typedef struct TestSeen {
    char id[8];                 /* the filter's id */
    NetFilterDirection direction;
    uint32_t seq;
    size_t size;
} TestSeen;

static GArray *test_seen;       /* TestSeen of every filter, in order */
static unsigned test_filter_cleanups;

static void test_filter_receive_iov(NetFilterState *nf,
                                    NetFilterDirection direction,
                                    const struct iovec *iov, int iovcnt,
                                    size_t size)
{
    TestSeen s = { .direction = direction, .size = size };

    g_strlcpy(s.id, nf->id, sizeof(s.id));
    g_assert_cmpuint(iov_size_total(iov, iovcnt), ==, size);
    iov_to_buf(iov, iovcnt, (uint8_t *)&s.seq, sizeof(s.seq));
    g_array_append_val(test_seen, s);
    container_of(nf, TestFilter, nf)->frames++;
}

static void test_filter_cleanup(NetFilterState *nf)
{
    test_filter_cleanups++;
}

static void test_filter_format_properties(NetFilterState *nf, GString *out)
{
    g_string_append_printf(out, ",frames=%u",
                           container_of(nf, TestFilter, nf)->frames);
}

static const NetFilterInfo test_filter_info = {
    .type_name = "test-filter",
    .size = sizeof(TestFilter),
    .receive_iov = test_filter_receive_iov,
    .cleanup = test_filter_cleanup,
    .format_properties = test_filter_format_properties,
};

static TestFilter *test_filter_new(const char *id, TestClient *c,
                                   NetFilterDirection direction, bool on)
{
    NetFilterState *nf = net_filter_new(&test_filter_info, id, &c->nc,
                                        direction, on);

    g_assert_true(net_filter_find(id) == nf);
    return container_of(nf, TestFilter, nf);
}

static void test_seen_reset(void)
{
    g_array_set_size(test_seen, 0);
    test_filter_cleanups = 0;
}

/* Seen record @i is filter @id seeing frame @seq of @size in @direction. */
static void assert_seen(unsigned i, const char *id,
                        NetFilterDirection direction, uint32_t seq,
                        size_t size)
{
    TestSeen *s;

    g_assert_cmpuint(i, <, test_seen->len);
    s = &g_array_index(test_seen, TestSeen, i);
    g_assert_cmpstr(s->id, ==, id);
    g_assert_cmpint(s->direction, ==, direction);
    g_assert_cmpuint(s->seq, ==, seq);
    g_assert_cmpuint(s->size, ==, size);
}

/*
 * Both directions, in order; the sender's chain (tx) before the
 * receiver's (rx), each in the order its filters were added; queue=
 * and status=off filter out; a frame lost to a down link is not seen.
 */
static void test_directions(void)
{
    TestClient *nic, *backend;

    test_seen_reset();
    test_pair_new(&nic, &backend);
    test_filter_new("all", backend, NET_FILTER_DIRECTION_ALL, true);
    test_filter_new("tx", backend, NET_FILTER_DIRECTION_TX, true);
    test_filter_new("rx", backend, NET_FILTER_DIRECTION_RX, true);
    test_filter_new("off", backend, NET_FILTER_DIRECTION_ALL, false);
    test_filter_new("nic", nic, NET_FILTER_DIRECTION_ALL, true);

    test_send(backend, 1, 60);
    test_send(nic, 2, 1500);
    test_send(backend, 3, 100);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    g_assert_cmpuint(backend->frames->len, ==, 1);
    g_assert_cmpuint(test_seen->len, ==, 9);
    assert_seen(0, "all", NET_FILTER_DIRECTION_TX, 1, 60);
    assert_seen(1, "tx", NET_FILTER_DIRECTION_TX, 1, 60);
    assert_seen(2, "nic", NET_FILTER_DIRECTION_RX, 1, 60);
    assert_seen(3, "nic", NET_FILTER_DIRECTION_TX, 2, 1500);
    assert_seen(4, "all", NET_FILTER_DIRECTION_RX, 2, 1500);
    assert_seen(5, "rx", NET_FILTER_DIRECTION_RX, 2, 1500);
    assert_seen(6, "all", NET_FILTER_DIRECTION_TX, 3, 100);
    assert_seen(7, "tx", NET_FILTER_DIRECTION_TX, 3, 100);
    assert_seen(8, "nic", NET_FILTER_DIRECTION_RX, 3, 100);

    net_client_set_link(&backend->nc, false);
    test_send(backend, 4, 60);
    test_send(nic, 5, 60);
    g_assert_cmpuint(test_seen->len, ==, 9);
    net_cleanup();
    g_assert_cmpuint(test_filter_cleanups, ==, 5);
}

/* A scatter-gather frame is seen whole, once. */
static void test_iov(void)
{
    uint8_t frame[64];
    struct iovec iov[3] = {
        { frame, 2 }, { frame + 2, 30 }, { frame + 32, 32 },
    };
    TestClient *nic, *backend;

    test_seen_reset();
    test_pair_new(&nic, &backend);
    test_filter_new("f", backend, NET_FILTER_DIRECTION_ALL, true);
    test_frame_fill(frame, sizeof(frame), 7);
    g_assert_cmpint(net_client_send_iov_async(&backend->nc, iov, 3, NULL),
                    ==, 64);
    g_assert_cmpuint(test_seen->len, ==, 1);
    assert_seen(0, "f", NET_FILTER_DIRECTION_TX, 7, 64);
    test_assert_frame(nic, 0, 7, 64);
    net_cleanup();
}

/* Each kind's properties between type= and the chain's own. */
static void test_info(void)
{
    g_autoptr(GString) out = g_string_new("");
    TestClient *nic, *backend;

    test_seen_reset();
    test_pair_new(&nic, &backend);
    net_filter_format_info(&backend->nc, out);
    g_assert_cmpstr(out->str, ==, "");
    test_filter_new("f0", backend, NET_FILTER_DIRECTION_ALL, true);
    test_filter_new("f1", backend, NET_FILTER_DIRECTION_TX, false);
    test_send(backend, 1, 60);
    net_filter_format_info(&backend->nc, out);
    g_assert_cmpstr(out->str, ==, "filters:\n"
        "  - f0: type=test-filter,frames=1,position=tail,status=on,"
        "insert=behind,netdev=net0,queue=all\n"
        "  - f1: type=test-filter,frames=0,position=tail,status=off,"
        "insert=behind,netdev=net0,queue=tx\n");
    g_string_truncate(out, 0);
    net_format_info_network(out);
    g_assert_nonnull(strstr(out->str, "\n \\ net0: index=0,"
                            "type=test-backend,\nfilters:\n  - f0: "));
    net_cleanup();
}

/*
 * Removed from the middle and from the head of the chain, directly or
 * as an object (object-del): cleaned up once, seen no more, the rest of
 * the chain intact.
 */
static void test_remove(void)
{
    g_autoptr(GError) err = NULL;
    TestClient *nic, *backend;

    test_seen_reset();
    test_pair_new(&nic, &backend);
    test_filter_new("a", backend, NET_FILTER_DIRECTION_ALL, true);
    test_filter_new("b", backend, NET_FILTER_DIRECTION_ALL, true);
    test_filter_new("c", backend, NET_FILTER_DIRECTION_ALL, true);
    net_filter_free(&test_filter_new("d", nic, NET_FILTER_DIRECTION_ALL,
                                     true)->nf);
    net_filter_free(NULL);
    g_assert_cmpuint(test_filter_cleanups, ==, 1);
    g_assert_null(net_filter_find("d"));
    g_assert_null(nic->nc.filters);

    net_filter_free(net_filter_find("b"));
    g_assert_cmpuint(test_filter_cleanups, ==, 2);
    g_assert_null(net_filter_find("b"));
    test_send(backend, 1, 60);
    g_assert_cmpuint(test_seen->len, ==, 2);
    assert_seen(0, "a", NET_FILTER_DIRECTION_TX, 1, 60);
    assert_seen(1, "c", NET_FILTER_DIRECTION_TX, 1, 60);

    g_assert_true(object_del("a", &err));
    g_assert_no_error(err);
    g_assert_cmpuint(test_filter_cleanups, ==, 3);
    g_assert_false(object_del("a", &err));
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_FAILED);
    g_assert_cmpstr(err->message, ==, "object 'a' not found");
    test_send(nic, 2, 60);
    g_assert_cmpuint(test_seen->len, ==, 3);
    assert_seen(2, "c", NET_FILTER_DIRECTION_RX, 2, 60);
    g_assert_true(backend->nc.filters == net_filter_find("c"));
    g_assert_null(backend->nc.filters->next);
    net_cleanup();
    g_assert_cmpuint(test_filter_cleanups, ==, 4);
}

static void free_backend_on_receive(TestClient *c, const uint8_t *buf,
                                    size_t len)
{
    net_client_free(c->nc.peer);
}

/*
 * A filter goes with its netdev, at once, even when the netdev is freed
 * while busy (from its peer's receive hook); the peer's filters stay.
 */
static void test_freed_with_client(void)
{
    TestClient *nic, *backend;

    test_seen_reset();
    test_pair_new(&nic, &backend);
    test_filter_new("b0", backend, NET_FILTER_DIRECTION_ALL, true);
    test_filter_new("b1", backend, NET_FILTER_DIRECTION_RX, true);
    test_filter_new("n0", nic, NET_FILTER_DIRECTION_ALL, true);
    net_client_free(&backend->nc);
    g_assert_cmpuint(test_filter_cleanups, ==, 2);
    g_assert_null(net_filter_find("b0"));
    g_assert_null(net_filter_find("b1"));
    g_assert_nonnull(net_filter_find("n0"));
    net_client_free(&nic->nc);
    g_assert_cmpuint(test_filter_cleanups, ==, 3);
    g_assert_null(net_filter_find("n0"));

    test_seen_reset();
    test_pair_new(&nic, &backend);
    test_filter_new("b0", backend, NET_FILTER_DIRECTION_ALL, true);
    nic->on_receive = free_backend_on_receive;
    test_send(backend, 1, 60);
    g_assert_cmpuint(test_filter_cleanups, ==, 1);
    g_assert_null(net_filter_find("b0"));
    g_assert_cmpuint(test_seen->len, ==, 1);
    assert_seen(0, "b0", NET_FILTER_DIRECTION_TX, 1, 60);
    net_cleanup();
}

/* What every filter takes: QEMU's checks and words, in its order. */
static void test_check(void)
{
    NetfilterProperties p = {
        .netdev = (char *)"nic0", .has_status = true, .status = (char *)"no",
    };
    NetClientState *found = NULL;
    TestClient *nic, *backend;
    GError *err = NULL;

    test_pair_new(&nic, &backend);
    g_assert_false(net_filter_check(&p, &found, &err));
    g_assert_cmpstr(err->message, ==, "Invalid value for netfilter status, "
                    "should be 'on' or 'off'");
    g_clear_error(&err);
    p.status = (char *)"off";
    g_assert_false(net_filter_check(&p, &found, &err));
    g_assert_cmpstr(err->message, ==,
                    "Parameter 'netdev' expects a network backend id");
    g_clear_error(&err);
    p.netdev = (char *)"nosuch";
    g_assert_false(net_filter_check(&p, &found, &err));
    g_clear_error(&err);
    p.netdev = (char *)"net0";
    g_assert_true(net_filter_check(&p, &found, &err));
    g_assert_no_error(err);
    g_assert_true(found == &backend->nc);
    net_cleanup();
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    test_seen = g_array_new(false, false, sizeof(TestSeen));
    g_test_add_func("/net/filter/directions", test_directions);
    g_test_add_func("/net/filter/iov", test_iov);
    g_test_add_func("/net/filter/info", test_info);
    g_test_add_func("/net/filter/remove", test_remove);
    g_test_add_func("/net/filter/freed-with-client", test_freed_with_client);
    g_test_add_func("/net/filter/check", test_check);
    ret = g_test_run();
    g_array_unref(test_seen);
    return ret;
}
