/* The data directory's lock file (see datalock.h). flock and not fcntl
 * locks: an fcntl lock belongs to the process and vanishes when *any*
 * descriptor of the file is closed, e.g. by a library; a flock belongs to
 * the open file description we keep. */
#include "datalock.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The pid the holder wrote, for the message; 0 if unreadable. */
static long holder_pid(int fd)
{
    char text[32] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    return n > 0 ? strtol(text, NULL, 10) : 0;
}

int ag_datalock_acquire(const char *dir, char *err, size_t errlen)
{
    ag_buf path = {0};
    ag_buf_printf(&path, "%s/ctrace.lock", dir);
    int fd = open(ag_buf_cstr(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path.data, strerror(errno));
        ag_buf_free(&path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        long pid = holder_pid(fd);
        if (e == EWOULDBLOCK && pid > 0)
            snprintf(err, errlen,
                     "%s is in use by another ctrace-agent (pid %ld): "
                     "stop it or give this one another --data",
                     dir, pid);
        else if (e == EWOULDBLOCK)
            snprintf(err, errlen,
                     "%s is in use by another ctrace-agent: stop it or give "
                     "this one another --data",
                     dir);
        else snprintf(err, errlen, "cannot lock %s: %s", path.data, strerror(e));
        close(fd);
        ag_buf_free(&path);
        return -1;
    }
    ag_buf_free(&path);
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* the pid is only for the message above: failing to write it is harmless */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) pid[0] = '\0';
    return fd;
}

void ag_datalock_release(int fd)
{
    if (fd >= 0) close(fd);
}
