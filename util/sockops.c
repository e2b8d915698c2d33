/*
 * DOC: the socket-operations table (see include/util/sockops.h)
 *
 * The system table forwards to libc.  accept() is accept4() with
 * SOCK_NONBLOCK | SOCK_CLOEXEC so every accepted fd is ready for the loop.
 */
#include "util/sockops.h"

#include <errno.h>

#include "util/error.h"

#include <unistd.h>

static int sys_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

const SocketOps sockops_system = {
    .socket = socket,
    .bind = bind,
    .listen = listen,
    .connect = connect,
    .accept = sys_accept,
    .recv = recv,
    .recvmsg = recvmsg,
    .send = send,
    .sendmsg = sendmsg,
    .recvmmsg = recvmmsg,
    .sendmmsg = sendmmsg,
    .setsockopt = setsockopt,
    .getsockopt = getsockopt,
    .getsockname = getsockname,
    .close = close,
};

const SocketOps *sockops = &sockops_system;

void sockops_install(const SocketOps *ops)
{
    sockops = ops ? ops : &sockops_system;
}

bool sockops_setopt_int(int fd, int level, int name, int val,
                        const char *what, GError **errp)
{
    if (sockops->setsockopt(fd, level, name, &val, sizeof(val)) < 0) {
        error_setg_errno(errp, errno, "%s", what);
        return false;
    }
    return true;
}
