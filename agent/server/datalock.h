/* One agent per data directory.
 *
 * Two agents writing one ctrace.db would each believe it owns the WAL
 * checkpoints, retention and the aggregates' upserts; SQLite keeps the file
 * consistent but the second agent's users see a database they did not
 * fill, and retention of one deletes what the other just acknowledged. So
 * an agent holds an exclusive flock(2) on DIR/ctrace.lock for its whole
 * life, and a second agent on the same directory stops at startup naming
 * the first one's pid. The kernel drops the lock when the process dies
 * (kill -9 included), so a stale lock file never blocks a restart.
 * `ctrace-agent summary` only reads and takes no lock. */
#ifndef AG_DATALOCK_H
#define AG_DATALOCK_H

#include "util.h"

#include <stddef.h>

/* Locks dir (which must exist) for this process and writes its pid into
 * the lock file. Returns the lock's descriptor (>= 0; keep it open), or
 * -1 with a reason in err: another process holds it, or the file cannot
 * be created. */
AG_MUST_CHECK int ag_datalock_acquire(const char *dir, char *err, size_t errlen);
/* Releases the lock (closing the descriptor). -1 is ignored. */
void ag_datalock_release(int fd);

#endif
