/* Starting libsodium once per process. */
#include <pthread.h>
#include <sodium.h>

#include "crypto/crypto.h"

static pthread_once_t started_once = PTHREAD_ONCE_INIT;
static int started_rc = -1;

static void start(void)
{
    /* 0: started now; 1: someone else in the process already did. */
    started_rc = sodium_init() < 0 ? -1 : 0;
}

int crypto_start(void)
{
    pthread_once(&started_once, start);
    return started_rc;
}

int random_bytes(void *out, size_t n)
{
    if (crypto_start() != 0)
        return -1;
    randombytes_buf(out, n);
    return 0;
}

void secret_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}
