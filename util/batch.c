/*
 * DOC: write batching (see include/util/batch.h)
 *
 * A singly linked FIFO of entries and a nesting depth.  batch_end() at
 * depth 1 pops entries one by one and flushes each while the depth is
 * still held, so flushes that produce frames defer again and are run by
 * the same loop; then the depth drops to 0.
 */
#include "util/batch.h"

#include <glib.h>

static unsigned batch_depth;
static BatchEntry *batch_head;
static BatchEntry **batch_tail = &batch_head;

static unsigned batch_gen;

void batch_begin(void)
{
    if (batch_depth++ == 0) {
        batch_gen++;
    }
}

unsigned batch_generation(void)
{
    return batch_gen;
}

bool batch_active(void)
{
    return batch_depth > 0;
}

void batch_defer(BatchEntry *e, BatchFlushFunc *flush)
{
    g_assert(batch_depth > 0);
    if (e->queued) {
        return;
    }
    e->flush = flush;
    e->next = NULL;
    e->queued = true;
    *batch_tail = e;
    batch_tail = &e->next;
}

void batch_cancel(BatchEntry *e)
{
    BatchEntry **p;

    if (!e->queued) {
        return;
    }
    for (p = &batch_head; *p != e; p = &(*p)->next) {
        g_assert(*p);
    }
    *p = e->next;
    if (batch_tail == &e->next) {
        batch_tail = p;
    }
    e->next = NULL;
    e->queued = false;
}

void batch_end(void)
{
    g_assert(batch_depth > 0);
    if (batch_depth > 1) {
        batch_depth--;
        return;
    }
    while (batch_head) {
        BatchEntry *e = batch_head;

        batch_head = e->next;
        if (!batch_head) {
            batch_tail = &batch_head;
        }
        e->next = NULL;
        e->queued = false;
        e->flush(e);
    }
    batch_depth = 0;
}
