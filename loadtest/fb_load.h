/*
 * fb_load.h: the load generator's shared types: its configuration, the
 * latency histogram, the per-thread statistics, the connection engine and
 * the phases (set-up, measured run, audit) that drive it.
 */

#ifndef FB_LOAD_H_INCLUDED
#define FB_LOAD_H_INCLUDED

#include "fb_core.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#define FB_LOAD_VERSION      "1.0"

#define FB_LOAD_MAX_PIDS     64
#define FB_LOAD_MAX_CODES    32
#define FB_LOAD_CODE_LEN     40

/* The contract's per-request amount limit, in centavos. */
#define FB_LOAD_AMOUNT_MAX   1000000

/* A request we format ourselves (bank mode) always fits in this. */
#define FB_LOAD_REQ_MAX      384

/* A response's status line and headers must fit in one read buffer. */
#define FB_LOAD_RBUF_SIZE    16384

#define FB_LOAD_NS           1000000000ULL


/* ------------------------------------------------------------------ */
/* configuration                                                       */

typedef enum {
    FB_LOAD_MODE_BANK = 0,
    FB_LOAD_MODE_GET
} fb_load_mode_e;

/* The measured operations, in the order of --mix. */
typedef enum {
    FB_LOAD_OP_DEPOSIT = 0,
    FB_LOAD_OP_WITHDRAW,
    FB_LOAD_OP_TRANSFER,
    FB_LOAD_OP_BALANCE,
    FB_LOAD_OP_GET,
    FB_LOAD_NOPS,
    /* set-up and audit requests: never in the results */
    FB_LOAD_OP_CREATE,
    FB_LOAD_OP_FUND,
    FB_LOAD_OP_READ
} fb_load_op_e;

/* Index of the all-operations histogram in fb_load_stats_t.hist. */
#define FB_LOAD_ALL          FB_LOAD_NOPS

typedef struct {
    char                      name[64];        /* scenario label */
    char                      host[64];
    int                       port;
    struct sockaddr_storage   addr;
    socklen_t                 addrlen;
    char                      host_header[96];

    fb_load_mode_e            mode;
    char                     *get_path;

    int64_t                   accounts;
    int64_t                   fund;            /* per account, centavos */
    unsigned                  mix[4];          /* weights, deposit..balance */
    int64_t                   amount_min;
    int64_t                   amount_max;

    int                       connections;
    int                       threads;
    uint64_t                  requests;        /* 0: no count limit */
    double                    duration;        /* s, 0: no duration */
    double                    rate;            /* req/s, 0: closed loop */
    double                    timeout;         /* s */
    double                    warmup;          /* s */
    double                    time_limit;      /* s, 0: none */
    uint64_t                  seed;

    char                     *json_path;
    pid_t                     pids[FB_LOAD_MAX_PIDS];
    int                       npids;

    unsigned                  setup:1;         /* create and fund accounts */
    unsigned                  audit:1;         /* read them back at the end */
    unsigned                  strict:1;
    unsigned                  quiet:1;
    /* where requests and duration were set: 0 default, 1 file, 2 CLI */
    unsigned                  requests_level:2;
    unsigned                  duration_level:2;
} fb_load_conf_t;

int fb_load_conf_parse(fb_load_conf_t *conf, int argc, char **argv);
void fb_load_conf_free(fb_load_conf_t *conf);


/* ------------------------------------------------------------------ */
/* histogram: log-linear buckets, <= 1/128 relative error              */

#define FB_LOAD_HIST_SUB_BITS  7
#define FB_LOAD_HIST_MAX_BITS  40           /* values clamp at 2^40 ns */
#define FB_LOAD_HIST_BUCKETS                                               \
    ((FB_LOAD_HIST_MAX_BITS - FB_LOAD_HIST_SUB_BITS + 1)                   \
     << FB_LOAD_HIST_SUB_BITS)

typedef struct {
    uint64_t  count;
    uint64_t  sum;                          /* ns */
    uint64_t  min;
    uint64_t  max;
    uint64_t  bucket[FB_LOAD_HIST_BUCKETS];
} fb_load_hist_t;

void fb_load_hist_record(fb_load_hist_t *h, uint64_t ns);
void fb_load_hist_merge(fb_load_hist_t *dst, const fb_load_hist_t *src);
/* The value at percentile p (0..100], in ns: a bucket's highest value. */
uint64_t fb_load_hist_percentile(const fb_load_hist_t *h, double p);


/* ------------------------------------------------------------------ */
/* results                                                             */

typedef struct {
    int       n;
    char      name[FB_LOAD_MAX_CODES][FB_LOAD_CODE_LEN];
    uint64_t  count[FB_LOAD_MAX_CODES];
    uint64_t  other;                        /* table full */
    uint64_t  none;                         /* 4xx/5xx without a code */
} fb_load_codes_t;

/* Why a request got no response. */
typedef enum {
    FB_LOAD_FAIL_TIMEOUT = 0,
    FB_LOAD_FAIL_LOST,                      /* closed or reset first */
    FB_LOAD_FAIL_PROTOCOL                   /* unparsable response */
} fb_load_fail_e;

/* One thread's view of the measured run; merged at the end. */
typedef struct {
    fb_load_hist_t   hist[FB_LOAD_NOPS + 1];
    uint64_t         ok[FB_LOAD_NOPS];       /* 2xx */
    uint64_t         failed[FB_LOAD_NOPS];   /* any other status */
    uint64_t         status[600];
    fb_load_codes_t  codes;
    uint64_t         timeouts;
    uint64_t         lost;
    uint64_t         protocol_errors;
    uint64_t         connect_errors;
    uint64_t         reconnects;
    uint64_t         late;                  /* fixed rate: sent > 1 ms late */
    uint64_t         unsent;                /* fixed rate: due, never sent */
    uint64_t         last_ns;               /* last counted completion */

    /* money, over every main-phase request (warm-up included) */
    int64_t          deposited;
    int64_t          withdrawn;
    int64_t          uncertain_in;           /* deposits of unknown fate */
    int64_t          uncertain_out;          /* withdrawals of unknown fate */
    uint64_t         uncertain_ops;
} fb_load_stats_t;

void fb_load_stats_merge(fb_load_stats_t *dst, const fb_load_stats_t *src);
void fb_load_codes_add(fb_load_codes_t *codes, const char *name, size_t len,
    uint64_t n);


/* ------------------------------------------------------------------ */
/* server processes (/proc)                                            */

/* One reading of a process. */
typedef struct {
    double    cpu;                          /* s, utime + stime */
    long      rss_kb;                       /* VmRSS */
    long      hwm_kb;                       /* VmHWM */
    uint64_t  csw_vol;                      /* context switches of the */
    uint64_t  csw_invol;                    /* threads it has now */
    unsigned  csw_ok:1;                     /* the two above were read */
} fb_load_proc_now_t;

typedef struct {
    pid_t     pid;
    char      comm[32];
    double    cpu_before;                   /* s, utime + stime */
    double    cpu_after;
    long      rss_before_kb;
    long      rss_after_kb;
    long      hwm_kb;                       /* VmHWM at the end */
    uint64_t  csw_vol_before;               /* voluntary: it slept */
    uint64_t  csw_vol_after;
    uint64_t  csw_invol_before;             /* involuntary: preempted */
    uint64_t  csw_invol_after;
    unsigned  seen_before:1;
    unsigned  seen_after:1;
    unsigned  csw_before:1;                 /* the switches were read */
    unsigned  csw_after:1;
} fb_load_proc_t;

int fb_load_proc_sample(pid_t pid, fb_load_proc_now_t *now, char *comm,
    size_t comm_size);
/* Appends pid and its direct children to pids[]; returns the new count. */
int fb_load_proc_tree(pid_t pid, pid_t *pids, int n, int max);


/* ------------------------------------------------------------------ */
/* the engine                                                          */

typedef struct fb_load_run_s     fb_load_run_t;
typedef struct fb_load_worker_s  fb_load_worker_t;
typedef struct fb_load_conn_s    fb_load_conn_t;

/* One request: what it is, its bytes, its times. */
typedef struct {
    fb_load_op_e  op;
    int64_t       a;                        /* account index (not id) */
    int64_t       b;                        /* transfer payee index */
    int64_t       amount;
    uint64_t      t_intended;               /* latency is measured from it */
    uint64_t      t_sent;                   /* timeouts are measured from it */
    const char   *data;                     /* buf, or a shared request */
    size_t        len;
    unsigned      counted:1;                /* after warm-up: in results */
    char          buf[FB_LOAD_REQ_MAX];
} fb_load_req_t;

typedef struct {
    int           status;
    const char   *body;                     /* at most the buffer's worth */
    size_t        body_len;
} fb_load_resp_t;

/*
 * A phase hands requests to the engine and takes back what became of
 * them.  next() fills req (op, accounts, bytes) and returns FB_OK, or
 * FB_DECLINED once it has nothing more to send; done() and fail() run for
 * each request that got a response or none.
 */
typedef struct {
    const char   *name;
    int         (*next)(fb_load_worker_t *w, fb_load_req_t *req);
    void        (*done)(fb_load_worker_t *w, fb_load_req_t *req,
                        fb_load_resp_t *resp, uint64_t now);
    void        (*fail)(fb_load_worker_t *w, fb_load_req_t *req,
                        fb_load_fail_e why);
    unsigned      measured:1;               /* rate, warm-up, progress */
} fb_load_phase_t;

struct fb_load_worker_s {
    int                  id;
    fb_load_run_t       *run;
    pthread_t            tid;
    int                  epfd;
    fb_load_conn_t      *conns;
    int                  nconns;
    fb_load_conn_t      *idle_head;         /* ready, waiting for the rate */
    fb_load_conn_t      *idle_tail;
    int                  inflight;
    unsigned             exhausted:1;       /* the phase said FB_DECLINED */
    uint64_t             rng[2];
    fb_load_stats_t     *stats;
    char                *scratch;           /* discarded body bytes */

    double               rate_interval;     /* ns between intended sends */
    uint64_t             rate_start;
    uint64_t             rate_k;
    uint64_t             rate_next;
    uint64_t             rate_counted;      /* sends made after warm-up */

    uint64_t             last_connect_ok;   /* 0: never */
    uint64_t             connect_fail_since;
    int                  last_connect_errno;

    /* read by thread 0 for the progress line */
    atomic_uint_fast64_t progress_done;
    atomic_uint_fast64_t progress_errors;
};

/*
 * An operation of unknown fate, kept for the audit to resolve: a transfer
 * has b >= 0, a deposit or withdrawal b = -1 and its signed effect.
 */
#define FB_LOAD_UNKNOWN_MAX   4096

typedef struct {
    int64_t   a;
    int64_t   b;
    int64_t   amount;                       /* the effect on a; a
                                               transfer's on b: -amount */
} fb_load_unknown_t;

struct fb_load_run_s {
    fb_load_conf_t      *conf;
    fb_load_phase_t     *phase;
    fb_load_worker_t    *workers;
    int                  nworkers;

    /* bank mode: the accounts, by index */
    int64_t             *ids;
    int64_t             *funded;
    atomic_int_fast64_t *delta;             /* successful effects */
    atomic_uchar        *uncertain;         /* an effect of unknown fate */
    fb_load_unknown_t   *unknown;           /* the first FB_LOAD_UNKNOWN_MAX
                                               of them */
    atomic_uint_fast64_t unknown_n;
    int64_t             *balance;           /* read back by the audit */
    int64_t             *balance_before;    /* by its try before */
    unsigned char       *read_ok;
    int64_t              fund_chunks;       /* deposits per account */

    /* get mode: the one request, shared by every connection */
    char                *get_req;
    size_t               get_len;

    atomic_uint_fast64_t claim;             /* next index / requests sent */
    atomic_int           abort;
    char                 abort_msg[512];
    atomic_int           stopped_by;
    int                  deadline_reason;   /* what t_deadline stands for */
    int                  interrupted_before; /* ^C came before this phase:
                                               the measured run took it */
    atomic_uint          logged;            /* one-time messages */

    uint64_t             t_start;           /* of the phase */
    uint64_t             t_warm;            /* measured from here */
    uint64_t             t_deadline;        /* stop sending here */
    uint64_t             next_progress;
    uint64_t             progress_last_done;
    uint64_t             progress_last_ns;

    fb_load_proc_t       procs[FB_LOAD_MAX_PIDS];
    int                  nprocs;
    double               client_cpu_before;
    double               client_cpu_after;
    int                  client_sched;      /* fb-load's scheduling policy
                                               (sched_getscheduler) */
    unsigned             procs_sampled:1;
};

/* One-time messages: bits of fb_load_run_t.logged. */
#define FB_LOAD_ONCE_CONNECT   0x01
#define FB_LOAD_ONCE_LOST      0x02
#define FB_LOAD_ONCE_PROTOCOL  0x04
#define FB_LOAD_ONCE_NODELAY   0x08
#define FB_LOAD_ONCE_TIMEOUT   0x10
#define FB_LOAD_ONCE_SLACK     0x20
#define FB_LOAD_ONCE_READ      0x40
#define FB_LOAD_ONCE_READ_FAIL 0x80

/* Values of fb_load_run_t.stopped_by. */
#define FB_LOAD_STOP_NONE        0
#define FB_LOAD_STOP_REQUESTS    1
#define FB_LOAD_STOP_DURATION    2
#define FB_LOAD_STOP_TIME_LIMIT  3
#define FB_LOAD_STOP_SIGNAL      4

/* Set by SIGINT/SIGTERM: finish what is in flight, then report. */
extern volatile sig_atomic_t  fb_load_interrupted;

uint64_t fb_load_now(void);
int fb_load_engine_init(fb_load_run_t *run);
void fb_load_engine_free(fb_load_run_t *run);
/* Runs phase on every worker until it is done; FB_ERROR if aborted. */
int fb_load_engine_run(fb_load_run_t *run, fb_load_phase_t *phase);
void fb_load_abort(fb_load_run_t *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs fmt once per run for each bit of once (a bit mask). */
void fb_load_log_once(fb_load_run_t *run, unsigned once, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fb_load_sample_procs(fb_load_run_t *run, int after);
/* Records why the measured run stopped, if nothing did before. */
void fb_load_stopped(fb_load_run_t *run, int why);

uint64_t fb_load_random(fb_load_worker_t *w);
/* Uniform in [0, n). */
uint64_t fb_load_random_below(fb_load_worker_t *w, uint64_t n);


/* ------------------------------------------------------------------ */
/* small helpers                                                       */

void fb_load_err(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Finds "key": <integer> in a JSON object's text. */
int fb_load_json_int(const char *p, size_t n, const char *key, int64_t *v);
/* Finds "key": "<string>"; returns the string's bytes (escapes kept). */
int fb_load_json_str(const char *p, size_t n, const char *key,
    const char **s, size_t *len);


/* ------------------------------------------------------------------ */
/* report                                                              */

typedef struct {
    double    seconds;                      /* the measured window */
    uint64_t  responses;
    double    rps;
    uint64_t  status_5xx;
    double    setup_seconds;
    uint64_t  setup_requests;
    int64_t   funding;

    /* audit */
    const char *audit;                      /* pass fail unverified ... */
    uint64_t  audit_requests;
    double    audit_seconds;
    int64_t   audit_sum;
    int64_t   audit_expected;
    int64_t   audit_differing;
    int64_t   audit_unreadable;
    int64_t   audit_negative;
    int64_t   audit_uncertain_accounts;
    int64_t   audit_unexplained;            /* groups of unknown fate no
                                               outcome explains */
    int       exit_code;
} fb_load_summary_t;

void fb_load_report_table(FILE *f, fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum);
int fb_load_report_json(FILE *f, fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum);
const char *fb_load_op_name(fb_load_op_e op);
const char *fb_load_stop_name(int stopped_by);

#endif /* FB_LOAD_H_INCLUDED */
