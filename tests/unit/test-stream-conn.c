/*
 * DOC: the stream data path (net/stream-conn.c) under injected faults
 *
 * `-netdev socket,fd=` on one end of a socketpair, peered with a FakeNic
 * (fixtures in socket-faults.h): frames reach the NIC intact, in order,
 * once under short reads, EAGAIN and EINTR; the far end reads exactly the
 * expected [len][frame] bytes under one-byte writes; backpressure stops
 * reading and loses nothing; frames read in one wake-up leave in one
 * write, also when one wake-up fans out to several ports, from the
 * receive scratch without a copy (also when a second read comes in the
 * same batch) or through the shared transmit arena; the peer going away (ECONNRESET, EOF, a write error) downs the
 * link with one log line; a busy backend frees cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "net/hub.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/stream-conn.h"
#include "net/stream-framing.h"
#include "util/batch.h"
#include "util/sockops.h"

#include "socket-faults.h"

/* ---- streams: socket -> NIC --------------------------------------------- */

/* Short reads (7 bytes: inside headers too), EAGAIN and EINTR between. */
static void test_stream_rx_faults(void)
{
    static const size_t lens[] = {
        1, 60, 0, 1514, 4, NET_BUFSIZE, 0, 64, 3, 9000, 2,
        NET_BUFSIZE - 1, 100,
    };
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned frames = 0, empty = 0, seen = 0;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    fault_script(&faults.recv, true, 5, FAULT_EAGAIN, FAULT_PASS,
                 FAULT_EINTR, FAULT_PASS, FAULT_PASS);
    faults.recv_limit = 7;
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        stream_append(far->out, lens[i], i);
        lens[i] ? frames++ : empty++;
    }
    WAIT_FOR(nic->frames->len == frames);
    loop_settle(5);
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        if (lens[i]) {
            assert_nic_frame(nic, seen++, lens[i], i);
        }
    }
    g_assert_cmpuint(nic->frames->len, ==, frames);
    g_assert_cmpuint(faults.recv_calls, >, far->out->len / 7);
    g_assert_cmpuint(nc->stats.dropped, ==, empty);
    g_assert_cmpuint(nc->stats.tx_frames, ==, frames);
    g_assert_cmpuint(nc->stats.resets, ==, 0);
    g_assert_false(nc->link_down);
    far_free(far);
    test_end();
}

/*
 * The NIC refuses: the backend stops reading (no more recv calls, the far
 * end cannot write everything), then takes frames 7 at a time, with the
 * NIC's receive() returning 0 when full: all frames, in order.
 */
static void test_stream_rx_backpressure(void)
{
    const unsigned total = 600;
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned calls;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    nic->refuse = true;
    faults.fd = bfd;
    for (unsigned i = 0; i < total; i++) {
        stream_append(far->out, 1000, i);
    }
    WAIT_FOR(faults.recv_calls > 0);
    loop_settle(20);
    calls = faults.recv_calls;
    loop_settle(50);
    g_assert_cmpuint(faults.recv_calls, ==, calls);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    g_assert_cmpuint(far->out_done, <, far->out->len);

    while (nic->frames->len < total) {
        unsigned want = MIN(nic->frames->len + 7, total);

        fake_nic_take(nic, 7);
        WAIT_FOR(nic->frames->len == want);
        loop_settle(2);
        g_assert_cmpuint(nic->frames->len, ==, want);
    }
    for (unsigned i = 0; i < total; i++) {
        assert_nic_frame(nic, i, 1000, i);
    }
    g_assert_cmpuint(far->out_done, ==, far->out->len);
    g_assert_cmpuint(nc->stats.dropped, ==, 0);
    far_free(far);
    test_end();
}

/* ---- streams: NIC -> socket --------------------------------------------- */

/* One byte per sendmsg, EAGAIN and EINTR between: exact bytes out. */
static void test_stream_tx_faults(void)
{
    static const size_t lens[] = { 60, 1514, 1, NET_BUFSIZE, 4, 300, 2 };
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    fault_script(&faults.send, true, 4, FAULT_EAGAIN, FAULT_PASS,
                 FAULT_EINTR, FAULT_PASS);
    faults.send_limit = 1;
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        g_autoptr(GByteArray) f = frame_new(lens[i], i);

        WAIT_FOR(!nic->tx_blocked);
        fake_nic_send(nic, f->data, f->len);
        stream_append(want, lens[i], i);
    }
    WAIT_FOR(far->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far->in->data, far->in->len, want->data, want->len);
    /* One byte per call, and the faults between. */
    g_assert_cmpuint(faults.send_calls, >, want->len);
    g_assert_cmpuint(nc->stats.rx_frames, ==, G_N_ELEMENTS(lens));
    g_assert_cmpuint(nc->stats.dropped, ==, 0);
    far_free(far);
    test_end();
}

/*
 * The far end does not read: the transmit ring fills, the backend refuses
 * (the NIC's send is queued), nothing is lost; once the far end reads,
 * everything arrives, many frames per sendmsg().
 */
static void test_stream_tx_backpressure(void)
{
    const unsigned total = 2000;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned sent = 0;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    far->reading = false;
    faults.fd = bfd;
    while (!nic->tx_blocked) {
        g_autoptr(GByteArray) f = frame_new(1500, sent);

        fake_nic_send(nic, f->data, f->len);
        stream_append(want, 1500, sent++);
    }
    /* The ring (256 KiB) is full on top of the socket buffer. */
    g_assert_cmpuint(sent, >, 256 * 1024 / 1504);
    loop_settle(20);
    g_assert_true(nic->tx_blocked);
    far->reading = true;
    while (sent < total) {
        g_autoptr(GByteArray) f = frame_new(1500, sent);

        WAIT_FOR(!nic->tx_blocked);
        fake_nic_send(nic, f->data, f->len);
        stream_append(want, 1500, sent++);
    }
    WAIT_FOR(far->in->len >= want->len);
    g_assert_cmpmem(far->in->data, far->in->len, want->data, want->len);
    g_assert_cmpuint(nc->stats.rx_frames, ==, total);
    g_assert_cmpuint(faults.send_calls, <, total / 2);
    far_free(far);
    test_end();
}

/* ---- streams: socket -> hub -> socket, batched ------------------------- */

/*
 * Two stream backends on a flooding hub: s0's far end writes, s1's far
 * end reads.  Returns s1's backend fd (for the fault table).
 */
static int hub_pair_new(FarEnd **far0, FarEnd **far1)
{
    int bfd;

    stream_pair_new("s0", far0, NULL);
    stream_pair_new("s1", far1, &bfd);
    netdev_new_ok("hubport,id=h0,hubid=61,learning=off,netdev=s0");
    netdev_new_ok("hubport,id=h1,hubid=61,netdev=s1");
    return bfd;
}

/*
 * Frames read in one wake-up leave in one sendmsg(), not one each: 400
 * frames written at once by s0's far end reach s1's far end intact and
 * in order with far fewer sendmsg() calls than frames (without write
 * batching there is one per frame).
 */
static void test_stream_tx_coalesced(void)
{
    const unsigned total = 400;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far0 = NULL, *far1 = NULL;
    StreamConnTxStats before, after;

    test_begin();
    before = stream_conn_tx_stats_get();
    faults.fd = hub_pair_new(&far0, &far1);
    for (unsigned i = 0; i < total; i++) {
        stream_append(far0->out, 60 + (i * 37) % 1455, i);
        stream_append(want, 60 + (i * 37) % 1455, i);
    }
    WAIT_FOR(far1->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far1->in->data, far1->in->len, want->data, want->len);
    g_assert_cmpuint(faults.send_calls, >, 0);
    g_assert_cmpuint(faults.send_calls * 8, <=, total);
    /* Written from the receive scratch where they were read: no copy. */
    after = stream_conn_tx_stats_get();
    g_assert_cmpuint(after.lent - before.lent, ==, want->len);
    g_assert_cmpuint(after.arena - before.arena, ==, 0);
    g_assert_cmpuint(after.ring - before.ring, ==, 0);
    g_assert_cmpuint(after.unstaged - before.unstaged, ==, 0);
    far_free(far0);
    far_free(far1);
    test_end();
}

/*
 * The coalesced writes come out short (1000 bytes: in the middle of
 * frames and headers) with EAGAIN and EINTR between: the rest of the
 * batch resumes from where the write stopped, nothing lost, duplicated
 * or reordered.
 */
static void test_stream_tx_coalesced_partial(void)
{
    const unsigned total = 300;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far0 = NULL, *far1 = NULL;
    StreamConnTxStats before, after;

    test_begin();
    before = stream_conn_tx_stats_get();
    faults.fd = hub_pair_new(&far0, &far1);
    fault_script(&faults.send, true, 5, FAULT_PASS, FAULT_EAGAIN,
                 FAULT_PASS, FAULT_EINTR, FAULT_PASS);
    faults.send_limit = 1000;
    for (unsigned i = 0; i < total; i++) {
        size_t len = i % 50 == 7 ? 9000 : 60 + (i * 53) % 1455;

        stream_append(far0->out, len, i);
        stream_append(want, len, i);
    }
    WAIT_FOR(far1->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far1->in->data, far1->in->len, want->data, want->len);
    /* Short writes: at least one call per 1000 bytes. */
    g_assert_cmpuint(faults.send_calls, >=, want->len / 1000);
    /* What a short write left of the lent scratch moved to the ring. */
    after = stream_conn_tx_stats_get();
    g_assert_cmpuint(after.lent - before.lent, >, 0);
    g_assert_cmpuint(after.unstaged - before.unstaged, >, 0);
    far_free(far0);
    far_free(far1);
    test_end();
}

/*
 * Fan-out from a stream port: a flooding hub hands every frame s0's far
 * end writes to four stream ports, each staging the same bytes of the
 * receive scratch; frames up to 60000 bytes fill a port's ring room
 * within one wake-up, so staged bytes are written or moved to the ring
 * mid-batch and the rest follow them there.  Every far end reads exactly
 * the bytes s0's wrote, in order.  With @nic, 60 frames (150 KiB) come
 * from a NIC on the hub instead, all inside one batch: they are copied
 * into the transmit arena, where the four ports' records interleave (more
 * than STREAM_CONN_STAGED spans) and overflow its 512 KiB.  (Short writes of
 * staged bytes: tx-coalesced-partial.  A port slowed by injected faults
 * would lose frames here, as a hub's slow port does: not this test's
 * point.)
 */
static void stream_fanout(bool nic)
{
    const unsigned total = nic ? 60 : 160;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far0 = NULL, *fars[4] = { NULL };
    StreamConnTxStats before, after;
    NetClientState *h0;
    FakeNic *fake = NULL;

    test_begin();
    before = stream_conn_tx_stats_get();
    for (unsigned i = 0; i < 4; i++) {
        g_autofree char *id = g_strdup_printf("s%u", i + 1);

        stream_pair_new(id, &fars[i], NULL);
        netdev_new_ok("hubport,id=h%u,hubid=62,learning=off,netdev=%s",
                      i + 1, id);
    }
    if (nic) {
        h0 = netdev_new_ok("hubport,id=h0,hubid=62,learning=off");
        fake = fake_nic_new(h0, "nic0");
        batch_begin();
    } else {
        stream_pair_new("s0", &far0, NULL);
        netdev_new_ok("hubport,id=h0,hubid=62,learning=off,netdev=s0");
    }
    for (unsigned i = 0; i < total; i++) {
        static const size_t sizes[] = { 60, 1500, 60000, 9014, 64, 30000 };
        /* One batch: ~150 KiB a port fits its ring, four overflow the arena */
        static const size_t nic_sizes[] = { 60, 1500, 9014, 64, 3000, 1514 };
        size_t len = (nic ? nic_sizes[i % G_N_ELEMENTS(nic_sizes)]
                          : sizes[i % G_N_ELEMENTS(sizes)]) + i % 7;

        if (nic) {
            g_autoptr(GByteArray) f = frame_new(len, i);

            fake_nic_send(fake, f->data, f->len);
        } else {
            stream_append(far0->out, len, i);
        }
        stream_append(want, len, i);
    }
    if (nic) {
        batch_end();
    }
    for (unsigned i = 0; i < 4; i++) {
        WAIT_FOR(fars[i]->in->len >= want->len);
    }
    loop_settle(5);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmpmem(fars[i]->in->data, fars[i]->in->len,
                        want->data, want->len);
        far_free(fars[i]);
    }
    after = stream_conn_tx_stats_get();
    if (nic) {
        g_assert_cmpuint(after.arena - before.arena, >, 0);
        g_assert_cmpuint(after.lent - before.lent, ==, 0);
    } else {
        g_assert_cmpuint(after.lent - before.lent, >, 0);
        g_assert_cmpuint(after.arena - before.arena, ==, 0);
        far_free(far0);
    }
    test_end();
}

static void test_stream_tx_scratch_fanout(void)
{
    stream_fanout(false);
}

static void test_stream_tx_arena_fanout(void)
{
    stream_fanout(true);
}

/*
 * Two reads inside one batch: a connection's frames staged from the
 * receive scratch (lent) are still there when the batch ends, because the
 * second connection reads into its own buffer instead.  The test holds one
 * batch open around several main-loop iterations, so s0's and s2's wake-ups
 * (each a nested batch) share it; without the lending rule s2's read would
 * overwrite the bytes s1 is about to write.  s2's frames, not in the
 * scratch, go through the arena.
 */
static void test_stream_tx_scratch_lent(void)
{
    const unsigned total = 120;
    g_autoptr(GByteArray) want1 = g_byte_array_new();
    g_autoptr(GByteArray) want3 = g_byte_array_new();
    FarEnd *far[4] = { NULL };
    NetClientState *s0, *s2;
    StreamConnTxStats before, after;

    test_begin();
    before = stream_conn_tx_stats_get();
    s0 = stream_pair_new("s0", &far[0], NULL);
    stream_pair_new("s1", &far[1], NULL);
    s2 = stream_pair_new("s2", &far[2], NULL);
    stream_pair_new("s3", &far[3], NULL);
    netdev_new_ok("hubport,id=h0,hubid=63,learning=off,netdev=s0");
    netdev_new_ok("hubport,id=h1,hubid=63,netdev=s1");
    netdev_new_ok("hubport,id=h2,hubid=64,learning=off,netdev=s2");
    netdev_new_ok("hubport,id=h3,hubid=64,netdev=s3");
    for (unsigned i = 0; i < total; i++) {
        stream_append(far[0]->out, 60 + (i * 41) % 1455, i);
        stream_append(want1, 60 + (i * 41) % 1455, i);
        stream_append(far[2]->out, 1514 - (i * 29) % 1400, 1000 + i);
        stream_append(want3, 1514 - (i * 29) % 1400, 1000 + i);
    }
    batch_begin();
    WAIT_FOR(s0->stats.tx_frames > 0 && s2->stats.tx_frames > 0);
    batch_end();
    WAIT_FOR(far[1]->in->len >= want1->len && far[3]->in->len >= want3->len);
    loop_settle(5);
    g_assert_cmpmem(far[1]->in->data, far[1]->in->len,
                    want1->data, want1->len);
    g_assert_cmpmem(far[3]->in->data, far[3]->in->len,
                    want3->data, want3->len);
    after = stream_conn_tx_stats_get();
    g_assert_cmpuint(after.lent - before.lent, >, 0);
    g_assert_cmpuint(after.arena - before.arena, >, 0);
    for (unsigned i = 0; i < 4; i++) {
        far_free(far[i]);
    }
    test_end();
}

/*
 * Frames from a client that is not a stream port (a NIC) inside one batch
 * are copied into the transmit arena and leave in one sendmsg().
 */
static void test_stream_tx_arena_nic(void)
{
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    StreamConnTxStats before, after;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    before = stream_conn_tx_stats_get();
    batch_begin();
    for (unsigned i = 0; i < 50; i++) {
        g_autoptr(GByteArray) f = frame_new(60 + i * 29, i);

        fake_nic_send(nic, f->data, f->len);
        stream_append(want, 60 + i * 29, i);
    }
    batch_end();
    WAIT_FOR(far->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far->in->data, far->in->len, want->data, want->len);
    g_assert_cmpuint(faults.send_calls, ==, 1);
    after = stream_conn_tx_stats_get();
    g_assert_cmpuint(after.arena - before.arena, ==, want->len);
    g_assert_cmpuint(after.lent - before.lent, ==, 0);
    far_free(far);
    test_end();
}

/* ---- streams: the peer goes away ----------------------------------------- */

static void stream_peer_gone(FaultAction action)
{
    g_autoptr(GByteArray) f = frame_new(60, 9);
    g_autofree char *log = NULL;
    g_autofree char *line = NULL;
    StderrCapture cap;
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    stream_append(far->out, 100, 1);
    WAIT_FOR(nic->frames->len == 1);

    stderr_capture_start(&cap);
    faults.fd = bfd;
    fault_script(&faults.recv, false, 1, action);
    stream_append(far->out, 100, 2);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    line = g_strdup_printf("vmwire: s0: connection on fd=%d closed by peer\n",
                           bfd);
    g_assert_cmpstr(log, ==, line);

    g_assert_true(nic->nc.link_down);
    g_assert_cmpuint(nic->link_changes, ==, 1);
    g_assert_cmpstr(nc->info_str, ==, "");
    WAIT_FOR(far->eof);                 /* the backend closed its end */
    g_assert_cmpuint(nic->frames->len, ==, 1);
    /* Frames to a downed link are dropped but reported as sent. */
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 60);
    g_assert_cmpuint(nc->stats.resets, ==, 0);
    far_free(far);
    test_end();
}

static void test_stream_econnreset(void)
{
    stream_peer_gone(FAULT_ECONNRESET);
}

static void test_stream_eof(void)
{
    stream_peer_gone(FAULT_EOF);
}

/* A write error from inside a delivery closes the connection from the loop. */
static void test_stream_tx_error(void)
{
    g_autoptr(GByteArray) f = frame_new(60, 1);
    g_autofree char *log = NULL;
    StderrCapture cap;
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    fault_script(&faults.send, false, 2, FAULT_EINTR, FAULT_ECONNRESET);
    stderr_capture_start(&cap);
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 60);
    /* Later frames are dropped, not queued, until the loop closes it. */
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 60);
    g_assert_cmpuint(nc->stats.dropped, ==, 1);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    g_assert_true(g_str_has_suffix(log, "closed by peer\n"));
    WAIT_FOR(far->eof);
    g_assert_cmpuint(far->in->len, ==, 0);
    g_assert_true(nic->nc.link_down);
    far_free(far);
    test_end();
}

/*
 * The far end writes frames and closes while the NIC refuses: every frame
 * still arrives, then the link goes down.
 */
static void test_stream_eof_under_backpressure(void)
{
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    StderrCapture cap;
    g_autofree char *log = NULL;

    test_begin();
    nc = stream_pair_new("s0", &far, NULL);
    nic = fake_nic_new(nc, "nic0");
    nic->refuse = true;
    for (unsigned i = 0; i < 50; i++) {
        stream_append(far->out, 500 + i, i);
    }
    WAIT_FOR(far->out_done == far->out->len);
    far_close(far);
    stderr_capture_start(&cap);
    loop_settle(20);
    g_assert_false(nc->link_down);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    fake_nic_take(nic, 1000);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    g_assert_true(g_str_has_suffix(log, "closed by peer\n"));
    g_assert_cmpuint(nic->frames->len, ==, 50);
    for (unsigned i = 0; i < 50; i++) {
        assert_nic_frame(nic, i, 500 + i, i);
    }
    far_free(far);
    test_end();
}

/* ---- cleanup ------------------------------------------------------------- */

/*
 * Free a backend while frames wait everywhere: in its parser (NIC
 * refusing), in its transmit ring (far end not reading) and in its
 * incoming queue (NIC blocked on it).  Nothing leaks; the NIC is released.
 */

static void test_free_busy(void)
{
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned sent = 0;

    test_begin();
    nc = stream_pair_new("s0", &far, NULL);
    nic = fake_nic_new(nc, "nic0");
    nic->refuse = true;
    far->reading = false;
    for (unsigned i = 0; i < 200; i++) {
        stream_append(far->out, 1000, i);
    }
    while (!nic->tx_blocked) {
        g_autoptr(GByteArray) f = frame_new(1500, sent++);

        fake_nic_send(nic, f->data, f->len);
    }
    loop_settle(20);
    g_assert_cmpuint(nic->completions, ==, 0);
    net_client_free(nc);
    g_assert_false(nic->tx_blocked);            /* released */
    g_assert_true(nic->nc.link_down);
    g_assert_null(nic->nc.peer);
    loop_settle(5);
    far_free(far);
    test_end();
}

/* ---- buffers on demand --------------------------------------------------- */

/* Run the loop for @ms milliseconds. */
static void loop_for_ms(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

/*
 * An idle connection holds no buffer: reads go through the shared receive
 * scratch, so a connection gets a receive buffer of its own only for
 * bytes that must wait (half a frame); the transmit ring comes with the
 * first frame written outside a batch (inside one, the shared arena
 * takes it).  Both go once the connection has been idle for
 * STREAM_CONN_IDLE_MS, and come back with the next traffic.  Half a
 * frame waiting keeps its buffer.
 */
static void test_stream_buffers_on_demand(void)
{
    g_autoptr(GByteArray) f = frame_new(60, 7);
    FarEnd *far = NULL;
    NetClientState *nc;
    StreamConn *c;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    c = &container_of(nc, StreamData, nc)->conn;
    loop_settle(5);
    g_assert_null(c->rx);
    g_assert_null(c->tx.buf);
    stream_append(far->out, 60, 1);
    WAIT_FOR(nic->frames->len == 1);
    g_assert_null(c->rx);               /* a whole frame: nothing kept */
    g_assert_null(c->tx.buf);
    fake_nic_send(nic, f->data, f->len);
    WAIT_FOR(far->in->len == 64);
    g_assert_nonnull(c->tx.buf);
    loop_for_ms(2 * STREAM_CONN_IDLE_MS + 200);
    g_assert_null(c->rx);
    g_assert_null(c->tx.buf);
    stream_append(far->out, 60, 2);
    g_byte_array_append(far->out, (const guint8 *)"\0\0", 2);
    WAIT_FOR(c->rx && stream_framing_pending(c->rx) == 2);
    loop_for_ms(2 * STREAM_CONN_IDLE_MS + 200);
    g_assert_nonnull(c->rx);            /* a half header waits in it */
    g_byte_array_append(far->out, (const guint8 *)"\0\x3c", 2);
    g_byte_array_append(far->out, f->data, 60);
    WAIT_FOR(nic->frames->len == 3);
    g_assert_cmpuint(stream_framing_pending(c->rx), ==, 0);
    far_free(far);
    test_end();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The loop's own wake-up fd exists before any test counts fds. */
    g_main_context_iteration(NULL, FALSE);
    g_test_add_func("/net/socket/stream/rx-faults", test_stream_rx_faults);
    g_test_add_func("/net/socket/stream/rx-backpressure",
                    test_stream_rx_backpressure);
    g_test_add_func("/net/socket/stream/tx-faults", test_stream_tx_faults);
    g_test_add_func("/net/socket/stream/tx-backpressure",
                    test_stream_tx_backpressure);
    g_test_add_func("/net/socket/stream/tx-coalesced",
                    test_stream_tx_coalesced);
    g_test_add_func("/net/socket/stream/tx-coalesced-partial",
                    test_stream_tx_coalesced_partial);
    g_test_add_func("/net/socket/stream/tx-scratch-fanout",
                    test_stream_tx_scratch_fanout);
    g_test_add_func("/net/socket/stream/tx-arena-fanout",
                    test_stream_tx_arena_fanout);
    g_test_add_func("/net/socket/stream/tx-scratch-lent",
                    test_stream_tx_scratch_lent);
    g_test_add_func("/net/socket/stream/tx-arena-nic",
                    test_stream_tx_arena_nic);
    g_test_add_func("/net/socket/stream/econnreset", test_stream_econnreset);
    g_test_add_func("/net/socket/stream/eof", test_stream_eof);
    g_test_add_func("/net/socket/stream/tx-error", test_stream_tx_error);
    g_test_add_func("/net/socket/stream/eof-under-backpressure",
                    test_stream_eof_under_backpressure);
    g_test_add_func("/net/socket/cleanup/free-busy", test_free_busy);
    g_test_add_func("/net/socket/stream/buffers-on-demand",
                    test_stream_buffers_on_demand);
    return g_test_run();
}
