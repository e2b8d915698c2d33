/*
 * DOC: many-client stream listeners, see net/stream-multi.c
 *
 * `-netdev stream,server=on,hubid=N` and `-netdev socket,listen=...,hubid=N`
 * keep accepting; every connection becomes its own port of learning hub N.
 * The backends parse and resolve their address and open the listening
 * socket; net_multi_listener_new() does the rest.
 */
#ifndef NET_STREAM_MULTI_H
#define NET_STREAM_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <glib.h>

#include "net/net.h"
#include "qapi-types.h"

#define NET_MULTI_MAX_CLIENTS_DEFAULT 64
#define NET_MULTI_MAX_CLIENTS_LIMIT 1024

/* A many-client listener's settings, checked. */
typedef struct NetMultiOptions {
    int32_t hubid;
    uint16_t vlan;                  /* of every port, 1..4094 */
    unsigned max_clients;           /* 1..NET_MULTI_MAX_CLIENTS_LIMIT */
} NetMultiOptions;

/*
 * Check a listener's hubid=, max-clients= and vlan= (@o, the QAPI base
 * of NetdevSocketOptions and NetdevStreamOptions: NET_MULTI_BASE()).
 * Returns false with @errp set on a bad value, or on max-clients=/vlan=
 * without hubid=:
 *   max-clients= is only valid with hubid=
 *   vlan= is only valid with hubid=
 *   Parameter 'max-clients' expects a number of clients (1..1024)
 *   Parameter 'vlan' expects a VLAN id (1..4094)
 * Sets *@multi to whether hubid= was given (then @out is filled).
 */
bool net_multi_check(const NetdevMultiListenOptions *o, bool *multi,
                     NetMultiOptions *out, GError **errp);

/*
 * The NetdevMultiListenOptions base of a NetdevSocketOptions or
 * NetdevStreamOptions, as QEMU's generated qapi_<Type>_base(): the
 * generator puts a base's members first, in order (net/stream-multi.c
 * checks the layout at compile time).
 */
#define NET_MULTI_BASE(opts) ((const NetdevMultiListenOptions *)(opts))

typedef struct NetMultiListener NetMultiListener;
typedef struct NetMultiMember NetMultiMember;

/*
 * What kind of connection a listener makes of each accepted socket.
 * Stream and socket listeners have the built-in stream kind
 * (net/stream-conn.c's StreamConn); vhost-user listeners have their own
 * (net/vhost-user.c).  Everything else (names, max-clients, the hub port,
 * events, log lines, netdev_del) is this module's, for every kind.
 */
typedef struct NetMultiKind {
    /* Create the connection client @name; returns its member (zeroed). */
    NetMultiMember *(*create)(const char *name);
    /* Start serving @fd (taken) and set the client's status line. */
    void (*attach)(NetMultiMember *mm, int fd);
    /* Is the socket open?  End it (closing hooks run, see below). */
    bool (*is_open)(NetMultiMember *mm);
    void (*close)(NetMultiMember *mm);
} NetMultiKind;

/*
 * A connection of a many-client listener, embedded in the kind's client
 * state.  The kind calls net_multi_member_closing() when its connection
 * ends (before the socket closes: the leave line), then
 * net_multi_member_closed() (the event; the port goes; the client is
 * freed from the loop), and net_multi_member_cleanup() from its
 * NetClientInfo.cleanup.
 */
struct NetMultiMember {
    NetClientState *nc;             /* the connection client */
    const NetMultiKind *kind;
    NetMultiListener *listener;     /* NULL once it has left the list */
    NetClientState *port;           /* its hub port, or NULL once gone */
    char *port_name;                /* "L.n", owned */
    char *peer;                     /* for logs, owned */
    int32_t hubid;
    bool mac_known;                 /* mac: the port's first MAC */
    uint8_t mac[6];
    guint reap_id;                  /* frees the client from the loop */
};

/* The listener's client while @mm is listed, else NULL. */
NetClientState *net_multi_member_listener(NetMultiMember *mm);
/* The kind's settings given to its listener (kind_data), or NULL. */
const void *net_multi_member_kind_data(NetMultiMember *mm);
void net_multi_member_closing(NetMultiMember *mm);
void net_multi_member_closed(NetMultiMember *mm);
void net_multi_member_cleanup(NetMultiMember *mm);

/* How a listener was asked for; decides names, status and events. */
typedef struct NetMultiListenerConfig {
    const char *id;                 /* the netdev's id */
    NetClientDriver type;           /* SOCKET, STREAM or VHOST_USER */
    const NetMultiKind *kind;       /* NULL: the stream kind */
    int listen_fd;                  /* listening socket, taken */
    const char *unix_path;          /* unix listener: its path, or NULL */
    char *unlink_path;              /* removed when it goes; taken */
    const char *where;              /* shown in the status line */
    NetMultiOptions opts;
    const void *kind_data;          /* the kind's own settings, copied */
    size_t kind_data_size;
} NetMultiListenerConfig;

/* Create the listener client; it accepts at once.  Cannot fail. */
NetClientState *net_multi_listener_new(NetMultiListenerConfig *cfg);

#endif /* NET_STREAM_MULTI_H */
