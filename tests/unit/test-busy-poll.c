/*
 * Unit tests for util/busy-poll.c: the adaptive window (grows while
 * notifications follow the last work closely, halves when they do not)
 * and what the main loop does with a source in its window (looks at it
 * without any fd becoming ready, never sleeps, ends the window on time,
 * sleeps again afterwards).  A fake source: a counter of pending work.
 * The window arithmetic runs on a fake clock (busy_poll_set_clock), so a
 * loaded machine cannot change what these tests see; the loop tests use
 * the real one with margins of milliseconds.
 */
#include "util/busy-poll.h"

#include <glib.h>

typedef struct FakeSource {
    BusyPoll poll;
    unsigned pending;
    unsigned runs;
    unsigned sleeps;
    bool arrive_on_sleep;           /* work comes as the window ends */
    BusyPoll *free_in_run;          /* cleaned up from inside run() */
} FakeSource;

static bool fake_ready(void *opaque)
{
    return ((FakeSource *)opaque)->pending > 0;
}

static void fake_run(void *opaque)
{
    FakeSource *s = opaque;

    s->pending = 0;
    s->runs++;
    if (s->free_in_run) {
        busy_poll_cleanup(g_steal_pointer(&s->free_in_run));
    }
    busy_poll_start(&s->poll);
}

static bool fake_sleep(void *opaque)
{
    FakeSource *s = opaque;

    s->sleeps++;
    if (s->arrive_on_sleep) {
        s->arrive_on_sleep = false;
        s->pending = 1;
    }
    return s->pending > 0;
}

static const BusyPollOps fake_ops = {
    .ready = fake_ready,
    .run = fake_run,
    .sleep = fake_sleep,
};

/* The fake clock: moves only when a test moves it, plus 1 ns a reading. */
static int64_t fake_ns;

static int64_t fake_clock(void)
{
    return ++fake_ns;
}

/* Run the loop without blocking until @s's window is over (at most 5 s). */
static void run_until_asleep(FakeSource *s)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (busy_poll_active(&s->poll) && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_false(busy_poll_active(&s->poll));
}

/*
 * Fake clock: work, the window passes with nothing, and a notification
 * comes right after it (the window doubles, up to max_ns; at max_ns even
 * the longest window was too short: it halves).
 */
static void grow(FakeSource *s, unsigned times)
{
    for (unsigned i = 0; i < times; i++) {
        if (busy_poll_start(&s->poll)) {
            fake_ns = s->poll.until;
            run_until_asleep(s);
        }
        busy_poll_woken(&s->poll);
    }
}

static void test_adapt(void)
{
    FakeSource s = { 0 };
    const int64_t max = 64 * 1000 * 1000;

    busy_poll_set_clock(fake_clock);
    busy_poll_init(&s.poll, &fake_ops, &s, max);
    /* Window 0: no polling, the caller turns notifications on. */
    g_assert_false(busy_poll_start(&s.poll));
    g_assert_false(busy_poll_active(&s.poll));
    grow(&s, 1);
    g_assert_cmpint(s.poll.window_ns, ==, BUSY_POLL_GROW_FIRST_NS);
    grow(&s, 3);
    g_assert_cmpint(s.poll.window_ns, ==, 8 * BUSY_POLL_GROW_FIRST_NS);
    g_assert_cmpuint(s.sleeps, ==, 3);
    grow(&s, 10);
    g_assert_cmpint(s.poll.window_ns, ==, 8192 * BUSY_POLL_GROW_FIRST_NS);
    grow(&s, 1);                    /* 32.768 ms doubled: capped */
    g_assert_cmpint(s.poll.window_ns, ==, max);
    /*
     * A notification just after a whole max_ns window: not even the
     * longest window would have caught it (QEMU's rule): halved.
     */
    grow(&s, 1);
    g_assert_cmpint(s.poll.window_ns, ==, max / 2);
    grow(&s, 1);
    g_assert_cmpint(s.poll.window_ns, ==, max);
    /* A notification while polling changes nothing. */
    g_assert_true(busy_poll_start(&s.poll));
    busy_poll_woken(&s.poll);
    g_assert_cmpint(s.poll.window_ns, ==, max);
    busy_poll_stop(&s.poll);
    g_assert_false(busy_poll_active(&s.poll));
    g_assert_cmpint(s.poll.window_ns, ==, 0);
    busy_poll_cleanup(&s.poll);
    busy_poll_set_clock(NULL);
}

/* Notifications long after the last work: the window halves, then 0. */
static void test_shrink(void)
{
    const int64_t max = 16 * 1000 * 1000;   /* 16 ms */
    FakeSource s = { 0 };

    busy_poll_set_clock(fake_clock);
    busy_poll_init(&s.poll, &fake_ops, &s, max);
    grow(&s, 13);                   /* 4 us doubled 12 times: capped */
    g_assert_cmpint(s.poll.window_ns, ==, max);
    for (int64_t want = max / 2; want >= BUSY_POLL_GROW_FIRST_NS;
         want /= 2) {
        g_assert_true(busy_poll_start(&s.poll));
        fake_ns = s.poll.until;
        run_until_asleep(&s);
        fake_ns += 2 * max;         /* longer than max_ns */
        busy_poll_woken(&s.poll);
        g_assert_cmpint(s.poll.window_ns, ==, want);
    }
    g_assert_true(busy_poll_start(&s.poll));
    fake_ns = s.poll.until;
    run_until_asleep(&s);
    fake_ns += 2 * max;
    busy_poll_woken(&s.poll);
    g_assert_cmpint(s.poll.window_ns, ==, 0);
    g_assert_false(busy_poll_start(&s.poll));
    busy_poll_cleanup(&s.poll);
    busy_poll_set_clock(NULL);
}

/* max_ns 0: never polls, whatever the notifications. */
static void test_off(void)
{
    FakeSource s = { 0 };

    busy_poll_init(&s.poll, &fake_ops, &s, 0);
    grow(&s, 5);
    g_assert_cmpint(s.poll.window_ns, ==, 0);
    g_assert_false(busy_poll_start(&s.poll));
    busy_poll_cleanup(&s.poll);
}

/*
 * In its window, work is found by looking, with no fd ready: the loop
 * does not block.  Work that comes as the window ends is run (sleep()
 * says so).  Afterwards the loop has nothing to do.
 */
static void test_loop(void)
{
    FakeSource s = { 0 };

    busy_poll_init(&s.poll, &fake_ops, &s, 1000 * 1000 * 1000);
    s.poll.window_ns = s.poll.max_ns;   /* as if grown: 1 s */
    g_assert_true(busy_poll_start(&s.poll));
    for (unsigned i = 1; i <= 3; i++) {
        s.pending = 1;
        /* may_block TRUE: returns because the source is ready at once */
        g_assert_true(g_main_context_iteration(NULL, TRUE));
        g_assert_cmpuint(s.runs, ==, i);
        g_assert_cmpuint(s.pending, ==, 0);
        g_assert_true(busy_poll_active(&s.poll));
    }
    busy_poll_cleanup(&s.poll);

    busy_poll_init(&s.poll, &fake_ops, &s, 1000 * 1000);
    s.poll.window_ns = s.poll.max_ns;
    s.runs = s.sleeps = 0;
    g_assert_true(busy_poll_start(&s.poll));
    g_usleep(2000);                 /* the window is over... */
    s.arrive_on_sleep = true;       /* ...as work comes */
    g_main_context_iteration(NULL, FALSE);
    g_assert_cmpuint(s.sleeps, ==, 1);
    g_assert_cmpuint(s.runs, ==, 1);
    run_until_asleep(&s);
    g_assert_false(g_main_context_iteration(NULL, FALSE));
    busy_poll_cleanup(&s.poll);
}

/* A source cleaned up from another's run(), and while polling. */
static void test_cleanup_in_run(void)
{
    FakeSource a = { 0 }, b = { 0 };

    busy_poll_init(&a.poll, &fake_ops, &a, 1000 * 1000 * 1000);
    busy_poll_init(&b.poll, &fake_ops, &b, 1000 * 1000 * 1000);
    a.poll.window_ns = b.poll.window_ns = 1000 * 1000 * 1000;
    g_assert_true(busy_poll_start(&a.poll));
    g_assert_true(busy_poll_start(&b.poll));
    /* b is first in the list (started last); a follows it. */
    b.pending = 1;
    a.pending = 1;
    b.free_in_run = &a.poll;
    g_assert_true(g_main_context_iteration(NULL, FALSE));
    g_assert_cmpuint(b.runs, ==, 1);
    g_assert_cmpuint(a.runs, ==, 0);  /* gone before its turn */
    g_assert_null(a.poll.ops);
    busy_poll_cleanup(&b.poll);
    g_assert_false(g_main_context_iteration(NULL, FALSE));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/busy-poll/adapt", test_adapt);
    g_test_add_func("/util/busy-poll/shrink", test_shrink);
    g_test_add_func("/util/busy-poll/off", test_off);
    g_test_add_func("/util/busy-poll/loop", test_loop);
    g_test_add_func("/util/busy-poll/cleanup-in-run", test_cleanup_in_run);
    return g_test_run();
}
