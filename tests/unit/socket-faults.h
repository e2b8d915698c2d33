/*
 * Test-only fixtures shared by the socket-level unit tests
 * (test-stream-conn.c, test-socket.c, test-dgram-conn.c, test-dgram.c);
 * the code is in socket-faults.c, linked into each of them.
 *
 * Each test builds real backends (through netdev_add) on loopback sockets,
 * peers them with a FakeNic (a test-only NetClientInfo standing in for the
 * NIC, whose can_receive()/receive() the test controls) and drives the
 * GLib main loop with g_main_context_iteration().  The "far end" is a
 * plain socket owned by the test (the other half of a socketpair, a TCP
 * client or server, a UDP socket).
 *
 * Faults come from a SocketOps table installed by test_begin(): a script
 * per operation (EAGAIN, EINTR, ECONNRESET, EOF, EMSGSIZE, pass) consumed
 * call by call, optionally cycled, plus a cap on the bytes each
 * recv/sendmsg moves (1 byte = the shortest writes).  Everything is
 * deterministic.  test_end() frees every client and checks that the test
 * ends with the fds it began with.
 */
#ifndef TESTS_SOCKET_FAULTS_H
#define TESTS_SOCKET_FAULTS_H

#include <stdio.h>
#include <sys/types.h>

#include <glib.h>

#include "net/net.h"
#include "util/sockops.h"

/* ---- fault injection ---------------------------------------------------- */

typedef enum FaultAction {
    FAULT_PASS,
    FAULT_EAGAIN,
    FAULT_EINTR,
    FAULT_ECONNRESET,
    FAULT_EOF,
    FAULT_EMSGSIZE,
} FaultAction;

typedef struct FaultScript {
    FaultAction actions[16];
    unsigned len;               /* actions in the script */
    unsigned pos;
    bool cycle;                 /* start over at the end (else: pass) */
} FaultScript;

typedef struct Faults {
    int fd;                     /* faults hit this fd only; -1: every fd */
    FaultScript recv, send;
    size_t recv_limit;          /* bytes per recv(); 0: no cap */
    size_t send_limit;          /* bytes per sendmsg(); 0: no cap */
    int setsockopt_name;        /* this option fails with setsockopt_err */
    int setsockopt_err;
    unsigned recv_calls;        /* recv()/recvmsg()/recvmmsg() on faulty fds */
    unsigned send_calls;        /* sendmsg()/sendmmsg() */
    unsigned recv_msgs;         /* datagrams recvmmsg() returned */
    unsigned send_msgs;         /* datagrams sendmmsg() sent */
    unsigned send_mmsgs;        /* messages sendmmsg() sent */
    unsigned send_gso;          /* of which UDP GSO messages */
} Faults;

/* What the fault table does and has seen; reset by test_begin(). */
extern Faults faults;
/* The installed table: a test may replace an entry (e.g. .accept). */
extern SocketOps fault_ops;

void faults_reset(void);
void fault_script(FaultScript *fs, bool cycle, unsigned n, ...);

/* ---- the fake NIC ------------------------------------------------------- */

typedef struct FakeNic {
    NetClientState nc;
    bool refuse;                /* can_receive() false */
    unsigned capacity;          /* receive() returns 0 beyond; 0: none */
    GPtrArray *frames;          /* GBytes of every frame taken */
    unsigned link_changes;
    bool tx_blocked;            /* a send of ours is queued */
    unsigned completions;
} FakeNic;

FakeNic *fake_nic_new(NetClientState *backend, const char *name);
ssize_t fake_nic_send(FakeNic *nic, const uint8_t *buf, size_t len);
void fake_nic_take(FakeNic *nic, unsigned more);

/* ---- frames and streams ------------------------------------------------- */

GByteArray *frame_new(size_t len, uint32_t seq);
void stream_append(GByteArray *stream, size_t len, uint32_t seq);
void assert_nic_frame(FakeNic *nic, unsigned i, size_t len, uint32_t seq);

/* ---- the far end and the loop ------------------------------------------- */

/* A test-owned socket: bytes to write out, bytes read in. */
typedef struct FarEnd {
    int fd;
    GByteArray *out;
    size_t out_done;
    GByteArray *in;
    bool reading;
    bool eof;
} FarEnd;

FarEnd *far_new(int fd);
void far_free(FarEnd *far);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FarEnd, far_free)
void far_close(FarEnd *far);

void loop_step(void);
void loop_settle(unsigned steps);

/* Run the loop until @cond, failing after 30 s (slow under valgrind). */
#define WAIT_FOR(cond)                                                  \
    do {                                                                \
        gint64 wait_end_ = g_get_monotonic_time() + 30 * G_USEC_PER_SEC; \
        while (!(cond)) {                                               \
            g_assert_cmpint(g_get_monotonic_time(), <, wait_end_);      \
            loop_step();                                                \
        }                                                               \
    } while (0)

/* ---- setup helpers ------------------------------------------------------ */

void test_begin(void);
void test_end(void);

NetClientState *netdev_new(const char *str, GError **errp);
NetClientState *netdev_new_ok(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
unsigned free_port(int type);
int tcp_connect(unsigned port, unsigned *local_port);
NetClientState *stream_pair_new(const char *id, FarEnd **far,
                                int *backend_fd);

/* Capture stderr (the backend's log lines) into a temporary file. */
typedef struct StderrCapture {
    int saved;
    FILE *file;
} StderrCapture;

void stderr_capture_start(StderrCapture *cap);
char *stderr_capture_end(StderrCapture *cap);

#endif
