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
 * The fd helpers do one fcntl()/setsockopt() each and return 0 or -errno.
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
