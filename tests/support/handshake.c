/* A forked child and its parent waiting on each other (handshake.h). */
#include "support/handshake.h"

#include <unistd.h>

pid_t handshake_fork(handshake *h)
{
    int to_child[2], to_parent[2];
    pid_t pid;

    if (pipe(to_child) != 0)
        return -1;
    if (pipe(to_parent) != 0) {
        close(to_child[0]);
        close(to_child[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        close(to_child[0]);
        close(to_child[1]);
        close(to_parent[0]);
        close(to_parent[1]);
    } else if (pid == 0) {
        h->rd = to_child[0];
        h->wr = to_parent[1];
        close(to_child[1]);
        close(to_parent[0]);
    } else {
        h->rd = to_parent[0];
        h->wr = to_child[1];
        close(to_parent[1]);
        close(to_child[0]);
    }
    return pid;
}

int handshake_tell(const handshake *h)
{
    char b = 1;
    return write(h->wr, &b, 1) == 1 ? 0 : -1;
}

int handshake_heard(const handshake *h)
{
    char b;
    return read(h->rd, &b, 1) == 1;
}
