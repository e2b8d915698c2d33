/*
 * DOC: the stream framing parser
 *
 * On a stream socket (listen=, connect=, a SOCK_STREAM fd=) every frame is a
 * 4-byte big-endian length followed by that many bytes of Ethernet frame.
 * A read may end anywhere: inside a length, inside a frame, or after many
 * frames.  StreamFraming turns that byte stream back into frames.
 *
 * It is resumable and allocation-free.  The struct holds one fixed buffer
 * (room for one whole largest frame with its length, plus room for one
 * read) and is embedded in the backend's state.  The backend
 *
 *   1. asks for the free tail with stream_framing_read_space() and recv()s
 *      straight into it, then stream_framing_commit()s what it got (or copies
 *      bytes in with stream_framing_feed());
 *   2. pulls complete frames out one at a time with stream_framing_next().
 *
 * A frame handed out points into the buffer: no copy.  It stays valid until
 * the next call of read_space/feed/reset.  The backend may stop pulling at
 * any frame (its peer pushed back) and resume later: unpulled bytes stay
 * where they are.  The partial frame at the end is moved to the front of
 * the buffer only when the tail has less than one read's room left, so the
 * copying is at most one partial frame every few reads.
 *
 * A length above NET_BUFSIZE can never be satisfied: next() reports
 * STREAM_FRAMING_OVERSIZED and keeps doing so until reset (the backend
 * resets the connection).  A zero-length frame is skipped and reported as
 * STREAM_FRAMING_EMPTY so the caller can count it (QEMU delivers it late;
 * vmwire drops it and goes on).
 */
#ifndef NET_STREAM_FRAMING_H
#define NET_STREAM_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/net.h"

#define STREAM_FRAMING_HEADER_LEN 4
/* The most a backend reads in one recv(); read_space() always has this. */
#define STREAM_FRAMING_READ_ROOM (256 * 1024)
#define STREAM_FRAMING_BUFSIZE \
    (STREAM_FRAMING_HEADER_LEN + NET_BUFSIZE + STREAM_FRAMING_READ_ROOM)

typedef enum StreamFramingResult {
    STREAM_FRAMING_NEED_MORE,   /* no complete frame buffered */
    STREAM_FRAMING_FRAME,       /* one frame handed out */
    STREAM_FRAMING_EMPTY,       /* a zero-length frame was skipped */
    STREAM_FRAMING_OVERSIZED,   /* length > NET_BUFSIZE: stream unusable */
} StreamFramingResult;

typedef struct StreamFraming {
    size_t start;               /* first byte not yet handed out */
    size_t end;                 /* one past the last byte received */
    bool broken;                /* an oversized length was seen */
    uint64_t frames;            /* frames handed out since creation */
    uint64_t empty_frames;      /* zero-length frames skipped */
    uint64_t compactions;       /* partial frames moved to the front */
    uint8_t buf[STREAM_FRAMING_BUFSIZE];
} StreamFraming;

/* Forget everything buffered (a new connection); counters are kept. */
void stream_framing_reset(StreamFraming *sf);

/*
 * Where the next recv() may write, and how much (*room).  Called after
 * next() returned NEED_MORE, *room is at least STREAM_FRAMING_READ_ROOM.
 * Invalidates frames handed out before.
 */
uint8_t *stream_framing_read_space(StreamFraming *sf, size_t *room);

/* @len bytes were written at the read space. */
void stream_framing_commit(StreamFraming *sf, size_t len);

/*
 * Copy up to @len bytes in; returns how many were taken (fewer than @len
 * only when complete frames are waiting to be pulled).
 */
size_t stream_framing_feed(StreamFraming *sf, const void *data, size_t len);

/*
 * Pull the next frame: on STREAM_FRAMING_FRAME, *frame and *len describe it
 * (borrowed, see above).  *frame and *len are untouched otherwise.
 */
StreamFramingResult stream_framing_next(StreamFraming *sf,
                                        const uint8_t **frame, size_t *len);

/* Bytes received but not handed out yet. */
static inline size_t stream_framing_pending(const StreamFraming *sf)
{
    return sf->end - sf->start;
}

/* Write the 4-byte big-endian length header of a @len byte frame. */
static inline void stream_framing_put_header(uint8_t *hdr, uint32_t len)
{
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
}

#endif /* NET_STREAM_FRAMING_H */
