/*
 * DOC: adaptive busy polling (see include/util/busy-poll.h)
 *
 * A doubly linked list of the BusyPolls in their window and one GSource.
 * While the list is not empty the source is always ready (poll timeout
 * 0: the loop never sleeps) and its dispatch() spins over the list for a
 * slice, running the BusyPolls that have work and ending the windows
 * that are over.  A callback may unlink any BusyPoll, the one after the
 * current included (busy_poll_iter_next is moved on).
 */
#include "util/busy-poll.h"

#include <glib.h>

#define BUSY_POLL_SLICE_NS 20000

static GSource *busy_poll_source;
static unsigned busy_poll_users;
static BusyPoll *busy_poll_list;
static BusyPoll *busy_poll_iter_next;

static int64_t busy_poll_real_clock(void)
{
    return g_get_monotonic_time() * 1000;
}

static int64_t (*busy_poll_clock)(void) = busy_poll_real_clock;

void busy_poll_set_clock(int64_t (*now_ns)(void))
{
    busy_poll_clock = now_ns ? now_ns : busy_poll_real_clock;
}

static int64_t busy_poll_now(void)
{
    return busy_poll_clock();
}

static void busy_poll_unlink(BusyPoll *p)
{
    p->until = 0;
    if (!p->pprev) {
        return;
    }
    if (busy_poll_iter_next == p) {
        busy_poll_iter_next = p->next;
    }
    *p->pprev = p->next;
    if (p->next) {
        p->next->pprev = p->pprev;
    }
    p->next = NULL;
    p->pprev = NULL;
}

static void busy_poll_link(BusyPoll *p)
{
    if (p->pprev) {
        return;
    }
    p->next = busy_poll_list;
    if (p->next) {
        p->next->pprev = &p->next;
    }
    p->pprev = &busy_poll_list;
    busy_poll_list = p;
}

static gboolean busy_poll_prepare(GSource *source, gint *timeout)
{
    if (!busy_poll_list) {
        *timeout = -1;
        return FALSE;
    }
    *timeout = 0;
    return TRUE;
}

static gboolean busy_poll_check(GSource *source)
{
    return busy_poll_list != NULL;
}

/* Run the polled sources that have work; end the windows that are over. */
static void busy_poll_pass(int64_t now)
{
    for (BusyPoll *p = busy_poll_list; p; p = busy_poll_iter_next) {
        busy_poll_iter_next = p->next;
        if (p->ops->ready(p->opaque)) {
            p->ops->run(p->opaque);
        } else if (now >= p->until) {
            busy_poll_unlink(p);
            if (p->ops->sleep(p->opaque)) {
                p->ops->run(p->opaque);
            }
        }
    }
    busy_poll_iter_next = NULL;
}

/*
 * Look at the polled sources alone, again and again, for a slice of
 * BUSY_POLL_SLICE_NS; then the loop does its round of poll() over every
 * fd (timeout 0) and comes back.  Work that appears is run within a
 * fraction of a microsecond, not a loop iteration (a system call and
 * every source's prepare and check) later, and the other fds wait at
 * most a slice.
 */
static gboolean busy_poll_dispatch(GSource *source, GSourceFunc cb,
                                   gpointer data)
{
    int64_t now = busy_poll_now(), end = now + BUSY_POLL_SLICE_NS;

    do {
        busy_poll_pass(now);
        now = busy_poll_now();
    } while (busy_poll_list && now < end);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs busy_poll_funcs = {
    .prepare = busy_poll_prepare,
    .check = busy_poll_check,
    .dispatch = busy_poll_dispatch,
};

void busy_poll_init(BusyPoll *p, const BusyPollOps *ops, void *opaque,
                    int64_t max_ns)
{
    *p = (BusyPoll) { .ops = ops, .opaque = opaque, .max_ns = max_ns };
    if (busy_poll_users++ == 0) {
        busy_poll_source = g_source_new(&busy_poll_funcs, sizeof(GSource));
        g_source_set_name(busy_poll_source, "busy-poll");
        g_source_attach(busy_poll_source, NULL);
    }
}

void busy_poll_cleanup(BusyPoll *p)
{
    if (!p->ops) {
        return;                     /* never initialised, or cleaned up */
    }
    busy_poll_unlink(p);
    p->ops = NULL;
    g_assert(busy_poll_users > 0);
    if (--busy_poll_users == 0) {
        g_source_destroy(busy_poll_source);
        g_clear_pointer(&busy_poll_source, g_source_unref);
    }
}

void busy_poll_stop(BusyPoll *p)
{
    busy_poll_unlink(p);
    p->window_ns = 0;
}

void busy_poll_woken(BusyPoll *p)
{
    if (p->max_ns == 0 || busy_poll_active(p)) {
        return;
    }
    if (busy_poll_now() - p->last_work >= p->max_ns) {
        /* polling would have been wasted: halve, to 0 below the start */
        p->window_ns /= 2;
        if (p->window_ns < BUSY_POLL_GROW_FIRST_NS) {
            p->window_ns = 0;
        }
    } else {
        p->window_ns = MIN(p->max_ns, p->window_ns ? p->window_ns * 2
                                                   : BUSY_POLL_GROW_FIRST_NS);
    }
}

bool busy_poll_start(BusyPoll *p)
{
    int64_t now = busy_poll_now();

    p->last_work = now;
    if (p->window_ns == 0) {
        busy_poll_unlink(p);
        return false;
    }
    p->until = now + p->window_ns;
    busy_poll_link(p);
    return true;
}
