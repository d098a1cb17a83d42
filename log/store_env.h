/* The LMDB environment under a store, for the few log/ files that call LMDB
 * on it directly (log/compact.c). Not for any other folder. */
#ifndef MSGLOG_LOG_STORE_ENV_H
#define MSGLOG_LOG_STORE_ENV_H

#include <lmdb.h>

#include "log/store.h"

MDB_env *store_env(const store *s);

#endif
