/*
 * DOC: socket address parsing and setup helpers (see include/util/sockets.h)
 *
 * inet_parse_host_port() follows QEMU 7.2's parse_host_port() step by step:
 * split at the first ':', then the host (empty: any address; leading digit:
 * inet_aton(), which like QEMU accepts "1.2.3" and "127.1"; otherwise an
 * IPv4 name lookup), then the port.  The messages are QEMU's word for word.
 * Only the port is checked harder than in QEMU, which takes whatever
 * strtol(p, &end, 0) makes of a prefix ("12x" is 12, "010" is 8, "99999"
 * wraps): vmwire wants 1..65535 in plain decimal digits, without a leading
 * zero, so no string QEMU reads differently is accepted here.
 *
 * inet_parse_host_port_any() is vmwire's extension: "[v6]:port" (numeric
 * IPv6 only, no scope id, no name lookup, port checked as above); a string
 * that does not start with '[' goes to inet_parse_host_port() unchanged.
 *
 * The fd helpers do one fcntl()/setsockopt() each and return 0 or -errno.
 *
 * The fd reserve (socket_fd_reserve_fill() and friends, in the header) is
 * a stack of fds on /dev/null: filled with open(), emptied one by one by
 * the QMP monitor's accept when the process or the system is out of fds.
 * setsockopt() goes through sockops so tests can inject failures.
 */
#include "util/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/sockops.h"

G_DEFINE_QUARK(vmwire-inet-error-quark, inet_error)

/* Resolve the IPv4 name @host into @addr. */
static bool inet_resolve_host(struct in_addr *addr, const char *host,
                              GError **errp)
{
    const struct addrinfo hints = {
        .ai_family = AF_INET,
        .ai_socktype = SOCK_STREAM,
    };
    struct addrinfo *res = NULL;

    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        g_set_error(errp, INET_ERROR, INET_ERROR_RESOLVE,
                    "can't resolve host address '%s'", host);
        return false;
    }
    *addr = ((const struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return true;
}

static bool inet_parse_host(struct in_addr *addr, const char *host,
                            GError **errp)
{
    if (host[0] == '\0') {
        addr->s_addr = htonl(INADDR_ANY);
        return true;
    }
    if (g_ascii_isdigit(host[0])) {
        if (!inet_aton(host, addr)) {
            g_set_error(errp, INET_ERROR, INET_ERROR_INVALID,
                        "host address '%s' is not a valid IPv4 address",
                        host);
            return false;
        }
        return true;
    }
    return inet_resolve_host(addr, host, errp);
}

/* 1..65535 in plain decimal digits, no leading zero. */
static bool inet_parse_port(in_port_t *port, const char *str, GError **errp)
{
    unsigned val = 0;
    const char *p;

    for (p = str; g_ascii_isdigit(*p) && val <= 65535; p++) {
        val = val * 10 + (unsigned)(*p - '0');
    }
    if (p == str || *p || str[0] == '0' || val > 65535) {
        g_set_error(errp, INET_ERROR, INET_ERROR_INVALID,
                    "port number '%s' is invalid", str);
        return false;
    }
    *port = htons((uint16_t)val);
    return true;
}

bool inet_parse_host_port(struct sockaddr_in *sa, const char *str,
                          GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(str, ":", 2);

    memset(sa, 0, sizeof(*sa));
    if (!parts[0] || !parts[1]) {
        g_set_error(errp, INET_ERROR, INET_ERROR_INVALID,
                    "host address '%s' doesn't contain ':' separating "
                    "host from port", str);
        return false;
    }
    sa->sin_family = AF_INET;
    return inet_parse_host(&sa->sin_addr, parts[0], errp) &&
           inet_parse_port(&sa->sin_port, parts[1], errp);
}

/*
 * vmwire's extension: "[v6]:port".  Anything not starting with '[' is
 * QEMU's syntax, parsed (and refused) exactly as inet_parse_host_port().
 */
bool inet_parse_host_port_any(struct sockaddr_storage *ss, socklen_t *len,
                              const char *str, GError **errp)
{
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    g_autofree char *host = NULL;
    const char *end;

    memset(ss, 0, sizeof(*ss));
    *len = 0;
    if (str[0] != '[') {
        struct sockaddr_in sa;

        if (!inet_parse_host_port(&sa, str, errp)) {
            return false;
        }
        memcpy(ss, &sa, sizeof(sa));
        *len = sizeof(sa);
        return true;
    }
    end = strchr(str, ']');
    if (!end) {
        g_set_error(errp, INET_ERROR, INET_ERROR_INVALID,
                    "host address '%s' is missing the closing ']'", str);
        return false;
    }
    if (end[1] != ':') {
        g_set_error(errp, INET_ERROR, INET_ERROR_INVALID,
                    "host address '%s' doesn't contain ':' separating "
                    "host from port", str);
        return false;
    }
    host = g_strndup(str + 1, (gsize)(end - str - 1));
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
        g_set_error(errp, INET_ERROR, INET_ERROR_INVALID,
                    "host address '%.*s' is not a valid IPv6 address",
                    (int)(end - str + 1), str);
        memset(ss, 0, sizeof(*ss));
        return false;
    }
    if (!inet_parse_port(&s6->sin6_port, end + 2, errp)) {
        memset(ss, 0, sizeof(*ss));
        return false;
    }
    s6->sin6_family = AF_INET6;
    *len = sizeof(*s6);
    return true;
}

const char *inet_format_host_port_any(const struct sockaddr_storage *ss,
                                      char *buf)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    char host[INET6_ADDRSTRLEN];

    if (ss->ss_family != AF_INET6) {
        return inet_format_host_port((const struct sockaddr_in *)ss, buf);
    }
    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
    snprintf(buf, INET_ANY_HOST_PORT_STRLEN, "[%s]:%u", host,
             (unsigned)ntohs(s6->sin6_port));
    return buf;
}

const char *inet_format_host(const struct sockaddr_storage *ss,
                             char buf[INET6_ADDRSTRLEN])
{
    const void *addr = ss->ss_family == AF_INET6
        ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
        : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

    return inet_ntop(ss->ss_family == AF_INET6 ? AF_INET6 : AF_INET, addr,
                     buf, INET6_ADDRSTRLEN);
}

unsigned inet_port(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6
        ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
        : ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

const char *inet_format_host_port(const struct sockaddr_in *sa, char *buf)
{
    char host[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
    snprintf(buf, INET_HOST_PORT_STRLEN, "%s:%u", host,
             (unsigned)ntohs(sa->sin_port));
    return buf;
}

int fd_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -errno;
    }
    return 0;
}

int fd_set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
        return -errno;
    }
    return 0;
}

int socket_set_nodelay(int fd)
{
    int on = 1;

    if (sockops->setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
                            sizeof(on)) < 0) {
        return -errno;
    }
    return 0;
}

int socket_connect_start(int fd, const struct sockaddr *sa, socklen_t len)
{
    for (int i = 0; i < SOCKET_CONNECT_TRIES; i++) {
        if (sockops->connect(fd, sa, len) == 0 || errno == EISCONN) {
            return 1;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EINPROGRESS || errno == EALREADY || errno == EAGAIN) {
            return 0;
        }
        return -errno;
    }
    return 0;
}

void socket_unix_unlink_stale(const char *path, const struct sockaddr *sa,
                              socklen_t len)
{
    struct stat st;
    int fd, saved = errno;

    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        errno = saved;
        return;
    }
    fd = sockops->socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         0);
    if (fd >= 0) {
        if (sockops->connect(fd, sa, len) < 0 && errno == ECONNREFUSED) {
            unlink(path);
        }
        sockops->close(fd);
    }
    errno = saved;
}

/* Close @fd keeping errno; -1. */
static int socket_close_failed(int fd)
{
    int saved = errno;

    sockops->close(fd);
    errno = saved;
    return -1;
}

int socket_listen_open(const struct sockaddr *sa, socklen_t len, int backlog,
                       bool dual_stack, SocketListenStep *failed)
{
    int fd = sockops->socket(sa->sa_family,
                             SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1, off = 0;

    *failed = SOCKET_LISTEN_SOCKET;
    if (fd < 0) {
        return -1;
    }
    if (sa->sa_family != AF_UNIX) {
        sockops->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    }
    if (sa->sa_family == AF_INET6 && dual_stack) {
        sockops->setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    *failed = SOCKET_LISTEN_BIND;
    if (sockops->bind(fd, sa, len) < 0) {
        return socket_close_failed(fd);
    }
    *failed = SOCKET_LISTEN_LISTEN;
    if (sockops->listen(fd, backlog) < 0) {
        return socket_close_failed(fd);
    }
    return fd;
}

/* ---- the fd reserve ------------------------------------------------------ */

static int fd_reserve[SOCKET_FD_RESERVE];
static unsigned fd_reserve_count;

bool socket_fd_reserve_fill(void)
{
    while (fd_reserve_count < SOCKET_FD_RESERVE) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
            return false;
        }
        fd_reserve[fd_reserve_count++] = fd;
    }
    return true;
}

int socket_accept_reserved(int fd, struct sockaddr *sa, socklen_t *len)
{
    for (;;) {
        socklen_t want = len ? *len : 0;
        int ret = sockops->accept(fd, sa, len);

        if (ret >= 0 || (errno != EMFILE && errno != ENFILE) ||
            fd_reserve_count == 0) {
            return ret;
        }
        close(fd_reserve[--fd_reserve_count]);
        if (len) {
            *len = want;
        }
    }
}

void socket_fd_reserve_close(void)
{
    while (fd_reserve_count > 0) {
        close(fd_reserve[--fd_reserve_count]);
    }
}
