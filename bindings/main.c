/* main.c - the mlrun executable, shaped like lua.c: same flags, the same
 * `arg` table and exit codes, so busted and other Lua tools run on it; plus
 * --threads and --seed, `ml` preloaded as a global, and the REPL. */
#include "mlb.h"
#include "repl.h"
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_ml(lua_State *L);

static const char *progname = "mlrun";

static void print_usage(FILE *f) {
  fprintf(f,
    "usage: %s [options] [script [args]]\n"
    "Available options are:\n"
    "  -e stat       execute string 'stat'\n"
    "  -i            enter interactive mode after executing 'script'\n"
    "  -l mod        require library 'mod' into global 'mod'\n"
    "  -v, --version show version information\n"
    "  -h, --help    show this help\n"
    "  --threads N   use N threads for kernels and BLAS (default: all cores)\n"
    "  --seed N      seed the random generator with N\n"
    "  --memory-limit BYTES  cap the engine's tensor memory (0 = no limit)\n"
    "  --            stop handling options\n"
    "  -             stop handling options and execute stdin\n"
    "With no script, mlrun starts an interactive session (REPL).\n"
    "\n"
    "       %s sweep script.lua --set name=v1,v2 [--set ...] [--workers N] [--log FILE]\n"
    "                [--metric NAME] [--mode max|min] [--timeout S] [--seed N] [-- args]\n"
    "runs the script once per combination of the --set values, in N worker\n"
    "processes; the script reads its config from ml.config and returns a table\n"
    "of metrics. A rerun with the same --log skips the trials already logged.\n"
    "\n"
    "       %s serve MODEL [--port 8080] [--host 127.0.0.1] [--workers N] [--threads N]\n"
    "                [--max-batch B] [--batch-timeout-ms T] [--labels FILE] [--max-body BYTES]\n"
    "                [--timeout S] [--max-pixels N] [--topk K] [--name NAME]\n"
    "                [--image-shape HxWxC] [--image-scale S]\n"
    "serves MODEL (a saved .mlm model or estimator, or a Lua script returning a\n"
    "model or a predict(request) function) over HTTP: POST /predict, GET / (a\n"
    "page), /healthz, /metrics, /v1/models/NAME. SIGTERM drains and exits 0.\n",
    progname, progname, progname);
}

static void print_version(void) {
  printf("mlrun %s (%s)\n", ML_VERSION, LUA_RELEASE);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = mlb_pcall_interruptible(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

typedef struct {
  int argc;
  char **argv;
  int script;          /* index of the script in argv, 0 if none */
  int interactive;
  int version;
  int threads;
  long long seed;
  int has_seed;
  long long mem_limit;
  int has_mem_limit;
  int stdin_script;
} options;

/* First pass: find the script and the flags that shape the engine. */
static int parse_args(options *o) {
  for (int i = 1; i < o->argc; i++) {
    const char *a = o->argv[i];
    if (a[0] != '-') { o->script = i; return 0; }
    if (!strcmp(a, "--")) { if (i + 1 < o->argc) o->script = i + 1; return 0; }
    if (!strcmp(a, "-")) { o->stdin_script = 1; o->script = i; return 0; }
    if (!strcmp(a, "-i")) o->interactive = 1;
    else if (!strcmp(a, "-v") || !strcmp(a, "--version")) o->version = 1;
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { print_usage(stdout); exit(EXIT_SUCCESS); }
    else if (!strcmp(a, "-e") || !strcmp(a, "-l")) {
      if (++i >= o->argc) { fprintf(stderr, "%s: '%s' needs an argument\n", progname, a); return -1; }
    } else if (!strcmp(a, "--threads") || !strcmp(a, "--seed") || !strcmp(a, "--memory-limit")) {
      if (++i >= o->argc) { fprintf(stderr, "%s: '%s' needs an argument\n", progname, a); return -1; }
      char *end;
      long long v = strtoll(o->argv[i], &end, 10);
      if (*end || end == o->argv[i]) {
        fprintf(stderr, "%s: '%s' expects an integer, got '%s'\n", progname, a, o->argv[i]);
        return -1;
      }
      if (a[2] == 't') {
        if (v < 1 || v > 1024) {
          fprintf(stderr, "%s: --threads expects 1 to 1024, got %lld\n", progname, v);
          return -1;
        }
        o->threads = (int)v;
      } else if (a[2] == 'm') {
        if (v < 0) {
          fprintf(stderr, "%s: --memory-limit expects bytes >= 0 (0 = no limit), got %lld\n", progname, v);
          return -1;
        }
        o->mem_limit = v; o->has_mem_limit = 1;
      } else { o->seed = v; o->has_seed = 1; }
    } else {
      fprintf(stderr, "%s: unrecognized option '%s'\n", progname, a);
      print_usage(stderr);
      return -1;
    }
  }
  return 0;
}

static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  int narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Second pass: run -e and -l in order. */
static int run_args(lua_State *L, options *o) {
  int last = o->script ? o->script : o->argc;
  for (int i = 1; i < last; i++) {
    const char *a = o->argv[i];
    if (!strcmp(a, "-e")) {
      const char *chunk = o->argv[++i];
      if (dochunk(L, luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)")) != LUA_OK)
        return 0;
    } else if (!strcmp(a, "-l")) {
      /* -l mod, or -l g=mod (as lua 5.4): require mod into global g */
      const char *spec = o->argv[++i], *eq = strchr(spec, '=');
      const char *mod = eq ? eq + 1 : spec;
      lua_getglobal(L, "require");
      lua_pushstring(L, mod);
      if (report(L, docall(L, 1, 1)) != LUA_OK) return 0;
      if (eq) lua_pushlstring(L, spec, (size_t)(eq - spec));
      else lua_pushstring(L, mod);
      lua_insert(L, -2);
      lua_setglobal(L, lua_tostring(L, -2));
      lua_pop(L, 1);
    } else if (!strcmp(a, "--threads") || !strcmp(a, "--seed") || !strcmp(a, "--memory-limit")) {
      i++;
    }
  }
  return 1;
}

static int run_script(lua_State *L, options *o) {
  const char *fname = o->stdin_script ? NULL : o->argv[o->script];
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = 0;
    lua_getglobal(L, "arg");
    if (lua_istable(L, -1)) {
      n = (int)luaL_len(L, -1);
      luaL_checkstack(L, n + 3, "too many arguments to script");
      for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
      lua_remove(L, -n - 1);
    } else {
      lua_pop(L, 1);
    }
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* Everything runs inside a protected call, as in lua.c. */
/* Subcommands: `mlrun sweep script.lua --set k=v1,v2 ...` (ml.sweep over a
 * script) and `mlrun serve MODEL [flags]` (ml.serve); each module's cli
 * function parses the rest of the command line. */
static const char *subcommand(options *o) {
  if (!o->script || o->stdin_script) return NULL;
  const char *a = o->argv[o->script];
  if (!strcmp(a, "sweep")) return "ml.sweep";
  if (!strcmp(a, "serve")) return "ml.serve";
  return NULL;
}

static int run_subcommand(lua_State *L, options *o, const char *module) {
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
  if (report(L, docall(L, 1, 1)) != LUA_OK) return LUA_ERRRUN;
  lua_getfield(L, -1, "cli");
  lua_createtable(L, o->argc - o->script - 1, 0);
  for (int i = o->script + 1; i < o->argc; i++) {
    lua_pushstring(L, o->argv[i]);
    lua_rawseti(L, -2, i - o->script);
  }
  return report(L, docall(L, 1, 0));
}

static int pmain(lua_State *L) {
  options *o = (options *)lua_touserdata(L, 1);
  luaL_checkversion(L);
  luaL_openlibs(L);
  luaL_requiref(L, "ml", luaopen_ml, 1);
  lua_pop(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  if (o->threads) ml_set_threads(ctx, o->threads);
  if (o->has_seed) ml_rng_seed(&ctx->rng, (uint64_t)o->seed);
  if (o->has_mem_limit) ctx->mem_limit = (size_t)o->mem_limit;
  create_arg_table(L, o->argv, o->argc, o->script ? o->script : 0);
  if (o->version) print_version();
  if (!run_args(L, o)) return 0;
  const char *sub = subcommand(o);
  if (sub) {
    if (run_subcommand(L, o, sub) != LUA_OK) return 0;
  } else if (o->script && run_script(L, o) != LUA_OK) return 0;
  bool ran_e = false;
  for (int i = 1; i < (o->script ? o->script : o->argc); i++)
    if (!strcmp(o->argv[i], "-e")) ran_e = true;
  if (o->interactive) mlb_repl(L);
  else if (!o->script && !ran_e && !o->version) {
    /* as lua: a terminal gets the REPL, piped input runs as a script */
    if (isatty(STDIN_FILENO)) mlb_repl(L);
    else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) return 0;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  options o = {.argc = argc, .argv = argv};
  if (parse_args(&o)) return EXIT_FAILURE;
  lua_State *L = luaL_newstate();
  if (!L) { fprintf(stderr, "%s: cannot create state: not enough memory\n", progname); return EXIT_FAILURE; }
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &o);
  int status = lua_pcall(L, 1, 1, 0);
  int ok = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (ok && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
