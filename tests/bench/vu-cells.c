/*
 * DOC: the vhost-user cells of vmwire-bench, and their two references
 *
 * The load of vmwire-bench.c, carried by vhost-user frontends
 * (vu-frontend.c) instead of stream sockets:
 *
 *   vhost-user/N          two frontends on one `-netdev vhost-user,hubid=0`
 *                         socket of vmwire (each its own hub port); frontend
 *                         A sends N-byte frames to B's MAC, B checks them
 *   vhost-user-stream/N   frontend A sends to a `-netdev socket,listen=`
 *                         port on the same hub; the stream receiver of the
 *                         stream cells checks them
 *   vhost-user-rtt        one 64-byte frame in flight A -> B -> A
 *   dpdk/N                as vhost-user/N, through DPDK's own vhost switch:
 *                         dpdk-testpmd --no-huge with two net_vhost ports in
 *                         io forwarding, its forwarding lcore pinned to core 1
 *   memcpy/N              how many N-byte frames one core copies a second,
 *                         between two ring-sized buffer arenas: the ceiling
 *                         of any relay that copies each frame once
 *
 * The sender thread writes frames straight into its TX buffers (the
 * frontend copies nothing), keeps at most --window frames (and never more
 * than one RX ring) beyond what the receiver has checked, so no backend
 * ever finds the receiver's ring full and the figure is lossless; it
 * blocks on the TX call eventfd when its ring is full and on a condition
 * variable when the window is.  The receiver thread blocks on the RX call
 * eventfd.  Nothing busy-polls: the frontends share the two cores with the
 * backend, as a VM's vCPUs would.
 *
 * Each thread's CPU time (getrusage(RUSAGE_THREAD)) and the relay's are
 * reported in the note as seconds per second of the run: a figure near
 * 1.0 for a frontend thread means the frontend, not the relay, ran out.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VU_RING 1024
#define VU_BATCH 64                 /* frames per TX batch at most */
#define VU_WAIT_MS 100              /* blocking waits re-check this often */

/* A relay for the vhost-user cells: vmwire or dpdk-testpmd, and its sockets. */
typedef struct VuRig {
    Relay relay;
    char *dir;                      /* holds the vhost-user sockets */
    char *path[2];                  /* where frontends A and B connect */
    char *dpdk_prefix;              /* dpdk: --file-prefix (runtime dir) */
    int stream_port;                /* vhost-user-stream: the tcp listener */
} VuRig;

double thread_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

bool dpdk_available(char *why, size_t len)
{
    g_autofree char *path = g_find_program_in_path("dpdk-testpmd");

    if (!path) {
        snprintf(why, len, "dpdk-testpmd not found (Debian: apt install dpdk)");
        return false;
    }
    return true;
}

static void vu_rig_vmwire_args(GPtrArray *argv, VuRig *rig, bool stream)
{
    g_ptr_array_add(argv, g_strdup(opt.vmwire));
    argv_add(argv, "-netdev");
    argv_add(argv, "vhost-user,id=vu,addr.type=unix,addr.path=%s,hubid=0",
             rig->path[0]);
    if (stream) {
        rig->stream_port = free_port(SOCK_STREAM);
        argv_add(argv, "-netdev");
        argv_add(argv, "socket,id=s,listen=127.0.0.1:%d", rig->stream_port);
        argv_add(argv, "-netdev");
        argv_add(argv, "hubport,id=hs,hubid=0,netdev=s");
    }
}

/*
 * DPDK's switch: main lcore 0 (it sleeps in the stats loop), the one
 * forwarding lcore pinned to core 1; few mbufs so that --no-huge -m 512
 * is enough.
 */
static void vu_rig_dpdk_args(GPtrArray *argv, VuRig *rig)
{
    rig->dpdk_prefix = g_strdup_printf("vmwire-bench-%d", (int)getpid());
    for (const char *a = "dpdk-testpmd\0-l\0" "0,1\0--main-lcore\0" "0\0"
                         "--no-huge\0-m\0" "512\0--no-pci\0";
         *a; a += strlen(a) + 1) {
        g_ptr_array_add(argv, g_strdup(a));
    }
    argv_add(argv, "--file-prefix=%s", rig->dpdk_prefix);
    for (int i = 0; i < 2; i++) {
        argv_add(argv, "--vdev");
        argv_add(argv, "net_vhost%d,iface=%s,queues=1", i, rig->path[i]);
    }
    for (const char *a = "--\0--forward-mode=io\0--auto-start\0"
                         "--stats-period=3600\0--nb-cores=1\0"
                         "--total-num-mbufs=16384\0";
         *a; a += strlen(a) + 1) {
        g_ptr_array_add(argv, g_strdup(a));
    }
}

static void vu_rig_start(VuRig *rig, RelayKind kind, bool stream)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;

    memset(rig, 0, sizeof(*rig));
    rig->dir = g_dir_make_tmp("vmwire-bench-vu.XXXXXX", &err);
    if (!rig->dir) {
        die("%s", err->message);
    }
    rig->path[0] = g_build_filename(rig->dir, "vu0.sock", NULL);
    rig->path[1] = g_build_filename(rig->dir, kind == RELAY_DPDK
                                              ? "vu1.sock" : "vu0.sock", NULL);
    if (kind == RELAY_DPDK) {
        vu_rig_dpdk_args(argv, rig);
    } else {
        vu_rig_vmwire_args(argv, rig, stream);
    }
    g_ptr_array_add(argv, NULL);
    rig->relay.kind = kind;
    rig->relay.pid = spawn((char **)argv->pdata);
    for (double end = now_s() + 10; stream && !port_ready("tcp", rig->stream_port);) {
        if (now_s() > end) {
            break;                  /* tcp_connect() dies with the reason */
        }
        g_usleep(5000);
    }
}

static void vu_rig_stop(VuRig *rig)
{
    relay_stop(&rig->relay);
    for (int i = 0; i < 2; i++) {
        unlink(rig->path[i]);
        g_free(rig->path[i]);
    }
    rmdir(rig->dir);
    g_free(rig->dir);
    if (rig->dpdk_prefix) {
        /* the runtime directory testpmd leaves behind (EAL's choice) */
        const char *xdg = g_getenv("XDG_RUNTIME_DIR");
        g_autofree char *run = g_build_filename(
            getuid() == 0 ? "/var/run" : xdg ? xdg : "/tmp", "dpdk",
            rig->dpdk_prefix, NULL);
        g_autoptr(GDir) d = g_dir_open(run, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(run, name, NULL);
            unlink(p);
        }
        rmdir(run);
        g_free(rig->dpdk_prefix);
    }
}

static size_t vu_buf_size(size_t size)
{
    return MAX(2048, (size + VU_NET_HDR_LEN + 63) / 64 * 64);
}

/* RX descriptors' length: --vu-rx-buffer (at least 64), or a whole buffer. */
static size_t vu_rx_len(size_t size)
{
    size_t buf = vu_buf_size(size);

    return opt.vu_rx_buffer > 0 ? CLAMP((size_t)opt.vu_rx_buffer, 64, buf) : buf;
}

/*
 * Frames in flight at most: --window, and never more than the RX ring
 * holds (a frame takes ceil((size + header) / RX length) buffers), so
 * that no backend finds the receiver's ring full.
 */
static uint64_t vu_window(size_t size)
{
    size_t per_frame = (size + VU_NET_HDR_LEN + vu_rx_len(size) - 1) /
                       vu_rx_len(size);

    return MAX(1, MIN((uint64_t)opt.window, VU_RING / per_frame));
}

static VuFrontend *vu_connect(const char *path, size_t size, Result *res)
{
    VuFrontendConfig cfg = {
        .ring_size = VU_RING,
        .buf_size = vu_buf_size(size),
        .rx_len = vu_rx_len(size),
        .connect_timeout_s = 10,
    };
    g_autoptr(GError) err = NULL;
    VuFrontend *f = vu_frontend_connect(path, &cfg, &err);

    if (!f && !res->failed) {
        res->failed = true;
        snprintf(res->note, sizeof(res->note), "%s", err->message);
    }
    return f;
}

/* Send one 64-byte frame from @f; false if its TX ring stays full. */
static bool vu_send_one(VuFrontend *f, const uint8_t dst[6],
                        const uint8_t src[6], uint16_t ethertype, uint64_t seq)
{
    uint8_t *frame;
    uint32_t len = BENCH_MIN_FRAME;

    if (vu_frontend_tx_reserve(f, 1, &frame) == 0 &&
        (vu_frontend_tx_wait(f, 1, 5000) == 0 ||
         vu_frontend_tx_reserve(f, 1, &frame) == 0)) {
        return false;
    }
    memset(frame, 0, BENCH_MIN_FRAME);
    frame_build(frame, BENCH_MIN_FRAME, dst, src, seq);
    frame[12] = ethertype >> 8;
    frame[13] = ethertype & 0xff;
    vu_frontend_tx_commit(f, 1, &len);
    return true;
}

/* A broadcast from port @port's MAC, so that a learning hub knows it. */
static void vu_announce(VuFrontend *f, int port)
{
    uint8_t bcast[6], src[6];

    memset(bcast, 0xff, 6);
    port_mac(src, port);
    vu_send_one(f, bcast, src, 0x88b6, 0); /* not ours: receivers skip it */
}

static void vu_seen(void *opaque, const uint8_t *frame, size_t len)
{
    *(bool *)opaque = true;
}

/*
 * Announce port @port (from frontend @from, or stream socket @fd) every
 * 100 ms until @to has received a frame: then the relay forwards (DPDK's
 * switch drops what comes before both its ports are up).  False, and
 * @res failed, after 10 s.
 */
static bool vu_await_path(VuFrontend *from, int fd, int port, VuFrontend *to,
                          Result *res)
{
    bool seen = false;

    for (int tries = 0; !seen && tries < 100; tries++) {
        double end;

        if (from) {
            vu_announce(from, port);
        } else {
            announce((int[]){ -1, fd }, 2);     /* port 1 only */
        }
        end = now_s() + 0.1;
        while (!seen && now_s() < end) {
            if (vu_frontend_rx_poll(to, VU_RING, vu_seen, &seen) == 0) {
                vu_frontend_rx_wait(to, 1, 20);
            }
        }
    }
    if (!seen) {
        res->failed = true;
        snprintf(res->note, sizeof(res->note), "the relay forwarded nothing "
                 "in 10 s");
    }
    return seen;
}

/* ---- throughput ------------------------------------------------------- */

static void *vu_flow_send(void *opaque)
{
    Flow *f = opaque;
    uint8_t dst[6], src[6];
    uint8_t *frames[VU_BATCH];
    uint32_t lens[VU_BATCH];
    uint64_t window = vu_window(f->size);
    uint64_t min_room = MAX(1, MIN(window / 4, VU_BATCH / 2));

    port_mac(src, f->tx_port);
    port_mac(dst, f->rx_port);
    for (int i = 0; i < VU_BATCH; i++) {
        lens[i] = f->size;
    }
    while (!f->failed && now_s() < f->stop_at) {
        uint64_t room = window - (f->sent - atomic_load(&f->received));

        if (room < min_room) {      /* wait for a batch's worth of room */
            struct timespec ts;

            pthread_mutex_lock(&f->lock);
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            if (window - (f->sent - atomic_load(&f->received)) < min_room &&
                !f->failed) {
                f->window_waits++;
                pthread_cond_timedwait(&f->cond, &f->lock, &ts);
            }
            pthread_mutex_unlock(&f->lock);
            continue;
        }
        unsigned n = vu_frontend_tx_reserve(f->vu_tx, MIN(room, VU_BATCH),
                                            frames);
        if (n == 0) {
            vu_frontend_tx_wait(f->vu_tx, VU_BATCH, VU_WAIT_MS);
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            frame_build(frames[i], f->size, dst, src, f->sent + i);
        }
        vu_frontend_tx_commit(f->vu_tx, n, lens);
        f->sent += n;
        atomic_store_explicit(&f->posted, f->sent, memory_order_release);
    }
    f->tx_cpu_s = thread_cpu_s();
    atomic_store(&f->tx_done, true);    /* f->sent is final */
    return NULL;
}

typedef struct VuRxCheck {
    Flow *flow;
    uint8_t src[6];
    uint64_t got;
} VuRxCheck;

static void vu_flow_check(void *opaque, const uint8_t *frame, size_t len)
{
    VuRxCheck *c = opaque;
    int rc = frame_check(frame, len, c->flow->size, c->src, c->got);

    if (rc == 0) {
        c->got++;
    } else if (rc == -2) {
        c->flow->damaged++;
    }
}

/*
 * Check frames until the sender is done and all it sent are in, or 2 s
 * without progress after it is done (frames were lost).
 */
static void *vu_flow_receive(void *opaque)
{
    Flow *f = opaque;
    VuRxCheck c = { .flow = f };
    double idle_since = now_s();

    port_mac(c.src, f->tx_port);
    for (;;) {
        bool sender_done = atomic_load(&f->tx_done);

        if (sender_done && c.got >= f->sent) {
            break;
        }
        c.got = atomic_load(&f->received);
        if (vu_frontend_rx_poll(f->vu_rx, VU_RING, vu_flow_check, &c) == 0) {
            /* wake up for half of what is on the way (as a NIC driver's
             * interrupt moderation would): fewer wake-ups for both sides */
            uint64_t coming = atomic_load(&f->posted) - c.got;

            if (!vu_frontend_rx_wait(f->vu_rx, MIN(coming / 2, VU_BATCH),
                                     VU_WAIT_MS) &&
                sender_done && now_s() - idle_since > 2.0) {
                break;
            }
            continue;
        }
        idle_since = now_s();
        if (c.got > atomic_load(&f->received)) {
            if (f->first_rx == 0) {
                f->first_rx = now_s();
            }
            f->last_rx = now_s();
            pthread_mutex_lock(&f->lock);
            atomic_store(&f->received, c.got);
            pthread_cond_signal(&f->cond);
            pthread_mutex_unlock(&f->lock);
        }
    }
    pthread_mutex_lock(&f->lock);
    f->failed = f->failed || f->damaged;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    f->rx_cpu_s = thread_cpu_s();
    return NULL;
}

/* The note of a throughput run: where the CPU went, per second of run. */
static void vu_flow_note(Result *res, const Flow *f, double relay_cpu,
                         double wall, uint64_t kicks)
{
    if (res->failed || wall <= 0) {
        return;
    }
    snprintf(res->note, sizeof(res->note), "CPU s/s: sender %.2f, receiver "
             "%.2f, relay %.2f; kicks/1k frames %.1f", f->tx_cpu_s / wall,
             f->rx_cpu_s / wall, relay_cpu / wall,
             f->sent ? kicks * 1000.0 / f->sent : 0);
}

/* -v: the frontends' counters and the CPU per frame of one run. */
static void vu_flow_verbose(const Flow *f, double relay_cpu)
{
    const VuFrontendStats *t = vu_frontend_stats(f->vu_tx);
    const VuFrontendStats *r = f->vu_rx ? vu_frontend_stats(f->vu_rx)
                                        : &(VuFrontendStats){ 0 };
    double frames = MAX(f->sent, 1);

    fprintf(stderr, "\nvmwire-bench:   sender: %" PRIu64 " frames, %" PRIu64
            " kicks, %" PRIu64 " ring waits, %" PRIu64 " calls, %" PRIu64
            " window waits; receiver: %" PRIu64 " frames, %" PRIu64 " kicks, %"
            PRIu64 " waits, %" PRIu64 " calls; CPU ns/frame: sender %.0f, "
            "receiver %.0f, relay %.0f\n", t->tx_frames, t->kicks, t->waits,
            t->calls, f->window_waits, r->rx_frames, r->kicks, r->waits,
            r->calls, f->tx_cpu_s * 1e9 / frames, f->rx_cpu_s * 1e9 / frames,
            relay_cpu * 1e9 / frames);
}

/* Run the sender and the receiver of @f for opt.seconds; the figures. */
static void vu_flow_run(Flow *f, const Relay *relay, bool to_stream,
                        Result *res)
{
    pthread_t tx, rx;
    double cpu0 = relay_cpu_s(relay), relay_cpu;

    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->stop_at = now_s() + opt.seconds;
    pthread_create(&rx, NULL, to_stream ? flow_receive : vu_flow_receive, f);
    pthread_create(&tx, NULL, vu_flow_send, f);
    pthread_join(tx, NULL);
    pthread_join(rx, NULL);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    relay_cpu = relay_cpu_s(relay) - cpu0;
    if (f->failed || f->received != f->sent || f->first_rx == 0) {
        res->failed = true;
        snprintf(res->note, sizeof(res->note), "%" PRIu64 "/%" PRIu64
                 " frames, %" PRIu64 " damaged", (uint64_t)f->received,
                 f->sent, f->damaged);
    }
    if (f->last_rx > f->first_rx) {
        res->mpps = f->received / (f->last_rx - f->first_rx) / 1e6;
        res->gbps = res->mpps * 1e6 * f->size * 8 / 1e9;
    }
    vu_flow_note(res, f, relay_cpu, opt.seconds,
                 vu_frontend_stats(f->vu_tx)->kicks);
    if (opt.verbose) {
        vu_flow_verbose(f, relay_cpu);
    }
}

/*
 * One flow A -> B for opt.seconds through vmwire's vhost-user hub port or
 * DPDK's switch; with @to_stream B is a stream port on vmwire's hub.
 */
Result run_vu_flow(RelayKind kind, size_t size, bool to_stream)
{
    VuRig rig;
    Flow f = { .tx_port = 0, .rx_port = 1, .size = size, .rx_fd = -1 };
    Result res = { 0 };

    vu_rig_start(&rig, kind, to_stream);
    f.vu_tx = vu_connect(rig.path[0], size, &res);
    if (to_stream && f.vu_tx) {
        f.rx_fd = tcp_connect(rig.stream_port);
    } else if (f.vu_tx) {
        f.vu_rx = vu_connect(rig.path[1], size, &res);
    }
    if (!res.failed && vu_await_path(f.vu_rx, f.rx_fd, 1, f.vu_tx, &res)) {
        vu_flow_run(&f, &rig.relay, to_stream, &res);
    }
    res.rss_kib = relay_peak_rss(&rig.relay);
    vu_frontend_free(f.vu_tx);
    vu_frontend_free(f.vu_rx);
    if (f.rx_fd >= 0) {
        close(f.rx_fd);
    }
    vu_rig_stop(&rig);
    relay_death_note(&rig.relay, &res);
    return res;
}

/* ---- round trip ------------------------------------------------------- */

typedef struct VuRttCheck {
    uint8_t src[6];
    uint64_t seq;
    int found;                      /* 1: the frame, -1: a damaged one */
} VuRttCheck;

static void vu_rtt_check(void *opaque, const uint8_t *frame, size_t len)
{
    VuRttCheck *c = opaque;
    int rc = frame_check(frame, len, BENCH_MIN_FRAME, c->src, c->seq);

    if (rc == 0) {
        c->found = 1;
    } else if (rc == -2) {
        c->found = -1;
    }
}

/* Wait (blocking) until @f receives frame @seq from @src; false if not. */
static bool vu_rtt_receive(VuFrontend *f, const uint8_t src[6], uint64_t seq)
{
    VuRttCheck c = { .seq = seq };
    double end = now_s() + 5;

    memcpy(c.src, src, 6);
    while (c.found == 0 && now_s() < end) {
        if (vu_frontend_rx_poll(f, VU_RING, vu_rtt_check, &c) == 0) {
            vu_frontend_rx_wait(f, 1, VU_WAIT_MS);
        }
    }
    return c.found == 1;
}

/* Median round trip, one 64-byte frame in flight, A -> B -> A. */
Result run_vu_rtt(RelayKind kind)
{
    VuRig rig;
    VuFrontend *fe[2] = { NULL, NULL };
    uint8_t mac[2][6];
    g_autofree double *rtt = g_new(double, opt.latency_rounds);
    Result res = { 0 };

    vu_rig_start(&rig, kind, false);
    for (int i = 0; i < 2; i++) {
        fe[i] = vu_connect(rig.path[i], BENCH_MIN_FRAME, &res);
        port_mac(mac[i], i);
    }
    if (!res.failed) {
        if (vu_await_path(fe[1], -1, 1, fe[0], &res)) {
            vu_await_path(fe[0], -1, 0, fe[1], &res);
        }
    }
    for (int n = 0; n < opt.latency_rounds && !res.failed; n++) {
        double t = now_s();

        for (int hop = 0; hop < 2; hop++) {
            if (!vu_send_one(fe[hop], mac[1 - hop], mac[hop], BENCH_ETHERTYPE, n) ||
                !vu_rtt_receive(fe[1 - hop], mac[hop], n)) {
                res.failed = true;
                snprintf(res.note, sizeof(res.note), "round %d failed", n);
                break;
            }
        }
        rtt[n] = (now_s() - t) * 1e6;
    }
    res.rss_kib = relay_peak_rss(&rig.relay);
    vu_frontend_free(fe[0]);
    vu_frontend_free(fe[1]);
    vu_rig_stop(&rig);
    relay_death_note(&rig.relay, &res);
    if (!res.failed) {
        qsort(rtt, opt.latency_rounds, sizeof(double), compare_double);
        res.usec = rtt[opt.latency_rounds / 2];
    }
    return res;
}

/* ---- memcpy ----------------------------------------------------------- */

/*
 * Frames of @size bytes one core copies per second, from one ring's worth
 * of buffers (VU_RING x 2 KiB or more) into another: what the one copy of
 * a vhost-user relay costs, with nothing else.
 */
Result run_memcpy(size_t size)
{
    size_t slot = MAX(2048, (size + 63) / 64 * 64);
    g_autofree uint8_t *src = g_malloc(VU_RING * slot);
    g_autofree uint8_t *dst = g_malloc(VU_RING * slot);
    Result res = { 0 };
    uint64_t frames = 0;
    double t0, t1;

    memset(src, 0x5a, VU_RING * slot);
    memset(dst, 0, VU_RING * slot);
    t0 = now_s();
    do {
        for (size_t i = 0; i < VU_RING; i++) {
            memcpy(dst + i * slot, src + ((i * 7) % VU_RING) * slot, size);
        }
        __asm__ volatile("" : : "r"(dst) : "memory");
        frames += VU_RING;
        t1 = now_s();
    } while (t1 - t0 < opt.seconds);
    res.mpps = frames / (t1 - t0) / 1e6;
    res.gbps = res.mpps * 1e6 * size * 8 / 1e9;
    return res;
}
