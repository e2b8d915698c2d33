/*
 * What the harnesses of tests/fuzz/ share (tests/fuzz/fuzz-common.c):
 * reading the fuzzer's input as a stream of little-endian numbers, the
 * invariant check that turns a broken promise into a crash libFuzzer
 * records, an fd count for leak checks, and the ring helpers both vhost-user
 * harnesses drive net/virtq.c with (pop, touch and push a TX batch; copy
 * a frame into RX), checking every iovec the code hands back against the
 * memory the harness really gave it.
 */
#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: once before the first input (libFuzzer and fuzz-replay.c). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input, consumed front to back; an exhausted input reads as zeros. */
typedef struct FuzzInput {
    const uint8_t *data;
    size_t size;
    size_t pos;
} FuzzInput;

void fuzz_input_init(FuzzInput *in, const uint8_t *data, size_t size);
bool fuzz_input_empty(const FuzzInput *in);
uint8_t fuzz_u8(FuzzInput *in);
uint16_t fuzz_u16(FuzzInput *in);
uint32_t fuzz_u32(FuzzInput *in);
uint64_t fuzz_u64(FuzzInput *in);
/* Copies up to @max bytes of input to @buf; returns how many. */
size_t fuzz_bytes(FuzzInput *in, void *buf, size_t max);

/* Prints "fuzz: invariant broken: ..." and aborts: libFuzzer's crash. */
G_NORETURN void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
#define fuzz_check(cond, ...)                                           \
    do {                                                                \
        if (!(cond)) {                                                  \
            fuzz_fail(__VA_ARGS__);                                     \
        }                                                               \
    } while (0)

/*
 * With FUZZ_TRACE set in the environment, prints what the input does
 * (to stderr, one line an operation): for reading a crash or a seed.
 */
void fuzz_trace(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/*
 * How many fds the process has open (/proc/self/fd): the same before and
 * after an input, or the input leaked one.
 */
unsigned fuzz_fd_count(void);

/*
 * Ring operations one input may run.  A hostile ring costs up to two ring
 * sizes of descriptor reads per pop (a chain, then an indirect table) and
 * an RX frame up to a ring size of pops: about two million reads, 0.1 s
 * in the libFuzzer build (finding F4); an input of nothing but such
 * operations must stay well under libFuzzer's 10 s per-input timeout.
 */
#define FUZZ_MAX_RING_OPS 16

/* Memory the harness handed to the code under test. */
typedef struct FuzzSpan {
    const uint8_t *base;
    size_t size;
} FuzzSpan;

#define FUZZ_MAX_SPANS 8

typedef struct FuzzSpans {
    unsigned n;
    FuzzSpan span[FUZZ_MAX_SPANS];
} FuzzSpans;

void fuzz_spans_add(FuzzSpans *spans, const void *base, size_t size);
/* True if [p, p+len) lies inside one span (len 0: always). */
bool fuzz_spans_inside(const FuzzSpans *spans, const void *p, size_t len);

/* A set-up ring: size a power of two <= 1024, all three parts in @spans. */
void fuzz_check_rings(const Virtq *vq, const FuzzSpans *spans);

/*
 * Ring work as net/vhost-user.c does it, on @vq in @mem: pop up to @max
 * chains, check and touch each (read every readable byte, write every
 * writable one), strip @hdr_len bytes of header, push the first @keep of
 * them and give the others back (virtq_unpop, as RX does with buffers a
 * frame did not fill), flush and ask whether to notify.  Fails (fuzz_fail) if the code breaks its promises:
 * an iovec outside @spans, lengths that do not add up, -1 without the
 * broken flag.
 */
void fuzz_ring_tx(Virtq *vq, const VuMem *mem, const FuzzSpans *spans,
                  size_t hdr_len, unsigned max, unsigned keep);
/*
 * Copy a @len-byte frame (1 to 65536 bytes), cut into @pieces iovecs,
 * into @vq with virtq_rx_frame, then flush and ask whether to notify.
 * Checks its result: the length, 0 or -EMSGSIZE with nothing consumed,
 * or -EIO exactly when the ring is broken.
 */
void fuzz_ring_rx(Virtq *vq, const VuMem *mem, size_t hdr_len,
                  bool mergeable, size_t len, unsigned pieces);

#endif /* TESTS_FUZZ_FUZZ_COMMON_H */
