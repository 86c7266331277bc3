/*
 * node.c — weft/node.h: opening and closing a node, its threads and queues.
 *
 * Views go to `views` and are taken by any of the worker threads, each on
 * its own read transaction; a short one may instead run on the thread that
 * asks (weft_node_call_here, below: the HTTP threads). Everything that writes goes to `writes`, in
 * order, and from there (the sequencer, below) a write call goes to the
 * workers, which run its guest on an overlay of its context over a read
 * transaction, one call of a context at a time and those of different
 * contexts side by side (a lone writer's calls, which no worker would run
 * beside anything, go straight to the commit thread instead); every other
 * job, and every call's sealed overlay, goes to `commits`, which one
 * writer thread (the commit thread) drains in batches: one LMDB write
 * transaction per batch (weft_db_batch_begin), the
 * overlays replayed into it and the other jobs run in it (an overlay of
 * the batch, or a nested transaction), one durable commit for all of
 * them, and only then are the jobs completed (results delivered, events
 * published). A batch that failed because the map had to grow runs again
 * in a later one (its overlays replayed again, never their guests). A
 * watchdog thread interrupts the store of a call that passes its deadline.
 *
 * Closing sets `closing` (new calls are refused), lets the writer and the
 * workers drain their queues, and joins them.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../store/store.h" /* store_fail_next: weft_node_fail_next */
#include "node_priv.h"
#include "weft/error.h"
#include "weft/identity.h"

uint64_t node_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t node_random_u64(void)
{
    uint64_t v;
    randombytes_buf(&v, sizeof v);
    return v;
}

uint64_t node_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- queues ------------------------------------------------------------- */

static void queue_push(node_queue_t *q, node_job_t *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->len++;
}

static node_job_t *queue_pop(node_queue_t *q)
{
    node_job_t *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
        j->next = NULL;
    }
    return j;
}

static void queue_push_front(node_queue_t *q, node_job_t *j)
{
    j->next = q->head;
    q->head = j;
    if (!q->tail)
        q->tail = j;
    q->len++;
}

/* Moves the jobs of front, in their order, before those of q; front is
 * left empty. */
static void queue_prepend(node_queue_t *q, node_queue_t *front)
{
    if (!front->head)
        return;
    front->tail->next = q->head;
    if (!q->head)
        q->tail = front->tail;
    q->head = front->head;
    q->len += front->len;
    memset(front, 0, sizeof *front);
}

/* Takes j, which follows prev (NULL: j is the head), out of q. */
static void queue_unlink(node_queue_t *q, node_job_t *prev, node_job_t *j)
{
    if (prev)
        prev->next = j->next;
    else
        q->head = j->next;
    if (q->tail == j)
        q->tail = prev;
    q->len--;
    j->next = NULL;
}

static void job_free(node_job_t *j)
{
    if (!j)
        return;
    free((char *)j->req.context);
    free((char *)j->req.function);
    free((void *)j->req.input);
    free((void *)j->req.args);
    for (size_t i = 0; i < j->req.argc; i++)
        free((char *)j->req.argv[i]);
    free((void *)j->req.argv);
    free((char *)j->req.argv0);
    free((char *)j->req.app);
    for (size_t i = 0; i < j->req.ndirs; i++) {
        free((char *)j->req.dirs[i].host_path);
        free((char *)j->req.dirs[i].guest_path);
    }
    free((void *)j->req.dirs);
    weft_call_result_delete(j->res);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static node_job_t *job_new(job_kind_t kind)
{
    node_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

/* Hands the job's result to its receiver (the callback or the waiting
 * thread); the job is freed here unless a thread waits on it. */
static void job_finish(node_job_t *j)
{
    if (j->kind == JOB_LOGS) { /* detached */
        job_free(j);
        return;
    }
    if (j->kind == JOB_FN && j->fn_done) { /* node_write_fn_async */
        j->fn_done(j->arg, j->fn_rc);
        job_free(j);
        return;
    }
    if (j->kind == JOB_CALL && j->done) {
        weft_call_result_t *res = j->res;
        j->res = NULL;
        j->done(j->user, res);
        job_free(j);
        return;
    }
    pthread_mutex_lock(&j->mu);
    j->finished = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void job_wait(node_job_t *j)
{
    pthread_mutex_lock(&j->mu);
    while (!j->finished)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
}

/* ---- the watchdog ------------------------------------------------------- */

static void *watchdog_main(void *arg);

/* The kick (WEFT_NODE_KICK): its handler does nothing, and is installed
 * without SA_RESTART, so a blocked read or open fails with EINTR; the host
 * function then finds the store interrupted and traps (weft/wasi.h). */
#define KICK_SIGNAL SIGUSR1
#define KICK_EVERY_NS 10000000u /* 10 ms */

static void on_kick(int sig)
{
    (void)sig;
}

/* Starts the watchdog, with mu held, when the first call with a deadline
 * comes: a node whose calls have none never has the thread. It blocks
 * SIGINT and the kick, so a Ctrl-C reaches the thread running the call
 * and cuts a syscall it is blocked in short. 0 or -1. */
static int watchdog_start(weft_node_t *node)
{
    if (node->watchdog_started)
        return 0;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&node->watchdog, NULL, watchdog_main, node);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    node->watchdog_started = 1;
    return 0;
}

int node_slot_set(weft_node_t *node, unsigned slot, weft_store_t *store, uint64_t deadline_ns)
{
    node_slot_t *s = &node->slots[slot];
    int rc = 0;
    pthread_mutex_lock(&node->mu);
    __atomic_store_n(&s->store, store, __ATOMIC_SEQ_CST);
    s->deadline_ns = store ? deadline_ns : 0;
    s->thread = pthread_self();
    s->kick = 0;
    if (store && deadline_ns) {
        rc = watchdog_start(node);
        /* A wake-up costs two context switches on every call (chained
         * Faasm calls make many): only for a deadline the watchdog would
         * not see in time. */
        if (!node->watch_next || deadline_ns < node->watch_next)
            pthread_cond_signal(&node->watch_cv);
    }
    pthread_mutex_unlock(&node->mu);
    if (!store) {
        /* weft_node_interrupt may hold the store it read before: wait. */
        while (__atomic_load_n(&s->hold, __ATOMIC_SEQ_CST))
            sched_yield();
    } else if (__atomic_load_n(&node->interrupted, __ATOMIC_SEQ_CST)) {
        weft_store_interrupt(store); /* it came before the store was seen */
    }
    return rc;
}

void weft_node_interrupt(weft_node_t *node)
{
    __atomic_store_n(&node->interrupted, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < node->nslots; i++) {
        node_slot_t *s = &node->slots[i];
        __atomic_add_fetch(&s->hold, 1, __ATOMIC_SEQ_CST);
        weft_store_t *store = __atomic_load_n(&s->store, __ATOMIC_SEQ_CST);
        if (store)
            weft_store_interrupt(store);
        __atomic_sub_fetch(&s->hold, 1, __ATOMIC_SEQ_CST);
    }
}

/* Sleeps until the earliest deadline among the running calls, interrupts
 * the stores whose deadline has passed (and with WEFT_NODE_KICK signals
 * their threads every KICK_EVERY_NS until they end). The slot keeps its
 * store until the call is over, so an interrupt or a kick never reaches a
 * deleted store or a later call (the caller clears its slot, under mu,
 * before deleting the store). */
static void *watchdog_main(void *arg)
{
    weft_node_t *node = arg;
    uint64_t here_seen = 0;
    pthread_mutex_lock(&node->mu);
    while (!node->closing) {
        uint64_t now = node_now_ns(), next = 0;
        /* While views run on callers' threads (each cut at the budget), wake
         * every budget instead of being signalled for each: their deadlines
         * are never before watch_next then (node_slot_set). */
        uint64_t here = __atomic_load_n(&node->here_views_started, __ATOMIC_RELAXED);
        if (here != here_seen) {
            here_seen = here;
            next = now + NODE_HERE_BUDGET_NS;
        }
        for (unsigned i = 0; i < node->nslots; i++) {
            node_slot_t *s = &node->slots[i];
            uint64_t at = 0;
            if (!s->store) {
                continue;
            } else if (s->kick) {
                pthread_kill(s->thread, KICK_SIGNAL);
                at = now + KICK_EVERY_NS;
            } else if (!s->deadline_ns) {
                continue;
            } else if (s->deadline_ns <= now) {
                weft_store_interrupt(s->store);
                s->deadline_ns = 0; /* once */
                if (node->flags & WEFT_NODE_KICK) {
                    s->kick = 1;
                    pthread_kill(s->thread, KICK_SIGNAL);
                    at = now + KICK_EVERY_NS;
                }
            } else {
                at = s->deadline_ns;
            }
            if (at && (!next || at < next))
                next = at;
        }
        node->watch_next = next;
        if (!next) {
            pthread_cond_wait(&node->watch_cv, &node->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t wait = next - now, ns = (uint64_t)ts.tv_nsec + wait % 1000000000u;
        ts.tv_sec += (time_t)(wait / 1000000000u + ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&node->watch_cv, &node->mu, &ts);
    }
    pthread_mutex_unlock(&node->mu);
    return NULL;
}

/* ---- the sequencer --------------------------------------------------------
 * Every write job enters `writes` in the order it came. A write call
 * (job->par) goes to the workers (`wrun`) once no call of its context
 * runs there, so a context's calls keep their order and run one at a
 * time, while those of other contexts run beside it; its guest runs on an
 * overlay of its context over a fresh read transaction, with the
 * context's overlays not yet durable below it (read-your-writes across
 * calls before their commit), and the sealed overlay then goes to
 * `commits`, where the commit thread replays it into its batch. Any other
 * job (a node_write_fn, a call of a serial adapter or function, one an
 * overlay refused) is a barrier: it goes to `commits` only once it heads
 * `writes` and no write call runs on a worker, and no write call after it
 * starts until its batch committed, so it sees everything before it and
 * everything after it sees it. A write call that nothing would run
 * beside (writer_takes) goes to `commits` as it is, and the commit thread
 * runs its guest on an overlay of the batch, saving the hop to a worker.
 * All of this is under the node's mu. */

static node_seq_t **seq_slot(weft_node_t *node, const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    node_seq_t **pp = &node->seqs[h % NODE_SEQ_BUCKETS];
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Context name's sequencer, made when create is set; NULL when there is
 * none (or no memory). */
static node_seq_t *seq_get(weft_node_t *node, const char *name, int create)
{
    node_seq_t **pp = seq_slot(node, name);
    if (*pp || !create)
        return *pp;
    size_t n = strlen(name) + 1;
    node_seq_t *q = calloc(1, sizeof *q + n);
    if (q) {
        memcpy(q->name, name, n);
        *pp = q;
    }
    return q;
}

/* Frees a sequencer with no running call, no overlay pending and no call
 * dispatched and not settled. */
static void seq_tidy(weft_node_t *node, node_seq_t *q)
{
    if (q->running || q->pending || q->queued || q->wait.head)
        return;
    node_seq_t **pp = seq_slot(node, q->name);
    *pp = q->next;
    free(q);
}

/* Drops a reference to rec (and, with its last, rec's to the one below). */
static void rec_unref(node_ovrec_t *rec)
{
    while (rec && --rec->refs == 0) {
        node_ovrec_t *down = rec->down;
        weft_txn_abort(rec->ov);
        free(rec);
        rec = down;
    }
}

/* Whether write call j of context q, which may start now, runs its guest
 * on the commit thread (a lone writer) rather than on a worker: when its
 * context has calls there not yet committed (it must read their writes,
 * which are in the batch, not in sealed overlays), or when no write call
 * runs on a worker and every call not yet settled is of q, so a worker
 * would run nothing beside it and only add a hop. Not while the commit
 * thread is held (tests: calls then run and stack on the workers). */
static int writer_takes(const weft_node_t *node, const node_seq_t *q)
{
    if (q->writer_calls)
        return 1;
    return !node->hold_commits && !node->inflight && node->queued == q->queued;
}

/* Starts write call j of context q, which runs no call on a worker: on
 * the commit thread (writer_takes) or a worker. */
static void start_call(weft_node_t *node, node_seq_t *q, node_job_t *j)
{
    j->seq = q;
    if (writer_takes(node, q)) {
        j->wg = 1;
        q->writer_calls++;
        queue_push(&node->commits, j);
        pthread_cond_signal(&node->writes_cv);
    } else {
        q->running = 1;
        node->inflight++;
        queue_push(&node->wrun, j);
        pthread_cond_signal(&node->views_cv);
    }
    q->queued++;
    node->queued++;
}

/* Moves the write jobs that may start now: write calls to `wrun` or, for a
 * lone writer, to `commits` (writer_takes), serial jobs to `commits`. A
 * write call whose context runs a call on a worker leaves `writes` for
 * its context's `wait`, in order, and starts when that call ends
 * (run_write): so the scan is O(jobs that came since the last one), not
 * O(jobs waiting). No call waits there while a barrier is in `commits`:
 * a barrier leaves `writes` only when no call runs on a worker. */
static void dispatch(weft_node_t *node)
{
    node_job_t *prev = NULL, *j;
    while ((j = prev ? prev->next : node->writes.head)) {
        node->stats.dispatch_steps++;
        if (!j->par) {
            if (prev || node->inflight)
                return; /* a barrier: everything before it first */
            queue_unlink(&node->writes, NULL, j);
            j->barrier = 1;
            node->barrier++;
            queue_push(&node->commits, j);
            pthread_cond_signal(&node->writes_cv);
            continue;
        }
        if (node->barrier)
            return; /* after a serial job: once it committed */
        node_seq_t *q = seq_get(node, j->req.context, 1);
        if (!q) {
            j->par = 0; /* no memory: the commit thread runs it */
            continue;
        }
        queue_unlink(&node->writes, prev, j);
        if (q->running)
            queue_push(&q->wait, j); /* its context's call before it runs */
        else
            start_call(node, q, j);
    }
}

/* Write call j leaves its context's count of calls dispatched (settled, or
 * back in `writes`); mu held. */
static void seq_leave(weft_node_t *node, node_job_t *j)
{
    node_seq_t *q = j->seq;
    if (!q)
        return;
    j->seq = NULL;
    q->queued--;
    node->queued--;
    if (j->wg) {
        j->wg = 0;
        q->writer_calls--;
    }
    seq_tidy(node, q);
}

/* Whether the write jobs are all done (closing waits for that). */
static int writes_drained(const weft_node_t *node)
{
    return !node->writes.head && !node->wrun.head && !node->inflight && !node->commits.head;
}

void weft_node_hold_commits(weft_node_t *node, int hold)
{
    pthread_mutex_lock(&node->mu);
    node->hold_commits = hold;
    pthread_cond_broadcast(&node->writes_cv);
    pthread_mutex_unlock(&node->mu);
}

unsigned weft_node_fail_next(weft_node_t *node, int at_commit, int code, unsigned count)
{
    if (!node->db)
        return 0;
    return store_fail_next(node->db, at_commit ? STORE_FAIL_COMMIT : STORE_FAIL_PUT, code, count);
}

/* ---- views -------------------------------------------------------------- */

typedef struct {
    weft_node_t *node;
    unsigned slot;
} worker_arg_t;

static void run_view(weft_node_t *node, node_job_t *j, unsigned slot)
{
    for (;;) {
        weft_txn_t *txn = NULL;
        int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
        if (rc != 0) {
            node_result_fail(j->res, WEFT_CALL_ERROR, "cannot begin a read transaction: %s",
                             weft_db_errmsg(node->db));
            return;
        }
        int r = node_run_call(node, j, txn, slot);
        weft_txn_abort(txn);
        if (r >= 0 || ++j->tries >= NODE_MAX_TRIES)
            return;
    }
}

static int submit(weft_node_t *node, node_job_t *j, int view);

/* A view cannot write, so the writer records its log lines: a detached
 * job holding a copy of them. Dropped when out of memory or closing. */
static void record_view_logs(weft_node_t *node, const node_job_t *view)
{
    const weft_call_result_t *res = view->res;
    if (!res->nlogs)
        return;
    node_job_t *j = job_new(JOB_LOGS);
    if (!j)
        return;
    j->res = node_result_new();
    j->req.context = strdup(view->req.context);
    int bad = !j->res || !j->req.context;
    for (size_t i = 0; !bad && i < res->nlogs; i++)
        bad = node_result_add_log(j->res, res->log_levels[i], res->logs[i], res->log_lens[i]);
    if (!bad) {
        j->res->call_id = res->call_id;
        bad = submit(node, j, 0);
    }
    if (bad)
        job_free(j);
}

/* Runs write call j's guest on this worker (the sequencer above): on an
 * overlay of its context over a read transaction, with the context's
 * pending overlays below, newest first. The pending list is read before
 * the read transaction begins, so an overlay missing from it was durable
 * before the snapshot was taken. A call that succeeded leaves its sealed
 * overlay in j->rec and at the top of its context's pending list; one that
 * failed leaves none (its writes are dropped: no later call reads them).
 * Either way it goes to the commit thread, in order, for its log lines and
 * its result; a call the overlay refused, or that cannot run here, goes
 * back to the head of `writes` as a serial job. */
static void run_write(weft_node_t *node, node_job_t *j, unsigned slot)
{
    const char *ctx = j->req.context;
    size_t cl = strlen(ctx);
    node_ovrec_t *small[16], **recs = small;
    weft_txn_t *tsmall[16], **below = tsmall;
    size_t nb = 0;
    int r = NODE_RUN_SERIAL;
    pthread_mutex_lock(&node->mu);
    for (node_ovrec_t *o = j->seq->pending; o; o = o->next)
        nb++;
    if (nb > 16 && (!(recs = malloc(nb * sizeof *recs)) || !(below = malloc(nb * sizeof *below))))
        nb = SIZE_MAX; /* no memory: serial */
    size_t i = 0;
    for (node_ovrec_t *o = j->seq->pending; nb != SIZE_MAX && o; o = o->next, i++) {
        o->refs++;
        recs[i] = o;
        below[i] = o->ov;
    }
    pthread_mutex_unlock(&node->mu);

    weft_txn_t *rd = NULL, *ov = NULL;
    if (nb != SIZE_MAX && weft_txn_begin(node->db, WEFT_TXN_READ, &rd) == 0 &&
        weft_txn_begin_overlay(rd, (const uint8_t *)ctx, cl, below, nb, &ov) == 0) {
        j->overlay = 1;
        r = node_run_call(node, j, ov, slot);
        j->overlay = 0;
        if (r == 1 && j->res->nevents && node_events_append(ov, ctx, j->res) != 0)
            r = -1; /* the commit thread's nested path says what is wrong */
        if (r == NODE_RUN_SERIAL && weft_txn_overlay_serial(ov))
            __atomic_fetch_add(&node->overlay_refused, 1, __ATOMIC_RELAXED);
        else if (r != NODE_RUN_SERIAL)
            __atomic_fetch_add(&node->overlay_calls, 1, __ATOMIC_RELAXED);
    }
    node_ovrec_t *rec = NULL;
    if (r == 1 && (rec = calloc(1, sizeof *rec)) && weft_txn_overlay_seal(ov) == 0) {
        rec->ov = ov;
        rec->refs = 2; /* the pending list's and the job's */
    } else {
        free(rec);
        rec = NULL;
        if (ov)
            weft_txn_abort(ov);
        if (r == 1)
            r = -1;
    }
    if (rd)
        weft_txn_abort(rd);

    pthread_mutex_lock(&node->mu);
    node_seq_t *q = j->seq;
    q->running = 0;
    if (r < 0) { /* the map grew, a refusal, no memory: on the serial path */
        j->par = 0;
        j->nested = r == NODE_RUN_SERIAL;
        queue_prepend(&node->writes, &q->wait); /* its context's later calls after it */
        queue_push_front(&node->writes, j);
        seq_leave(node, j); /* q may be gone */
    } else {
        if (nb && nb != SIZE_MAX)
            node->stats.stacked_calls++;
        if (rec) {
            if (nb && nb != SIZE_MAX) {
                rec->down = recs[0]; /* keeps the reference taken above */
                recs[0] = NULL;
            }
            rec->next = q->pending;
            q->pending = rec;
            j->rec = rec;
        }
        j->ran = 1;
        node->stats.worker_write_calls++;
        queue_push(&node->commits, j);
        pthread_cond_signal(&node->writes_cv);
    }
    for (i = 0; nb != SIZE_MAX && i < nb; i++)
        rec_unref(recs[i]);
    node->inflight--;
    /* its context's next calls, which came while it ran (none after a
     * refusal: they went back with it): one on a worker, or all of them
     * on the commit thread */
    for (node_job_t *k; r >= 0 && !q->running && (k = queue_pop(&q->wait));) {
        node->stats.dispatch_steps++;
        start_call(node, q, k);
    }
    dispatch(node);
    if (node->closing) {
        pthread_cond_broadcast(&node->views_cv);
        pthread_cond_broadcast(&node->writes_cv);
    }
    pthread_mutex_unlock(&node->mu);
    if (recs != small)
        free(recs);
    if (below != tsmall)
        free(below);
}

static void *worker_main(void *arg)
{
    worker_arg_t *wa = arg;
    weft_node_t *node = wa->node;
    unsigned slot = wa->slot;
    free(wa);
    for (;;) {
        pthread_mutex_lock(&node->mu);
        /* Closing, a worker stays while write calls may still come its way */
        while (!node->views.head && !node->wrun.head &&
               !(node->closing && !node->writes.head && !node->inflight))
            pthread_cond_wait(&node->views_cv, &node->mu);
        node_job_t *w = queue_pop(&node->wrun);
        node_job_t *j = w ? NULL : queue_pop(&node->views);
        pthread_mutex_unlock(&node->mu);
        if (w) {
            run_write(node, w, slot);
            continue;
        }
        if (!j)
            return NULL; /* closing and drained */
        run_view(node, j, slot);
        record_view_logs(node, j);
        job_finish(j);
    }
}

/* ---- the writer ----------------------------------------------------------- */

/* Commits job j's transaction into the batch. Returns 1 when the job is
 * done (committed, or failed for good, as j's result says), 0 when it
 * must run again in a later batch (the map grew). */
static int commit_job(weft_node_t *node, node_job_t *j, weft_txn_t *txn)
{
    int rc = weft_txn_commit(txn);
    if (rc == 0)
        return 1;
    if (weft_db_retryable(rc) && ++j->tries < NODE_MAX_TRIES)
        return 0;
    if (j->kind == JOB_FN)
        j->fn_rc = rc;
    else
        node_result_fail(j->res, WEFT_CALL_ERROR,
                         "cannot commit the call, so none of its writes were kept: %s",
                         weft_db_errmsg(node->db));
    return 1;
}

/* Ends txn, where node_run_call returned r for call j: an overlay of
 * the batch or a nested transaction of it. A call that succeeded gets its
 * events and is committed into the batch (an overlay replayed). Returns
 * as run_job. */
static int end_call(weft_node_t *node, node_job_t *j, weft_txn_t *txn, int r)
{
    int rc = 0;
    if (r < 0) { /* the map grew under it */
        weft_txn_abort(txn);
        if (++j->tries < NODE_MAX_TRIES)
            return 0;
        node_result_fail(j->res, WEFT_CALL_ERROR,
                         "the database is still full after growing it %d times", j->tries);
        return 1;
    }
    if (r == 0) {
        weft_txn_abort(txn);
        return 1;
    }
    if (j->res->nevents && (rc = node_events_append(txn, j->req.context, j->res)) != 0) {
        weft_txn_abort(txn);
        if (weft_db_retryable(rc) && ++j->tries < NODE_MAX_TRIES)
            return 0;
        node_result_fail(j->res, WEFT_CALL_ERROR, "cannot record the call's events: %s",
                         weft_db_errmsg(node->db));
        return 1;
    }
    return commit_job(node, j, txn);
}

/* The length of context name ctx when an overlay of it can be made (1 to
 * 255 bytes, weft/db.h's bound on a context; an empty or longer name takes
 * the nested way, which says what is wrong), else 0. */
static size_t overlay_ctx_len(const char *ctx)
{
    size_t cl = ctx ? strlen(ctx) : 0;
    return cl <= 255 ? cl : 0;
}

/* An overlay of context ctx straight over base (nothing below it): 0, or
 * nonzero when the name can have none or it cannot begin. */
static int begin_ctx_overlay(weft_txn_t *base, const char *ctx, weft_txn_t **out)
{
    size_t cl = overlay_ctx_len(ctx);
    return cl ? weft_txn_begin_overlay(base, (const uint8_t *)ctx, cl, NULL, 0, out) : WEFT_EARG;
}

/* Runs a call on an overlay of its context over batch: the guest's writes
 * stay in the overlay's buffer, replayed into batch when the call
 * succeeded, so a call costs no nested LMDB transaction (and a trap
 * drops a buffer instead of aborting one). Returns as run_job, or -1 when
 * the call must run in a nested transaction instead (its adapter is
 * serial, or the overlay refused an operation: WEFT_ESERIAL). A replay
 * that fails leaves batch dead (weft_txn_overlay_replay): nothing of a
 * call is ever half in a batch. */
static int run_call_overlay(weft_node_t *node, weft_txn_t *batch, node_job_t *j)
{
    weft_txn_t *ov = NULL;
    if (begin_ctx_overlay(batch, j->req.context, &ov) != 0)
        return -1; /* the nested path reports what is wrong */
    j->overlay = 1;
    int r = node_run_call(node, j, ov, node->nworkers);
    j->overlay = 0;
    if (r == NODE_RUN_SERIAL) {
        if (weft_txn_overlay_serial(ov))
            __atomic_fetch_add(&node->overlay_refused, 1, __ATOMIC_RELAXED);
        weft_txn_abort(ov);
        return -1;
    }
    __atomic_fetch_add(&node->overlay_calls, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&node->writer_guest_calls, 1, __ATOMIC_RELAXED);
    return end_call(node, j, ov, r);
}

/* run_job's answer for a lone writer's call whose overlay refused an
 * operation: it runs nested only where a barrier could (writer_nests). */
#define RUN_REFUSED 2

/* Runs one job: a call on an overlay of batch when it can, else in a
 * nested transaction of batch. Returns 1 when the job is done (its result
 * stands once the batch commits), 0 when it must run again in a later
 * batch (the map grew), RUN_REFUSED as said above. */
static int run_job(weft_node_t *node, weft_txn_t *batch, node_job_t *j)
{
    /* Not for a call on the process's own streams (an inline node's): a
     * refused overlay's call runs again, and its output would show twice */
    if (j->kind == JOB_CALL && !(node->flags & (WEFT_NODE_NO_OVERLAY | WEFT_NODE_INLINE)) &&
        !j->req.stdio && !j->nested) {
        int r = run_call_overlay(node, batch, j);
        if (r >= 0)
            return r;
        if (j->wg)
            return RUN_REFUSED;
    }
    weft_txn_t *txn = NULL;
    int rc = weft_txn_begin_nested(batch, &txn);
    if (rc != 0) {
        if (weft_db_retryable(rc) && ++j->tries < NODE_MAX_TRIES)
            return 0;
        if (j->kind == JOB_FN)
            j->fn_rc = rc;
        else
            node_result_fail(j->res, WEFT_CALL_ERROR, "cannot begin a transaction: %s",
                             weft_db_errmsg(node->db));
        return 1;
    }
    if (j->kind != JOB_FN)
        return end_call(node, j, txn, node_run_call(node, j, txn, node->nworkers));
    j->fn_rc = j->fn(node, txn, j->arg);
    if (weft_db_retryable(j->fn_rc) && ++j->tries < NODE_MAX_TRIES) {
        weft_txn_abort(txn);
        return 0;
    }
    if (j->fn_rc != 0) {
        weft_txn_abort(txn);
        return 1;
    }
    return commit_job(node, j, txn);
}

/* Records the log lines of a call (or of a view, JOB_LOGS) in their own
 * overlay of the batch (or nested transaction), so a trapped call's lines
 * are kept although its writes are not. Logs are best effort: a failure loses the lines, never
 * the call. */
static void record_logs(weft_node_t *node, weft_txn_t *batch, node_job_t *j)
{
    weft_call_result_t *res = j->res;
    weft_txn_t *txn = NULL;
    res->log_seq0 = 0;
    if (!res->nlogs)
        return;
    /* An overlay of the context when it can (no nested LMDB transaction);
     * its replay failing leaves the batch dead, which then runs again. */
    if ((node->flags & WEFT_NODE_NO_OVERLAY) || begin_ctx_overlay(batch, j->req.context, &txn)) {
        if (weft_txn_begin_nested(batch, &txn) != 0)
            return;
    }
    if (node_logs_append(txn, j->req.context, res) != 0) {
        weft_txn_abort(txn);
        res->log_seq0 = 0;
        return;
    }
    if (weft_txn_commit(txn) != 0)
        res->log_seq0 = 0;
}

/* A call whose guest ran on a worker (run_write): its overlay, if it
 * succeeded, replayed into the batch (never its guest run again). One that
 * read through an overlay whose batch failed for good fails too. Returns
 * as run_job. */
static int replay_job(weft_node_t *node, weft_txn_t *batch, node_job_t *j)
{
    node_ovrec_t *rec = j->rec;
    if (!rec)
        return 1;
    if (rec->down && rec->down->state == NODE_OV_FAILED) {
        node_result_fail(j->res, WEFT_CALL_ERROR,
                         "cannot commit the call, so none of its writes were kept: a call of "
                         "its context before it, whose writes it read, was not committed");
        for (size_t i = 0; i < j->res->nevents; i++)
            j->res->events[i].seq = 0;
        return 1;
    }
    int rc = weft_txn_overlay_replay(rec->ov, batch);
    if (rc == 0)
        return 1;
    if (weft_db_retryable(rc) && ++j->tries < NODE_MAX_TRIES)
        return 0; /* the batch is dead: replayed again in the next */
    node_result_fail(j->res, WEFT_CALL_ERROR,
                     "cannot commit the call, so none of its writes were kept: %s",
                     weft_db_errmsg(node->db));
    for (size_t i = 0; i < j->res->nevents; i++)
        j->res->events[i].seq = 0;
    return 1;
}

static int write_job(weft_node_t *node, weft_txn_t *batch, node_job_t *j)
{
    if (j->kind == JOB_LOGS) {
        record_logs(node, batch, j);
        return 1;
    }
    if (j->ran) {
        int done = replay_job(node, batch, j);
        if (done)
            record_logs(node, batch, j);
        return done;
    }
    int done = run_job(node, batch, j);
    if (done == 1 && j->kind == JOB_CALL)
        record_logs(node, batch, j);
    return done;
}

/* Moves the jobs of q that have not run (no lone writer's call whose
 * guest already ran, no view's log lines) to the tail of `to`. mu held
 * when q is shared. */
static void take_unrun(weft_node_t *node, node_queue_t *q, node_queue_t *to)
{
    node_job_t *prev = NULL, *k;
    while ((k = prev ? prev->next : q->head)) {
        if (k->kind == JOB_LOGS || k->ran) {
            prev = k;
            continue;
        }
        queue_unlink(q, prev, k);
        if (k->barrier) {
            k->barrier = 0;
            node->barrier--;
        }
        seq_leave(node, k); /* a lone writer's call: a write call again */
        queue_push(to, k);
    }
}

/* A lone writer's call j (dispatch, writer_takes) whose overlay refused an
 * operation must run nested, as a barrier: it may do so at once when no
 * write call runs on a worker and none whose guest ran on one waits to be
 * replayed after it (it read without j's writes), which j then holds back
 * until its batch committed; returns 1. Otherwise j, as a serial job, and
 * every job after it that has not run (later calls of its context among
 * them, which must follow it) go back to the head of `writes` in order,
 * where j waits for the workers as any barrier does; returns 0. */
static int writer_nests(weft_node_t *node, node_job_t *j, node_queue_t *take)
{
    pthread_mutex_lock(&node->mu);
    int now = !node->inflight;
    node_queue_t *qs[2] = {take, &node->commits};
    for (int i = 0; now && i < 2; i++)
        for (node_job_t *k = qs[i]->head; now && k; k = k->next)
            now = !k->ran;
    j->nested = 1;
    if (now) {
        j->barrier = 1;
        node->barrier++;
    } else {
        node_queue_t back = {0};
        j->par = 0;
        seq_leave(node, j);
        queue_push(&back, j);
        take_unrun(node, take, &back);
        take_unrun(node, &node->commits, &back);
        queue_prepend(&node->writes, &back);
        node->stats.writer_calls_returned++;
        dispatch(node);
    }
    pthread_mutex_unlock(&node->mu);
    return now;
}

/* A batch's commit failed: no job of it wrote anything. */
static void batch_failed(weft_node_t *node, node_job_t *j, int rc)
{
    if (j->kind == JOB_FN) {
        j->fn_rc = rc;
        return;
    }
    j->res->log_seq0 = 0;
    if (j->kind == JOB_LOGS)
        return;
    if (j->res->outcome == WEFT_CALL_OK) {
        node_result_fail(j->res, WEFT_CALL_ERROR,
                         "cannot commit the call, so none of its writes were kept: %s",
                         weft_db_errmsg(node->db));
        for (size_t i = 0; i < j->res->nevents; i++)
            j->res->events[i].seq = 0;
    }
}

/* Stops an inline node's wait for the write lock: the call's deadline has
 * passed or weft_node_interrupt came. */
typedef struct {
    weft_node_t *node;
    uint64_t deadline_ns; /* 0: none */
} lock_wait_t;

static int lock_wait_stop(void *arg)
{
    lock_wait_t *w = arg;
    return __atomic_load_n(&w->node->interrupted, __ATOMIC_SEQ_CST) ||
           (w->deadline_ns && node_now_ns() >= w->deadline_ns);
}

/* The write lock wait of an inline call was stopped: the trap a guest
 * running that long would get, said to be the wait's. */
static void lock_wait_stopped(weft_node_t *node, node_job_t *j)
{
    weft_call_result_t *res = j->res;
    res->trap = WEFT_TRAP_INTERRUPTED;
    res->error = WEFT_EINTERRUPTED;
    free(res->trap_message);
    res->trap_message = strdup(weft_db_errmsg(node->db));
    node_result_fail(res, WEFT_CALL_TRAP, "%s: %s", weft_trap_name(WEFT_TRAP_INTERRUPTED),
                     weft_db_errmsg(node->db));
}

/* Jobs leave the commit thread (committed, or failed for good): their
 * overlays leave their contexts' pending lists, durable or failed (which
 * fails every overlay stacked on them: replay_job), a serial job's
 * barrier falls, and the write jobs it held back may start. */
static void settle(weft_node_t *node, node_job_t **jobs, size_t n)
{
    if (node->flags & WEFT_NODE_INLINE)
        return;
    pthread_mutex_lock(&node->mu);
    for (size_t i = 0; i < n; i++) {
        node_job_t *j = jobs[i];
        if (!j)
            continue;
        if (j->barrier) {
            j->barrier = 0;
            node->barrier--;
        }
        node_ovrec_t *rec = j->rec;
        node_seq_t *q = j->seq;
        if (rec) {
            j->rec = NULL;
            rec->state = j->res->outcome == WEFT_CALL_OK ? NODE_OV_DURABLE : NODE_OV_FAILED;
            for (node_ovrec_t **pp = q ? &q->pending : NULL; pp && *pp; pp = &(*pp)->next) {
                if (*pp == rec) {
                    *pp = rec->next;
                    rec->next = NULL;
                    rec_unref(rec); /* the list's */
                    break;
                }
            }
            rec_unref(rec->down);
            rec->down = NULL;
            rec_unref(rec); /* the job's */
        }
        seq_leave(node, j);
    }
    dispatch(node);
    if (node->closing)
        pthread_cond_broadcast(&node->views_cv);
    pthread_mutex_unlock(&node->mu);
}

/* One round of the writer: runs the jobs of `take` in one batch (`done`
 * has room for all of them), commits it durably, then completes them
 * (results, events, logs). Jobs to run again (the map grew) go to
 * `again`. `wait`, when not NULL, bounds the wait for the write lock. */
static void write_round(weft_node_t *node, node_queue_t *take, node_job_t **done,
                        node_queue_t *again, lock_wait_t *wait)
{
    size_t n = 0;
    weft_txn_t *batch = NULL;
    int rc = wait ? weft_txn_begin_wait(node->db, WEFT_TXN_WRITE, lock_wait_stop, wait, &batch)
                  : weft_db_batch_begin(node->db, &batch);
    if (rc != 0) {
        for (node_job_t *j; (j = queue_pop(take));) {
            if (weft_db_retryable(rc) && ++j->tries < NODE_MAX_TRIES) {
                queue_push(again, j);
                continue;
            }
            if (rc == WEFT_EINTERRUPTED && j->kind == JOB_CALL) {
                lock_wait_stopped(node, j);
                job_finish(j);
                continue;
            }
            batch_failed(node, j, rc);
            if (j->kind == JOB_CALL && j->res->outcome == WEFT_CALL_OK)
                node_result_fail(j->res, WEFT_CALL_ERROR, "cannot begin a transaction: %s",
                                 weft_db_errmsg(node->db));
            settle(node, &j, 1);
            job_finish(j);
        }
        return;
    }
    for (node_job_t *j; (j = queue_pop(take));) {
        int r = write_job(node, batch, j);
        if (r == RUN_REFUSED) {
            if (!writer_nests(node, j, take))
                continue; /* back in `writes` */
            r = write_job(node, batch, j);
        }
        if (r) {
            done[n++] = j;
            continue;
        }
        /* It runs again in a later batch, and the jobs after it with it,
         * in their order: none may pass it (nor, should this batch fail
         * too, pass the jobs done before it: below). */
        queue_push(again, j);
        while ((j = queue_pop(take)))
            queue_push(again, j);
    }
    rc = weft_db_batch_commit(batch);
    if (rc == 0) {
        pthread_mutex_lock(&node->mu);
        node->stats.commits++;
        node->stats.committed_jobs += n;
        pthread_mutex_unlock(&node->mu);
    } else {
        node_queue_t retry = {0}; /* before those already in again, which came after */
        for (size_t i = 0; i < n; i++) {
            if (weft_db_retryable(rc) && ++done[i]->tries < NODE_MAX_TRIES) {
                if (done[i]->kind == JOB_CALL && !done[i]->ran)
                    node_result_reset(done[i]->res); /* its guest runs again */
                queue_push(&retry, done[i]);
                done[i] = NULL;
                continue;
            }
            batch_failed(node, done[i], rc);
        }
        queue_prepend(again, &retry);
    }
    if (rc == 0) {
        node_sync_committed(node, done, n);
        node_cosm_committed(node, done, n);
    }
    settle(node, done, n);
    for (size_t i = 0; i < n; i++) {
        node_job_t *j = done[i];
        if (!j)
            continue;
        if (j->kind == JOB_CALL && j->res->outcome == WEFT_CALL_OK &&
            (j->res->nevents || j->res->nnested))
            node_events_publish(node, j->req.context, j->res);
        if (j->kind != JOB_FN)
            node_logs_publish(node, j->req.context, j->res);
        job_finish(j);
    }
}

static void *writer_main(void *arg)
{
    weft_node_t *node = arg;
    node_job_t **done = calloc(node->max_batch, sizeof *done);
    node_queue_t again = {0};
    for (;;) {
        /* Take up to max_batch jobs: first those to run again. Closing,
         * it stays while write jobs may still come its way. */
        pthread_mutex_lock(&node->mu);
        while (node->hold_commits ||
               (!again.head && !node->commits.head && !(node->closing && writes_drained(node))))
            pthread_cond_wait(&node->writes_cv, &node->mu);
        node_queue_t take = again;
        memset(&again, 0, sizeof again);
        while (take.len < node->max_batch && node->commits.head)
            queue_push(&take, queue_pop(&node->commits));
        pthread_mutex_unlock(&node->mu);
        if (!take.head)
            break; /* closing and drained */
        if (!done) { /* out of memory at start: fail every job */
            for (node_job_t *j; (j = queue_pop(&take));) {
                if (j->kind == JOB_FN)
                    j->fn_rc = WEFT_ENOMEM;
                else
                    node_result_fail(j->res, WEFT_CALL_ERROR, "out of memory");
                settle(node, &j, 1);
                job_finish(j);
            }
            continue;
        }
        write_round(node, &take, done, &again, NULL);
    }
    free(done);
    return NULL;
}

/* WEFT_NODE_INLINE: runs j now on the calling thread, as a worker (a view)
 * or the writer (a batch of this one job) would; with no data directory,
 * a call runs without a transaction. */
static void run_inline(weft_node_t *node, node_job_t *j)
{
    if (!node->db) {
        if (j->kind == JOB_CALL)
            node_run_call(node, j, NULL, 0);
        else if (j->kind == JOB_FN)
            j->fn_rc = WEFT_EARG; /* deploys and contexts need the directory */
        job_finish(j);
        return;
    }
    if (j->kind == JOB_CALL && j->req.view) {
        run_view(node, j, 0);
        record_view_logs(node, j);
        job_finish(j);
        return;
    }
    /* The lock wait ends at the call's deadline, which counts from here as
     * the watchdog's does from the guest's start. */
    lock_wait_t wait = {node, 0};
    uint64_t timeout = j->kind == JOB_CALL ? node_call_timeout(node, &j->req) : 0;
    if (timeout)
        wait.deadline_ns = node_now_ns() + timeout;
    node_queue_t take = {0}, again = {0};
    node_job_t *done[1];
    queue_push(&take, j);
    while (take.head) {
        write_round(node, &take, done, &again, &wait);
        take = again;
        memset(&again, 0, sizeof again);
    }
}

/* ---- submitting ----------------------------------------------------------- */

/* Queues j, or refuses it (WEFT_ELIMIT) when the node is closing. */
static int submit(weft_node_t *node, node_job_t *j, int view)
{
    if (node->flags & WEFT_NODE_INLINE) {
        if (node->closing)
            return WEFT_ELIMIT;
        run_inline(node, j);
        return 0;
    }
    /* A write call's guest runs on a worker unless the call is on the
     * process's streams (a refused overlay's call runs again, and would
     * print twice) or the node says otherwise */
    j->par = !view && j->kind == JOB_CALL && !j->req.stdio && overlay_ctx_len(j->req.context) &&
             !(node->flags & (WEFT_NODE_NO_OVERLAY | WEFT_NODE_WRITER_GUESTS));
    pthread_mutex_lock(&node->mu);
    if (node->closing) {
        pthread_mutex_unlock(&node->mu);
        return WEFT_ELIMIT;
    }
    if (view) {
        queue_push(&node->views, j);
        pthread_cond_signal(&node->views_cv);
    } else if (j->kind == JOB_LOGS) { /* a view's lines: in no order */
        queue_push(&node->commits, j);
        pthread_cond_signal(&node->writes_cv);
    } else {
        queue_push(&node->writes, j);
        dispatch(node);
    }
    pthread_mutex_unlock(&node->mu);
    return 0;
}

int node_write_fn_async(weft_node_t *node, node_fn_t fn, void *arg,
                        void (*done)(void *arg, int rc))
{
    node_job_t *j = job_new(JOB_FN);
    if (!j)
        return WEFT_ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->fn_done = done;
    int rc = submit(node, j, 0);
    if (rc != 0)
        job_free(j);
    return rc;
}

int node_write_fn(weft_node_t *node, node_fn_t fn, void *arg)
{
    node_job_t *j = job_new(JOB_FN);
    if (!j)
        return WEFT_ENOMEM;
    j->fn = fn;
    j->arg = arg;
    int rc = submit(node, j, 0);
    if (rc == 0) {
        job_wait(j);
        rc = j->fn_rc;
    }
    job_free(j);
    return rc;
}

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A job holding a copy of req. NULL when out of memory. */
static node_job_t *call_job(const weft_call_req_t *req)
{
    node_job_t *j = job_new(JOB_CALL);
    if (!j)
        return NULL;
    weft_call_req_t *c = &j->req;
    *c = *req;
    c->context = dup_str(req->context);
    c->function = dup_str(req->function);
    c->input = NULL;
    c->args = NULL;
    c->argv = NULL;
    c->argc = 0;
    c->argv0 = dup_str(req->argv0);
    c->app = dup_str(req->app);
    c->dirs = NULL;
    c->ndirs = 0;
    if (req->caller) {
        memcpy(j->caller, req->caller, sizeof j->caller);
        c->caller = j->caller;
    }
    j->res = node_result_new();
    int bad = !c->context || (req->function && !c->function) || !j->res ||
              (req->argv0 && !c->argv0) || (req->app && !c->app);
    if (!bad && req->ndirs) {
        weft_wasi_preopen_t *d = calloc(req->ndirs, sizeof *d);
        c->dirs = d;
        bad = !d;
        for (size_t i = 0; !bad && i < req->ndirs; i++, c->ndirs++) {
            d[i].host_path = strdup(req->dirs[i].host_path);
            d[i].guest_path = strdup(req->dirs[i].guest_path);
            bad = !d[i].host_path || !d[i].guest_path;
        }
    }
    if (!bad && req->input_len) {
        uint8_t *in = malloc(req->input_len);
        if ((c->input = in))
            memcpy(in, req->input, req->input_len);
        bad = !in;
    }
    if (!bad && req->args && req->nargs) {
        weft_val_t *a = calloc(req->nargs, sizeof *a);
        if ((c->args = a))
            memcpy(a, req->args, req->nargs * sizeof *a);
        bad = !a;
    }
    if (!bad && req->argc) {
        char **v = calloc(req->argc, sizeof *v);
        c->argv = (const char *const *)v;
        bad = !v;
        for (size_t i = 0; !bad && i < req->argc; i++, c->argc++)
            bad = !(v[i] = strdup(req->argv[i]));
    }
    if (bad) {
        job_free(j);
        return NULL;
    }
    return j;
}

int weft_node_call_async(weft_node_t *node, const weft_call_req_t *req, weft_call_done_fn done,
                         void *user)
{
    if (!req || !req->context)
        return WEFT_EARG;
    node_job_t *j = call_job(req);
    if (!j)
        return WEFT_ENOMEM;
    if (!j->req.view)
        j->req.view = node_call_is_view(node, &j->req);
    j->done = done;
    j->user = user;
    int rc = submit(node, j, j->req.view);
    if (rc != 0) {
        j->done = NULL;
        job_free(j);
    }
    return rc;
}

/* ---- chained calls (abi_faasm.c) --------------------------------------------- */

node_job_t *node_chain_job(const weft_call_req_t *req, void *link, weft_call_done_fn done,
                           void *user)
{
    node_job_t *j = call_job(req);
    if (!j)
        return NULL;
    j->req.view = 1;
    j->link = link;
    j->done = done;
    j->user = user;
    return j;
}

int node_chain_submit(weft_node_t *node, node_job_t *j)
{
    /* Inline, submit would run it at once in the caller's slot. */
    int rc = node->flags & WEFT_NODE_INLINE ? (node->closing ? WEFT_ELIMIT : 0) : submit(node, j, 1);
    if (rc != 0) {
        j->done = NULL;
        job_free(j);
    }
    return rc;
}

int node_chain_take(weft_node_t *node, node_job_t *j)
{
    if (node->flags & WEFT_NODE_INLINE)
        return 1;
    int found = 0;
    pthread_mutex_lock(&node->mu);
    for (node_job_t *q = node->views.head, *prev = NULL; q && !found; prev = q, q = q->next) {
        if (q == j) {
            queue_unlink(&node->views, prev, j);
            found = 1;
        }
    }
    pthread_mutex_unlock(&node->mu);
    return found;
}

void node_chain_run(weft_node_t *node, node_job_t *j, unsigned slot)
{
    node_slot_t *s = &node->slots[slot];
    pthread_mutex_lock(&node->mu);
    weft_store_t *outer = s->store;
    uint64_t deadline = s->deadline_ns;
    pthread_mutex_unlock(&node->mu);
    void *streams = node_call_streams_save(); /* the outer call's stdin and stdout */
    if (node->db) {
        run_view(node, j, slot);
        record_view_logs(node, j);
    } else {
        node_run_call(node, j, NULL, slot);
    }
    node_call_streams_restore(streams);
    node_slot_set(node, slot, outer, deadline); /* a deadline passed meanwhile fires now */
    job_finish(j);
}

/* ---- views on the caller's thread (calls.c's HTTP threads) ----------------
 * The view runs as a worker would run it, in one of NODE_HERE_SLOTS
 * watchdog slots after the writer's, with its request borrowed (no copy:
 * the caller waits). node_run_call declines (NODE_RUN_ELSEWHERE) what must
 * go to the workers; closing waits for the slots to be given back. */

int weft_node_call_here(weft_node_t *node, const weft_call_req_t *req, weft_call_result_t **out)
{
    *out = NULL;
    if (!req || !req->context)
        return WEFT_EARG;
    if ((node->flags & WEFT_NODE_INLINE) || !node->db || req->stdio || req->ndirs ||
        (!req->view && !node_call_is_view(node, req)))
        return 1;
    unsigned slot = 0, bit = 0;
    pthread_mutex_lock(&node->mu);
    int closing = node->closing;
    for (unsigned i = 0; !closing && !bit && i < NODE_HERE_SLOTS; i++)
        if (!(node->here_busy & (1u << i)))
            bit = 1u << i, slot = node->nworkers + 1 + i;
    node->here_busy |= bit;
    pthread_mutex_unlock(&node->mu);
    if (closing)
        return WEFT_ELIMIT;
    if (!bit)
        return 1; /* as many as allowed run here already */
    node_job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_CALL;
    j.req = *req; /* borrowed */
    j.req.view = 1;
    if (req->caller) {
        memcpy(j.caller, req->caller, sizeof j.caller);
        j.req.caller = j.caller;
    }
    j.here = 1;
    __atomic_fetch_add(&node->here_views_started, 1, __ATOMIC_RELAXED);
    int rc = (j.res = node_result_new()) ? 0 : WEFT_ENOMEM;
    if (j.res) {
        run_view(node, &j, slot);
        if (j.elsewhere) {
            rc = 1;
        } else {
            record_view_logs(node, &j);
            __atomic_fetch_add(&node->here_views, 1, __ATOMIC_RELAXED);
            *out = j.res;
            j.res = NULL;
        }
    }
    weft_call_result_delete(j.res);
    pthread_mutex_lock(&node->mu);
    node->here_busy &= ~bit;
    if (node->closing)
        pthread_cond_broadcast(&node->views_cv);
    pthread_mutex_unlock(&node->mu);
    return rc;
}

int weft_node_call(weft_node_t *node, const weft_call_req_t *req, weft_call_result_t **out)
{
    *out = NULL;
    if (!req || !req->context)
        return WEFT_EARG;
    node_job_t *j = call_job(req);
    if (!j)
        return WEFT_ENOMEM;
    if (!j->req.view)
        j->req.view = node_call_is_view(node, &j->req);
    int rc = submit(node, j, j->req.view);
    if (rc == 0) {
        job_wait(j);
        *out = j->res;
        j->res = NULL;
    }
    job_free(j);
    return rc;
}

/* ---- open and close ------------------------------------------------------- */

const uint8_t *weft_node_id(const weft_node_t *node)
{
    return node->has_id ? node->id : NULL;
}

const char *weft_node_data_dir(const weft_node_t *node)
{
    return node->data_dir;
}

void weft_node_stats(weft_node_t *node, weft_node_stats_t *out)
{
    pthread_mutex_lock(&node->mu);
    *out = node->stats;
    pthread_mutex_unlock(&node->mu);
    /* counted without the lock by each call (call.c) */
    out->kept_instance_calls = __atomic_load_n(&node->kept_calls, __ATOMIC_RELAXED);
    out->overlay_calls = __atomic_load_n(&node->overlay_calls, __ATOMIC_RELAXED);
    out->overlay_refused = __atomic_load_n(&node->overlay_refused, __ATOMIC_RELAXED);
    out->writer_guest_calls = __atomic_load_n(&node->writer_guest_calls, __ATOMIC_RELAXED);
    out->cosm_schedule_looks = __atomic_load_n(&node->cosm_looks, __ATOMIC_RELAXED);
    out->views_here = __atomic_load_n(&node->here_views, __ATOMIC_RELAXED);
    node_apps_compiled(node, &out->compiled_functions, &out->functions);
}

static void free_env(weft_node_t *node)
{
    for (size_t i = 0; i < node->nenv; i++)
        free(node->env[i]);
    free(node->env);
}

void weft_node_close(weft_node_t *node)
{
    if (!node)
        return;
    node_sync_close(node); /* first: its joins and batches go through the writer */
    node_handlers_close(node); /* after sync (which wakes it), its calls go through the writer */
    node_cosm_close(node); /* its calls go through the workers */
    node->stopping = 1;
    pthread_mutex_lock(&node->mu);
    node->closing = 1;
    node->hold_commits = 0;
    pthread_cond_broadcast(&node->views_cv);
    pthread_cond_broadcast(&node->writes_cv);
    pthread_cond_broadcast(&node->watch_cv);
    while (node->here_busy) /* views on their callers' threads (weft_node_call_here) */
        pthread_cond_wait(&node->views_cv, &node->mu);
    pthread_mutex_unlock(&node->mu);
    for (unsigned i = 0; i < node->nworkers; i++)
        if (node->workers[i])
            pthread_join(node->workers[i], NULL);
    if (node->writer_started)
        pthread_join(node->writer, NULL);
    for (unsigned i = 0; i < NODE_SEQ_BUCKETS; i++) /* empty once drained */
        while (node->seqs[i]) {
            node_seq_t *q = node->seqs[i];
            node->seqs[i] = q->next;
            free(q);
        }
    node_cosm_free(node); /* the writer wakes it after a commit */
    if (node->watchdog_started)
        pthread_join(node->watchdog, NULL);
    node_apps_free(node);
    node_subs_free(node);
    node_faasm_close(node);
    if (node->db)
        weft_db_close(node->db);
    if (node->engine)
        weft_engine_delete(node->engine);
    free_env(node);
    free(node->data_dir);
    free(node->workers);
    free(node->slots);
    pthread_mutex_destroy(&node->mu);
    pthread_mutex_destroy(&node->apps_mu);
    pthread_mutex_destroy(&node->subs_mu);
    pthread_cond_destroy(&node->views_cv);
    pthread_cond_destroy(&node->writes_cv);
    pthread_cond_destroy(&node->watch_cv);
    free(node);
}

int weft_node_open_data_dir(weft_node_t *node, const char *dir, char *out_msg, size_t msg_size)
{
    NODE_OUT_MSG(out_msg, msg_size);
    if (node->db || !dir || !*dir) {
        snprintf(out_msg, msg_size, node->db ? "the node has a data directory already"
                                             : "no data directory given");
        return WEFT_EARG;
    }
    int rc;
    weft_db_t *db = NULL;
    char msg[512] = "";
    if (weft_db_make_dirs(dir) != 0) {
        snprintf(out_msg, msg_size, "cannot create data directory %s: %s", dir, strerror(errno));
        return WEFT_EIO;
    }
    unsigned dbf = node->flags & WEFT_NODE_DB_NOSYNC ? WEFT_DB_NOSYNC : 0;
    if ((rc = weft_db_open(dir, dbf, &db, msg, sizeof msg)) != 0) {
        if (rc == WEFT_EDAMAGED) /* the message names the directory */
            snprintf(out_msg, msg_size, "%s", msg);
        else
            snprintf(out_msg, msg_size, "cannot open data directory %s: %s", dir,
                     msg[0] ? msg : weft_strerror(rc));
        return rc;
    }
    int has_id = !(node->flags & WEFT_NODE_NO_SYNC);
    if (has_id) {
        if ((rc = weft_identity_load(db, node->id, NULL)) != 0) {
            if (rc == WEFT_EDAMAGED)
                snprintf(out_msg, msg_size, "%s", weft_db_errmsg(db));
            else
                snprintf(out_msg, msg_size, "cannot load the node identity of %s: %s", dir,
                         weft_db_errmsg(db));
            weft_db_close(db);
            return rc;
        }
    }
    if (!(node->data_dir = strdup(dir))) {
        weft_db_close(db);
        return WEFT_ENOMEM;
    }
    node->has_id = has_id;
    node->db = db;
    return 0;
}

int weft_node_open(const weft_node_config_t *cfg, weft_node_t **out, char *out_msg,
                   size_t msg_size)
{
    char dummy[8];
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    *out = NULL;
    int inline_ = cfg && (cfg->flags & WEFT_NODE_INLINE);
    if (!cfg || (cfg->data_dir ? !*cfg->data_dir : !inline_)) {
        snprintf(out_msg, msg_size, "no data directory given");
        return WEFT_EARG;
    }
    weft_node_t *node = calloc(1, sizeof *node);
    if (!node)
        return WEFT_ENOMEM;
    pthread_mutex_init(&node->mu, NULL);
    pthread_mutex_init(&node->apps_mu, NULL);
    pthread_mutex_init(&node->subs_mu, NULL);
    pthread_cond_init(&node->views_cv, NULL);
    pthread_cond_init(&node->writes_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&node->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    node->flags = cfg->flags;
    node->limits = cfg->limits;
    if (!node->limits.max_input)
        node->limits.max_input = NODE_DEFAULT_MAX_INPUT;
    if (!node->limits.max_output)
        node->limits.max_output = NODE_DEFAULT_MAX_OUTPUT;
    node->max_batch = cfg->max_batch ? cfg->max_batch : NODE_DEFAULT_BATCH;
    node->load_timeout_ns = cfg->load_timeout_ns ? cfg->load_timeout_ns : 30000000000ull;
    node->tier = cfg->tier;
    node->cosm_log_level = cfg->cosm_log_level < 0 ? 0 : cfg->cosm_log_level > 4 ? 4
                                                      : cfg->cosm_log_level;
    node->http_fetch = cfg->http_fetch;
    node->http_user = cfg->http_user;
    node->name_lookup = cfg->name_lookup;
    long cores = cfg->workers || inline_ ? 1 : sysconf(_SC_NPROCESSORS_ONLN);
    node->nworkers = cfg->workers ? cfg->workers : (unsigned)(cores > 0 ? cores : 1);
    if (inline_)
        node->nworkers = 0; /* one slot: the calling thread's */
    int rc = WEFT_ENOMEM;

    /* Never NULL, even empty: nx reads the process's own environment for
     * NULL, and a guest must see only what the node gives it. */
    if (!(node->env = calloc(cfg->nenv + 1, sizeof *node->env)))
        goto fail;
    for (; node->nenv < cfg->nenv; node->nenv++)
        if (!(node->env[node->nenv] = strdup(cfg->env[node->nenv])))
            goto fail;
    if (!(node->engine = weft_engine_new()))
        goto fail;
    if (cfg->data_dir && (rc = weft_node_open_data_dir(node, cfg->data_dir, out_msg, msg_size)))
        goto fail;

    rc = WEFT_ENOMEM;
    node->workers = calloc(node->nworkers + 1, sizeof *node->workers);
    node->nslots = node->nworkers + 1 + (inline_ ? 0 : NODE_HERE_SLOTS);
    node->slots = calloc(node->nslots, sizeof *node->slots);
    if (!node->workers || !node->slots)
        goto fail;
    if (cfg->flags & WEFT_NODE_KICK) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_kick; /* no SA_RESTART: that is the point */
        sigemptyset(&sa.sa_mask);
        if (sigaction(KICK_SIGNAL, &sa, NULL) != 0)
            goto fail_thread;
    }
    if (!inline_ && pthread_create(&node->writer, NULL, writer_main, node) != 0)
        goto fail_thread;
    node->writer_started = !inline_;
    for (unsigned i = 0; i < node->nworkers; i++) {
        worker_arg_t *wa = malloc(sizeof *wa);
        if (!wa)
            goto fail;
        wa->node = node;
        wa->slot = i;
        if (pthread_create(&node->workers[i], NULL, worker_main, wa) != 0) {
            free(wa);
            node->workers[i] = 0;
            goto fail_thread;
        }
    }
    if ((rc = node_sync_open(node, cfg, out_msg, msg_size)) != 0)
        goto fail;
    if ((rc = node_faasm_open(node, cfg->faasm_state_redis, out_msg, msg_size)) != 0)
        goto fail;
    if (!inline_ && node->db && (rc = node_cosm_open(node)) != 0)
        goto fail_thread;
    *out = node;
    return 0;

fail_thread:
    snprintf(out_msg, msg_size, "cannot start the node's threads: %s", strerror(errno));
    rc = WEFT_ENOMEM;
fail:
    if (rc == WEFT_ENOMEM && !out_msg[0])
        snprintf(out_msg, msg_size, "out of memory");
    weft_node_close(node);
    return rc;
}
