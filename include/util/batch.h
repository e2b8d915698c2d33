/*
 * DOC: write batching: defer a flush to the end of the current batch
 *
 * A batch is one main-loop callback's work: an fd handler's read or write
 * callback (util/fd-handler.c brackets both with batch_begin/batch_end).
 * A frame handed to an output during a batch is only copied into that
 * output's buffer; the output registers itself once with batch_defer()
 * and its flush runs when the outermost batch ends, so everything one
 * wake-up produced leaves in one system call per output (sendmsg with
 * many frames, sendmmsg with many datagrams) instead of one per frame.
 *
 * Outside a batch (a test calling a client directly, a timer) there is
 * nothing to wait for: batch_active() is false and the output writes at
 * once.  With one frame in flight the flush runs right after the read
 * that produced it, in the same callback: batching adds no latency.
 *
 * Entries are intrusive (a BatchEntry embedded in the output), so
 * deferring allocates nothing; an output going away calls batch_cancel().
 * A flush may defer again (a resumed queue producing more frames): the
 * list is run until it is empty.
 */
#ifndef UTIL_BATCH_H
#define UTIL_BATCH_H

#include <stdbool.h>

typedef struct BatchEntry BatchEntry;
typedef void BatchFlushFunc(BatchEntry *e);

struct BatchEntry {
    BatchEntry *next;
    BatchFlushFunc *flush;
    bool queued;
};

/* Enter / leave a batch; they nest, the outermost end runs the flushes. */
void batch_begin(void);
void batch_end(void);
/* Inside a batch? */
bool batch_active(void);
/*
 * Changes at every outermost batch_begin(): a value computed inside a
 * batch (a clock reading) can be kept for the rest of it.
 */
unsigned batch_generation(void);

/*
 * Run @flush(@e) when the batch ends; no-op if already queued.  Only
 * inside a batch.
 */
void batch_defer(BatchEntry *e, BatchFlushFunc *flush);
/* Forget @e if queued (its owner goes away or flushed already). */
void batch_cancel(BatchEntry *e);

#endif /* UTIL_BATCH_H */
