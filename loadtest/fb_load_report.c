/*
 * fb_load_report.c: the results, as a table for people and as JSON for
 * scripts.  The JSON's "summary" object is on one line so that a shell
 * script can pick the headline figures out without a JSON parser.
 */

#include "fb_load.h"

#include <sched.h>
#include <string.h>

static double fb_load_server_cpu(fb_load_run_t *run, long *peak_kb);
static double fb_load_us(uint64_t ns);
static double fb_load_ms(uint64_t ns);
static void fb_load_table_row(FILE *f, const char *name, fb_load_hist_t *h,
    uint64_t *other);
static void fb_load_table_latency(FILE *f, fb_load_stats_t *s);
static void fb_load_json_string(FILE *f, const char *s);
static void fb_load_json_latency(FILE *f, fb_load_hist_t *h);
static void fb_load_json_summary(FILE *f, fb_load_run_t *run,
    fb_load_stats_t *s, fb_load_summary_t *sum);

static const char  *fb_load_op_names[] = {
    "deposit", "withdraw", "transfer", "balance", "get", "all"
};

static const char  *fb_load_stop_names[] = {
    "-", "requests", "duration", "time-limit", "signal"
};

static const double  fb_load_pcts[] = { 50, 90, 99, 99.9 };


const char *
fb_load_op_name(fb_load_op_e op)
{
    return op <= FB_LOAD_ALL ? fb_load_op_names[op] : "setup";
}


const char *
fb_load_stop_name(int stopped_by)
{
    return stopped_by >= 0 && stopped_by <= FB_LOAD_STOP_SIGNAL
           ? fb_load_stop_names[stopped_by] : "-";
}


/* Total server CPU over the measured run, or -1 if nothing was sampled. */
static double
fb_load_server_cpu(fb_load_run_t *run, long *peak_kb)
{
    int              i, seen;
    double           cpu;
    fb_load_proc_t  *p;

    cpu = 0;
    seen = 0;
    *peak_kb = 0;

    for (i = 0; i < run->nprocs; i++) {
        p = &run->procs[i];

        if (p->seen_before && p->seen_after) {
            cpu += p->cpu_after - p->cpu_before;
            seen++;
        }

        if (p->seen_after && p->hwm_kb > *peak_kb) {
            *peak_kb = p->hwm_kb;
        }
    }

    return seen > 0 ? cpu : -1;
}


/*
 * A count over the measured run.  The switches are summed over the
 * threads alive at each reading, so a thread that ended in between takes
 * its count with it and the sum may go down: count nothing then rather
 * than wrap.
 */
static unsigned long long
fb_load_csw(uint64_t before, uint64_t after)
{
    return after >= before ? (unsigned long long) (after - before) : 0;
}


/* Whether p's switches were read at both ends of the measured run. */
static int
fb_load_csw_known(const fb_load_proc_t *p)
{
    return p->seen_before && p->seen_after && p->csw_before && p->csw_after;
}


/*
 * Context switches of the servers over the measured run, voluntary and
 * involuntary, over the processes whose CPU counts; FB_ERROR if nothing
 * was sampled or one of them lacks its switches (a total that left a
 * process out would pass for all of them).
 */
static int
fb_load_server_csw(fb_load_run_t *run, uint64_t *vol, uint64_t *invol)
{
    int              i, seen;
    fb_load_proc_t  *p;

    *vol = 0;
    *invol = 0;
    seen = 0;

    for (i = 0; i < run->nprocs; i++) {
        p = &run->procs[i];

        if (!p->seen_before || !p->seen_after) {
            continue;
        }

        if (!fb_load_csw_known(p)) {
            return FB_ERROR;
        }

        *vol += fb_load_csw(p->csw_vol_before, p->csw_vol_after);
        *invol += fb_load_csw(p->csw_invol_before, p->csw_invol_after);
        seen++;
    }

    return seen > 0 ? FB_OK : FB_ERROR;
}


/* sched_getscheduler()'s answer, as chrt(1) names it. */
static const char *
fb_load_sched_name(int policy)
{
    switch (policy) {
    case SCHED_OTHER: return "other";
    case SCHED_BATCH: return "batch";
    case SCHED_IDLE:  return "idle";
    case SCHED_FIFO:  return "fifo";
    case SCHED_RR:    return "rr";
    default:          return "unknown";
    }
}


static double
fb_load_us(uint64_t ns)
{
    return (double) ns / 1000.0;
}


static double
fb_load_ms(uint64_t ns)
{
    return (double) ns / 1000000.0;
}


/* ------------------------------------------------------------------ */
/* the table                                                           */

static void
fb_load_table_row(FILE *f, const char *name, fb_load_hist_t *h,
    uint64_t *other)
{
    size_t  i;

    fprintf(f, "  %-10s", name);

    for (i = 0; i < sizeof(fb_load_pcts) / sizeof(fb_load_pcts[0]); i++) {
        fprintf(f, " %9.3f",
                fb_load_ms(fb_load_hist_percentile(h, fb_load_pcts[i])));
    }

    fprintf(f, " %9.3f %9.3f %9llu", fb_load_ms(h->max),
            fb_load_ms(h->sum / h->count), (unsigned long long) h->count);

    if (other != NULL) {
        fprintf(f, " %9llu", (unsigned long long) *other);
    }

    fprintf(f, "\n");
}


static void
fb_load_table_latency(FILE *f, fb_load_stats_t *s)
{
    int  op;

    fprintf(f, "latency (ms)      p50       p90       p99     p99.9"
            "       max      mean     count  non-2xx\n");

    fb_load_table_row(f, "all", &s->hist[FB_LOAD_ALL], NULL);

    for (op = 0; op < FB_LOAD_NOPS; op++) {
        /* "non-2xx" is the contract's refusals too: INSUFFICIENT_FUNDS. */
        if (s->hist[op].count > 0 && op != FB_LOAD_OP_GET) {
            fb_load_table_row(f, fb_load_op_names[op], &s->hist[op],
                              &s->failed[op]);
        }
    }
}


void
fb_load_report_table(FILE *f, fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum)
{
    int              i, n;
    long             peak;
    double           cpu, ccpu;
    uint64_t         vol, invol;
    fb_load_proc_t  *p;
    fb_load_conf_t  *conf = run->conf;

    fprintf(f, "\n%s: %s mode%s%s, %s, %d connections, %d thread%s, %s\n",
            conf->name, conf->mode == FB_LOAD_MODE_GET ? "get" : "bank",
            conf->mode == FB_LOAD_MODE_GET ? " " : "",
            conf->mode == FB_LOAD_MODE_GET ? conf->get_path : "",
            conf->host_header, conf->connections, conf->threads,
            conf->threads > 1 ? "s" : "",
            conf->rate > 0 ? "fixed rate" : "closed loop");

    if (conf->rate > 0) {
        fprintf(f, "rate:      %.0f req/s intended; latency counts from the"
                " intended send time; %llu sent over 1 ms late, %llu due"
                " but never sent\n", conf->rate,
                (unsigned long long) s->late, (unsigned long long) s->unsent);
    }

    if (conf->mode == FB_LOAD_MODE_BANK) {
        fprintf(f, "accounts:  %lld, mix deposit/withdraw/transfer/balance"
                " %u/%u/%u/%u, amounts %lld..%lld\n",
                (long long) conf->accounts, conf->mix[0], conf->mix[1],
                conf->mix[2], conf->mix[3], (long long) conf->amount_min,
                (long long) conf->amount_max);

        if (sum->setup_requests > 0) {
            fprintf(f, "set-up:    %llu requests in %.2f s (not counted"
                    " below)\n", (unsigned long long) sum->setup_requests,
                    sum->setup_seconds);
        }
    }

    fprintf(f, "result:    %llu responses in %.3f s = %.1f req/s"
            " (stopped by: %s)\n", (unsigned long long) sum->responses,
            sum->seconds, sum->rps,
            fb_load_stop_name(atomic_load(&run->stopped_by)));

    if (atomic_load(&run->abort)) {
        fprintf(f, "ABORTED:   %s\n", run->abort_msg);
    }

    if (sum->responses > 0) {
        fb_load_table_latency(f, s);
    }

    fprintf(f, "status:   ");
    for (i = 100, n = 0; i < 600; i++) {
        if (s->status[i] > 0) {
            fprintf(f, "%s %d: %llu", n++ ? "," : "", i,
                    (unsigned long long) s->status[i]);
        }
    }
    fprintf(f, "%s\n", n ? "" : " none");

    if (s->codes.n > 0 || s->codes.none > 0 || s->codes.other > 0) {
        fprintf(f, "codes:    ");
        for (i = 0; i < s->codes.n; i++) {
            fprintf(f, "%s %s: %llu", i ? "," : "", s->codes.name[i],
                    (unsigned long long) s->codes.count[i]);
        }

        if (s->codes.none > 0) {
            fprintf(f, "%s (no code): %llu", s->codes.n ? "," : "",
                    (unsigned long long) s->codes.none);
        }

        if (s->codes.other > 0) {
            fprintf(f, ", (others): %llu", (unsigned long long) s->codes.other);
        }

        fprintf(f, "\n");
    }

    fprintf(f, "errors:    timeouts %llu, lost %llu, protocol %llu,"
            " connect %llu; reconnects %llu\n",
            (unsigned long long) s->timeouts, (unsigned long long) s->lost,
            (unsigned long long) s->protocol_errors,
            (unsigned long long) s->connect_errors,
            (unsigned long long) s->reconnects);

    for (i = 0; i < run->nprocs; i++) {
        p = &run->procs[i];

        if (!p->seen_before || !p->seen_after) {
            fprintf(f, "server:    pid %ld: %s\n", (long) p->pid,
                    p->seen_before ? "exited during the run"
                                   : "not found (no /proc entry)");
            continue;
        }

        fprintf(f, "server:    pid %-7ld %-15s cpu %8.3f s   rss %7.1f ->"
                " %7.1f MB   peak %7.1f MB   switches ",
                (long) p->pid, p->comm,
                p->cpu_after - p->cpu_before, p->rss_before_kb / 1024.0,
                p->rss_after_kb / 1024.0, p->hwm_kb / 1024.0);

        if (fb_load_csw_known(p)) {
            fprintf(f, "%llu + %llu\n",
                    fb_load_csw(p->csw_vol_before, p->csw_vol_after),
                    fb_load_csw(p->csw_invol_before, p->csw_invol_after));
        } else {
            fprintf(f, "- (not read)\n");
        }
    }

    cpu = fb_load_server_cpu(run, &peak);
    ccpu = run->client_cpu_after - run->client_cpu_before;

    if (cpu >= 0 && sum->responses > 0) {
        fprintf(f, "cpu:       servers %.3f s = %.2f us/request;"
                " fb-load %.3f s = %.2f us/request\n", cpu,
                cpu * 1e6 / (double) sum->responses, ccpu,
                ccpu * 1e6 / (double) sum->responses);

    } else if (sum->responses > 0) {
        fprintf(f, "cpu:       fb-load %.3f s = %.2f us/request (--pid to"
                " see the servers')\n", ccpu,
                ccpu * 1e6 / (double) sum->responses);
    }

    if (run->client_sched != SCHED_OTHER) {
        fprintf(f, "sched:     fb-load ran under the %s policy"
                " (chrt --%s)\n",
                fb_load_sched_name(run->client_sched),
                fb_load_sched_name(run->client_sched));
    }

    if (fb_load_server_csw(run, &vol, &invol) == FB_OK
        && sum->responses > 0)
    {
        fprintf(f, "switches:  servers %llu voluntary + %llu involuntary ="
                " %.3f per request\n", (unsigned long long) vol,
                (unsigned long long) invol,
                (double) (vol + invol) / (double) sum->responses);
    }

    if (conf->mode == FB_LOAD_MODE_BANK) {
        fprintf(f, "audit:     %s", sum->audit);

        if (strcmp(sum->audit, "skipped") != 0) {
            fprintf(f, ": %lld balances sum to %lld; funding %lld"
                    " + deposits %lld - withdrawals %lld = %lld",
                    (long long) conf->accounts, (long long) sum->audit_sum,
                    (long long) sum->funding, (long long) s->deposited,
                    (long long) s->withdrawn,
                    (long long) sum->audit_expected);

            if (s->uncertain_ops > 0) {
                fprintf(f, "; %llu operations of unknown outcome"
                        " (+%lld/-%lld possible, %lld accounts, ",
                        (unsigned long long) s->uncertain_ops,
                        (long long) s->uncertain_in,
                        (long long) s->uncertain_out,
                        (long long) sum->audit_uncertain_accounts);
                if (sum->audit_unexplained < 0) {
                    fprintf(f, "too many to resolve)");
                } else {
                    fprintf(f, "%lld groups unexplained)",
                            (long long) sum->audit_unexplained);
                }
            }

            fprintf(f, "; %lld accounts differ, %lld negative,"
                    " %lld unreadable",
                    (long long) sum->audit_differing,
                    (long long) sum->audit_negative,
                    (long long) sum->audit_unreadable);
        }

        fprintf(f, "\n");
    }

    fprintf(f, "exit:      %d\n", sum->exit_code);
}


/* ------------------------------------------------------------------ */
/* JSON                                                                */

static void
fb_load_json_string(FILE *f, const char *s)
{
    const unsigned char  *p;

    fputc('"', f);

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fputc(*p, f);
        }
    }

    fputc('"', f);
}


static void
fb_load_json_latency(FILE *f, fb_load_hist_t *h)
{
    fprintf(f, "{\"count\": %llu, \"p50\": %.3f, \"p90\": %.3f,"
            " \"p99\": %.3f, \"p99_9\": %.3f, \"max\": %.3f, \"min\": %.3f,"
            " \"mean\": %.3f}",
            (unsigned long long) h->count,
            fb_load_us(fb_load_hist_percentile(h, 50)),
            fb_load_us(fb_load_hist_percentile(h, 90)),
            fb_load_us(fb_load_hist_percentile(h, 99)),
            fb_load_us(fb_load_hist_percentile(h, 99.9)),
            fb_load_us(h->max), fb_load_us(h->min),
            h->count ? fb_load_us(h->sum / h->count) : 0.0);
}


static void
fb_load_json_summary(FILE *f, fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum)
{
    long             peak;
    double           cpu, ccpu;
    fb_load_hist_t  *h = &s->hist[FB_LOAD_ALL];

    cpu = fb_load_server_cpu(run, &peak);
    ccpu = run->client_cpu_after - run->client_cpu_before;

    fprintf(f, "  \"summary\": {\"name\": ");
    fb_load_json_string(f, run->conf->name);
    fprintf(f, ", \"connections\": %d, \"responses\": %llu,"
            " \"seconds\": %.3f, \"rps\": %.1f, \"p50_us\": %.1f,"
            " \"p90_us\": %.1f, \"p99_us\": %.1f, \"p99_9_us\": %.1f,"
            " \"max_us\": %.1f, \"timeouts\": %llu, \"errors\": %llu,"
            " \"status_5xx\": %llu, \"unsent\": %llu, ",
            run->conf->connections, (unsigned long long) sum->responses,
            sum->seconds, sum->rps,
            fb_load_us(fb_load_hist_percentile(h, 50)),
            fb_load_us(fb_load_hist_percentile(h, 90)),
            fb_load_us(fb_load_hist_percentile(h, 99)),
            fb_load_us(fb_load_hist_percentile(h, 99.9)),
            fb_load_us(h->max), (unsigned long long) s->timeouts,
            (unsigned long long) (s->lost + s->protocol_errors
                                  + s->connect_errors),
            (unsigned long long) sum->status_5xx,
            (unsigned long long) s->unsent);

    if (cpu >= 0 && sum->responses > 0) {
        fprintf(f, "\"server_cpu_us_per_req\": %.3f, \"server_peak_rss_kb\":"
                " %ld, ", cpu * 1e6 / (double) sum->responses, peak);
    } else {
        fprintf(f, "\"server_cpu_us_per_req\": null, \"server_peak_rss_kb\":"
                " null, ");
    }

    fprintf(f, "\"client_cpu_us_per_req\": %.3f, \"audit\": \"%s\","
            " \"exit_code\": %d},\n",
            sum->responses ? ccpu * 1e6 / (double) sum->responses : 0.0,
            sum->audit, sum->exit_code);
}


int
fb_load_report_json(FILE *f, fb_load_run_t *run, fb_load_stats_t *s,
    fb_load_summary_t *sum)
{
    int              i, n, op;
    long             peak;
    double           cpu;
    uint64_t         vol, invol;
    fb_load_proc_t  *p;
    fb_load_conf_t  *conf = run->conf;

    fprintf(f, "{\n  \"tool\": \"fb-load\", \"version\": \"%s\",\n",
            FB_LOAD_VERSION);

    fb_load_json_summary(f, run, s, sum);

    fprintf(f, "  \"config\": {\"name\": ");
    fb_load_json_string(f, conf->name);
    fprintf(f, ", \"target\": ");
    fb_load_json_string(f, conf->host_header);
    fprintf(f, ", \"mode\": \"%s\", \"path\": ",
            conf->mode == FB_LOAD_MODE_GET ? "get" : "bank");
    if (conf->get_path != NULL) {
        fb_load_json_string(f, conf->get_path);
    } else {
        fprintf(f, "null");
    }

    fprintf(f, ",\n    \"accounts\": %lld, \"fund\": %lld,"
            " \"mix\": {\"deposit\": %u, \"withdraw\": %u, \"transfer\": %u,"
            " \"balance\": %u}, \"amount_min\": %lld, \"amount_max\": %lld,\n"
            "    \"connections\": %d, \"threads\": %d, \"requests\": %llu,"
            " \"duration_s\": %.3f, \"rate\": %.3f, \"timeout_s\": %.3f,"
            " \"warmup_s\": %.3f, \"time_limit_s\": %.3f, \"seed\": %llu,"
            " \"setup\": %s, \"audit\": %s, \"strict\": %s},\n",
            (long long) conf->accounts, (long long) conf->fund,
            conf->mix[0], conf->mix[1], conf->mix[2], conf->mix[3],
            (long long) conf->amount_min, (long long) conf->amount_max,
            conf->connections, conf->threads,
            (unsigned long long) conf->requests, conf->duration, conf->rate,
            conf->timeout, conf->warmup, conf->time_limit,
            (unsigned long long) conf->seed,
            conf->setup ? "true" : "false", conf->audit ? "true" : "false",
            conf->strict ? "true" : "false");

    fprintf(f, "  \"setup\": {\"requests\": %llu, \"seconds\": %.3f,"
            " \"funding\": %lld},\n",
            (unsigned long long) sum->setup_requests, sum->setup_seconds,
            (long long) sum->funding);

    fprintf(f, "  \"result\": {\"responses\": %llu, \"seconds\": %.3f,"
            " \"rps\": %.1f, \"stopped_by\": \"%s\", \"aborted\": ",
            (unsigned long long) sum->responses, sum->seconds, sum->rps,
            fb_load_stop_name(atomic_load(&run->stopped_by)));
    if (atomic_load(&run->abort)) {
        fb_load_json_string(f, run->abort_msg);
    } else {
        fprintf(f, "null");
    }
    fprintf(f, "},\n");

    fprintf(f, "  \"latency_us\": ");
    fb_load_json_latency(f, &s->hist[FB_LOAD_ALL]);
    fprintf(f, ",\n  \"ops\": {");

    for (op = 0, n = 0; op < FB_LOAD_NOPS; op++) {
        if (s->hist[op].count == 0) {
            continue;
        }

        fprintf(f, "%s\n    \"%s\": {\"ok\": %llu, \"other\": %llu,"
                " \"latency_us\": ", n++ ? "," : "", fb_load_op_names[op],
                (unsigned long long) s->ok[op],
                (unsigned long long) s->failed[op]);
        fb_load_json_latency(f, &s->hist[op]);
        fprintf(f, "}");
    }

    fprintf(f, "},\n  \"status\": {");
    for (i = 100, n = 0; i < 600; i++) {
        if (s->status[i] > 0) {
            fprintf(f, "%s\"%d\": %llu", n++ ? ", " : "", i,
                    (unsigned long long) s->status[i]);
        }
    }

    fprintf(f, "},\n  \"codes\": {");
    for (i = 0; i < s->codes.n; i++) {
        fprintf(f, "%s", i ? ", " : "");
        fb_load_json_string(f, s->codes.name[i]);
        fprintf(f, ": %llu", (unsigned long long) s->codes.count[i]);
    }
    fprintf(f, "},\n  \"codes_missing\": %llu, \"codes_other\": %llu,\n",
            (unsigned long long) s->codes.none,
            (unsigned long long) s->codes.other);

    fprintf(f, "  \"errors\": {\"timeouts\": %llu, \"lost\": %llu,"
            " \"protocol\": %llu, \"connect\": %llu, \"reconnects\": %llu,"
            " \"late_sends\": %llu, \"unsent\": %llu},\n",
            (unsigned long long) s->timeouts, (unsigned long long) s->lost,
            (unsigned long long) s->protocol_errors,
            (unsigned long long) s->connect_errors,
            (unsigned long long) s->reconnects,
            (unsigned long long) s->late, (unsigned long long) s->unsent);

    fprintf(f, "  \"servers\": {\"processes\": [");
    for (i = 0; i < run->nprocs; i++) {
        p = &run->procs[i];

        fprintf(f, "%s\n    {\"pid\": %ld, \"comm\": ", i ? "," : "",
                (long) p->pid);
        fb_load_json_string(f, p->comm);

        if (p->seen_before && p->seen_after) {
            fprintf(f, ", \"cpu_s\": %.3f", p->cpu_after - p->cpu_before);

            if (fb_load_csw_known(p)) {
                fprintf(f, ", \"csw_voluntary\": %llu,"
                        " \"csw_involuntary\": %llu",
                        fb_load_csw(p->csw_vol_before, p->csw_vol_after),
                        fb_load_csw(p->csw_invol_before,
                                    p->csw_invol_after));
            } else {
                fprintf(f, ", \"csw_voluntary\": null,"
                        " \"csw_involuntary\": null");
            }

            fprintf(f, ", \"rss_before_kb\": %ld, \"rss_after_kb\": %ld,"
                    " \"vm_hwm_kb\": %ld}", p->rss_before_kb,
                    p->rss_after_kb, p->hwm_kb);
        } else {
            fprintf(f, ", \"cpu_s\": null, \"missing\": true}");
        }
    }

    cpu = fb_load_server_cpu(run, &peak);

    if (cpu >= 0) {
        fprintf(f, "],\n    \"cpu_s\": %.3f, \"cpu_us_per_req\": %.3f,",
                cpu, sum->responses ? cpu * 1e6 / (double) sum->responses
                                    : 0.0);
    } else {
        fprintf(f, "],\n    \"cpu_s\": null, \"cpu_us_per_req\": null,");
    }

    if (fb_load_server_csw(run, &vol, &invol) == FB_OK) {
        fprintf(f, " \"csw_per_req\": %.3f},\n",
                sum->responses ? (double) (vol + invol)
                                 / (double) sum->responses : 0.0);
    } else {
        fprintf(f, " \"csw_per_req\": null},\n");
    }

    cpu = run->client_cpu_after - run->client_cpu_before;
    fprintf(f, "  \"client\": {\"cpu_s\": %.3f, \"cpu_us_per_req\": %.3f,"
            " \"sched\": \"%s\"},\n", cpu,
            sum->responses ? cpu * 1e6 / (double) sum->responses : 0.0,
            fb_load_sched_name(run->client_sched));

    fprintf(f, "  \"audit\": {\"status\": \"%s\", \"requests\": %llu,"
            " \"seconds\": %.3f, \"accounts\": %lld,"
            " \"sum\": %lld, \"expected\": %lld, \"funding\": %lld,"
            " \"deposits\": %lld, \"withdrawals\": %lld,"
            " \"uncertain_operations\": %llu, \"uncertain_deposits\": %lld,"
            " \"uncertain_withdrawals\": %lld, \"uncertain_accounts\": %lld,"
            " \"unexplained_groups\": %lld,"
            " \"differing_accounts\": %lld, \"negative_accounts\": %lld,"
            " \"unreadable_accounts\": %lld},\n",
            sum->audit, (unsigned long long) sum->audit_requests,
            sum->audit_seconds,
            conf->mode == FB_LOAD_MODE_BANK ? (long long) conf->accounts : 0,
            (long long) sum->audit_sum, (long long) sum->audit_expected,
            (long long) sum->funding, (long long) s->deposited,
            (long long) s->withdrawn, (unsigned long long) s->uncertain_ops,
            (long long) s->uncertain_in, (long long) s->uncertain_out,
            (long long) sum->audit_uncertain_accounts,
            (long long) sum->audit_unexplained,
            (long long) sum->audit_differing,
            (long long) sum->audit_negative,
            (long long) sum->audit_unreadable);

    fprintf(f, "  \"exit_code\": %d\n}\n", sum->exit_code);

    return ferror(f) ? FB_ERROR : FB_OK;
}
