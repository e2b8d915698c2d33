/*
 * Unit tests for fd handlers on the GLib main loop (util/fd-handler.c) and
 * the write batches their callbacks form (util/batch.c),
 * driven with socketpairs and pipes and non-blocking iterations of the
 * default main context.
 */
#include "util/fd-handler.h"
#include "util/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Watch {
    int fd;
    FdHandler *h;
    unsigned reads, writes;
    unsigned eofs;                  /* reads that saw end of file */
    bool stop_writing;              /* write_cb turns write interest off */
    bool free_in_read, free_in_write;
    struct Watch *other;            /* free this one's handler, if set */
    unsigned *total;                /* incremented by every callback */
} Watch;

/* Run the default context without blocking, a few times. */
static void iterate(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

static void drain(int fd, Watch *w)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n == 0) {
        w->eofs++;
    }
}

static void watch_read(void *opaque)
{
    Watch *w = opaque;

    w->reads++;
    if (w->total) {
        (*w->total)++;
    }
    drain(w->fd, w);
    if (w->other && w->other->h) {
        fd_handler_free(w->other->h);
        w->other->h = NULL;
    }
    if (w->free_in_read) {
        fd_handler_free(w->h);
        w->h = NULL;
    }
}

static void watch_write(void *opaque)
{
    Watch *w = opaque;

    w->writes++;
    if (w->total) {
        (*w->total)++;
    }
    if (w->other && w->other->h) {
        fd_handler_free(w->other->h);
        w->other->h = NULL;
    }
    if (w->stop_writing) {
        fd_handler_set_write(w->h, false);
    }
    if (w->free_in_write) {
        fd_handler_free(w->h);
        w->h = NULL;
    }
}

static void make_socketpair(int sv[2])
{
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                               SOCK_CLOEXEC, 0, sv), ==, 0);
}

static void put_byte(int fd)
{
    g_assert_cmpint(write(fd, "x", 1), ==, 1);
}

/* The id the next attached GSource gets: sources attached in between
 * advance it. */
static guint next_source_id(void)
{
    GSource *probe = g_idle_source_new();
    guint id = g_source_attach(probe, NULL);

    g_source_destroy(probe);
    g_source_unref(probe);
    return id;
}

static void test_read(void)
{
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, watch_write, &w);
    g_assert_true(fd_handler_reading(w.h));
    g_assert_false(fd_handler_writing(w.h));
    iterate(3);
    g_assert_cmpuint(w.reads, ==, 0);       /* nothing to read */
    g_assert_cmpuint(w.writes, ==, 0);      /* write interest is off */

    put_byte(sv[1]);
    iterate(1);
    g_assert_cmpuint(w.reads, ==, 1);
    iterate(3);
    g_assert_cmpuint(w.reads, ==, 1);       /* drained: quiet again */
    g_assert_cmpuint(w.writes, ==, 0);

    fd_handler_free(w.h);
    close(sv[0]);
    close(sv[1]);
}

static void test_read_interest_off(void)
{
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, NULL, &w);
    fd_handler_set_read(w.h, false);
    g_assert_false(fd_handler_reading(w.h));
    put_byte(sv[1]);
    /* The unread byte does not even wake the loop: no busy polling. */
    for (unsigned i = 0; i < 5; i++) {
        g_assert_false(g_main_context_iteration(NULL, FALSE));
    }
    g_assert_cmpuint(w.reads, ==, 0);

    /* Interest back on: the waiting byte is seen. */
    fd_handler_set_read(w.h, true);
    g_assert_true(fd_handler_reading(w.h));
    iterate(1);
    g_assert_cmpuint(w.reads, ==, 1);

    fd_handler_free(w.h);
    close(sv[0]);
    close(sv[1]);
}

static void test_write(void)
{
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], NULL, watch_write, &w);
    g_assert_false(fd_handler_reading(w.h));
    g_assert_false(fd_handler_writing(w.h));
    /* Writable, but no interest: not called, the loop is not woken. */
    for (unsigned i = 0; i < 3; i++) {
        g_assert_false(g_main_context_iteration(NULL, FALSE));
    }
    g_assert_cmpuint(w.writes, ==, 0);

    fd_handler_set_write(w.h, true);
    g_assert_true(fd_handler_writing(w.h));
    iterate(3);
    g_assert_cmpuint(w.writes, ==, 3);      /* once per iteration */

    /* The callback switches interest off: called once more, then quiet. */
    w.stop_writing = true;
    iterate(3);
    g_assert_cmpuint(w.writes, ==, 4);
    g_assert_false(fd_handler_writing(w.h));
    g_assert_false(g_main_context_iteration(NULL, FALSE));

    fd_handler_free(w.h);
    close(sv[0]);
    close(sv[1]);
}

/* Interest changes modify the one source; no GSource is added. */
static void test_one_source(void)
{
    int sv[2];
    Watch w = { 0 };
    guint before, after;
    GSource *source;
    guint id;

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, watch_write, &w);
    source = (GSource *)w.h;    /* the handler is its GSource (fd-handler.c) */
    id = g_source_get_id(source);
    g_assert_cmpuint(id, >, 0);

    before = next_source_id();
    for (unsigned i = 0; i < 100; i++) {
        fd_handler_set_read(w.h, i % 2);
        fd_handler_set_write(w.h, i % 3 == 0);
        iterate(1);
    }
    fd_handler_set_read(w.h, true);
    fd_handler_set_write(w.h, false);
    after = next_source_id();
    g_assert_cmpuint(after, ==, before + 1);
    g_assert_true(g_main_context_find_source_by_id(NULL, id) == source);
    g_assert_false(g_source_is_destroyed(source));
    g_assert_cmpuint(w.writes, >, 0);

    /* And it still works. */
    w.reads = 0;
    put_byte(sv[1]);
    iterate(1);
    g_assert_cmpuint(w.reads, ==, 1);

    fd_handler_free(w.h);
    g_assert_null(g_main_context_find_source_by_id(NULL, id));
    close(sv[0]);
    close(sv[1]);
}

/* A read callback may free its own handler; write is then not called. */
static void test_free_in_read(void)
{
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, watch_write, &w);
    fd_handler_set_write(w.h, true);        /* writable too */
    w.free_in_read = true;
    put_byte(sv[1]);
    iterate(1);
    g_assert_cmpuint(w.reads, ==, 1);
    g_assert_null(w.h);
    g_assert_cmpuint(w.writes, ==, 0);
    put_byte(sv[1]);
    iterate(3);
    g_assert_cmpuint(w.reads, ==, 1);
    g_assert_cmpuint(w.writes, ==, 0);
    /* The fd is borrowed: still open. */
    g_assert_cmpint(fcntl(sv[0], F_GETFD), !=, -1);
    close(sv[0]);
    close(sv[1]);
}

static void test_free_in_write(void)
{
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], NULL, watch_write, &w);
    fd_handler_set_write(w.h, true);
    w.free_in_write = true;
    iterate(3);
    g_assert_cmpuint(w.writes, ==, 1);
    g_assert_null(w.h);
    g_assert_cmpint(fcntl(sv[0], F_GETFD), !=, -1);
    close(sv[0]);
    close(sv[1]);
}

/* Two ready handlers; the first to run frees the other, which must not. */
static void test_free_other(void)
{
    int sv[2], sv2[2];
    Watch a = { 0 }, b = { 0 };
    unsigned total = 0;

    make_socketpair(sv);
    make_socketpair(sv2);
    a.fd = sv[0];
    b.fd = sv2[0];
    a.h = fd_handler_new(sv[0], watch_read, NULL, &a);
    b.h = fd_handler_new(sv2[0], watch_read, NULL, &b);
    a.other = &b;
    b.other = &a;
    a.total = b.total = &total;
    put_byte(sv[1]);
    put_byte(sv2[1]);
    iterate(3);
    g_assert_cmpuint(total, ==, 1);
    g_assert_true((a.h == NULL) != (b.h == NULL));
    fd_handler_free(a.h);
    fd_handler_free(b.h);
    close(sv[0]);
    close(sv[1]);
    close(sv2[0]);
    close(sv2[1]);
}

/* A hang-up reaches the read callback, which sees EOF. */
static void test_hup_read(void)
{
    int sv[2], pfd[2];
    Watch w = { 0 }, p = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, watch_write, &w);
    close(sv[1]);
    iterate(1);
    g_assert_cmpuint(w.reads, ==, 1);
    g_assert_cmpuint(w.eofs, ==, 1);
    g_assert_cmpuint(w.writes, ==, 0);
    fd_handler_free(w.h);
    close(sv[0]);

    /* A pipe whose writer is gone: POLLHUP without POLLIN data. */
    g_assert_cmpint(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), ==, 0);
    p.fd = pfd[0];
    p.h = fd_handler_new(pfd[0], watch_read, NULL, &p);
    iterate(2);
    g_assert_cmpuint(p.reads, ==, 0);
    close(pfd[1]);
    iterate(1);
    g_assert_cmpuint(p.reads, ==, 1);
    g_assert_cmpuint(p.eofs, ==, 1);
    fd_handler_free(p.h);
    close(pfd[0]);
}

/*
 * With read interest off, an error on the fd (a pipe whose reader is gone)
 * goes to the write callback, which sees EPIPE.
 */
static void test_hup_write(void)
{
    int pfd[2];
    Watch w = { 0 };

    /* The write end of a pipe whose reader is gone: POLLERR. */
    g_assert_cmpint(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), ==, 0);
    w.fd = pfd[1];
    w.h = fd_handler_new(pfd[1], watch_read, watch_write, &w);
    fd_handler_set_read(w.h, false);
    fd_handler_set_write(w.h, true);
    w.stop_writing = true;
    iterate(1);
    g_assert_cmpuint(w.writes, ==, 1);      /* writable */
    close(pfd[0]);
    fd_handler_set_write(w.h, true);
    iterate(1);
    g_assert_cmpuint(w.writes, ==, 2);
    g_assert_cmpuint(w.reads, ==, 0);
    g_assert_cmpint(write(pfd[1], "x", 1), ==, -1);
    g_assert_cmpint(errno, ==, EPIPE);
    fd_handler_free(w.h);
    close(pfd[1]);
}

/* No interest: a hung-up fd wakes nobody, and the loop does not spin. */
static void test_hup_no_interest(void)
{
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, watch_write, &w);
    fd_handler_set_read(w.h, false);
    close(sv[1]);
    /* At most one wake-up, which parks the fd; then the loop stays idle. */
    g_main_context_iteration(NULL, FALSE);
    for (unsigned i = 0; i < 5; i++) {
        g_assert_false(g_main_context_iteration(NULL, FALSE));
    }
    g_assert_cmpuint(w.reads + w.writes, ==, 0);
    fd_handler_set_read(w.h, true);
    g_assert_true(g_main_context_iteration(NULL, FALSE));
    g_assert_cmpuint(w.reads, ==, 1);
    g_assert_cmpuint(w.eofs, ==, 1);
    fd_handler_free(w.h);
    close(sv[0]);
}

/* ---- batches: flushes deferred to the end of a callback ---------------- */

typedef struct Flusher {
    BatchEntry entry;
    unsigned flushes;
    bool active_in_flush;       /* batch_active() seen from the flush */
    struct Flusher *chain;      /* defer this one from the flush */
} Flusher;

static void flusher_flush(BatchEntry *e)
{
    Flusher *f = (Flusher *)e;

    f->flushes++;
    f->active_in_flush = batch_active();
    if (f->chain) {
        batch_defer(&f->chain->entry, flusher_flush);
    }
}

/*
 * Deferred flushes run once each, at the outermost end, in order; a flush
 * may defer another, which runs in the same end; a cancelled one never.
 */
static void test_batch_defer(void)
{
    Flusher a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

    g_assert_false(batch_active());
    batch_begin();
    batch_defer(&a.entry, flusher_flush);
    batch_defer(&a.entry, flusher_flush);           /* once only */
    batch_begin();                                  /* nested */
    batch_defer(&b.entry, flusher_flush);
    batch_defer(&d.entry, flusher_flush);
    batch_end();
    g_assert_cmpuint(a.flushes + b.flushes, ==, 0);
    batch_cancel(&d.entry);
    b.chain = &c;
    batch_end();
    g_assert_false(batch_active());
    g_assert_cmpuint(a.flushes, ==, 1);
    g_assert_cmpuint(b.flushes, ==, 1);
    g_assert_cmpuint(c.flushes, ==, 1);
    g_assert_cmpuint(d.flushes, ==, 0);
    g_assert_true(a.active_in_flush);
    g_assert_false(a.entry.queued || c.entry.queued);
}

/* An fd handler's callback is a batch: the flush runs when it returns. */
static Flusher cb_flusher;
static bool cb_saw_batch;

static void batch_read_cb(void *opaque)
{
    char byte;

    g_assert_cmpint(read(*(int *)opaque, &byte, 1), ==, 1);
    cb_saw_batch = batch_active();
    batch_defer(&cb_flusher.entry, flusher_flush);
    g_assert_cmpuint(cb_flusher.flushes, ==, 0);
}

static void test_batch_fd_callback(void)
{
    int sv[2];
    FdHandler *h;
    unsigned gen = batch_generation();

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    h = fd_handler_new(sv[0], batch_read_cb, NULL, &sv[0]);
    g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
    while (cb_flusher.flushes == 0) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_true(cb_saw_batch);
    g_assert_cmpuint(cb_flusher.flushes, ==, 1);
    g_assert_cmpuint(batch_generation(), !=, gen);
    g_assert_false(batch_active());
    fd_handler_free(h);
    close(sv[0]);
    close(sv[1]);
}

/* Every poll() the default context makes, and how many found an fd ready. */
static unsigned polls, polls_ready;

static gint counting_poll(GPollFD *fds, guint nfds, gint timeout)
{
    gint n = g_poll(fds, nfds, timeout);

    polls++;
    if (n > 0) {
        polls_ready++;
    }
    return n;
}

/*
 * A dispatch leaves nothing behind for the next poll: GLib's default for a
 * source is to take its fds out of the poll set around the dispatch and
 * put them back, and each change signals the context's wakeup fd, so the
 * loop turns once more for nothing after every wake-up on the frame path.
 */
static void test_dispatch_no_wakeup(void)
{
    GMainContext *ctx = g_main_context_default();
    int sv[2];
    Watch w = { 0 };

    make_socketpair(sv);
    w.fd = sv[0];
    w.h = fd_handler_new(sv[0], watch_read, NULL, &w);
    g_main_context_set_poll_func(ctx, counting_poll);
    for (unsigned i = 1; i <= 10; i++) {
        put_byte(sv[1]);
        while (w.reads < i) {
            g_main_context_iteration(NULL, TRUE);
        }
        polls = polls_ready = 0;
        iterate(2);
        g_assert_cmpuint(polls, ==, 2);
        g_assert_cmpuint(polls_ready, ==, 0);   /* nothing was left ready */
    }
    g_main_context_set_poll_func(ctx, NULL);
    fd_handler_free(w.h);
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    fd_handler_free(NULL);
    g_test_add_func("/util/fd-handler/read", test_read);
    g_test_add_func("/util/fd-handler/dispatch-no-wakeup",
                    test_dispatch_no_wakeup);
    g_test_add_func("/util/batch/defer", test_batch_defer);
    g_test_add_func("/util/batch/fd-callback", test_batch_fd_callback);
    g_test_add_func("/util/fd-handler/read-interest-off",
                    test_read_interest_off);
    g_test_add_func("/util/fd-handler/write", test_write);
    g_test_add_func("/util/fd-handler/one-source", test_one_source);
    g_test_add_func("/util/fd-handler/free-in-read", test_free_in_read);
    g_test_add_func("/util/fd-handler/free-in-write", test_free_in_write);
    g_test_add_func("/util/fd-handler/free-other", test_free_other);
    g_test_add_func("/util/fd-handler/hup-read", test_hup_read);
    g_test_add_func("/util/fd-handler/hup-write", test_hup_write);
    g_test_add_func("/util/fd-handler/hup-no-interest", test_hup_no_interest);
    return g_test_run();
}
