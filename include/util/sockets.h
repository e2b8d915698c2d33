/*
 * DOC: socket address parsing and setup helpers
 *
 * The address syntax of `-netdev socket` (`host:port`, host optional for
 * listen=) with QEMU's error messages, plus the small fd settings every
 * backend needs: a nonblocking connect, stale unix socket files.
 * Configuration helpers take GError **errp; fd helpers
 * return -errno.
 */
#ifndef UTIL_SOCKETS_H
#define UTIL_SOCKETS_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

/* The GError domain of inet_parse_host_port(). */
#define INET_ERROR (inet_error_quark())
typedef enum {
    INET_ERROR_INVALID,         /* malformed host, port or separator */
    INET_ERROR_RESOLVE,         /* the host name did not resolve */
} InetError;
GQuark inet_error_quark(void);

/*
 * Parse "host:port" into @sa.  An empty host means INADDR_ANY.  A host
 * starting with a digit must be a dotted IPv4 address, anything else is
 * resolved (IPv4).  Errors, in QEMU's words:
 *   host address '<s>' doesn't contain ':' separating host from port
 *   host address '<host>' is not a valid IPv4 address
 *   can't resolve host address '<host>'
 *   port number '<port>' is invalid     (also for ports outside 1..65535
 *                                        and trailing garbage: vmwire is
 *                                        stricter than QEMU here)
 * The string is split at the first ':' (as QEMU does).  The port must be
 * plain decimal digits without a leading zero (QEMU reads "010" as 8).
 */
bool inet_parse_host_port(struct sockaddr_in *sa, const char *str,
                          GError **errp);

/* "a.b.c.d:port" of @sa into @buf (at least INET_HOST_PORT_STRLEN bytes). */
#define INET_HOST_PORT_STRLEN (INET_ADDRSTRLEN + 8)
const char *inet_format_host_port(const struct sockaddr_in *sa, char *buf);

/*
 * vmwire's extension for listen= and connect=: "[ipv6]:port" (a numeric
 * IPv6 address in brackets; no scope id, no names) into an AF_INET6 @ss,
 * anything else through inet_parse_host_port() into an AF_INET @ss (same
 * results, same messages).  *@len is the size of the address filled in.
 * Messages for the bracketed form:
 *   host address '<s>' is missing the closing ']'
 *   host address '<s>' doesn't contain ':' separating host from port
 *                                        (e.g. "[::1]5000", "[::1]")
 *   host address '[<host>]' is not a valid IPv6 address
 *   port number '<port>' is invalid
 */
bool inet_parse_host_port_any(struct sockaddr_storage *ss, socklen_t *len,
                              const char *str, GError **errp);

/*
 * "a.b.c.d:port" or "[v6]:port" of @ss (AF_INET or AF_INET6) into @buf
 * (at least INET_ANY_HOST_PORT_STRLEN bytes).
 */
#define INET_ANY_HOST_PORT_STRLEN (INET6_ADDRSTRLEN + 8)
const char *inet_format_host_port_any(const struct sockaddr_storage *ss,
                                      char *buf);

/* The bare host ("::1", "127.0.0.1") and the port of @ss. */
const char *inet_format_host(const struct sockaddr_storage *ss,
                             char buf[INET6_ADDRSTRLEN]);
unsigned inet_port(const struct sockaddr_storage *ss);

/*
 * fd settings; return 0 or -errno.  socket_set_nodelay() goes through
 * sockops and fails (-EOPNOTSUPP) on a socket that is not TCP.
 */
int fd_set_nonblock(int fd);
int fd_set_cloexec(int fd);
int socket_set_nodelay(int fd);

/*
 * Start a nonblocking connect() of @fd to @sa (through sockops): 1 when
 * connected at once, 0 while in progress (also after SOCKET_CONNECT_TRIES
 * EINTRs: SO_ERROR will tell), -errno when refused or failed.  The one
 * connect loop of `-netdev socket,connect=` and `-netdev stream`.
 */
#define SOCKET_CONNECT_TRIES 16
int socket_connect_start(int fd, const struct sockaddr *sa, socklen_t len);

/*
 * A listening stream socket (nonblocking, close-on-exec) bound to @sa:
 * SO_REUSEADDR unless AF_UNIX, IPV6_V6ONLY off if @dual_stack (an IPv6
 * socket then takes IPv4 peers too).  The fd, or -1 with errno set and
 * *@failed saying which call failed, for the caller's own message.
 */
typedef enum SocketListenStep {
    SOCKET_LISTEN_SOCKET,
    SOCKET_LISTEN_BIND,
    SOCKET_LISTEN_LISTEN,
} SocketListenStep;
int socket_listen_open(const struct sockaddr *sa, socklen_t len, int backlog,
                       bool dual_stack, SocketListenStep *failed);

/*
 * A unix socket file at @path (@sa, @len its address) that a run which
 * crashed left behind: nobody accepts on it, connect() is refused.  Remove
 * it then, and only then (never a file that is no socket, never a live
 * one).  Used by the QMP monitor's sockets and `-netdev stream` servers.
 */
void socket_unix_unlink_stale(const char *path, const struct sockaddr *sa,
                              socklen_t len);

/*
 * The fd reserve: SOCKET_FD_RESERVE fds held open on /dev/null so that a
 * daemon out of fds (EMFILE, or ENFILE system-wide) can still take a QMP
 * client and say what is going on.  Connections from VMs and peers are
 * accepted only while the reserve is full, so they never take its fds;
 * the QMP monitor's accept releases one reserved fd per EMFILE/ENFILE and
 * tries again.  The reserve is topped up before each VM accept, i.e. as
 * soon as fds have freed up.
 *
 * socket_fd_reserve_fill() tops the reserve up: true if it is full.
 * socket_accept_reserved() is sockops->accept() that may use the reserve.
 * socket_fd_reserve_close() closes the reserve (at exit).
 */
#define SOCKET_FD_RESERVE 8
bool socket_fd_reserve_fill(void);
int socket_accept_reserved(int fd, struct sockaddr *sa, socklen_t *len);
void socket_fd_reserve_close(void);

#endif /* UTIL_SOCKETS_H */
