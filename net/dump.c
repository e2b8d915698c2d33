/*
 * DOC: filter-dump: pcap capture at a netdev (see include/net/dump.h)
 *
 * `-object filter-dump,id=ID,netdev=NETDEV,file=PATH[,maxlen=N]
 * [,queue=all|rx|tx][,status=on|off]` and QMP object-add / object-del
 * (system/object.c); one kind of filter on the generic chain
 * (net/filter.c), which owns id, netdev, queue= and status=.
 *
 * The file is a classic libpcap file: a 24-byte header (magic 0xa1b2c3d4
 * in host byte order, version 2.4, snaplen = maxlen, LINKTYPE_ETHERNET)
 * written when the dump is created, then one record per frame: ts_sec,
 * ts_usec (wall clock), caplen = min(len, maxlen), len, and caplen bytes.
 *
 * Frame path: the chain calls net_dump_receive_iov(), which copies the
 * record into the dump's buffer (NET_DUMP_BUFFER_SIZE, allocated with the
 * dump); a write() happens only when the next record does not fit.  A
 * timer source (one per dump, made once and re-armed with
 * g_source_set_ready_time) writes what is buffered NET_DUMP_FLUSH_MS after
 * the first unwritten record; object-del, the netdev going away and exit
 * write the rest before closing (the cleanup hook).  A write error closes
 * the file with one log line; frames are then ignored.
 */
#include "net/dump.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "net/filter.h"
#include "util/error.h"
#include "util/log.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_RECORD_HEADER 16
#define NET_DUMP_MAXLEN_DEFAULT 65536

typedef struct NetDump {
    NetFilterState nf;          /* first: the chain's view of the dump */
    char *path;
    uint32_t maxlen;
    int fd;                     /* -1 once a write failed */
    uint8_t *buf;               /* NET_DUMP_BUFFER_SIZE bytes */
    size_t used;
    GSource *flush_source;      /* ready time -1: nothing waits */
} NetDump;

/* Write all that is buffered; a failure stops the dump for good. */
static void net_dump_flush(NetDump *d)
{
    size_t done = 0;

    g_source_set_ready_time(d->flush_source, -1);
    while (d->fd >= 0 && done < d->used) {
        ssize_t n = write(d->fd, d->buf + done, d->used - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_autofree char *who = g_strdup_printf("filter-dump %s",
                                                   d->nf.id);

            log_report_id(who, "write error on %s: %s; dump stopped",
                          d->path,
                          n < 0 ? g_strerror(errno) : "nothing written");
            close(d->fd);
            d->fd = -1;
            break;
        }
        done += (size_t)n;
    }
    d->used = 0;
}

static gboolean net_dump_flush_dispatch(GSource *source, GSourceFunc unused,
                                        gpointer unused_data)
{
    NetDump **d = (NetDump **)(source + 1);

    net_dump_flush(*d);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_dump_flush_funcs = {
    .dispatch = net_dump_flush_dispatch,
};

static void net_dump_receive_iov(NetFilterState *nf,
                                 NetFilterDirection direction,
                                 const struct iovec *iov, int iovcnt,
                                 size_t size)
{
    NetDump *d = container_of(nf, NetDump, nf);
    size_t caplen = MIN(size, (size_t)d->maxlen);
    int64_t now = g_get_real_time();
    uint32_t hdr[4] = {
        (uint32_t)(now / G_USEC_PER_SEC), (uint32_t)(now % G_USEC_PER_SEC),
        (uint32_t)caplen, (uint32_t)size,
    };

    if (d->fd < 0) {
        return;
    }
    if (d->used + sizeof(hdr) + caplen > NET_DUMP_BUFFER_SIZE) {
        net_dump_flush(d);
        if (d->fd < 0) {
            return;
        }
    }
    memcpy(d->buf + d->used, hdr, sizeof(hdr));
    d->used += sizeof(hdr);
    d->used += iov_to_buf(iov, iovcnt, d->buf + d->used, caplen);
    if (g_source_get_ready_time(d->flush_source) < 0) {
        g_source_set_ready_time(d->flush_source, g_get_monotonic_time() +
                                NET_DUMP_FLUSH_MS * 1000);
    }
}

/* Flush, close and free what is the dump's own (the chain frees nf). */
static void net_dump_cleanup(NetFilterState *nf)
{
    NetDump *d = container_of(nf, NetDump, nf);

    net_dump_flush(d);
    if (d->fd >= 0) {
        close(d->fd);
    }
    g_source_destroy(d->flush_source);
    g_source_unref(d->flush_source);
    g_free(d->buf);
    g_free(d->path);
}

/* QEMU 7.2 lists these between type= and the filter's common ones. */
static void net_dump_format_properties(NetFilterState *nf, GString *out)
{
    NetDump *d = container_of(nf, NetDump, nf);

    g_string_append_printf(out, ",file=%s,maxlen=%u", d->path, d->maxlen);
}

static const NetFilterInfo net_dump_info = {
    .type_name = "filter-dump",
    .size = sizeof(NetDump),
    .receive_iov = net_dump_receive_iov,
    .cleanup = net_dump_cleanup,
    .format_properties = net_dump_format_properties,
};

/* Open @path and write the pcap file header; -1 with @errp set. */
static int net_dump_open(const char *path, uint32_t snaplen, GError **errp)
{
    struct {
        uint32_t magic;
        uint16_t major, minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, linktype;
    } hdr = { PCAP_MAGIC, 2, 4, 0, 0, snaplen, PCAP_LINKTYPE_ETHERNET };
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

    if (fd < 0) {
        error_setg(errp, "net dump: can't open %s: %s", path,
                   g_strerror(errno));
        return -1;
    }
    if (write(fd, &hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
        error_setg(errp, "net dump write error: %s", g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* @d's flush timer, attached, not armed. */
static GSource *net_dump_flush_source_new(NetDump *d)
{
    GSource *source = g_source_new(&net_dump_flush_funcs,
                                   sizeof(GSource) + sizeof(NetDump *));

    *(NetDump **)(source + 1) = d;
    g_source_set_ready_time(source, -1);
    g_source_attach(source, NULL);
    return source;
}

bool net_dump_add(const char *id, const FilterDumpProperties *p,
                  GError **errp)
{
    const NetfilterProperties common = {
        .netdev = p->netdev, .has_queue = p->has_queue, .queue = p->queue,
        .has_status = p->has_status, .status = p->status,
    };
    uint32_t maxlen = p->has_maxlen ? p->maxlen : NET_DUMP_MAXLEN_DEFAULT;
    NetClientState *nc;
    NetDump *d;
    int fd;

    if (p->has_maxlen && p->maxlen == 0) {
        error_setg(errp, "Property 'filter-dump.maxlen' doesn't take value "
                   "'0'");
        return false;
    }
    if (!net_filter_check(&common, &nc, errp)) {
        return false;
    }
    fd = net_dump_open(p->file, maxlen, errp);
    if (fd < 0) {
        return false;
    }
    d = (NetDump *)net_filter_new(&net_dump_info, id, nc,
                                  p->has_queue ? p->queue
                                               : NET_FILTER_DIRECTION_ALL,
                                  !p->has_status ||
                                  g_str_equal(p->status, "on"));
    d->path = g_strdup(p->file);
    d->maxlen = maxlen;
    d->fd = fd;
    d->buf = g_malloc(NET_DUMP_BUFFER_SIZE);
    d->flush_source = net_dump_flush_source_new(d);
    return true;
}
