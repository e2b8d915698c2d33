/*
 * DOC: the table of socket operations backends call
 *
 * Backends never call socket system calls directly: they call them through
 * `sockops`, which points at the system's by default.  A test installs its
 * own table to inject EAGAIN, EINTR, short writes, ECONNRESET or zero-length
 * reads at chosen points, deterministically, and restores the default after.
 *
 * Every entry has the system call's signature and convention (-1 and errno).
 * accept() returns the new fd already nonblocking and close-on-exec.
 */
#ifndef UTIL_SOCKOPS_H
#define UTIL_SOCKOPS_H

#include <glib.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

typedef struct SocketOps {
    int (*socket)(int domain, int type, int protocol);
    int (*bind)(int fd, const struct sockaddr *addr, socklen_t len);
    int (*listen)(int fd, int backlog);
    int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
    int (*accept)(int fd, struct sockaddr *addr, socklen_t *len);
    ssize_t (*recv)(int fd, void *buf, size_t len, int flags);
    ssize_t (*recvmsg)(int fd, struct msghdr *msg, int flags);
    ssize_t (*send)(int fd, const void *buf, size_t len, int flags);
    ssize_t (*sendmsg)(int fd, const struct msghdr *msg, int flags);
    int (*recvmmsg)(int fd, struct mmsghdr *msgs, unsigned int n, int flags,
                    struct timespec *timeout);
    int (*sendmmsg)(int fd, struct mmsghdr *msgs, unsigned int n, int flags);
    int (*setsockopt)(int fd, int level, int name, const void *val,
                      socklen_t len);
    int (*getsockopt)(int fd, int level, int name, void *val,
                      socklen_t *len);
    int (*getsockname)(int fd, struct sockaddr *addr, socklen_t *len);
    int (*close)(int fd);
} SocketOps;

/* The table in force; never NULL. */
extern const SocketOps *sockops;
/* The system's table. */
extern const SocketOps sockops_system;

/* Install @ops (NULL restores the system's table). */
void sockops_install(const SocketOps *ops);

/*
 * setsockopt() of an int through the table; on failure false, and @errp
 * says "@what: strerror" (QEMU's wording for its socket options).
 */
bool sockops_setopt_int(int fd, int level, int name, int val,
                        const char *what, GError **errp);

#endif /* UTIL_SOCKOPS_H */
