// The boundary between Swift and Lua: see include/LuaBoundary.h for the rules.
#define _GNU_SOURCE
#include "LuaBoundary.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// ---- per-state context ---------------------------------------------------------
//
// Kept behind a pointer in the state's extra space, which coroutines copy from
// the main thread, so the hook finds it in any thread of the state.

typedef struct lb_context {
    // Written by the state's thread under `mu`; read by the watchdog under `mu`.
    double deadline;          // CLOCK_MONOTONIC seconds; 0 = none
    double budget;            // the deadline's length, for the message
    int armed;                // a run (or lb_close) is under way
    const char *phase;        // what is running, for the watchdog's message
    // The state's thread only.
    size_t memory_limit;      // bytes; 0 = none
    size_t memory_used;       // bytes, counted by the allocator
    int limiting;             // inside lb_pcall's protected call: an allocation may fail
    int stop;                 // lb_stop_reason once the hook has fired
    // Any thread.
    atomic_int cancel;        // set from any thread
    atomic_int in_host;       // > 0 while a Swift host function runs
    atomic_uint host_returns; // host calls that have returned, for the watchdog
    // The watchdog: ends the process when a stop is due and the VM does not
    // get back to the hook (a long C call such as string.find, a __gc).
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t watchdog;
    int watching;             // the watchdog thread exists
    int closing;              // the watchdog thread should end
} lb_context;

static lb_context *ctx(lua_State *L) { return *(lb_context **)lua_getextraspace(L); }

/// Seconds a stop may be overdue before the watchdog ends the process:
/// in Lua (and C called from Lua), which the hook stops at once when it
/// gets control; and in a host function, which stops itself when it polls
/// (a command), or when its own timeout ends (a probe, an RPC call). A
/// finalizer can also run inside a host function (a collection step on a
/// push): the longer grace bounds that too.
static const double watchdog_grace = 1.0;
static const double watchdog_host_grace = 30.0;
/// The exit status: a failure, as every front end reads one (the start was not undone).
static const int watchdog_status = 1;

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t pending_signal = 0;

// ---- allocation and panic ------------------------------------------------------

// The memory limit is enforced here, where a failed allocation becomes Lua's
// "not enough memory" error, which pcall can catch. It may fail only inside
// lb_pcall's protected call and outside a host function: a LUA_ERRMEM raised
// from a push made by Swift would unwind through the Swift frame. Lua never
// expects a shrinking block to fail.
static void *lb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    lb_context *c = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        c->memory_used -= old;
        return NULL;
    }
    int may_fail = c->limiting && atomic_load_explicit(&c->in_host, memory_order_relaxed) == 0 && nsize > old;
    if (may_fail && c->memory_limit > 0 && c->memory_used - old + nsize > c->memory_limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (p == NULL) {
        if (may_fail) return NULL;
        // Inside a Swift frame no LUA_ERRMEM may unwind: fatal, as in Swift itself.
        fputs("hanfs: out of memory in the Lua allocator\n", stderr);
        abort();
    }
    c->memory_used = c->memory_used - old + nsize;
    return p;
}

static int lb_panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "hanfs: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
    abort();
    return 0;
}

static void lb_warn(void *ud, const char *msg, int tocont) {
    (void)ud;
    // Lua's own warnings (errors in __gc, warn()) go to stderr, one line each.
    static int continued = 0;
    if (!continued) fputs("hanfs: lua warning: ", stderr);
    fputs(msg, stderr);
    if (!tocont) fputc('\n', stderr);
    continued = tocont;
}

// ---- host functions: the trampoline ------------------------------------------

static lb_host_dispatch host_dispatch = NULL;
static lb_host_release host_release = NULL;
static const char *const HOSTFN_META = "hanfs.hostfunction";
static const char *const TRACEBACK_KEY = "hanfs.traceback";

void lb_install_host(lb_host_dispatch dispatch, lb_host_release release) {
    host_dispatch = dispatch;
    host_release = release;
}

static int lb_trampoline(lua_State *L) {
    void **slot = (void **)lua_touserdata(L, lua_upvalueindex(1));
    // A finalizer can keep the function reachable after its own __gc ran and
    // released the Swift side: calling it then is an error, not a crash.
    if (*slot == NULL) return luaL_error(L, "a host function was called after Lua finalized it");
    lb_context *c = ctx(L);
    // Only this thread writes these; the watchdog reads them: relaxed
    // stores, plain moves, no locked instruction on the hot path.
    int depth = atomic_load_explicit(&c->in_host, memory_order_relaxed);
    atomic_store_explicit(&c->in_host, depth + 1, memory_order_relaxed);
    int n = host_dispatch(L, *slot);
    atomic_store_explicit(&c->in_host, depth, memory_order_relaxed);
    atomic_store_explicit(&c->host_returns, atomic_load_explicit(&c->host_returns, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (n >= 0) return n;
    // The Swift frame has returned: raising here unwinds only C and Lua frames.
    // Prefix the caller's position, as luaL_error would.
    if (lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int lb_hostfn_gc(lua_State *L) {
    void **slot = (void **)lua_touserdata(L, 1);
    if (slot != NULL && *slot != NULL) {
        void *box = *slot;
        *slot = NULL;
        if (host_release) host_release(box);
    }
    return 0;
}

void lb_push_host_function(lua_State *L, void *box) {
    void **slot = (void **)lua_newuserdatauv(L, sizeof(void *), 0);
    *slot = box;
    luaL_setmetatable(L, HOSTFN_META);
    lua_pushcclosure(L, lb_trampoline, 1);
}

// ---- protected calls -----------------------------------------------------------

// The message handler: the error as a string (with __tostring), and the
// traceback kept in the registry for the host to read separately.
static int lb_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, NULL, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
    lua_pushstring(L, msg);
    return 1;
}

int lb_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;  // the function's index
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
    lua_pushcfunction(L, lb_msghandler);
    lua_insert(L, base);
    lb_context *c = ctx(L);
    int limiting = c->limiting;
    c->limiting = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    c->limiting = limiting;
    lua_remove(L, base);
    return status;
}

void lb_push_traceback(lua_State *L) { lua_getfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY); }

static int tostring_p(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    return 1;
}

void lb_push_tostring(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, tostring_p);
    lua_pushvalue(L, idx);
    // A __tostring is Lua code: while it runs, the watchdog watches it, even
    // though a host function called it.
    lb_context *c = ctx(L);
    int in_host = atomic_load_explicit(&c->in_host, memory_order_relaxed);
    atomic_store_explicit(&c->in_host, 0, memory_order_relaxed);
    int status = lua_pcall(L, 1, 1, 0);
    atomic_store_explicit(&c->in_host, in_host, memory_order_relaxed);
    if (status != LUA_OK && lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "(error in __tostring)");
    }
}

int lb_position(lua_State *L, int level, char *buf, size_t len) {
    lua_Debug ar;
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) return 0;
    snprintf(buf, len, "%s:%d", ar.short_src, ar.currentline);
    return 1;
}

int lb_line(lua_State *L, int level) {
    lua_Debug ar;
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "l", &ar) || ar.currentline <= 0) return 0;
    return ar.currentline;
}

// ---- limits: deadline, cancellation, signals, memory, the watchdog --------------

static void lb_hook(lua_State *L, lua_Debug *ar);

static int stop_reason_now(lb_context *c) {
    if (c->stop) return c->stop;
    if (atomic_load(&c->cancel) || pending_signal) return LB_STOP_INTERRUPT;
    if (c->deadline > 0 && monotonic_now() > c->deadline) return LB_STOP_DEADLINE;
    return LB_STOP_NONE;
}

static void lb_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lb_context *c = ctx(L);
    int reason = stop_reason_now(c);
    if (reason == LB_STOP_NONE) return;
    c->stop = reason;
    // From now on fire on every line and instruction: a pcall that catches the
    // error is left at once by the next one (the Redis technique).
    lua_sethook(L, lb_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
    // Inside a hook, level 0 is the Lua function that was running: name its line.
    luaL_where(L, 0);
    switch (reason) {
    case LB_STOP_DEADLINE:
        lua_pushfstring(L, "deadline of %f s exceeded", c->budget);
        break;
    default:
        lua_pushliteral(L, "interrupted");
        break;
    }
    lua_concat(L, 2);
    lua_error(L);
}

// The hook cannot stop what does not return to the VM: one long C call (a
// backtracking string.find, string.rep), or a finalizer (hooks are off while
// a __gc runs, also when lua_close runs them). When a stop has been due for
// `watchdog_grace` seconds (`watchdog_host_grace` inside a host function,
// which stops itself by polling or by its own timeout), the watchdog says so
// and ends the process: nothing else can take the thread back. A start
// ended so leaves its "unfinished" note, and the next start undoes it.
static void *watchdog_main(void *arg) {
    lb_context *c = arg;
    double due_since = 0;
    unsigned returns = 0;
    pthread_mutex_lock(&c->mu);
    while (!c->closing) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->wake, &c->mu, &until);
        if (c->closing) break;
        double now = monotonic_now();
        int overdue = c->deadline > 0 && now > c->deadline;
        int due = c->armed && (overdue || atomic_load(&c->cancel) || pending_signal);
        if (!due) {
            due_since = 0;
            continue;
        }
        if (due_since == 0) due_since = overdue ? c->deadline : now;
        // A host function that returned gives Lua its grace afresh: the hook
        // fires at the next instruction.
        unsigned r = atomic_load(&c->host_returns);
        if (r != returns) {
            returns = r;
            if (now > due_since) due_since = now;
        }
        double grace = atomic_load(&c->in_host) > 0 ? watchdog_host_grace : watchdog_grace;
        if (now - due_since < grace) continue;
        char msg[256];
        if (overdue)
            snprintf(msg, sizeof msg,
                     "hanfs: %s is still running %.1f s past its deadline of %g s, in a C function "
                     "or a finalizer that never returns to the hook: ending the process "
                     "(the next start or stop undoes what was started)\n",
                     c->phase, now - c->deadline, c->budget);
        else
            snprintf(msg, sizeof msg,
                     "hanfs: %s did not stop within %g s of being interrupted, in a C function or "
                     "a finalizer that never returns to the hook: ending the process "
                     "(the next start or stop undoes what was started)\n",
                     c->phase, grace);
        ssize_t ignored = write(2, msg, strlen(msg));
        (void)ignored;
        _exit(watchdog_status);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void watch(lb_context *c, double seconds, const char *phase) {
    pthread_mutex_lock(&c->mu);
    c->budget = seconds > 0 ? seconds : 0;
    c->deadline = seconds > 0 ? monotonic_now() + seconds : 0;
    c->armed = 1;
    c->phase = phase;
    if (!c->watching && pthread_create(&c->watchdog, NULL, watchdog_main, c) == 0) c->watching = 1;
    pthread_mutex_unlock(&c->mu);
}

void lb_arm(lua_State *L, double seconds, size_t memory_limit) {
    lb_context *c = ctx(L);
    watch(c, seconds, "the script");
    c->memory_limit = memory_limit;
    c->stop = LB_STOP_NONE;
    atomic_store(&c->cancel, 0);
    // 1000 instructions between checks: a few microseconds, and negligible cost.
    lua_sethook(L, lb_hook, LUA_MASKCOUNT, 1000);
}

void lb_disarm(lua_State *L) {
    lua_sethook(L, NULL, 0, 0);
    lb_context *c = ctx(L);
    pthread_mutex_lock(&c->mu);
    c->armed = 0;
    c->deadline = 0;
    pthread_mutex_unlock(&c->mu);
    c->memory_limit = 0;
}

/* Why the run stopped: the hook's reason, or, when a host function gave up
   because of the stop (an interrupted command) before the hook fired, the
   stop that holds now. */
lb_stop_reason lb_stop_reason_of(lua_State *L) { return (lb_stop_reason)stop_reason_now(ctx(L)); }

void lb_cancel(lua_State *L) { atomic_store(&ctx(L)->cancel, 1); }

int lb_should_stop(lua_State *L) {
    lb_context *c = ctx(L);
    if (c->stop || atomic_load(&c->cancel) || pending_signal) return 1;
    pthread_mutex_lock(&c->mu);
    int overdue = c->deadline > 0 && monotonic_now() > c->deadline;
    pthread_mutex_unlock(&c->mu);
    return overdue;
}

static struct sigaction saved_int, saved_term;
static int catching = 0;

static void on_signal(int sig) {
    if (pending_signal && sig == SIGINT) {
        // Asked twice: the script did not get back to the VM. Die as asked.
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
        return;
    }
    pending_signal = sig;
}

void lb_catch_signals(int enable) {
    if (enable && !catching) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: a blocking poll() returns EINTR at once
        sigaction(SIGINT, &sa, &saved_int);
        sigaction(SIGTERM, &sa, &saved_term);
        // A parent may have started us with these blocked (a thread that
        // blocks signals passes its mask through exec): take them anyway.
        sigset_t wanted;
        sigemptyset(&wanted);
        sigaddset(&wanted, SIGINT);
        sigaddset(&wanted, SIGTERM);
        pthread_sigmask(SIG_UNBLOCK, &wanted, NULL);
        catching = 1;
    } else if (!enable && catching) {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
        catching = 0;
    }
}

int lb_signal_pending(void) { return pending_signal; }
void lb_clear_signal(void) { pending_signal = 0; }

// ---- the script environment ------------------------------------------------------

static const char *key_name(lua_State *L, int idx) {
    const char *k = lua_tostring(L, idx);
    return k ? k : luaL_typename(L, idx);
}

// Reading a global that was never assigned is an error: a typo must not be nil.
static int strict_index(lua_State *L) {
    return luaL_error(L, "undeclared global '%s'", key_name(L, 2));
}

// New globals may be made only by a main chunk (a script's top level, a REPL
// line) or by the host; inside a function it is an error.
static int strict_newindex(lua_State *L) {
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) && strcmp(ar.what, "main") != 0 &&
        strcmp(ar.what, "C") != 0) {
        return luaL_error(L, "assignment to undeclared global '%s' (make it local, or declare it "
                             "at the top level of the script)", key_name(L, 2));
    }
    lua_rawset(L, 1);
    return 0;
}

// load(chunk [, chunkname [, mode [, env]]]) with the mode forced to "t".
static int text_only_load(lua_State *L) {
    int n = lua_gettop(L);
    if (n < 3) lua_settop(L, 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n < 3 ? 3 : n, LUA_MULTRET);
    return lua_gettop(L);
}

// The module searcher: package.path only, text chunks only.
static int text_only_searcher(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, lua_upvalueindex(1), "path");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) return 1;  // the message listing the places tried
    const char *filename = lua_tostring(L, -2);
    if (luaL_loadfilex(L, filename, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename,
                          lua_tostring(L, -1));
    lua_pushstring(L, filename);
    return 2;
}

static void copy_field(lua_State *L, int from, int to, const char *name) {
    lua_getfield(L, from, name);
    lua_setfield(L, to, name);
}

static int setup_environment(lua_State *L) {
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},         {LUA_LOADLIBNAME, luaopen_package},
        {LUA_COLIBNAME, luaopen_coroutine}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, luaopen_string},  {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},   {NULL, NULL},
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }

    luaL_newmetatable(L, HOSTFN_META);
    lua_pushcfunction(L, lb_hostfn_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    lua_pushglobaltable(L);
    int G = lua_gettop(L);

    // os: the clock and the environment only; side effects go through primitives.
    luaL_requiref(L, "hanfs.os.full", luaopen_os, 0);
    int full = lua_gettop(L);
    lua_createtable(L, 0, 4);
    int os = lua_gettop(L);
    copy_field(L, full, os, "time");
    copy_field(L, full, os, "clock");
    copy_field(L, full, os, "date");
    copy_field(L, full, os, "getenv");
    lua_pushvalue(L, os);
    lua_setfield(L, G, LUA_OSLIBNAME);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, os);
    lua_setfield(L, -2, LUA_OSLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "hanfs.os.full");
    lua_settop(L, G);

    // base: no file loading behind the host's back, no binary chunks.
    lua_pushnil(L);
    lua_setfield(L, G, "dofile");
    lua_pushnil(L);
    lua_setfield(L, G, "loadfile");
    lua_getfield(L, G, "load");
    lua_pushcclosure(L, text_only_load, 1);
    lua_setfield(L, G, "load");

    // package: no C modules; preload, then Lua files on package.path as text.
    lua_getfield(L, G, LUA_LOADLIBNAME);
    int pkg = lua_gettop(L);
    lua_pushnil(L);
    lua_setfield(L, pkg, "loadlib");
    lua_pushliteral(L, "");
    lua_setfield(L, pkg, "cpath");
    lua_pushliteral(L, "");
    lua_setfield(L, pkg, "path");
    lua_getfield(L, pkg, "searchers");
    lua_createtable(L, 2, 0);
    lua_rawgeti(L, -2, 1);  // the preload searcher
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, pkg);
    lua_pushcclosure(L, text_only_searcher, 1);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, pkg, "searchers");
    lua_settop(L, G);

    // Strict globals.
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, strict_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, strict_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, G);
    lua_settop(L, 0);
    return 0;
}

lua_State *lb_open(char *err, size_t errlen) {
    lb_context *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->phase = "the script";
    lua_State *L = lua_newstate(lb_alloc, c);
    if (L == NULL) {
        free(c);
        snprintf(err, errlen, "cannot create a Lua state");
        return NULL;
    }
    lua_atpanic(L, lb_panic);
    lua_setwarnf(L, lb_warn, NULL);
    *(lb_context **)lua_getextraspace(L) = c;
    lua_pushcfunction(L, setup_environment);
    if (lb_pcall(L, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "setting up the Lua environment: %s", lua_tostring(L, -1));
        lb_close(L, 0);
        return NULL;
    }
    return L;
}

void lb_close(lua_State *L, double seconds) {
    if (L == NULL) return;
    lb_context *c = ctx(L);
    // Closing runs every __gc left, the script's own among them: under a
    // deadline too, watched as a run is.
    if (seconds > 0) watch(c, seconds, "closing the Lua state (a __gc finalizer)");
    lua_close(L);  // runs every __gc, which releases the Swift boxes
    pthread_mutex_lock(&c->mu);
    c->closing = 1;
    c->armed = 0;
    pthread_cond_signal(&c->wake);
    int watching = c->watching;
    pthread_mutex_unlock(&c->mu);
    if (watching) pthread_join(c->watchdog, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->wake);
    free(c);
}
