/*
 * DOC: unit tests of util/sockets.c
 *
 * Addresses are parsed as a user writes them after listen=, connect=, udp=
 * or mcast=, and checked against the address they must give or QEMU's exact
 * error message.  Name resolution uses only /etc/hosts ("localhost") and
 * the reserved .invalid domain, which fails without a network.  The fd
 * helpers are checked on real sockets and pipes, all closed at the end.
 */
#include "util/sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "util/sockops.h"

/* Parse @str, which must give @host (dotted) and @port. */
static void parse_ok(const char *str, const char *host, unsigned port)
{
    g_autoptr(GError) err = NULL;
    struct sockaddr_in sa;
    struct in_addr want;

    memset(&sa, 0xa5, sizeof(sa));
    g_assert_true(inet_parse_host_port(&sa, str, &err));
    g_assert_no_error(err);
    g_assert_cmpint(inet_pton(AF_INET, host, &want), ==, 1);
    g_assert_cmpint(sa.sin_family, ==, AF_INET);
    g_assert_cmphex(sa.sin_addr.s_addr, ==, want.s_addr);
    g_assert_cmpuint(ntohs(sa.sin_port), ==, port);
}

/* Parse @str, which must fail with exactly @message. */
static void parse_fails(const char *str, int code, const char *message)
{
    g_autoptr(GError) err = NULL;
    struct sockaddr_in sa;

    g_assert_false(inet_parse_host_port(&sa, str, &err));
    g_assert_error(err, INET_ERROR, code);
    g_assert_cmpstr(err->message, ==, message);
}

static void test_parse_any(void)
{
    parse_ok(":5555", "0.0.0.0", 5555);
    parse_ok("0.0.0.0:1", "0.0.0.0", 1);
}

static void test_parse_dotted(void)
{
    parse_ok("127.0.0.1:5555", "127.0.0.1", 5555);
    parse_ok("1.2.3.4:65535", "1.2.3.4", 65535);
    parse_ok("230.0.0.1:1234", "230.0.0.1", 1234);
}

static void test_parse_short_dotted(void)
{
    /* inet_aton() forms, accepted by QEMU too. */
    parse_ok("1.2.3:80", "1.2.0.3", 80);
    parse_ok("127.1:80", "127.0.0.1", 80);
}

static void test_parse_name(void)
{
    parse_ok("localhost:80", "127.0.0.1", 80);
}

static void test_parse_fills_whole_struct(void)
{
    struct sockaddr_in sa;
    struct sockaddr_in zero;

    memset(&sa, 0xa5, sizeof(sa));
    memset(&zero, 0, sizeof(zero));
    g_assert_true(inet_parse_host_port(&sa, "1.2.3.4:5", NULL));
    g_assert_cmpmem(sa.sin_zero, sizeof(sa.sin_zero),
                    zero.sin_zero, sizeof(zero.sin_zero));
}

static void test_parse_no_colon(void)
{
    parse_fails("5555", INET_ERROR_INVALID,
                "host address '5555' doesn't contain ':' separating host "
                "from port");
    parse_fails("localhost", INET_ERROR_INVALID,
                "host address 'localhost' doesn't contain ':' separating "
                "host from port");
    parse_fails("", INET_ERROR_INVALID,
                "host address '' doesn't contain ':' separating host "
                "from port");
}

static void test_parse_bad_port(void)
{
    static const struct {
        const char *str;
        const char *message;
    } cases[] = {
        { "127.0.0.1:", "port number '' is invalid" },
        { ":", "port number '' is invalid" },
        { "127.0.0.1:0", "port number '0' is invalid" },
        { ":65536", "port number '65536' is invalid" },
        { ":99999", "port number '99999' is invalid" },
        { ":4294967297", "port number '4294967297' is invalid" },
        { ":12x", "port number '12x' is invalid" },
        { ":-1", "port number '-1' is invalid" },
        { ":+80", "port number '+80' is invalid" },
        { ": 80", "port number ' 80' is invalid" },
        { ":0x50", "port number '0x50' is invalid" },
        { ":010", "port number '010' is invalid" },
        { ":http", "port number 'http' is invalid" },
        /* Split at the first ':', as QEMU does. */
        { "1.2.3.4:80:81", "port number '80:81' is invalid" },
        { "::1:80", "port number ':1:80' is invalid" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        parse_fails(cases[i].str, INET_ERROR_INVALID, cases[i].message);
    }
}

static void test_parse_bad_host(void)
{
    parse_fails("999.1.1.1:80", INET_ERROR_INVALID,
                "host address '999.1.1.1' is not a valid IPv4 address");
    parse_fails("1.2.3.4.5:80", INET_ERROR_INVALID,
                "host address '1.2.3.4.5' is not a valid IPv4 address");
    parse_fails("1x:80", INET_ERROR_INVALID,
                "host address '1x' is not a valid IPv4 address");
    /* The host is checked before the port, as in QEMU. */
    parse_fails("999.1.1.1:0", INET_ERROR_INVALID,
                "host address '999.1.1.1' is not a valid IPv4 address");
}

static void test_parse_unresolvable(void)
{
    gint64 start = g_get_monotonic_time();

    parse_fails("no-such-host.invalid:80", INET_ERROR_RESOLVE,
                "can't resolve host address 'no-such-host.invalid'");
    /* No network: the lookup must fail, not wait for a timeout. */
    g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
}

static void test_format(void)
{
    static const char *const strs[] = {
        "127.0.0.1:5555", "0.0.0.0:1", "1.2.3.4:65535",
        "255.255.255.255:65535",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(strs); i++) {
        char buf[INET_HOST_PORT_STRLEN];
        struct sockaddr_in sa;

        g_assert_true(inet_parse_host_port(&sa, strs[i], NULL));
        g_assert_true(inet_format_host_port(&sa, buf) == buf);
        g_assert_cmpstr(buf, ==, strs[i]);
    }
}

static void test_format_any(void)
{
    char buf[INET_HOST_PORT_STRLEN];
    struct sockaddr_in sa;

    g_assert_true(inet_parse_host_port(&sa, ":5555", NULL));
    g_assert_cmpstr(inet_format_host_port(&sa, buf), ==, "0.0.0.0:5555");
}

/* vmwire's extension: "[v6]:port"; other strings exactly as above. */
static void parse_any_ok(const char *str, int family, const char *host,
                         unsigned port, const char *formatted)
{
    g_autoptr(GError) err = NULL;
    char buf[INET_ANY_HOST_PORT_STRLEN], hbuf[INET6_ADDRSTRLEN];
    struct sockaddr_storage ss;
    socklen_t len = 0;

    memset(&ss, 0xa5, sizeof(ss));
    g_assert_true(inet_parse_host_port_any(&ss, &len, str, &err));
    g_assert_no_error(err);
    g_assert_cmpint(ss.ss_family, ==, family);
    g_assert_cmpuint(len, ==, family == AF_INET6
                     ? sizeof(struct sockaddr_in6)
                     : sizeof(struct sockaddr_in));
    g_assert_cmpstr(inet_format_host(&ss, hbuf), ==, host);
    g_assert_cmpuint(inet_port(&ss), ==, port);
    g_assert_cmpstr(inet_format_host_port_any(&ss, buf), ==, formatted);
}

static void parse_any_fails(const char *str, int code, const char *message)
{
    g_autoptr(GError) err = NULL;
    struct sockaddr_storage ss;
    socklen_t len = 7;

    g_assert_false(inet_parse_host_port_any(&ss, &len, str, &err));
    g_assert_error(err, INET_ERROR, code);
    g_assert_cmpstr(err->message, ==, message);
    g_assert_cmpuint(len, ==, 0);
}

static void test_parse_any_ipv6(void)
{
    parse_any_ok("[::1]:5000", AF_INET6, "::1", 5000, "[::1]:5000");
    parse_any_ok("[::]:1", AF_INET6, "::", 1, "[::]:1");
    parse_any_ok("[fe80:0::1]:65535", AF_INET6, "fe80::1", 65535,
                 "[fe80::1]:65535");
    parse_any_ok("[::ffff:1.2.3.4]:80", AF_INET6, "::ffff:1.2.3.4", 80,
                 "[::ffff:1.2.3.4]:80");
}

static void test_parse_any_ipv4(void)
{
    parse_any_ok("127.0.0.1:5555", AF_INET, "127.0.0.1", 5555,
                 "127.0.0.1:5555");
    parse_any_ok(":5555", AF_INET, "0.0.0.0", 5555, "0.0.0.0:5555");
    parse_any_ok("localhost:80", AF_INET, "127.0.0.1", 80, "127.0.0.1:80");
    /* QEMU's syntax and messages, unchanged. */
    parse_any_fails("5555", INET_ERROR_INVALID,
                    "host address '5555' doesn't contain ':' separating "
                    "host from port");
    parse_any_fails("::1:80", INET_ERROR_INVALID,
                    "port number ':1:80' is invalid");
    parse_any_fails("999.1.1.1:80", INET_ERROR_INVALID,
                    "host address '999.1.1.1' is not a valid IPv4 address");
    parse_any_fails("no-such-host.invalid:80", INET_ERROR_RESOLVE,
                    "can't resolve host address 'no-such-host.invalid'");
}

static void test_parse_any_bad_brackets(void)
{
    static const struct {
        const char *str;
        const char *message;
    } cases[] = {
        { "[::1", "host address '[::1' is missing the closing ']'" },
        { "[::1:5000", "host address '[::1:5000' is missing the closing ']'" },
        { "[", "host address '[' is missing the closing ']'" },
        { "[::1]", "host address '[::1]' doesn't contain ':' separating "
                   "host from port" },
        { "[::1]5000", "host address '[::1]5000' doesn't contain ':' "
                       "separating host from port" },
        { "[zz]:80", "host address '[zz]' is not a valid IPv6 address" },
        { "[]:80", "host address '[]' is not a valid IPv6 address" },
        { "[127.0.0.1]:80",
          "host address '[127.0.0.1]' is not a valid IPv6 address" },
        { "[fe80::1%lo]:80",
          "host address '[fe80::1%lo]' is not a valid IPv6 address" },
        { "[localhost]:80",
          "host address '[localhost]' is not a valid IPv6 address" },
        /* The host is checked before the port. */
        { "[zz]:0", "host address '[zz]' is not a valid IPv6 address" },
        { "[::1]:", "port number '' is invalid" },
        { "[::1]:0", "port number '0' is invalid" },
        { "[::1]:65536", "port number '65536' is invalid" },
        { "[::1]:080", "port number '080' is invalid" },
        { "[::1]:80]", "port number '80]' is invalid" },
        { "[::1]:[::1]:80", "port number '[::1]:80' is invalid" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        parse_any_fails(cases[i].str, INET_ERROR_INVALID, cases[i].message);
    }
}

static void test_nonblock(void)
{
    int fds[2];

    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_false(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
    g_assert_cmpint(fd_set_nonblock(fds[0]), ==, 0);
    g_assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
    g_assert_false(fcntl(fds[1], F_GETFL) & O_NONBLOCK);
    g_assert_cmpint(fd_set_nonblock(fds[0]), ==, 0);
    g_assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
    close(fds[0]);
    close(fds[1]);
    g_assert_cmpint(fd_set_nonblock(fds[0]), ==, -EBADF);
}

static void test_cloexec(void)
{
    int fds[2];

    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_false(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    g_assert_cmpint(fd_set_cloexec(fds[0]), ==, 0);
    g_assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    g_assert_false(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
    close(fds[0]);
    close(fds[1]);
    g_assert_cmpint(fd_set_cloexec(fds[0]), ==, -EBADF);
}

static void test_nodelay(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 0;
    socklen_t len = sizeof(on);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len),
                    ==, 0);
    g_assert_cmpint(on, ==, 0);
    g_assert_cmpint(socket_set_nodelay(fd), ==, 0);
    g_assert_cmpint(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len),
                    ==, 0);
    g_assert_cmpint(on, !=, 0);
    close(fd);
    g_assert_cmpint(socket_set_nodelay(fd), ==, -EBADF);
}

static void test_nodelay_not_tcp(void)
{
    int fds[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    g_assert_cmpint(socket_set_nodelay(fds[0]), ==, -EOPNOTSUPP);
    close(fds[0]);
    close(fds[1]);
}

static int fail_setsockopt(int fd, int level, int name, const void *val,
                           socklen_t len)
{
    errno = ENOMEM;
    return -1;
}

static void test_nodelay_uses_sockops(void)
{
    SocketOps ops = sockops_system;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    ops.setsockopt = fail_setsockopt;
    sockops_install(&ops);
    g_assert_cmpint(socket_set_nodelay(fd), ==, -ENOMEM);
    sockops_install(NULL);
    g_assert_cmpint(socket_set_nodelay(fd), ==, 0);
    close(fd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/sockets/parse/any", test_parse_any);
    g_test_add_func("/util/sockets/parse/dotted", test_parse_dotted);
    g_test_add_func("/util/sockets/parse/short-dotted",
                    test_parse_short_dotted);
    g_test_add_func("/util/sockets/parse/name", test_parse_name);
    g_test_add_func("/util/sockets/parse/fills-whole-struct",
                    test_parse_fills_whole_struct);
    g_test_add_func("/util/sockets/parse/no-colon", test_parse_no_colon);
    g_test_add_func("/util/sockets/parse/bad-port", test_parse_bad_port);
    g_test_add_func("/util/sockets/parse/bad-host", test_parse_bad_host);
    g_test_add_func("/util/sockets/parse/unresolvable",
                    test_parse_unresolvable);
    g_test_add_func("/util/sockets/parse-any/ipv6", test_parse_any_ipv6);
    g_test_add_func("/util/sockets/parse-any/ipv4", test_parse_any_ipv4);
    g_test_add_func("/util/sockets/parse-any/bad-brackets",
                    test_parse_any_bad_brackets);
    g_test_add_func("/util/sockets/format", test_format);
    g_test_add_func("/util/sockets/format-any", test_format_any);
    g_test_add_func("/util/sockets/fd/nonblock", test_nonblock);
    g_test_add_func("/util/sockets/fd/cloexec", test_cloexec);
    g_test_add_func("/util/sockets/fd/nodelay", test_nodelay);
    g_test_add_func("/util/sockets/fd/nodelay-not-tcp", test_nodelay_not_tcp);
    g_test_add_func("/util/sockets/fd/nodelay-uses-sockops",
                    test_nodelay_uses_sockops);
    return g_test_run();
}
