/*
 * DOC: one stream connection carrying QEMU's [len32be][frame] records
 *
 * The data path shared by every stream backend (`-netdev socket` listen=,
 * connect=, a SOCK_STREAM fd=, and `-netdev stream`): a StreamConn is
 * embedded in the backend's state next to its NetClientState and owns the
 * connected socket, its FdHandler, the StreamFraming receive buffer and a
 * fixed transmit ring (STREAM_CONN_TX_SIZE).  Both buffers are allocated
 * on demand, only for bytes that must wait: reads go into one receive
 * scratch and writes leave from one transmit arena, both shared by every
 * connection, so the receive buffer comes with the first partial frame
 * (or the bytes behind a queued frame) to keep, the ring with the first
 * bytes the socket did not take; both are freed once the connection has
 * been idle (nothing read or written, nothing buffered) for a whole
 * STREAM_CONN_IDLE_MS: an idle connection holds no buffer
 * (docs/security.md, "Bounded resources").  A busy connection keeps them,
 * so steady traffic allocates nothing; only the idle->busy transition
 * does.
 *
 * The stream client base (QEMU's net/stream_data.c): every stream client
 * kind (`-netdev stream`, `-netdev socket`'s streams, the hubid=
 * connections) is a StreamData, a NetClientState followed by its
 * StreamConn, and puts STREAM_DATA_HOOKS (receive_iov, can_receive) in its
 * NetClientInfo; the completion callback of the frames it sends is the
 * base's too, and so are the accepting of a server (one peer at a time,
 * again after each close), the nonblocking connect of a client and the
 * QMP events' bookkeeping (the peer announced, forgotten).  A kind adds
 * only what is its own: its StreamConnOps (logs, status, link,
 * reconnecting) and its cleanup, which calls stream_data_cleanup().
 *
 *   socket -> peer: at most STREAM_CONN_READS recv() calls of up to
 *     STREAM_FRAMING_READ_ROOM (256 KiB) per wake-up go into the receive
 *     scratch, one framing buffer shared by all connections, behind the
 *     partial frame the connection kept (a short read ends the wake-up
 *     early: the socket is drained); every complete frame is handed to
 *     the peer without copying with net_client_send_async(), and what is
 *     left goes back to the connection's own buffer.  A queued frame
 *     (the peer returned 0) stops reading and parsing; the completion
 *     resumes the buffered bytes, then reading.  Nothing is lost.
 *   peer -> socket: stream_conn_receive_iov() stages [len][frame] where
 *     the receive scratch holds it (a stream port relaying to a stream
 *     port: no copy; the scratch is then lent to the batch, and reads
 *     until its end go into the connections' own buffers), or copies it
 *     into the shared transmit arena (STREAM_CONN_ARENA_SIZE) or, when
 *     the ring holds bytes or neither can take it, into the ring.  Inside a
 *     batch (a main-loop callback, include/util/batch.h) the write is
 *     deferred to the batch's end, so all the frames one wake-up produced
 *     leave in one sendmsg() and what the socket did not take moves to
 *     the ring; outside one it writes at once.  Pending write interest means the writable callback resumes
 *     a partial write.  A ring without room is written out first; if it
 *     still has none, receive returns 0 and net_client_flush_queued()
 *     follows once the largest record fits.
 *
 * A length above NET_BUFSIZE logs QEMU's "serious error" line, counts a
 * reset and closes the connection; EOF, errors and a failed connect close
 * it too.  Closing calls the backend's `closing` hook (fd still open: log
 * what happened), releases the socket and both buffers' contents, then the
 * `closed` hook (link down, events, listen again, reconnect), and finally
 * releases frames queued for the client.  A connection may be attached
 * while its connect() is in progress: frames wait in the ring, and the
 * `connected` hook runs when it completes.  Every socket call goes through
 * `sockops`.
 */
#ifndef NET_STREAM_CONN_H
#define NET_STREAM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net/net.h"
#include "net/stream-framing.h"
#include "qapi-types.h"
#include "util/batch.h"
#include "util/fd-handler.h"

/*
 * recv() calls per wake-up.  One of STREAM_FRAMING_READ_ROOM (256 KiB):
 * a wake-up never produces more than one destination's transmit ring
 * holds, so a fast sender cannot overrun a slower reader's bounded queue
 * before that reader's socket gets a chance to drain.
 */
#define STREAM_CONN_READS 1
#define STREAM_CONN_WRITES 16       /* send calls per attempt */
/* A frame as it goes on a stream: header and the largest frame. */
#define STREAM_CONN_MAX_RECORD (STREAM_FRAMING_HEADER_LEN + NET_BUFSIZE)
#define STREAM_CONN_TX_SIZE (256 * 1024 + STREAM_CONN_MAX_RECORD)
/* Buffers of a connection idle this long (1-2 periods) are freed. */
#define STREAM_CONN_IDLE_MS 1000

/* Why a connection ends; decides the log line. */
typedef enum StreamConnClose {
    STREAM_CONN_CLOSE_PEER,         /* EOF, a socket error, connect failed */
    STREAM_CONN_CLOSE_PROTOCOL,     /* bad length: already logged */
} StreamConnClose;

typedef struct StreamConn StreamConn;

/* The kind's hooks, all optional. */
typedef struct StreamConnOps {
    /* The connection is ending; c->fd and c->connecting still tell how. */
    void (*closing)(StreamConn *c, StreamConnClose why, int err);
    /* It has ended: c->fd is -1, the buffers are empty. */
    void (*closed)(StreamConn *c);
    /* A connect() in progress completed. */
    void (*connected)(StreamConn *c);
    /* A server accepted a peer at @sa: the connection is attached. */
    void (*accepted)(StreamConn *c, const struct sockaddr_storage *sa,
                     socklen_t len);
} StreamConnOps;

/*
 * The transmit arena: records written inside a batch to a connection with
 * nothing else waiting, and not already in the receive scratch (staged
 * where they lie, see the DOC comment), go into one buffer shared by all
 * connections
 * (STREAM_CONN_ARENA_SIZE, reused every batch), described by up to
 * STREAM_CONN_STAGED spans per connection, and are written from there at
 * the batch's end; only what the socket does not take is copied into the
 * connection's own ring.  So a hub of hundreds of busy ports copies each
 * frame into memory that is still in the cache instead of into one of
 * hundreds of rings.  Staged bytes count against the ring's size: the
 * ring can always take them.
 */
#define STREAM_CONN_ARENA_SIZE (512 * 1024)
#define STREAM_CONN_STAGED 8

/*
 * Where transmitted records were put, in bytes since start (for tests and
 * profiling): written from the receive scratch where they were read
 * (lent), copied into the arena, into a ring (the ring path), and moved
 * from staged spans to a ring because the socket did not take them.
 */
typedef struct StreamConnTxStats {
    uint64_t lent;
    uint64_t arena;
    uint64_t ring;
    uint64_t unstaged;
} StreamConnTxStats;

StreamConnTxStats stream_conn_tx_stats_get(void);

/* Bytes waiting to be written: a fixed ring, and staged arena spans. */
typedef struct StreamConnTxRing {
    uint8_t *buf;                   /* STREAM_CONN_TX_SIZE bytes, owned;
                                       NULL while idle */
    size_t head;                    /* offset of the oldest byte */
    size_t len;                     /* bytes held */
    /* In the arena, this batch only, older than nothing: len is 0. */
    struct iovec staged[STREAM_CONN_STAGED];
    unsigned nstaged;
    size_t staged_len;
} StreamConnTxRing;

struct StreamConn {
    NetClientState *nc;             /* the backend's client, borrowed */
    const char *log_name;           /* for log lines if not nc->name */
    const StreamConnOps *ops;
    int fd;                         /* -1 while not connected */
    FdHandler *fd_handler;
    bool connecting;                /* connect() still in progress */
    bool read_blocked;              /* a frame is queued at the peer */
    bool tx_waiting;                /* we refused a frame: flush later */
    bool tx_dead;                   /* a write failed: close from the loop */
    bool holding;                   /* has buffers: in the idle sweep */
    bool busy;                      /* read or wrote since the last sweep */
    StreamFraming *rx;              /* owned; NULL while idle */
    StreamConnTxRing tx;
    BatchEntry tx_flush;            /* ring written at the batch's end */
};


/*
 * Start using stream socket @fd (taken): connected, or with a nonblocking
 * connect() in progress if @connecting.
 */
void stream_conn_attach(StreamConn *c, int fd, bool connecting);
/* End the connection as described in the DOC comment. */
void stream_conn_close(StreamConn *c, StreamConnClose why, int err);

static inline bool stream_conn_is_open(const StreamConn *c)
{
    return c->fd >= 0;
}


/*
 * A listening stream socket, shared by `-netdev socket,listen=`, `-netdev
 * stream,server=on` and the many-client listeners (net/stream-multi.c).
 * At most STREAM_LISTENER_ACCEPTS accept() calls per wake-up, each only
 * while the fd reserve (include/util/sockets.h) is full, so connections
 * never take the fds kept for a QMP client.  A reserve that cannot be
 * topped up, or an accept() that fails for lack of fds or memory, leaves
 * the connection pending and the fd readable, so polling on would spin:
 * read interest goes off and a timer turns it back on after
 * STREAM_LISTENER_RETRY_MS.  The first such wake-up is logged ("can't
 * accept a connection (<strerror>), retrying every 1000 ms"), each one is
 * counted (`deferred`, shown by hubid= listeners' status), and the first accept after them logs "accepting
 * connections again".  Other failures (EAGAIN, an aborted connection)
 * wait for the next wake-up.
 */
#define STREAM_LISTENER_ACCEPTS 16
#define STREAM_LISTENER_RETRY_MS 1000

typedef struct StreamListener StreamListener;

/* A connection was accepted: @fd (nonblocking, close-on-exec) is taken. */
typedef void StreamListenerAccepted(StreamListener *l, int fd,
                                    const struct sockaddr_storage *sa,
                                    socklen_t len);

struct StreamListener {
    NetClientState *nc;             /* for log lines, borrowed */
    int fd;                         /* the listening socket, owned; -1 */
    FdHandler *handler;
    guint retry_id;                 /* back-off timer after EMFILE */
    bool at_limit;                  /* backing off since the last accept */
    uint64_t deferred;              /* accepts deferred for lack of fds */
    bool enabled;                   /* wants to accept */
    StreamListenerAccepted *accepted;
};

/*
 * Watch listening socket @fd (taken) for client @nc (borrowed): accepts
 * while enabled (it starts enabled) and calls @accepted for each.
 */
void stream_listener_start(StreamListener *l, NetClientState *nc, int fd,
                           StreamListenerAccepted *accepted);
/* Accept (again) or stop accepting; a pending back-off is honoured. */
void stream_listener_set_enabled(StreamListener *l, bool on);
/* Stop watching and close the socket; safe twice and on a zeroed one. */
void stream_listener_destroy(StreamListener *l);

/* The stream client base; see the DOC comment. */
typedef struct StreamData {
    NetClientState nc;
    StreamConn conn;
    StreamListener listener;        /* a server's; fd -1 otherwise */
    SocketAddress *peer;            /* announced to QMP; owned, or NULL */
} StreamData;

/* Set up @d's connection with the kind's @ops (buffers come on demand). */
void stream_data_init(StreamData *d, const StreamConnOps *ops);
/* The base's NetClientInfo hooks. */
ssize_t stream_data_receive_iov(NetClientState *nc, const struct iovec *iov,
                                int iovcnt);
bool stream_data_can_receive(NetClientState *nc);
#define STREAM_DATA_HOOKS                       \
    .receive_iov = stream_data_receive_iov,     \
    .can_receive = stream_data_can_receive
/*
 * The common part of every kind's cleanup: close the sockets (no hooks)
 * and free the buffers; safe twice.
 */
void stream_data_cleanup(NetClientState *nc);

/*
 * Peer address @sa (@len bytes) as QMP's SocketAddress (new, caller
 * frees; a unix peer is named @unix_path, or "") and, unless @uri is NULL,
 * as a URI (new: "tcp:127.0.0.1:5000", "tcp:[::1]:5000", "unix:PATH").
 */
SocketAddress *stream_data_describe(const struct sockaddr_storage *sa,
                                    socklen_t len, const char *unix_path,
                                    char **uri);
/* The connection has peer @peer (taken): NETDEV_STREAM_CONNECTED. */
void stream_data_announce(StreamData *d, SocketAddress *peer);
/* If a peer was announced, forget it: NETDEV_STREAM_DISCONNECTED. */
void stream_data_forget_peer(StreamData *d);

/*
 * Serve one peer at a time on listening socket @fd (taken): each accepted
 * connection is attached (TCP_NODELAY set) and ops->accepted runs; once
 * it has closed (after ops->closed) the next peer is accepted.
 */
void stream_data_listen(StreamData *d, int fd);
/*
 * Start connecting stream socket @fd (taken) to @sa and attach it: 1
 * connected at once (TCP_NODELAY set), 0 in progress (ops->connected
 * follows, or ops->closing and ops->closed), -errno with @fd closed.
 */
int stream_data_connect(StreamData *d, int fd, const struct sockaddr *sa,
                        socklen_t len);

#endif /* NET_STREAM_CONN_H */
