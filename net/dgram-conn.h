/*
 * DgramConn: one frame per datagram, shared by -netdev socket (udp=,
 * mcast=, datagram fd=) and -netdev dgram.  See net/dgram-conn.c.
 *
 * The datagram client base: every datagram client kind is a DgramData (a
 * NetClientState followed by its DgramConn) with DGRAM_DATA_HOOKS in its
 * NetClientInfo; the completion callback of the frames it sends is the
 * base's too.  A kind's cleanup calls dgram_data_cleanup().
 */
#ifndef NET_DGRAM_CONN_H
#define NET_DGRAM_CONN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net/frame-ring.h"
#include "net/net.h"
#include "util/batch.h"
#include "util/fd-handler.h"

#define DGRAM_CONN_BATCH 32         /* datagrams per recvmmsg/sendmmsg */
#define DGRAM_CONN_READS 2          /* recvmmsg() calls per wake-up */
#define DGRAM_CONN_WRITES 16        /* send tries per flush (EINTR) */
#define DGRAM_CONN_TX_BYTES (256 * 1024)    /* transmit ring */
#define DGRAM_CONN_TX_FRAMES 128
#define DGRAM_CONN_GSO_SEGS 64      /* frames per GSO message, at most */
#define DGRAM_CONN_GSO_BYTES 65000  /* bytes per GSO message (< 64 KiB IP) */
#define DGRAM_CONN_SOCKBUF (4 * 1024 * 1024) /* SO_RCVBUF/SO_SNDBUF, at least */

typedef struct DgramConn {
    NetClientState *nc;             /* borrowed: the owner */
    int fd;                         /* receive socket, owned */
    int send_fd;                    /* == fd, or a multicast sender, owned */
    FdHandler *fd_handler;
    FdHandler *send_handler;        /* only if send_fd != fd */
    uint8_t *buf;                   /* BATCH x NET_BUFSIZE bytes, owned */
    struct mmsghdr rx_msgs[DGRAM_CONN_BATCH];
    struct iovec rx_iov[DGRAM_CONN_BATCH];
    struct sockaddr_storage rx_from[DGRAM_CONN_BATCH];
    unsigned rx_next, rx_count;     /* received, not yet handed on */
    FrameRing tx;                   /* datagrams for the next sendmmsg */
    BatchEntry tx_flush;            /* tx written at the batch's end */
    bool read_blocked;              /* a frame is queued at the peer */
    bool tx_waiting;                /* we refused a frame: flush later */
    bool has_dst;
    struct sockaddr_storage dst;    /* where frames go (unless connected) */
    socklen_t dst_len;
    bool filter_self;               /* drop datagrams from self */
    struct sockaddr_storage self;   /* the multicast sender's address */
    uint64_t self_filtered;
    bool gso;                       /* UDP GSO for runs of equal frames */
} DgramConn;

typedef struct DgramData {
    NetClientState nc;
    DgramConn dgram;
} DgramData;

/* Allocate @d's buffers; no sockets yet. */
void dgram_data_init(DgramData *d);
/* The base's receive hook: sendmsg, or 0 (flush later) on EAGAIN. */
ssize_t dgram_data_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt);
#define DGRAM_DATA_HOOKS .receive_iov = dgram_data_receive_iov
/* The common part of every kind's cleanup: dgram_conn_cleanup(). */
void dgram_data_cleanup(NetClientState *nc);
/* Start reading @fd and sending through @send_fd (both taken). */
void dgram_conn_start(DgramConn *c, int fd, int send_fd);
void dgram_conn_set_dst(DgramConn *c, const struct sockaddr *sa,
                        socklen_t len);
/* Close both sockets, free the buffer; safe twice. */
void dgram_conn_cleanup(DgramConn *c);
void dgram_conn_size_buffer(int fd, int name);

/*
 * Join multicast @group (AF_INET or AF_INET6) on interface @ifaddr (IPv4:
 * an address, may be NULL) or @ifindex (IPv6, 0: the kernel's choice).
 * With @clone_fd, the receive socket is dup2()ed over *clone_fd (QEMU's
 * fd= cloning).  On success @c runs with a separate sender and the self
 * filter; QEMU's messages otherwise.
 */
bool dgram_conn_mcast_open(DgramConn *c, const struct sockaddr *group,
                           const struct in_addr *ifaddr, unsigned ifindex,
                           const int *clone_fd, GError **errp);

/*
 * UDP GSO, shared with net/vxlan.c: room for one UDP_SEGMENT control
 * message; dgram_gso_set() makes @m's frames (its iovecs, @seg bytes each,
 * the last one possibly shorter) leave as one message the kernel cuts into
 * datagrams of @seg bytes.
 */
typedef union DgramGsoCmsg {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    size_t align;                   /* struct cmsghdr's alignment */
} DgramGsoCmsg;
void dgram_gso_set(struct msghdr *m, DgramGsoCmsg *ctrl, uint16_t seg);
/* Does the kernel take UDP_SEGMENT messages on @fd (a UDP socket)? */
bool dgram_gso_probe(int fd);
/* Is @err how the kernel refuses a GSO message as such (not its frames)? */
bool dgram_gso_refusal(int err);

/* "ip" / "[ip6]", then ":port", of @sa into @buf. */
#define DGRAM_ADDR_STRLEN (INET6_ADDRSTRLEN + 16)
const char *dgram_format_addr(const struct sockaddr *sa, char *buf);

#endif /* NET_DGRAM_CONN_H */
