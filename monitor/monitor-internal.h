/*
 * DOC: what the monitor's modules share (not for the rest of vmwire)
 *
 *   monitor/monitor.c   options, listening sockets, accepting clients
 *   monitor/qmp.c       one QMP connection: bytes in, requests, replies and
 *                       events out; qapi_event_emit()
 *   monitor/qmp-cmds.c  the protocol's own commands (qmp_capabilities,
 *                       query-*, quit, getfd, closefd) and the fds getfd
 *                       stores
 *
 * A Monitor is one listening socket; it owns its QmpClients and the named
 * fds stored by getfd on any of them (QEMU keeps fds per monitor, so they
 * outlive the connection that stored them).  A QmpClient is freed when its
 * last reference goes: the monitor's list holds one, and dispatch holds one
 * while a request runs, so a client that must be dropped in the middle
 * (say, an event overflows its buffer) is only marked dead and closed.
 */
#ifndef MONITOR_MONITOR_INTERNAL_H
#define MONITOR_MONITOR_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/fd-handler.h"

/* Limits (docs/qmp.md). */
#define QMP_MAX_REQUEST_BYTES   (1024 * 1024)   /* one JSON value */
#define QMP_MAX_NESTING         1024            /* as QEMU's MAX_NESTING */
#define QMP_READ_CHUNK          (16 * 1024)     /* read per wake-up */
#define QMP_OUTPUT_PAUSE        (1024 * 1024)   /* stop reading requests */
#define QMP_OUTPUT_RESUME       (256 * 1024)    /* ... until down to this */
#define QMP_OUTPUT_MAX          (4 * 1024 * 1024) /* events: disconnect */
#define QMP_MAX_PASSED_FDS      16      /* SCM_RIGHTS fds held per client */
#define QMP_MAX_CLIENTS         64      /* connections per monitor */
#define QMP_MAX_NAMED_FDS       256     /* getfd names per monitor */

typedef struct QmpClient QmpClient;

typedef struct MonitorStats {
    unsigned long long accepted;        /* connections served */
    unsigned long long refused;         /* over QMP_MAX_CLIENTS */
    unsigned long long dropped_slow;    /* output beyond QMP_OUTPUT_MAX */
    unsigned long long fds_dropped;     /* SCM_RIGHTS fds over the limit */
} MonitorStats;

typedef struct Monitor {
    char *label;            /* "unix:PATH", "tcp:HOST:PORT" (for logs) */
    bool pretty;            /* -mon pretty=on */
    bool is_unix;           /* fds can be passed (getfd) */
    char *path;             /* unix: absolute path of the socket file */
    bool path_created;      /* we bound it: unlink at exit if still ours */
    dev_t path_dev;
    ino_t path_ino;
    int listen_fd;
    FdHandler *listen_handler;
    guint accept_retry_id;  /* back-off timer after accept() ran out */
    GList *clients;         /* QmpClient *, one reference each */
    unsigned nclients;
    GHashTable *fds;        /* getfd name -> MonitorFd * */
    MonitorStats stats;
    gint64 log_window;      /* rate limit of monitor_log() */
    unsigned log_count;
    unsigned log_suppressed;
} Monitor;

/* monitor.c */

/* Every monitor, in command-line order (borrowed; NULL before start). */
GPtrArray *monitor_all(void);

/* A log line about @mon on stderr; at most a few per 10 s per monitor. */
void monitor_log(Monitor *mon, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* qmp.c */

/* Serve the accepted connection @fd (taken) on @mon: greet it. */
void qmp_client_new(Monitor *mon, int fd);

/*
 * Close @c: pending replies get one last non-blocking write if @flush,
 * fds it received and did not claim are closed.  Safe on a dead client.
 */
void qmp_client_close(QmpClient *c, bool flush);

/* The client whose request is being executed, or NULL. */
QmpClient *qmp_client_current(void);
Monitor *qmp_client_monitor(const QmpClient *c);
bool qmp_client_negotiated(const QmpClient *c);
void qmp_client_set_negotiated(QmpClient *c);

/* The oldest fd received with SCM_RIGHTS and not yet claimed, or -1. */
int qmp_client_take_fd(QmpClient *c);

/* qmp-cmds.c */

/* Close and forget every fd stored by getfd on @mon. */
void monitor_fds_free(Monitor *mon);

#endif /* MONITOR_MONITOR_INTERNAL_H */
