// The boundary between Swift and Lua.
//
// Lua reports errors with longjmp. A longjmp that crosses a Swift frame is
// undefined behaviour (skipped releases and defers), so the rule is:
//
//   * Swift never raises a Lua error. A host function written in Swift returns
//     LB_HOST_ERROR with a message on the stack, and the one C trampoline in
//     boundary.c raises it (after adding the caller's file:line).
//   * Swift only calls API functions that cannot raise: pushes, to*, raw table
//     access, settop/rotate. Anything that can run a metamethod or raise
//     (lua_error, luaL_check*, lua_gettable, lua_concat, ...) stays in C.
//   * Allocation failure raises only where it is safe: inside lb_pcall's
//     protected call and outside a host function. There the memory limit is
//     enforced by the allocator ("not enough memory", which pcall catches);
//     inside a Swift frame a real failure aborts, as Swift itself does.
//   * What the count hook cannot stop (a long C call such as string.find, a
//     looping __gc, also in lua_close) is ended by a watchdog thread: once a
//     stop has been due for a grace period (1 s; 30 s inside a host function,
//     which stops itself by polling or by its own timeout), it says so on
//     stderr and ends the process.
//   * Every entry from Swift into Lua is lb_pcall, with a message handler that
//     records a traceback. Setup that can raise runs inside lb_open's protected
//     call.
#ifndef HANFS_LUA_BOUNDARY_H
#define HANFS_LUA_BOUNDARY_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>

/// What a Swift host function returns to report an error. The message is the
/// value on top of the stack.
#define LB_HOST_ERROR (-1)

/// Calls the Swift function held in `box`; returns the number of results on
/// the stack, or LB_HOST_ERROR.
typedef int (*lb_host_dispatch)(lua_State *L, void *box);
/// Releases a box that Lua no longer references (called from __gc).
typedef void (*lb_host_release)(void *box);

/// Installs the Swift side of the trampoline, once per process.
void lb_install_host(lb_host_dispatch dispatch, lb_host_release release);

/// Creates a state with the script environment: base, package, coroutine,
/// table, string, math, utf8, a restricted os (time, clock, date, getenv), no
/// io, no debug, no dofile/loadfile, text-only load and require, and strict
/// globals. Returns NULL and a message in `err` if the setup fails.
lua_State *lb_open(char *err, size_t errlen);
/// Closes the state; its finalizers get `seconds` (<= 0: no limit) before the
/// watchdog ends the process.
void lb_close(lua_State *L, double seconds);

/// Pushes a Lua function that calls the Swift function in `box` through the
/// trampoline. Lua owns the box from here on: its __gc calls the release hook.
void lb_push_host_function(lua_State *L, void *box);

/// lua_pcall with a message handler below the function. On error the message
/// (a string) is on the stack and lb_push_traceback pushes the traceback.
int lb_pcall(lua_State *L, int nargs, int nresults);
void lb_push_traceback(lua_State *L);

/// Why the host stopped a script, as opposed to an error of the script's own.
typedef enum {
    LB_STOP_NONE = 0,
    LB_STOP_DEADLINE = 1,
    LB_STOP_INTERRUPT = 2,
} lb_stop_reason;

/// Arms the count hook and the watchdog for one run: a deadline in seconds
/// (<= 0: none) and a memory limit in bytes (0: none), which the allocator
/// enforces. Once it fires, the hook re-arms itself on every instruction, so a
/// script cannot swallow the stop with pcall.
void lb_arm(lua_State *L, double seconds, size_t memory_limit);
void lb_disarm(lua_State *L);
lb_stop_reason lb_stop_reason_of(lua_State *L);
/// Stops the running script at its next hook. Safe from any thread.
void lb_cancel(lua_State *L);
/// True when the running script should stop: cancelled, or a caught signal.
int lb_should_stop(lua_State *L);

/// While enabled, SIGINT and SIGTERM set a flag that stops the running script
/// (and that host commands poll) instead of killing the process. A second
/// SIGINT while one is still pending kills the process.
void lb_catch_signals(int enable);
int lb_signal_pending(void);
void lb_clear_signal(void);

/// Pushes the value at `idx` converted as Lua's tostring does (honouring
/// __tostring and __name), in a protected call: a failing __tostring gives its
/// error message instead.
void lb_push_tostring(lua_State *L, int idx);

/// Writes `file:line` of the function `level` levels up the stack into buf;
/// returns 0 when that level is not Lua code.
int lb_position(lua_State *L, int level, char *buf, size_t len);
/// The line of the function `level` levels up the stack, or 0 (no string made).
int lb_line(lua_State *L, int level);

// ---- macros Swift cannot see -------------------------------------------------

static inline void lb_pop(lua_State *L, int n) { lua_settop(L, -(n)-1); }
static inline int lb_registry_index(void) { return LUA_REGISTRYINDEX; }
static inline void lb_push_globals(lua_State *L) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
}
static inline void lb_insert(lua_State *L, int idx) { lua_rotate(L, idx, 1); }
static inline void lb_remove(lua_State *L, int idx) {
    lua_rotate(L, idx, -1);
    lua_settop(L, -2);
}
static inline const char *lb_version(void) { return LUA_RELEASE; }

#endif
