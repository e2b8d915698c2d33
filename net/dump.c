/*
 * DOC: filter-dump: pcap capture at a netdev (see include/net/dump.h)
 *
 * `-object filter-dump,id=ID,netdev=NETDEV,file=PATH[,maxlen=N]
 * [,queue=all|rx|tx][,status=on|off]` and QMP object-add / object-del.
 *
 * The file is a classic libpcap file: a 24-byte header (magic 0xa1b2c3d4
 * in host byte order, version 2.4, snaplen = maxlen, LINKTYPE_ETHERNET)
 * written when the dump is created, then one record per frame: ts_sec,
 * ts_usec (wall clock), caplen = min(len, maxlen), len, and caplen bytes.
 *
 * Frame path: net_dump_frame() copies the record into the dump's buffer
 * (NET_DUMP_BUFFER_SIZE, allocated with the dump); a write() happens only
 * when the next record does not fit.  A timer source (one per dump, made
 * once and re-armed with g_source_set_ready_time) writes what is buffered
 * NET_DUMP_FLUSH_MS after the first unwritten record; object-del, the
 * netdev going away and exit write the rest before closing.  A write error
 * closes the file with one log line; frames are then ignored.
 *
 * A dump belongs to one client (NetClientState.dumps, a singly linked
 * list) and to the object list (ids).  When its netdev goes, QEMU deletes
 * its filters: so does vmwire (net_dump_client_gone()).
 */
#include "net/dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qapi-commands.h"
#include "qapi-visit.h"
#include "util/error.h"
#include "util/keyval.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_RECORD_HEADER 16
#define NET_DUMP_MAXLEN_DEFAULT 65536

struct NetDump {
    char *id;
    char *path;
    NetClientState *nc;         /* borrowed: the dump goes before it */
    NetDump *next;              /* the next dump of nc */
    NetFilterDirection queue;
    bool on;
    uint32_t maxlen;
    int fd;                     /* -1 once a write failed */
    uint8_t *buf;               /* NET_DUMP_BUFFER_SIZE bytes */
    size_t used;
    GSource *flush_source;      /* ready time -1: nothing waits */
};

static GQueue net_dumps = G_QUEUE_INIT;     /* every object, oldest first */

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
            fprintf(stderr, "vmwire: filter-dump %s: write error on %s: %s; "
                    "dump stopped\n", d->id, d->path,
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

static void net_dump_record(NetDump *d, const struct iovec *iov, int iovcnt,
                            size_t size)
{
    size_t caplen = MIN(size, (size_t)d->maxlen);
    int64_t now = g_get_real_time();
    uint32_t hdr[4] = {
        (uint32_t)(now / G_USEC_PER_SEC), (uint32_t)(now % G_USEC_PER_SEC),
        (uint32_t)caplen, (uint32_t)size,
    };

    if (d->fd < 0 || !d->on) {
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

void net_dump_frame(NetClientState *sender, NetClientState *receiver,
                    const struct iovec *iov, int iovcnt, size_t size)
{
    for (NetDump *d = sender->dumps; d; d = d->next) {
        if (d->queue != NET_FILTER_DIRECTION_RX) {
            net_dump_record(d, iov, iovcnt, size);
        }
    }
    for (NetDump *d = receiver->dumps; d; d = d->next) {
        if (d->queue != NET_FILTER_DIRECTION_TX) {
            net_dump_record(d, iov, iovcnt, size);
        }
    }
}

static void net_dump_free(NetDump *d)
{
    NetDump **link;

    if (!d) {
        return;
    }
    for (link = &d->nc->dumps; *link && *link != d; link = &(*link)->next) {
    }
    if (*link) {
        *link = d->next;
    }
    g_queue_remove(&net_dumps, d);
    net_dump_flush(d);
    if (d->fd >= 0) {
        close(d->fd);
    }
    g_source_destroy(d->flush_source);
    g_source_unref(d->flush_source);
    g_free(d->buf);
    g_free(d->path);
    g_free(d->id);
    g_free(d);
}

void net_dump_client_gone(NetClientState *nc)
{
    while (nc->dumps) {
        net_dump_free(nc->dumps);
    }
}

static NetDump *net_dump_find(const char *id)
{
    for (GList *l = net_dumps.head; l; l = l->next) {
        NetDump *d = l->data;

        if (g_str_equal(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

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

static bool filter_dump_add(const char *id, const FilterDumpProperties *p,
                            GError **errp)
{
    uint32_t maxlen = p->has_maxlen ? p->maxlen : NET_DUMP_MAXLEN_DEFAULT;
    NetClientState *nc;
    NetDump *d, **tail;
    int fd;

    if (p->has_maxlen && p->maxlen == 0) {
        error_setg(errp, "Property 'filter-dump.maxlen' doesn't take value "
                   "'0'");
        return false;
    }
    if (p->has_status && !g_str_equal(p->status, "on") &&
        !g_str_equal(p->status, "off")) {
        error_setg(errp, "Invalid value for netfilter status, should be "
                   "'on' or 'off'");
        return false;
    }
    nc = net_client_find(p->netdev);
    if (!nc || nc->info->type == NET_CLIENT_DRIVER_NIC || net_client_is_going(nc)) {
        error_setg(errp, "Parameter 'netdev' expects a network backend id");
        return false;
    }
    fd = net_dump_open(p->file, maxlen, errp);
    if (fd < 0) {
        return false;
    }
    d = g_new0(NetDump, 1);
    d->id = g_strdup(id);
    d->path = g_strdup(p->file);
    d->nc = nc;
    d->queue = p->has_queue ? p->queue : NET_FILTER_DIRECTION_ALL;
    d->on = !p->has_status || g_str_equal(p->status, "on");
    d->maxlen = maxlen;
    d->fd = fd;
    d->buf = g_malloc(NET_DUMP_BUFFER_SIZE);
    d->flush_source = g_source_new(&net_dump_flush_funcs,
                                   sizeof(GSource) + sizeof(NetDump *));
    *(NetDump **)(d->flush_source + 1) = d;
    g_source_set_ready_time(d->flush_source, -1);
    g_source_attach(d->flush_source, NULL);
    for (tail = &nc->dumps; *tail; tail = &(*tail)->next) {
    }
    *tail = d;                  /* QEMU's default position: tail */
    g_queue_push_tail(&net_dumps, d);
    return true;
}

ObjectOptions *object_parse(const char *optarg, GError **errp)
{
    g_autoptr(JsonNode) node = NULL;
    ObjectOptions *opts = NULL;
    bool keyval;

    node = keyval_parse_option(optarg, "qom-type", &keyval, errp);
    if (!node) {
        return NULL;
    }
    qapi_input_ObjectOptions(node, keyval, &opts, errp);
    return opts;
}

bool object_add(const ObjectOptions *opts, GError **errp)
{
    if (!id_check(opts->id, errp)) {
        return false;
    }
    if (net_dump_find(opts->id)) {
        error_setg(errp, "Duplicate ID '%s' for object", opts->id);
        return false;
    }
    switch (opts->qom_type) {
    case OBJECT_TYPE_FILTER_DUMP:
        return filter_dump_add(opts->id, &opts->u.filter_dump, errp);
    default:
        break;
    }
    error_setg(errp, "Parameter 'qom-type' does not accept value '%s'",
               ObjectType_str(opts->qom_type));
    return false;
}

void qmp_object_add(ObjectOptions *data, GError **errp)
{
    /* QMP's words for a taken id are QOM's, not the command line's. */
    if (id_check(data->id, NULL) && net_dump_find(data->id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", data->id);
        return;
    }
    object_add(data, errp);
}

void qmp_object_del(const char *id, GError **errp)
{
    NetDump *d = net_dump_find(id);

    if (!d) {
        error_setg(errp, "object '%s' not found", id);
        return;
    }
    net_dump_free(d);
}

void net_dump_format_info(NetClientState *nc, GString *out)
{
    if (!nc->dumps) {
        return;
    }
    g_string_append(out, "filters:\n");
    for (NetDump *d = nc->dumps; d; d = d->next) {
        /* QEMU 7.2 lists the properties in this order. */
        g_string_append_printf(out, "  - %s: type=filter-dump,file=%s,"
                               "maxlen=%u,position=tail,status=%s,"
                               "insert=behind,netdev=%s,queue=%s\n",
                               d->id, d->path, d->maxlen,
                               d->on ? "on" : "off", nc->name,
                               NetFilterDirection_str(d->queue));
    }
}

void object_cleanup(void)
{
    NetDump *d;

    while ((d = g_queue_peek_head(&net_dumps))) {
        net_dump_free(d);
    }
}
