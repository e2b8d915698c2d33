/*
 * DOC: pcap capture on a netdev (-object filter-dump), see net/dump.c
 *
 * A NetDump is QEMU's filter-dump, one kind of filter on the generic
 * chain (include/net/filter.h): attached to one netdev, it sees every
 * frame that netdev sends (queue=tx) and every frame sent to it
 * (queue=rx) and appends them to a classic libpcap file.  The object
 * registry (system/object.c) creates it with net_dump_add(); the chain
 * removes and frees it (object-del, its netdev going, exit).
 */
#ifndef NET_DUMP_H
#define NET_DUMP_H

#include <glib.h>
#include <stdbool.h>

#include "qapi-types.h"

/* Bytes buffered before a write(); one record never exceeds half of it. */
#define NET_DUMP_BUFFER_SIZE (256 * 1024)
/* Buffered records reach the file at most this long after they came. */
#define NET_DUMP_FLUSH_MS 100

/*
 * Create the filter-dump @id (copied; the registry checked it is free)
 * from @props (borrowed).  Errors, with QEMU 7.2's words, in its order:
 *   Property 'filter-dump.maxlen' doesn't take value '0'
 *   Invalid value for netfilter status, should be 'on' or 'off'
 *   Parameter 'netdev' expects a network backend id
 *   net dump: can't open <file>: <strerror>
 */
bool net_dump_add(const char *id, const FilterDumpProperties *props,
                  GError **errp);

#endif /* NET_DUMP_H */
