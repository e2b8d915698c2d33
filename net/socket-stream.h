/*
 * DOC: -netdev socket's stream clients (private to net/, see
 * net/socket-stream.c); net/socket.c creates them.
 */
#ifndef NET_SOCKET_STREAM_H
#define NET_SOCKET_STREAM_H

#include <sys/socket.h>

/*
 * -netdev socket's stream clients (net/socket-stream.c), each on socket
 * @fd (taken): listen= serves one peer at a time on listening socket
 * @fd; connect= starts connecting @fd to @sa (-errno, @fd closed and no
 * client, when that fails at once; else 0); fd= a connected socket.
 */
void net_socket_stream_listen(const char *id, int fd);
int net_socket_stream_connect(const char *id, int fd,
                              const struct sockaddr_storage *sa,
                              socklen_t len);
void net_socket_stream_fd(const char *id, int fd);

#endif /* NET_SOCKET_STREAM_H */
