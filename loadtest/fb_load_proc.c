/*
 * fb_load_proc.c: what the server processes cost, read from /proc: CPU
 * time (utime + stime), resident memory now (VmRSS) and at its peak
 * (VmHWM), and context switches.
 *
 * A process's own status gives the context switches of its first thread
 * only, so they are summed over /proc/PID/task: the threads alive at the
 * reading (a thread that ends between two readings takes its count with
 * it; fastbank's and nginx's threads live as long as their process).
 */

#include "fb_load.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int fb_load_proc_read(const char *path, char *buf, size_t size);
static long long fb_load_proc_status_num(const char *status,
    const char *key);
static int fb_load_proc_csw(pid_t pid, uint64_t *vol, uint64_t *invol);


static int
fb_load_proc_read(const char *path, char *buf, size_t size)
{
    FILE    *f;
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        return FB_ERROR;
    }

    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';

    if (ferror(f)) {
        fclose(f);
        return FB_ERROR;
    }

    fclose(f);

    return FB_OK;
}


/* The number after "key:" in a status file, or -1. */
static long long
fb_load_proc_status_num(const char *status, const char *key)
{
    size_t       klen;
    const char  *p;

    klen = strlen(key);

    for (p = status; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
        if (*p == '\n') {
            p++;
        }

        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            return strtoll(p + klen + 1, NULL, 10);
        }
    }

    return -1;
}


int
fb_load_proc_sample(pid_t pid, fb_load_proc_now_t *now, char *comm,
    size_t comm_size)
{
    int           i;
    char          path[64], buf[4096], *p, *end, *lparen, *rparen;
    size_t        n;
    unsigned long long  utime, stime;
    long          ticks;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);

    if (fb_load_proc_read(path, buf, sizeof(buf)) != FB_OK) {
        return FB_ERROR;
    }

    /* The command name is in parentheses and may hold spaces and ')'. */
    lparen = strchr(buf, '(');
    rparen = strrchr(buf, ')');
    if (lparen == NULL || rparen == NULL || rparen < lparen) {
        return FB_ERROR;
    }

    if (comm != NULL && comm_size > 0) {
        n = (size_t) (rparen - lparen - 1);
        if (n >= comm_size) {
            n = comm_size - 1;
        }

        memcpy(comm, lparen + 1, n);
        comm[n] = '\0';
    }

    /* Field 3 (state) follows ") "; utime and stime are fields 14, 15. */
    p = rparen + 1;
    for (i = 3; i < 14; i++) {
        while (*p == ' ') {
            p++;
        }

        while (*p != ' ' && *p != '\0') {
            p++;
        }
    }

    errno = 0;
    utime = strtoull(p, &end, 10);
    if (end == p || errno != 0) {
        return FB_ERROR;
    }

    p = end;
    stime = strtoull(p, &end, 10);
    if (end == p || errno != 0) {
        return FB_ERROR;
    }

    ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0) {
        ticks = 100;
    }

    now->cpu = (double) (utime + stime) / (double) ticks;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long) pid);

    if (fb_load_proc_read(path, buf, sizeof(buf)) != FB_OK) {
        return FB_ERROR;
    }

    now->rss_kb = (long) fb_load_proc_status_num(buf, "VmRSS");
    now->hwm_kb = (long) fb_load_proc_status_num(buf, "VmHWM");

    /* The switches are a figure more, not a condition of the sample: the
     * CPU and memory stand without them. */
    now->csw_ok = fb_load_proc_csw(pid, &now->csw_vol, &now->csw_invol)
                  == FB_OK;

    return FB_OK;
}


/*
 * The switches of pid's threads, summed; FB_ERROR if the threads cannot
 * be listed or one's status lacks them (cut short, say), rather than a
 * sum that leaves a thread out.
 */
static int
fb_load_proc_csw(pid_t pid, uint64_t *vol, uint64_t *invol)
{
    int             n, rc;
    DIR            *dir;
    char            path[320];              /* d_name is at most 255 */
    char            buf[8192];              /* the switches come last */
    long long       nvol, ninvol;
    struct dirent  *de;

    *vol = 0;
    *invol = 0;

    snprintf(path, sizeof(path), "/proc/%ld/task", (long) pid);

    dir = opendir(path);
    if (dir == NULL) {
        return FB_ERROR;
    }

    n = 0;
    rc = FB_OK;

    while (rc == FB_OK && (de = readdir(dir)) != NULL) {
        if (!isdigit((unsigned char) de->d_name[0])) {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%ld/task/%s/status", (long) pid,
                 de->d_name);

        /* a thread that ended since readdir() saw it counts nothing */
        if (fb_load_proc_read(path, buf, sizeof(buf)) != FB_OK) {
            continue;
        }

        nvol = fb_load_proc_status_num(buf, "voluntary_ctxt_switches");
        ninvol = fb_load_proc_status_num(buf, "nonvoluntary_ctxt_switches");
        if (nvol < 0 || ninvol < 0) {
            rc = FB_ERROR;
            break;
        }

        *vol += (uint64_t) nvol;
        *invol += (uint64_t) ninvol;
        n++;
    }

    closedir(dir);

    return rc == FB_OK && n > 0 ? FB_OK : FB_ERROR;
}


int
fb_load_proc_tree(pid_t pid, pid_t *pids, int n, int max)
{
    DIR            *dir;
    char            path[64], buf[1024], *rparen;
    long            ppid;
    struct dirent  *de;

    if (n < max) {
        pids[n++] = pid;
    }

    dir = opendir("/proc");
    if (dir == NULL) {
        fb_load_err(errno, "opendir() \"/proc\" failed");
        return n;
    }

    while ((de = readdir(dir)) != NULL && n < max) {
        if (!isdigit((unsigned char) de->d_name[0])) {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%ld/stat",
                 strtol(de->d_name, NULL, 10));

        if (fb_load_proc_read(path, buf, sizeof(buf)) != FB_OK) {
            continue;
        }

        rparen = strrchr(buf, ')');
        if (rparen == NULL || strlen(rparen) < 5) {
            continue;
        }

        /* ") S PPID ..." */
        ppid = strtol(rparen + 4, NULL, 10);

        if (ppid == (long) pid) {
            pids[n++] = (pid_t) strtol(de->d_name, NULL, 10);
        }
    }

    closedir(dir);

    return n;
}
