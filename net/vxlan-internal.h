/*
 * The VXLAN netdev's parts that net/vxlan-qmp.c and the unit test need:
 * the wire header, the forwarding database (FDB), the flow hash and the
 * client itself.  See net/vxlan.c.
 */
#ifndef NET_VXLAN_INTERNAL_H
#define NET_VXLAN_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/net.h"
#include "util/batch.h"
#include "util/fd-handler.h"

#define VXLAN_HDR_LEN 8             /* flags, 3 reserved, VNI, 1 reserved */
#define VXLAN_FLAG_I 0x08           /* "the VNI is valid": the only flag */
#define VXLAN_VNI_MAX 0xffffff
#define VXLAN_ETH_HLEN 14           /* the smallest inner frame we pass */
#define VXLAN_FDB_SIZE 4096         /* unicast entries per netdev */
#define VXLAN_FDB_BUCKETS 1024      /* a power of two */
#define VXLAN_FLOOD_MAX 64          /* remote=, group= and appended remotes */
#define VXLAN_AGE_MAX_S 1000000
#define VXLAN_RX_BATCH 16           /* datagrams per recvmmsg() */
#define VXLAN_RX_READS 2            /* recvmmsg() calls per wake-up */
#define VXLAN_RX_BUF 65536          /* bytes per received message */
#define VXLAN_TX_BATCH 32           /* datagrams per sendmmsg() */
#define VXLAN_TX_BYTES (256 * 1024) /* their bytes, at most */
#define VXLAN_TX_SOCKETS 16         /* UDP sockets the flows' ports are */
#define VXLAN_TX_BIND_TRIES 256     /* ports tried to bind them, at most */
#define VXLAN_SPORT_MIN 32768       /* Linux's default ephemeral range */
#define VXLAN_SPORT_MAX 60999

/* An underlay address: IPv4 or IPv6; the port is set when sending. */
typedef union VxlanAddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} VxlanAddr;

/*
 * Room for the UDP_GRO control message of one received message: the
 * segment size of the datagrams the kernel coalesced into it (an int).
 */
typedef union VxlanGroCmsg {
    char buf[CMSG_SPACE(sizeof(int))];
    size_t align;                   /* struct cmsghdr's alignment */
} VxlanGroCmsg;

/* Outcome of vxlan_header_parse(). */
typedef enum VxlanRx {
    VXLAN_RX_OK,
    VXLAN_RX_BAD_HEADER,            /* short, flags != 0x08, runt inner */
    VXLAN_RX_WRONG_VNI,
} VxlanRx;

/* One unicast FDB entry (a slot of VxlanFdb.slots). */
typedef struct VxlanFdbSlot {
    uint8_t mac[6];
    bool used;
    bool is_static;
    int32_t next;                   /* bucket chain or free list, -1: end */
    int64_t seen_us;                /* learned: last frame from it */
    VxlanAddr remote;
} VxlanFdbSlot;

/*
 * Inner MAC -> remote.  Unicast entries live in a fixed hash table of
 * VXLAN_FDB_SIZE slots (allocated by vxlan_fdb_init(), nothing per
 * frame); the all-zeros MAC is the flood list: every remote that gets
 * broadcast, multicast and unknown unicast frames.  Learned entries age
 * out after age_us, checked when they are looked at.
 */
typedef struct VxlanFdb {
    VxlanFdbSlot *slots;            /* owned */
    int32_t *buckets;               /* owned, chain heads, -1: empty */
    int32_t free_head;
    unsigned count;                 /* used slots */
    int64_t age_us;
    bool learning;
    VxlanAddr flood[VXLAN_FLOOD_MAX];
    unsigned n_flood;
    uint64_t full;                  /* learning refused: table full */
} VxlanFdb;

/* The client: -netdev vxlan. */
typedef struct VxlanState {
    NetClientState nc;
    uint32_t vni;
    uint16_t dstport, sport_min, sport_max;
    int family;                     /* AF_INET or AF_INET6 */
    VxlanAddr local;
    int rx_fd;                      /* UDP, bound to dstport, owned */
    /*
     * The send sockets: UDP, each bound to local= and a port of srcport=;
     * the inner flow's hash picks one.  None (n_tx 0): rx_fd sends.
     */
    int tx_fds[VXLAN_TX_SOCKETS];   /* owned */
    unsigned n_tx;
    bool tx_gso;                    /* runs leave as UDP GSO messages */
    FdHandler *rx_handler;
    VxlanFdb fdb;
    uint8_t *rx_buf;                /* RX_BATCH x RX_BUF bytes, owned */
    struct mmsghdr rx_msgs[VXLAN_RX_BATCH];
    struct iovec rx_iov[VXLAN_RX_BATCH];
    VxlanAddr rx_from[VXLAN_RX_BATCH];
    bool rx_gro;                    /* the kernel coalesces (UDP_GRO) */
    VxlanGroCmsg rx_ctrl[VXLAN_RX_BATCH];
    /* Per message: its datagrams' size (UDP_GRO), 0: one datagram. */
    size_t rx_seg[VXLAN_RX_BATCH];
    /* Received, not yet handed on: from message rx_next, byte rx_off. */
    unsigned rx_next, rx_count;
    size_t rx_off;
    bool read_blocked;              /* a frame is queued at the peer */
    /* Datagrams of the current batch, sent by one sendmmsg() at its end. */
    uint8_t *tx_buf;                /* VXLAN_TX_BYTES, owned */
    size_t tx_used;
    unsigned tx_count;
    struct mmsghdr tx_msgs[VXLAN_TX_BATCH];
    struct iovec tx_iov[VXLAN_TX_BATCH];
    VxlanAddr tx_to[VXLAN_TX_BATCH];
    int tx_fd_of[VXLAN_TX_BATCH];   /* the socket each datagram leaves */
    BatchEntry tx_flush;
    uint64_t bad_header, wrong_vni, too_big;
} VxlanState;

/* The wire. */
void vxlan_header_build(uint8_t *hdr, uint32_t vni);
VxlanRx vxlan_header_parse(const uint8_t *buf, size_t len, uint32_t vni);
/* The outer source port for the inner frame @head (its first @len bytes). */
uint16_t vxlan_flow_port(const uint8_t *head, size_t len, uint16_t min,
                         uint16_t max);

/* The FDB. */
void vxlan_fdb_init(VxlanFdb *f, int64_t age_us, bool learning);
void vxlan_fdb_destroy(VxlanFdb *f);
void vxlan_fdb_learn(VxlanFdb *f, const uint8_t *mac,
                     const VxlanAddr *remote);
/*
 * Where a frame to @mac goes: its remote if known, else the flood list.
 * Returns the count and points *@out at the addresses (borrowed).
 */
unsigned vxlan_fdb_lookup(VxlanFdb *f, const uint8_t *mac,
                          const VxlanAddr **out);
bool vxlan_fdb_add(VxlanFdb *f, const uint8_t *mac, const VxlanAddr *remote,
                   GError **errp);
bool vxlan_fdb_del(VxlanFdb *f, const uint8_t *mac, const VxlanAddr *remote,
                   GError **errp);
typedef void VxlanFdbFunc(const uint8_t *mac, const VxlanAddr *remote,
                          bool is_static, int64_t age_ms, void *opaque);
/* Flood list, then static, then live learned entries. */
void vxlan_fdb_foreach(VxlanFdb *f, VxlanFdbFunc *fn, void *opaque);
/* Test seam: the clock the FDB ages by (NULL: g_get_monotonic_time). */
void vxlan_set_clock(int64_t (*now)(void));

/* Helpers shared with net/vxlan-qmp.c. */
bool vxlan_parse_addr(const char *str, int family, const char *what,
                      VxlanAddr *addr, GError **errp);
bool vxlan_parse_mac(const char *str, uint8_t *mac);
const char *vxlan_format_addr(const VxlanAddr *addr, char *buf, size_t len);
/* The socket a frame whose head is @head (@len bytes) leaves from. */
int vxlan_tx_fd(const VxlanState *s, const uint8_t *head, size_t len);
/* @nc as a VxlanState, or NULL if it is not a vxlan netdev. */
VxlanState *vxlan_from_client(NetClientState *nc);

#endif /* NET_VXLAN_INTERNAL_H */
