/*
 * Freeing net clients at awkward moments (net/net.c's teardown rules).
 *
 * net_client_free() may be called from inside a client's own receive hook,
 * from a completion callback while a queue is flushing, or from a link
 * hook while the peer is being freed.  The client must then leave the list
 * at once, drop frames to and from it, and be freed from the main loop
 * once nothing on the stack uses it.  Run under ASan (and valgrind): a use
 * after free in any of these paths is a failure even if no assert fires.
 */
#include "net-test-clients.h"

static void run_loop(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static TestClient *victim;

static void free_victim(TestClient *c, const uint8_t *buf, size_t len)
{
    net_client_free(&victim->nc);
}

/* A NIC frees itself from its receive hook (direct delivery). */
static void test_receiver_frees_itself(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    nic->cleanups = &cleanups;
    victim = nic;
    nic->on_receive = free_victim;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_null(net_client_find("nic0"));     /* unlisted at once */
    g_assert_cmpuint(cleanups, ==, 0);          /* freed later */
    /* Meanwhile nothing reaches it: dropped, counted. */
    g_assert_cmpint(test_send(backend, 1, 100), ==, 100);
    g_assert_cmpuint(backend->nc.stats.dropped, ==, 1);
    run_loop();
    g_assert_cmpuint(cleanups, ==, 1);
    g_assert_null(backend->nc.peer);
    net_cleanup();
}

/* A NIC frees its backend, the sender of the frame it is receiving. */
static void test_receiver_frees_sender(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    backend->cleanups = &cleanups;
    victim = backend;
    nic->on_receive = free_victim;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_null(net_client_find("net0"));
    g_assert_cmpuint(cleanups, ==, 0);
    run_loop();
    g_assert_cmpuint(cleanups, ==, 1);
    g_assert_null(nic->nc.peer);
    g_assert_true(nic->nc.link_down);           /* its backend is gone */
    g_assert_cmpuint(nic->frames->len, ==, 1);
    net_cleanup();
}

/*
 * Frames queued with callbacks; while the NIC's queue flushes, the NIC
 * frees itself on the first one.  The rest are dropped, not delivered, and
 * the waiting sender gets every callback.
 */
static void test_receiver_frees_itself_in_flush(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    nic->cleanups = &cleanups;
    nic->can_receive = false;
    for (uint32_t i = 0; i < 5; i++) {
        g_assert_cmpint(test_send_async(backend, i, 200), ==, 0);
    }
    nic->can_receive = true;
    victim = nic;
    nic->on_receive = free_victim;
    net_client_flush_queued(&nic->nc);
    g_assert_null(net_client_find("nic0"));
    g_assert_cmpuint(cleanups, ==, 0);
    g_assert_cmpuint(nic->frames->len, ==, 1);
    g_assert_cmpuint(nic->nc.stats.dropped, ==, 4);
    g_assert_cmpuint(backend->sent->len, ==, 5);
    run_loop();
    g_assert_cmpuint(cleanups, ==, 1);
    g_assert_null(backend->nc.peer);
    net_cleanup();
}

static TestClient *cb_victim;

static void free_victim_cb(NetClientState *sender, ssize_t len)
{
    test_sent_cb(sender, len);
    if (cb_victim) {
        net_client_free(&cb_victim->nc);
        cb_victim = NULL;
    }
}

/* A sender's completion callback frees the receiver mid-flush. */
static void test_callback_frees_receiver(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    nic->cleanups = &cleanups;
    nic->can_receive = false;
    for (uint32_t i = 0; i < 4; i++) {
        g_assert_cmpint(test_send_cb(backend, i, 300, free_victim_cb), ==, 0);
    }
    cb_victim = nic;
    nic->can_receive = true;
    net_client_flush_queued(&nic->nc);
    g_assert_null(net_client_find("nic0"));
    g_assert_cmpuint(nic->frames->len, ==, 1);      /* then it was gone */
    g_assert_cmpuint(backend->sent->len, ==, 4);
    run_loop();
    g_assert_cmpuint(cleanups, ==, 1);
    net_cleanup();
}

/* Freed backend -> NIC's link hook frees the NIC too. */
static unsigned hook_cleanups;

static void free_self_on_link_down(NetClientState *nc)
{
    test_link_status_changed(nc);
    if (nc->link_down) {
        net_client_free(nc);
    }
}

static const NetClientInfo self_freeing_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "test-nic",
    .size = sizeof(TestClient),
    .receive = test_nic_receive,
    .can_receive = test_nic_can_receive,
    .cleanup = test_cleanup,
    .link_status_changed = free_self_on_link_down,
};

static void test_link_hook_frees_nic(void)
{
    TestClient *backend = test_client_new(&test_backend_info, NULL, "net0");
    TestClient *nic = test_client_new(&self_freeing_nic_info, backend, "nic0");
    unsigned backend_cleanups = 0;

    hook_cleanups = 0;
    nic->cleanups = &hook_cleanups;
    backend->cleanups = &backend_cleanups;
    nic->can_receive = false;
    g_assert_cmpint(test_send_async(nic, 1, 64), ==, 64); /* to backend */
    g_assert_cmpint(test_send_async(backend, 2, 64), ==, 0);
    net_client_free(&backend->nc);
    g_assert_cmpuint(backend_cleanups, ==, 1);
    g_assert_null(net_client_find("nic0"));
    run_loop();
    g_assert_cmpuint(hook_cleanups, ==, 1);
    net_cleanup();
}

/* A second free of a client already waiting is a no-op; the id is free. */
static void test_double_free_and_reuse(void)
{
    TestClient *nic, *backend, *again;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    nic->cleanups = &cleanups;
    victim = nic;
    nic->on_receive = free_victim;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    net_client_free(&nic->nc);
    g_assert_cmpuint(cleanups, ==, 0);
    again = test_client_new(&test_nic_info, NULL, "nic0");
    g_assert_true(net_client_find("nic0") == &again->nc);
    run_loop();
    g_assert_cmpuint(cleanups, ==, 1);
    g_assert_true(net_client_find("nic0") == &again->nc);
    net_cleanup();
}

/* net_cleanup frees clients still waiting, without the main loop. */
static void test_cleanup_frees_pending(void)
{
    TestClient *nic, *backend;
    unsigned cleanups = 0;

    test_pair_new(&nic, &backend);
    nic->cleanups = &cleanups;
    victim = nic;
    nic->on_receive = free_victim;
    g_assert_cmpint(test_send(backend, 0, 100), ==, 100);
    g_assert_cmpuint(cleanups, ==, 0);
    net_cleanup();
    g_assert_cmpuint(cleanups, ==, 1);
    run_loop();                 /* the idle source is gone: nothing runs */
    g_assert_cmpuint(cleanups, ==, 1);
}

/* Freeing a NIC leaves its backend's link as it was. */
static void test_nic_gone_backend_link(void)
{
    TestClient *nic, *backend, *nic2;

    test_pair_new(&nic, &backend);
    net_client_free(&nic->nc);
    g_assert_false(backend->nc.link_down);
    g_assert_cmpuint(backend->link_changes, ==, 0);
    nic2 = test_client_new(&test_nic_info, backend, "nic1");
    g_assert_false(nic2->nc.link_down);
    g_assert_cmpint(test_send(backend, 3, 80), ==, 80);
    g_assert_cmpuint(nic2->frames->len, ==, 1);
    net_cleanup();
}

static unsigned load_callbacks;

/* The flood does not wait for callbacks, so one may come during a send. */
static void load_sent_cb(NetClientState *sender, ssize_t len)
{
    load_callbacks++;
}

/*
 * Load: a backend floods a NIC that is slow (refuses now and then); the
 * NIC frees the backend after a random number of frames, from its receive
 * hook.  Repeated with different seeds; ASan checks the memory.
 */
static void test_free_under_load(void)
{
    GRand *rand = g_rand_new_with_seed(1234);

    for (unsigned round = 0; round < 50; round++) {
        TestClient *nic, *backend;
        unsigned n = (unsigned)g_rand_int_range(rand, 1, 400);

        test_pair_new(&nic, &backend);
        for (uint32_t i = 0; i < 500; i++) {
            if (!net_client_find("net0") || !net_client_find("nic0")) {
                break;                  /* one is gone or going */
            }
            nic->can_receive = g_rand_boolean(rand);
            if (i == n) {
                victim = g_rand_boolean(rand) ? backend : nic;
                nic->on_receive = free_victim;
            }
            if (g_rand_boolean(rand)) {
                test_send_cb(backend, i, 60 + i % 1500, load_sent_cb);
            } else {
                test_send(backend, i, 60 + i % 1500);
            }
            if (g_rand_int_range(rand, 0, 8) == 0) {
                nic->can_receive = true;
                net_client_flush_queued(&nic->nc);
            }
            if (g_rand_int_range(rand, 0, 16) == 0) {
                run_loop();
            }
        }
        run_loop();
        net_cleanup();
    }
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/teardown/receiver-frees-itself",
                    test_receiver_frees_itself);
    g_test_add_func("/net/teardown/receiver-frees-sender",
                    test_receiver_frees_sender);
    g_test_add_func("/net/teardown/receiver-frees-itself-in-flush",
                    test_receiver_frees_itself_in_flush);
    g_test_add_func("/net/teardown/callback-frees-receiver",
                    test_callback_frees_receiver);
    g_test_add_func("/net/teardown/link-hook-frees-nic",
                    test_link_hook_frees_nic);
    g_test_add_func("/net/teardown/double-free-and-reuse",
                    test_double_free_and_reuse);
    g_test_add_func("/net/teardown/cleanup-frees-pending",
                    test_cleanup_frees_pending);
    g_test_add_func("/net/teardown/nic-gone-backend-link",
                    test_nic_gone_backend_link);
    g_test_add_func("/net/teardown/free-under-load", test_free_under_load);
    return g_test_run();
}
