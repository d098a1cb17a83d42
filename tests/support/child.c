#include "support/child.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int child_run(int (*fn)(void *ctx, void *out, size_t out_len), void *ctx, void *out,
              size_t out_len, unsigned seconds, int *signal_out)
{
    int fds[2];
    *signal_out = 0;
    if (pipe(fds) != 0)
        return -128;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(seconds);
        void *buf = calloc(1, out_len ? out_len : 1);
        int rc = fn(ctx, buf, out_len);
        ssize_t w = out_len ? write(fds[1], buf, out_len) : 0;
        _exit(w == (ssize_t)out_len ? (unsigned char)rc : 0x80);
    }
    close(fds[1]);
    size_t got = 0;
    for (ssize_t n; pid > 0 && got < out_len && (n = read(fds[0], (char *)out + got, out_len - got)) > 0;)
        got += (size_t)n;
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -128;
    if (WIFSIGNALED(status)) {
        *signal_out = WTERMSIG(status);
        return 0;
    }
    return (signed char)WEXITSTATUS(status);
}
