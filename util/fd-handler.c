/*
 * DOC: fd handlers on the GLib main loop (see include/util/fd-handler.h)
 *
 * An FdHandler is a custom GSource carrying one unix-fd tag.  Interest
 * changes go through g_source_modify_unix_fd() on that tag; the source is
 * attached once in fd_handler_new() and destroyed once in fd_handler_free().
 * Dispatch reads the returned condition and calls read then write; if the
 * read callback freed the handler, the write callback is not called.  The
 * one exception to "the tag stays": poll() reports hang-ups even with no
 * interest, so after a hang-up with no interest the tag is dropped and added
 * back when interest returns (once per hang-up, never per frame).
 * Both callbacks run inside one batch (include/util/batch.h): writes they
 * cause are flushed together when they return.
 */
#include "util/fd-handler.h"

#include "util/batch.h"

#include <glib.h>
#include <glib-unix.h>

struct FdHandler {
    GSource source;             /* first: the handler is the GSource */
    gpointer tag;
    int fd;
    FdHandlerFunc *read_cb;
    FdHandlerFunc *write_cb;
    void *opaque;
    bool reading;
    bool writing;
    bool freed;                 /* fd_handler_free() ran inside dispatch */
};

static gboolean fd_handler_dispatch(GSource *source, GSourceFunc unused,
                                    gpointer unused_data)
{
    FdHandler *h = (FdHandler *)source;
    GIOCondition cond = h->tag ? g_source_query_unix_fd(source, h->tag) : 0;
    bool failed = cond & (G_IO_ERR | G_IO_HUP | G_IO_NVAL);

    if (failed && !h->reading && !h->writing) {
        /*
         * poll() reports a hang-up even with no events asked for.  Nobody
         * listens now (a backend paused by backpressure): stop polling the
         * fd until interest comes back, instead of spinning.
         */
        g_source_remove_unix_fd(source, h->tag);
        h->tag = NULL;
        return G_SOURCE_CONTINUE;
    }

    /* Keep the source alive across the callbacks: they may free it. */
    g_source_ref(source);
    batch_begin();
    if (h->reading && h->read_cb && (cond & G_IO_IN || failed)) {
        h->read_cb(h->opaque);
    }
    if (!h->freed && h->writing && h->write_cb &&
        (cond & G_IO_OUT || (failed && !h->reading))) {
        h->write_cb(h->opaque);
    }
    batch_end();
    g_source_unref(source);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_handler_funcs = {
    .dispatch = fd_handler_dispatch,
};

static void fd_handler_update(FdHandler *h)
{
    GIOCondition cond = 0;

    if (h->reading) {
        cond |= G_IO_IN;
    }
    if (h->writing) {
        cond |= G_IO_OUT;
    }
    if (!h->tag) {              /* parked after a hang-up, see dispatch */
        h->tag = g_source_add_unix_fd(&h->source, h->fd, cond);
        return;
    }
    g_source_modify_unix_fd(&h->source, h->tag, cond);
}

FdHandler *fd_handler_new(int fd, FdHandlerFunc *read_cb,
                          FdHandlerFunc *write_cb, void *opaque)
{
    GSource *source = g_source_new(&fd_handler_funcs, sizeof(FdHandler));
    FdHandler *h = (FdHandler *)source;

    h->fd = fd;
    h->read_cb = read_cb;
    h->write_cb = write_cb;
    h->opaque = opaque;
    h->reading = read_cb != NULL;
    h->tag = g_source_add_unix_fd(source, fd, h->reading ? G_IO_IN : 0);
    g_source_set_name(source, "fd-handler");
    /*
     * GLib "blocks" a non-recursive source around its dispatch: it takes
     * the source's fds out of the poll set and puts them back, and each
     * change writes the context's wakeup eventfd, so the next poll()
     * returns at once for nothing.  That is two writes, a read and an
     * extra loop turn per wake-up on the frame path.  Nothing in vmwire
     * iterates the main loop from a callback, so there is no recursion
     * to guard against.
     */
    g_source_set_can_recurse(source, TRUE);
    g_source_attach(source, NULL);
    return h;
}

void fd_handler_set_read(FdHandler *h, bool on)
{
    if (h->reading != on) {
        h->reading = on;
        fd_handler_update(h);
    }
}

void fd_handler_set_write(FdHandler *h, bool on)
{
    if (h->writing != on) {
        h->writing = on;
        fd_handler_update(h);
    }
}

bool fd_handler_reading(const FdHandler *h)
{
    return h->reading;
}

bool fd_handler_writing(const FdHandler *h)
{
    return h->writing;
}

void fd_handler_free(FdHandler *h)
{
    if (!h) {
        return;
    }
    h->freed = true;
    h->reading = h->writing = false;
    g_source_destroy(&h->source);
    g_source_unref(&h->source);
}
