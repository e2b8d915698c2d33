/*
 * DOC: pcap capture on a netdev (-object filter-dump), see net/dump.c
 *
 * A NetDump is QEMU's filter-dump: attached to one netdev, it sees every
 * frame that netdev sends (queue=tx) and every frame sent to it (queue=rx)
 * and appends them to a classic libpcap file.  The net core calls
 * net_dump_frame() from its send path only when one of the two ends has a
 * dump attached (NetClientState.dumps), so a client without one pays one
 * pointer test per frame.
 *
 * Objects (-object, QMP object-add/object-del) are created here too: a
 * filter-dump is the only kind vmwire has.
 */
#ifndef NET_DUMP_H
#define NET_DUMP_H

#include <glib.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "net/net.h"
#include "qapi-types.h"

/* Bytes buffered before a write(); one record never exceeds half of it. */
#define NET_DUMP_BUFFER_SIZE (256 * 1024)
/* Buffered records reach the file at most this long after they came. */
#define NET_DUMP_FLUSH_MS 100

/*
 * A frame of @size bytes goes from @sender to @receiver: record it in the
 * dumps of both ends that want it.  No allocation; a write() only when a
 * dump's buffer is full.
 */
void net_dump_frame(NetClientState *sender, NetClientState *receiver,
                    const struct iovec *iov, int iovcnt, size_t size);

/* @nc goes away: flush, close and free its dumps (QEMU does the same). */
void net_dump_client_gone(NetClientState *nc);

/*
 * A -object argument (key=value with qom-type implied first, or JSON) as
 * a new ObjectOptions (caller frees), or NULL with @errp set.
 */
ObjectOptions *object_parse(const char *optarg, GError **errp);

/*
 * Create the object (borrowed options).  Errors, with QEMU 7.2's words:
 *   Parameter 'id' expects an identifier
 *   Duplicate ID '<id>' for object
 *   Property 'filter-dump.maxlen' doesn't take value '0'
 *   Invalid value for netfilter status, should be 'on' or 'off'
 *   Parameter 'netdev' expects a network backend id
 *   net dump: can't open <file>: <strerror>
 */
bool object_add(const ObjectOptions *opts, GError **errp);

/* Append QEMU's "filters:" lines for @nc's dumps (none: nothing). */
void net_dump_format_info(NetClientState *nc, GString *out);

/* Free every object (at exit); dumps are flushed and closed. */
void object_cleanup(void);

#endif /* NET_DUMP_H */
