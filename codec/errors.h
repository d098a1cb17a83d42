/* The codec's errors are the public MSGLOG_E* codes (the CODEC_* names say
 * which ones a codec function returns), so a caller passes them on as they
 * are. The one mapping is for bytes the store wrote itself: those that do
 * not decode are corrupt, whatever the decoder's reason. */
#ifndef MSGLOG_CODEC_ERRORS_H
#define MSGLOG_CODEC_ERRORS_H

#include "msglog.h"

#define CODEC_OK MSGLOG_OK
#define CODEC_EINVAL MSGLOG_EINVAL     /* encode: a value that would not decode
                                          (empty or invalid-UTF-8 string, zero
                                          id, NULL where bytes are needed) */
#define CODEC_ELIMIT MSGLOG_ELIMIT     /* a field over its limit */
#define CODEC_ECORRUPT MSGLOG_ECORRUPT /* not msgpack, wrong types, trailing
                                          bytes, bad sizes */
#define CODEC_EVERSION MSGLOG_EVERSION /* a format version byte we do not know */
#define CODEC_ENOMEM MSGLOG_ENOMEM
#define CODEC_EKIND MSGLOG_EKIND       /* an op kind we do not know */

/* A decoder's result on stored bytes: MSGLOG_OK, MSGLOG_ENOMEM, or
 * MSGLOG_ECORRUPT for every other failure. */
static inline int codec_stored_rc(int rc)
{
    return rc == MSGLOG_OK || rc == MSGLOG_ENOMEM ? rc : MSGLOG_ECORRUPT;
}

#endif
