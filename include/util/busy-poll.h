/*
 * DOC: adaptive busy polling before the main loop sleeps
 *
 * A shared-memory source (a vhost-user ring) can tell its producer "do
 * not notify me" and be looked at instead.  Waking a sleeping thread
 * through an eventfd costs several microseconds on each side; when the
 * next piece of work comes a few microseconds after the last one, it is
 * cheaper to keep looking for a short while.  This is QEMU's
 * AioContext polling (`-object iothread,poll-max-ns=`), on the GLib main
 * loop:
 *
 *   - after its work, a source calls busy_poll_start().  If its window
 *     is not 0 it stays in the polling list for that long, with its
 *     notifications left off; the loop does not sleep (poll timeout 0)
 *     while any source is polling: it spins over the polling sources
 *     alone for slices of 20 us, between its rounds of poll() over the
 *     other fds, and calls ops->run() as soon as ops->ready() says
 *     there is work.  The window ends: ops->sleep()
 *     turns notifications back on (and re-checks, as after any drain).
 *   - the window adapts, per source: a notification that arrives
 *     (busy_poll_woken()) less than max_ns after the last work means a
 *     longer window would have caught it, so the window doubles (from
 *     BUSY_POLL_GROW_FIRST_NS up to max_ns); one that arrives later
 *     means polling would have been wasted, so the window halves (and
 *     drops to 0 below BUSY_POLL_GROW_FIRST_NS: QEMU's poll-grow=2,
 *     poll-shrink=2).  One late frame in a steady flow costs half the
 *     window, not all of it; a source with sparse traffic stops
 *     spinning after a few frames (about 2 x max_ns of polling in all).
 *     A steady flow keeps the loop awake between its frames, and an
 *     idle daemon sleeps in poll() as before.
 *
 * Everything is intrusive (a BusyPoll embedded in its owner): nothing
 * is allocated per frame or per window.  One GSource serves every
 * BusyPoll; it exists while at least one is initialised.
 */
#ifndef UTIL_BUSY_POLL_H
#define UTIL_BUSY_POLL_H

#include <stdbool.h>
#include <stdint.h>

#define BUSY_POLL_GROW_FIRST_NS 4000

typedef struct BusyPollOps {
    /* Work waiting?  Cheap (a load from shared memory), no side effects. */
    bool (*ready)(void *opaque);
    /* Do a bounded batch of it; ends with busy_poll_start() if it emptied
     * the source. */
    void (*run)(void *opaque);
    /* The window is over: notifications on; true if work came meanwhile
     * (then run() is called). */
    bool (*sleep)(void *opaque);
} BusyPollOps;

typedef struct BusyPoll BusyPoll;

struct BusyPoll {
    const BusyPollOps *ops;
    void *opaque;
    int64_t max_ns;                 /* 0: never poll */
    int64_t window_ns;              /* the adapted window, 0..max_ns */
    int64_t last_work;              /* ns, monotonic */
    int64_t until;                  /* polling until (ns); 0: not polling */
    BusyPoll *next;                 /* in the polling list */
    BusyPoll **pprev;
};

/* Start with a window of 0 that may grow to @max_ns (0: no polling). */
void busy_poll_init(BusyPoll *p, const BusyPollOps *ops, void *opaque,
                    int64_t max_ns);
/* Stop polling and forget @p; safe from inside ops->run(). */
void busy_poll_cleanup(BusyPoll *p);
/* Leave the window (the source went away or was reset); window back to 0. */
void busy_poll_stop(BusyPoll *p);

/*
 * A notification arrived (the source was not being polled): adapt the
 * window to how long after the last work it came.
 */
void busy_poll_woken(BusyPoll *p);

/*
 * The source has just been emptied.  True: @p polls for its window, the
 * caller leaves notifications off.  False (window 0): the caller turns
 * them on and re-checks, as without polling.
 */
bool busy_poll_start(BusyPoll *p);

/* Tests: the clock (monotonic ns) the windows are measured with; NULL:
 * the real one. */
void busy_poll_set_clock(int64_t (*now_ns)(void));

/* Is @p in its polling window? */
static inline bool busy_poll_active(const BusyPoll *p)
{
    return p->until != 0;
}

#endif /* UTIL_BUSY_POLL_H */
