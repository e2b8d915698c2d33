/*
 * DOC: stream framing parser (see include/net/stream-framing.h)
 *
 * The buffer holds received bytes in [start, end).  Frames are handed out
 * from start; recv() appends at end.  When the tail (buffer size - end) is
 * shorter than one read, the unpulled bytes are moved to the front.  When
 * next() reports NEED_MORE those bytes are less than one whole frame with
 * its header (at most 4 + NET_BUFSIZE), so after the move there is always
 * room for a full read: the buffer size is chosen for exactly that.
 */
#include <string.h>
#include <glib.h>
#include "net/stream-framing.h"

G_STATIC_ASSERT(STREAM_FRAMING_BUFSIZE >=
                STREAM_FRAMING_HEADER_LEN + NET_BUFSIZE +
                STREAM_FRAMING_READ_ROOM);

void stream_framing_reset(StreamFraming *sf)
{
    sf->start = 0;
    sf->end = 0;
    sf->broken = false;
}

static void stream_framing_compact(StreamFraming *sf)
{
    size_t pending = sf->end - sf->start;

    if (pending == 0) {
        sf->start = sf->end = 0;
        return;
    }
    if (sf->start == 0 ||
        sizeof(sf->buf) - sf->end >= STREAM_FRAMING_READ_ROOM) {
        return;
    }
    memmove(sf->buf, sf->buf + sf->start, pending);
    sf->start = 0;
    sf->end = pending;
    sf->compactions++;
}

uint8_t *stream_framing_read_space(StreamFraming *sf, size_t *room)
{
    stream_framing_compact(sf);
    *room = sizeof(sf->buf) - sf->end;
    return sf->buf + sf->end;
}

void stream_framing_commit(StreamFraming *sf, size_t len)
{
    g_assert(len <= sizeof(sf->buf) - sf->end);
    sf->end += len;
}

size_t stream_framing_feed(StreamFraming *sf, const void *data, size_t len)
{
    size_t room;
    uint8_t *space = stream_framing_read_space(sf, &room);

    if (len > room) {
        len = room;
    }
    memcpy(space, data, len);
    stream_framing_commit(sf, len);
    return len;
}

static uint32_t stream_framing_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

StreamFramingResult stream_framing_next(StreamFraming *sf,
                                        const uint8_t **frame, size_t *len)
{
    size_t avail = sf->end - sf->start;
    const uint8_t *hdr = sf->buf + sf->start;
    uint32_t frame_len;

    if (sf->broken) {
        return STREAM_FRAMING_OVERSIZED;
    }
    if (avail < STREAM_FRAMING_HEADER_LEN) {
        return STREAM_FRAMING_NEED_MORE;
    }
    frame_len = stream_framing_get_be32(hdr);
    if (frame_len > NET_BUFSIZE) {
        sf->broken = true;
        return STREAM_FRAMING_OVERSIZED;
    }
    if (avail - STREAM_FRAMING_HEADER_LEN < frame_len) {
        return STREAM_FRAMING_NEED_MORE;
    }
    sf->start += STREAM_FRAMING_HEADER_LEN + frame_len;
    if (frame_len == 0) {
        sf->empty_frames++;
        return STREAM_FRAMING_EMPTY;
    }
    sf->frames++;
    *frame = hdr + STREAM_FRAMING_HEADER_LEN;
    *len = frame_len;
    return STREAM_FRAMING_FRAME;
}
