/*
 * DOC: file-descriptor handlers on the GLib main loop
 *
 * In the spirit of QEMU's qemu_set_fd_handler(): an FdHandler watches one fd
 * on the default GMainContext and calls a read and/or write callback when
 * the fd is ready.  One GSource per fd, created once by fd_handler_new();
 * switching read or write interest on and off only changes the poll
 * condition (g_source_modify_unix_fd), it never removes and re-adds the
 * source, so doing it on every frame costs nothing.
 *
 * Callbacks must do a bounded amount of work per call (read a bounded number
 * of frames) so one busy fd cannot starve the others; a callback that
 * stopped early simply leaves its interest on and is called again on the
 * next loop iteration.
 *
 * A callback may free its own handler (fd_handler_free) before returning.
 * Errors and hang-ups (G_IO_ERR/G_IO_HUP) are reported to the read callback
 * if read interest is on, else to the write callback, which then see the
 * error from recv/send.
 */
#ifndef UTIL_FD_HANDLER_H
#define UTIL_FD_HANDLER_H

#include <stdbool.h>

typedef void FdHandlerFunc(void *opaque);
typedef struct FdHandler FdHandler;

/*
 * Watch @fd (borrowed: the handler never closes it).  Interest starts as
 * "read on if @read_cb, write off".
 */
FdHandler *fd_handler_new(int fd, FdHandlerFunc *read_cb,
                          FdHandlerFunc *write_cb, void *opaque);

/* Switch interest; cheap, no-op if unchanged. */
void fd_handler_set_read(FdHandler *h, bool on);
void fd_handler_set_write(FdHandler *h, bool on);
bool fd_handler_reading(const FdHandler *h);
bool fd_handler_writing(const FdHandler *h);

/* Stop watching and free; NULL is fine.  Safe from inside a callback. */
void fd_handler_free(FdHandler *h);

#endif /* UTIL_FD_HANDLER_H */
