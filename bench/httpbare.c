/*
 * bench/httpbare.c — the HTTP stack's own limit: a libmicrohttpd daemon
 * whose every request gets the constant answer "ok\n".
 *
 *   httpbare PORT_FILE [THREADS]
 *
 * Started with the same daemon flags and thread pool as weft's server
 * (src/server/server.c: epoll, an internal thread pool of 2 unless THREADS
 * says otherwise), on 127.0.0.1 at a port the kernel picks, which it writes
 * to PORT_FILE once listening. It reads and drops request bodies, so POSTs
 * cost what they cost weft's server to receive. Stops on SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct MHD_Response *answer;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (!*state) { /* headers: wait for the body */
        *state = conn;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body: dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, answer);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: httpbare PORT_FILE [THREADS]\n");
        return 2;
    }
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    static char ok[] = "ok\n";
    answer = MHD_create_response_from_buffer(3, ok, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_CONNECTION_LIMIT, 8192u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "httpbare: cannot start the daemon\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    FILE *f = fopen(argv[1], "w");
    if (!info || !f || fprintf(f, "%u\n", (unsigned)info->port) < 0 || fclose(f) != 0) {
        fprintf(stderr, "httpbare: cannot write %s\n", argv[1]);
        MHD_stop_daemon(d);
        return 1;
    }
    int sig;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(answer);
    return 0;
}
