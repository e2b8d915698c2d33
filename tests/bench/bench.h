/*
 * What vmwire-bench.c shares with the vhost-user cells (vu-cells.c): the
 * options, frames, relays as processes, the stream receiver and results.
 */
#ifndef BENCH_H
#define BENCH_H

#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vu-frontend.h"

#define BENCH_CHUNK (256 * 1024)
#define BENCH_ETHERTYPE 0x88b5      /* IEEE local experimental */
#define BENCH_HDR 4                 /* stream framing length */
#define BENCH_MIN_FRAME 64
#define BENCH_MAX_FRAME 65535
#define BENCH_MAX_PORTS 256

typedef enum {
    RELAY_VMWIRE, RELAY_QEMU, RELAY_COPY, RELAY_DPDK, RELAY_MEMCPY, RELAY_COUNT
} RelayKind;
extern const char *const relay_names[RELAY_COUNT];

/* --fault, for tests: flow 0 of a ports cell loses, duplicates or damages
 * its frame number BENCH_FAULT_AT on the way out (stream-mux.c) */
typedef enum {
    BENCH_FAULT_NONE, BENCH_FAULT_LOSE, BENCH_FAULT_DUPLICATE, BENCH_FAULT_DAMAGE,
} BenchFault;
#define BENCH_FAULT_AT 100

typedef struct BenchOptions {
    char *vmwire;
    char *qemu;
    char *relays;
    char *sizes;
    char *ports;
    char *vu_sizes;
    char *cells;
    char *md;
    char *csv;
    char *log;
    char *vxlan_opts;               /* appended to the vxlan cell's -netdev */
    double seconds;
    int repeat;
    int window;
    int window_bytes;
    int latency_rounds;
    int vu_rx_buffer;
    int ports_threads;              /* ports cells: 0 cores - 1, -1 threaded */
    BenchFault fault;
    bool quick;
    bool verbose;
    bool relay_enabled[RELAY_COUNT];
} BenchOptions;
extern BenchOptions opt;

/*
 * A relay: one process, or for the vxlan cell two vmwire daemons (pid:
 * port 0's, tunnel_pid: port 1's) joined by VXLAN over loopback; its RSS
 * and CPU are then the two daemons' sum.
 */
typedef struct Relay {
    RelayKind kind;
    pid_t pid;
    pid_t tunnel_pid;               /* vxlan: the second daemon, else 0 */
    int nports;
    bool dgram;
    bool vxlan;
    bool ring;                      /* flows go port i to i+1 (copy-ports.c) */
    int tunnel_port;                /* vxlan: both daemons' dstport= */
    int ports[BENCH_MAX_PORTS];     /* where the generator connects/sends */
    int peers[BENCH_MAX_PORTS];     /* dgram: where the generator receives */
    char death[128];                /* set by relay_stop() if it died */
} Relay;

/*
 * One sending port and one receiving port of a flow.  The sender keeps at
 * most opt.window frames beyond what the receiver has counted.
 */
typedef struct Flow {
    int tx_fd, rx_fd;
    int tx_port, rx_port;           /* port numbers, for MACs */
    bool broadcast;
    size_t size;
    double stop_at;
    uint64_t sent;
    _Atomic uint64_t received;
    _Atomic bool tx_done;           /* set by the sender after its last write */
    uint64_t damaged;
    double first_rx, last_rx;
    bool failed;
    char bad[64];                   /* stream-mux.c: the first bad frame */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    VuFrontend *vu_tx, *vu_rx;      /* vhost-user cells: the frontends */
    double tx_cpu_s, rx_cpu_s;      /* CPU time of the two threads */
    uint64_t window_waits;          /* the sender waited for the receiver */
    _Atomic uint64_t posted;        /* vhost-user: f->sent, for the receiver */
} Flow;

typedef struct Result {
    double mpps;
    double gbps;
    double usec;                    /* latency cells */
    double loss;                    /* dgram: fraction lost at full speed */
    double paired;                  /* stuck: this run over its flood run */
    long rss_kib;
    bool failed;
    bool died;                      /* the relay died (relay_stop) */
    char note[160];
} Result;

double now_s(void);
void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
int free_port(int type);
int tcp_listen(int port);
int tcp_connect(int port);
bool write_all(int fd, const uint8_t *buf, size_t len);
bool port_ready(const char *proto, int port);
bool port_ready_at(const char *proto, const char *host, int port);
void port_mac(uint8_t mac[6], int port);
void frame_build(uint8_t *p, size_t size, const uint8_t dst[6],
                 const uint8_t src[6], uint64_t seq);
int frame_check(const uint8_t *p, size_t size, size_t want_size,
                const uint8_t src[6], uint64_t want_seq);
pid_t spawn(char **argv);
void argv_add(GPtrArray *argv, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
long relay_peak_rss(const Relay *r);
double relay_cpu_s(const Relay *r);
void relay_stop(Relay *r);
void relay_death_note(const Relay *r, Result *res);
void *flow_receive(void *opaque);
void announce(const int *fds, int n);
void announce_learned(const int *fds, int n, int heard);
int compare_double(const void *a, const void *b);

/* copy-ports.c */
void copy_ports_run(const Relay *r);

/* stream-mux.c */
void stream_mux_run(Flow *flows, int nflows, const int *fds, int nports,
                    int nthreads);

/* vu-cells.c */
double thread_cpu_s(void);
Result run_vu_flow(RelayKind kind, size_t size, bool to_stream);
Result run_vu_rtt(RelayKind kind);
Result run_memcpy(size_t size);
bool dpdk_available(char *why, size_t len);

#endif
