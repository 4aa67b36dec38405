/* main.c - the mlrun executable: the command line of lua.c (Lua 5.4 manual,
 * section 7) plus mlrun's own options, `ml` preloaded as a global, the REPL
 * and subcommands.
 *
 * Lua's options, handled exactly as lua.c does (same order, same `arg`
 * table, same messages and exit codes, checked against Lua's testes/main.lua):
 *   -e stat  -l mod  -l g=mod  -i  -v  -E  -W  --  -
 * where -e and -l take their argument glued on or as the next word
 * (-eprint(1), -lstring, -lg=mod), and a module name with a version suffix
 * (-l mod-v2) sets the global `mod`. Before any option runs, LUA_INIT_5_4
 * (else LUA_INIT) is run, from a file when it starts with '@'; -E skips it
 * and makes the package library ignore LUA_PATH* and LUA_CPATH* (the
 * registry field LUA_NOENV, which liblua's package library reads).
 *
 * mlrun's own options are all long (two dashes and a name), so they never
 * collide with a Lua option: --threads N, --seed N, --memory-limit BYTES
 * (also as --name=VALUE), --version, --help. They may appear anywhere before
 * the script. `mlrun SUBCOMMAND ...` runs a subcommand (the table below)
 * when the first word after the options names one. */
#include "mlb.h"
#include "repl.h"
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_ml(lua_State *L);

static const char *progname = "mlrun";

static void print_help(FILE *f) {
  fprintf(f,
    "usage: %s [options] [script [args]]\n"
    "       %s sweep script.lua --set name=v1,v2 [--set ...] [sweep options] [-- args]\n"
    "       %s serve MODEL [serve options]\n"
    "Lua's options (as the lua interpreter):\n"
    "  -e stat       execute string 'stat' (also -estat)\n"
    "  -i            enter interactive mode after executing 'script'\n"
    "  -l mod        require library 'mod' into global 'mod' (also -lmod)\n"
    "  -l g=mod      require library 'mod' into global 'g'\n"
    "  -v            show version information\n"
    "  -E            ignore environment variables (LUA_INIT, LUA_PATH, LUA_CPATH)\n"
    "  -W            turn warnings on\n"
    "  --            stop handling options\n"
    "  -             stop handling options and execute stdin\n"
    "mlrun's options:\n"
    "  --threads N   threads for kernels and BLAS (default: $MLRUN_THREADS,\n"
    "                else $OMP_NUM_THREADS, else all cores)\n"
    "  --seed N      seed the random generator (as ml.seed(N))\n"
    "  --memory-limit BYTES  cap the engine's tensor memory (0 = no limit)\n"
    "  --version     show version and licence information\n"
    "  --help        show this help\n"
    "With no script and no -e/-v, mlrun runs an interactive session (REPL) when\n"
    "stdin is a terminal and runs stdin as a script otherwise. LUA_INIT_5_4 (or\n"
    "LUA_INIT) runs first: a chunk, or @file. `ml` is a global in every script.\n"
    "Subcommands:\n"
    "  sweep         ml.sweep over a script: one trial per combination of the\n"
    "                --set values, in --workers N processes; the script reads\n"
    "                ml.config and returns a table of metrics. Options: --set\n"
    "                name=v1,v2  --workers N  --log FILE  --metric NAME\n"
    "                --mode max|min  --timeout S  --seed N. A rerun with the\n"
    "                same --log skips the trials already logged.\n"
    "  serve         a saved model (or a Lua script returning a model or a\n"
    "                predict(request) function) over HTTP: POST /predict, GET /\n"
    "                (a page), /healthz, /metrics, /v1/models/NAME. Options:\n"
    "                --port N (8080; 0 = any free)  --host ADDR (127.0.0.1)\n"
    "                --workers N  --threads N  --max-batch B  --batch-timeout-ms T\n"
    "                --labels FILE  --max-body BYTES  --timeout S  --max-pixels N\n"
    "                --topk K  --name NAME  --image-shape HxWxC  --image-scale S.\n"
    "                SIGTERM drains accepted requests and exits 0.\n"
    "See mlrun(1).\n",
    progname, progname, progname);
}

/* lua.c's message for a bad option, then the short usage, on stderr. */
static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", progname);
  if ((badoption[1] == 'e' || badoption[1] == 'l') && badoption[2] == '\0')
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  fprintf(stderr,
    "usage: %s [options] [script [args]]\n"
    "Available options are:\n"
    "  -e stat   execute string 'stat'\n"
    "  -i        enter interactive mode after executing 'script'\n"
    "  -l mod    require library 'mod' into global 'mod'\n"
    "  -l g=mod  require library 'mod' into global 'g'\n"
    "  -v        show version information\n"
    "  -E        ignore environment variables\n"
    "  -W        turn warnings on\n"
    "  --        stop handling options\n"
    "  -         stop handling options and execute stdin\n"
    "  --threads N, --seed N, --memory-limit BYTES, --version, --help (mlrun's)\n",
    progname);
  fflush(stderr);
}

/* The last line is Lua's own (LUA_COPYRIGHT), as `lua -v` prints it. */
static void print_version(void) {
  printf("mlrun %s (%s)  MIT License, Copyright (c) 2026 the mlrun authors\n%s\n",
         ML_VERSION, LUA_RELEASE, LUA_COPYRIGHT);
  fflush(stdout);
}

static void l_message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    l_message(progname, msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, mlb_msghandler);
  lua_insert(L, base);
  int status = mlb_pcall_interruptible(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l: 'globname[=modname]' runs globname = require(modname); without '=', a
 * version suffix after '-' is dropped from the global's name (lua.c 5.4.6). */
static int dolibrary(lua_State *L, const char *arg) {
  const char *eq = strchr(arg, '='), *mod = eq ? eq + 1 : arg;
  size_t glen = eq ? (size_t)(eq - arg) : strlen(arg);
  if (!eq) {
    const char *suffix = strchr(arg, '-');
    if (suffix) glen = (size_t)(suffix - arg);
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_pushlstring(L, arg, glen);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  return report(L, status);
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1), i;
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL;   /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* ---- subcommands: `mlrun NAME args...`, each a Lua function ---- */

/* `mlrun sweep script.lua --set k=v1,v2 ...`: ml.sweep over a script
 * (stdlib/ml/sweep.lua, sweep.cli, parses the rest of the command line). */
static int run_lua_cli(lua_State *L, const char *module, char **argv, int argc) {
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
  if (report(L, docall(L, 1, 1)) != LUA_OK) return LUA_ERRRUN;
  lua_getfield(L, -1, "cli");
  lua_createtable(L, argc, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  int status = report(L, docall(L, 1, 0));
  lua_pop(L, 1);
  return status;
}

/* Add a subcommand here (and to mlrun.1 and the bash completion). */
static const struct { const char *name, *module; } subcommands[] = {
  {"sweep", "ml.sweep"},
  {"serve", "ml.serve"},
  {NULL, NULL},
};

static const char *subcommand_module(const char *word) {
  for (int i = 0; subcommands[i].name; i++)
    if (!strcmp(word, subcommands[i].name)) return subcommands[i].module;
  return NULL;
}

/* ---- the command line ---- */

#define has_error 1   /* bad option */
#define has_i 2       /* -i */
#define has_v 4       /* -v, --version */
#define has_e 8       /* -e */
#define has_E 16      /* -E */

typedef struct {
  int argc;
  char **argv;
  int threads;
  long long seed, mem_limit;
  int has_seed, has_mem_limit;
  const char *bad;     /* the offending word, for has_error */
  const char *why;     /* a message replacing lua's for a bad mlrun value */
  char whybuf[160];
} options;

/* mlrun's long options. Returns 0, or has_error with o->bad / o->why set. */
static int long_option(options *o, int *i, int *args) {
  const char *a = o->argv[*i] + 2;
  if (!strcmp(a, "version")) { *args |= has_v; return 0; }
  if (!strcmp(a, "help")) { print_help(stdout); exit(EXIT_SUCCESS); }
  static const char *const valued[] = {"threads", "seed", "memory-limit", NULL};
  for (int k = 0; valued[k]; k++) {
    size_t len = strlen(valued[k]);
    if (strncmp(a, valued[k], len) || (a[len] != '\0' && a[len] != '=')) continue;
    const char *val = a[len] == '=' ? a + len + 1 : o->argv[++*i];
    if (!val) {
      snprintf(o->whybuf, sizeof o->whybuf, "'--%s' needs an argument", valued[k]);
      o->why = o->whybuf;
      return has_error;
    }
    char *end;
    long long v = strtoll(val, &end, 10);
    if (*end || end == val) {
      snprintf(o->whybuf, sizeof o->whybuf, "'--%s' expects an integer, got '%s'", valued[k], val);
      o->why = o->whybuf;
      return has_error;
    }
    if (k == 0) {
      if (v < 1 || v > 1024) {
        snprintf(o->whybuf, sizeof o->whybuf, "--threads expects 1 to 1024, got %lld", v);
        o->why = o->whybuf;
        return has_error;
      }
      o->threads = (int)v;
    } else if (k == 1) {
      o->seed = v; o->has_seed = 1;
    } else {
      if (v < 0) {
        snprintf(o->whybuf, sizeof o->whybuf,
                 "--memory-limit expects bytes >= 0 (0 = no limit), got %lld", v);
        o->why = o->whybuf;
        return has_error;
      }
      o->mem_limit = v; o->has_mem_limit = 1;
    }
    return 0;
  }
  o->bad = o->argv[*i];
  return has_error;
}

/* lua.c's collectargs plus the long options: returns the has_* mask and the
 * index of the first non-option (the script, or argc) in *first. */
static int collectargs(options *o, int *first) {
  char **argv = o->argv;
  int args = 0, i;
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args;   /* not an option: the script */
    switch (argv[i][1]) {
      case '-':
        if (argv[i][2] == '\0') { *first = i + 1; return args; }   /* '--' */
        if (argv[i][2] == '-') { o->bad = argv[i]; return has_error; }   /* '---' */
        if (long_option(o, &i, &args)) return has_error;
        break;
      case '\0': return args;   /* '-': the script is stdin */
      case 'E':
        if (argv[i][2] != '\0') { o->bad = argv[i]; return has_error; }
        args |= has_E;
        break;
      case 'W':
        if (argv[i][2] != '\0') { o->bad = argv[i]; return has_error; }
        break;
      case 'i':
        args |= has_i;   /* -i implies -v */
        /* fall through */
      case 'v':
        if (argv[i][2] != '\0') { o->bad = argv[i]; return has_error; }
        args |= has_v;
        break;
      case 'e':
        args |= has_e;
        /* fall through */
      case 'l':   /* both need an argument, glued on or the next word */
        if (argv[i][2] == '\0') {
          o->bad = argv[i];
          i++;
          if (argv[i] == NULL || argv[i][0] == '-') return has_error;
        }
        break;
      default:
        o->bad = argv[i];
        return has_error;
    }
  }
  *first = i;   /* no script */
  return args;
}

/* -e, -l and -W, in order (mlrun's long options were applied before). */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    if (option == '-') {   /* a long option: skip its separate value */
      const char *a = argv[i] + 2;
      if (!strchr(a, '=') && (!strcmp(a, "threads") || !strcmp(a, "seed") ||
                              !strcmp(a, "memory-limit")))
        i++;
      continue;
    }
    if (option == 'e' || option == 'l') {
      const char *extra = argv[i] + 2;
      if (*extra == '\0') extra = argv[++i];
      int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
      if (status != LUA_OK) return 0;
    } else if (option == 'W') {
      lua_warning(L, "@on", 0);
    }
  }
  return 1;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;   /* no script: the program name at 0 */
  int narg = argc - (script + 1);
  lua_createtable(L, narg > 0 ? narg : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int pmain(lua_State *L) {
  options *o = (options *)lua_touserdata(L, 1);
  int argc = o->argc, script = argc;
  char **argv = o->argv;
  int args = collectargs(o, &script);
  luaL_checkversion(L);
  if (args == has_error) {
    if (o->why) l_message(progname, o->why);
    else print_usage(o->bad ? o->bad : argv[script]);
    return 0;
  }
  if (args & has_v) print_version();
  if (args & has_E) {   /* libraries ignore LUA_* environment variables */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  luaL_requiref(L, "ml", luaopen_ml, 1);
  lua_pop(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  if (o->threads) ml_set_threads(ctx, o->threads);
  if (o->has_seed) ml_rng_seed(&ctx->rng, (uint64_t)o->seed);
  if (o->has_mem_limit) ctx->mem_limit = (size_t)o->mem_limit;
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, script)) return 0;
  if (script < argc) {
    const char *module = strcmp(argv[script - 1], "--") ? subcommand_module(argv[script]) : NULL;
    if (module) {
      if (run_lua_cli(L, module, argv + script + 1, argc - script - 1) != LUA_OK) return 0;
    } else if (handle_script(L, argv + script) != LUA_OK) {
      return 0;
    }
  }
  if (args & has_i) {
    mlb_repl(L);
  } else if (script == argc && !(args & (has_e | has_v))) {
    if (isatty(STDIN_FILENO)) {   /* as lua: a terminal gets the REPL */
      print_version();
      mlb_repl(L);
    } else if (dofile(L, NULL) != LUA_OK) {   /* piped input runs as a script */
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  options o = {.argc = argc, .argv = argv};
  lua_State *L = luaL_newstate();
  if (!L) { l_message(progname, "cannot create state: not enough memory"); return EXIT_FAILURE; }
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &o);
  int status = lua_pcall(L, 1, 1, 0);
  int ok = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (ok && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
