/* repl.c - the interactive loop of mlrun: line editing, persistent history
 * and TAB completion through libedit (BSD-licensed), expressions printed as
 * results, multi-line input, Ctrl-C interrupting a running chunk (lua.c's
 * hook trick), Ctrl-D leaving.
 *
 * libedit is loaded with dlopen when the REPL starts, not linked: scripts
 * (and programs embedding the engine) never pay its start-up cost. Without
 * libedit the REPL still works, reading plain lines.
 *
 * readline and signals are process-wide, so this file keeps the one Lua
 * state being served in a static; nothing else in mlrun has global state. */
#include "repl.h"
#include "mlb.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dlfcn.h>

/* ---- libedit, loaded on demand ---- */

typedef char *compentry_fn(const char *, int);
typedef char **completion_fn(const char *, int, int);

static struct {
  char *(*readline)(const char *);
  int (*add_history)(const char *);
  int (*read_history)(const char *);
  int (*write_history)(const char *);
  void (*using_history)(void);
  void (*stifle_history)(int);
  char **(*completion_matches)(const char *, compentry_fn *);
  completion_fn **attempted_completion_function;
  int *attempted_completion_over;
  const char **basic_word_break_characters;
  char **completer_word_break_characters;
  int *completion_append_character;
  const char **readline_name;
  int *catch_signals;
} rl;

/* Returns 1 when libedit and every symbol used here were found. */
static int load_libedit(void) {
  void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = dlopen("libedit.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;
#define SYM(field, name) if (!(*(void **)&rl.field = dlsym(h, name))) return 0
  SYM(readline, "readline");
  SYM(add_history, "add_history");
  SYM(read_history, "read_history");
  SYM(write_history, "write_history");
  SYM(using_history, "using_history");
  SYM(stifle_history, "stifle_history");
  SYM(completion_matches, "rl_completion_matches");
  SYM(attempted_completion_function, "rl_attempted_completion_function");
  SYM(attempted_completion_over, "rl_attempted_completion_over");
  SYM(basic_word_break_characters, "rl_basic_word_break_characters");
  SYM(completer_word_break_characters, "rl_completer_word_break_characters");
  SYM(completion_append_character, "rl_completion_append_character");
  SYM(readline_name, "rl_readline_name");
  SYM(catch_signals, "rl_catch_signals");
#undef SYM
  return 1;
}

/* Without libedit: print the prompt, read a line (NULL at end of input).
 * When stdin is not a terminal the line is echoed after the prompt, as GNU
 * readline (and so Debian's lua5.4) does, so `mlrun -i < file` prints a
 * transcript. */
static char *plain_readline(const char *prompt) {
  fputs(prompt, stdout);
  fflush(stdout);
  size_t cap = 256, len = 0;
  char *buf = malloc(cap);
  int c;
  while (buf && (c = getchar()) != EOF && c != '\n') {
    if (len + 1 >= cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) { free(buf); return NULL; }
      buf = nb;
    }
    buf[len++] = (char)c;
  }
  if (!buf || (len == 0 && c == EOF)) { free(buf); return NULL; }
  buf[len] = 0;
  if (!isatty(STDIN_FILENO)) { fputs(buf, stdout); fputc('\n', stdout); }
  return buf;
}

#define HISTORY_MAX 1000

static lua_State *active_L;   /* the state running a chunk, for the SIGINT handler */

/* ---- interrupting a running chunk ---- */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* Sets a hook that raises at the next Lua instruction. A second Ctrl-C before
 * that (a long C kernel) gets the default action and ends the process. */
static void laction(int sig) {
  signal(sig, SIG_DFL);
  lua_sethook(active_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

int mlb_pcall_interruptible(lua_State *L, int narg, int nres, int msgh) {
  active_L = L;
  void (*old)(int) = signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, msgh);
  signal(SIGINT, old == SIG_ERR ? SIG_DFL : old);
  lua_sethook(L, NULL, 0, 0);
  return status;
}

/* At the prompt Ctrl-C abandons the line being typed: the handler only
 * notes it, and the interrupted read makes readline return. */
static volatile sig_atomic_t prompt_interrupted;
static void prompt_sigint(int sig) { (void)sig; prompt_interrupted = 1; }

/* readline with Ctrl-C cancelling the line; *cancelled tells which. */
static char *read_line(const char *prompt, int *cancelled) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = prompt_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);          /* no SA_RESTART: the read returns */
  prompt_interrupted = 0;
  char *line = rl.readline(prompt);
  sigaction(SIGINT, &old, NULL);
  *cancelled = prompt_interrupted;
  if (*cancelled) {
    free(line);
    line = NULL;
  }
  return line;
}

/* The prompt as lua.c takes it: tostring(_PROMPT) (or _PROMPT2 for a
 * continuation line) when set, else "> " / ">> "; read_line with it. */
static char *read_prompted(lua_State *L, int firstline, int *cancelled) {
  const char *prompt;
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushstring(L, firstline ? "> " : ">> ");
  } else {
    luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
  }
  prompt = lua_tostring(L, -1);
  char *line = read_line(prompt, cancelled);
  lua_pop(L, 1);
  return line;
}

/* ---- completion ---- */

static const char *const keywords[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
  NULL};

/* Candidates are collected into a Lua table at this registry key. */
static const char cand_key = 0;

static void add_candidate(lua_State *L, int list, const char *prefix, size_t plen,
                          const char *head, size_t hlen, const char *name) {
  if (strncmp(name, prefix, plen) != 0) return;
  lua_pushlstring(L, head, hlen);
  lua_pushstring(L, name);
  lua_concat(L, 2);
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

/* Tables that load names lazily through an __index function (the ml facade)
 * list them in fields `_submodules` and `_exported` (name -> module). */
static const char *const lazy_lists[] = {"_submodules", "_exported", NULL};

/* Whether name k is one of the lazy names of the table at idx. */
static int is_lazy(lua_State *L, int idx, const char *k) {
  int found = 0;
  idx = lua_absindex(L, idx);
  for (int i = 0; lazy_lists[i] && !found; i++) {
    lua_getfield(L, idx, lazy_lists[i]);   /* raw enough: plain fields of the table */
    if (lua_istable(L, -1)) found = lua_getfield(L, -1, k) != LUA_TNIL, lua_pop(L, 1);
    lua_pop(L, 1);
  }
  return found;
}

/* Adds the string keys of the table at idx, then of its __index chain. */
static void add_keys(lua_State *L, int idx, int list, const char *prefix, size_t plen,
                     const char *head, size_t hlen) {
  idx = lua_absindex(L, idx);
  for (int i = 0; lazy_lists[i]; i++) {
    lua_pushstring(L, lazy_lists[i]);
    if (lua_istable(L, idx) && lua_rawget(L, idx) == LUA_TTABLE) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
          add_candidate(L, list, prefix, plen, head, hlen, lua_tostring(L, -1));
      }
    }
    lua_pop(L, 1);
  }
  lua_pushvalue(L, idx);
  for (int depth = 0; depth < 8 && lua_istable(L, -1); depth++) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING) {
        const char *k = lua_tostring(L, -1);
        if (k[0] != '_' || prefix[0] == '_')   /* hide private names unless asked */
          add_candidate(L, list, prefix, plen, head, hlen, k);
      }
    }
    if (!lua_getmetatable(L, -1)) break;
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

/* Pushes the methods table of the value on top (its metatable's __index
 * table; for tensors, whose __index is a C function, ml.core.tensor.Tensor). */
static void push_methods(lua_State *L) {
  if (luaL_testudata(L, -1, MLB_TENSOR)) {
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "ml.core");
    lua_remove(L, -2);
    if (lua_istable(L, -1)) lua_getfield(L, -1, "tensor");
    else lua_pushnil(L);
    lua_remove(L, -2);
    if (lua_istable(L, -1)) lua_getfield(L, -1, "Tensor");
    else lua_pushnil(L);
    lua_remove(L, -2);
  } else if (lua_istable(L, -1) || !lua_getmetatable(L, -1)) {
    lua_pushvalue(L, -1);     /* a table: its own keys and its class chain */
  } else {
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
  }
}

/* Completes `text` ("pri", "ml.on", "a.b.", "x:resh"), protected: walks the
 * dotted path through plain table gets (rawget, so completion never runs
 * user code or loads modules) and leaves the candidate list at cand_key. */
static int p_complete(lua_State *L) {
  const char *text = lua_tostring(L, 1);
  lua_newtable(L);
  int list = lua_gettop(L);
  lua_pushvalue(L, list);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &cand_key);
  const char *sep = strpbrk(text, ".:");
  if (!sep) {
    size_t plen = strlen(text);
    for (int i = 0; keywords[i]; i++) add_candidate(L, list, text, plen, "", 0, keywords[i]);
    lua_pushglobaltable(L);
    add_keys(L, -1, list, text, plen, "", 0);
    return 0;
  }
  /* walk to the value before the last separator */
  const char *last = text + strlen(text);
  while (last > text && last[-1] != '.' && last[-1] != ':') last--;
  const char *p = text;
  lua_pushglobaltable(L);
  while (p < last - 1) {
    const char *q = p;
    while (q < last - 1 && *q != '.' && *q != ':') q++;
    if (!lua_istable(L, -1)) return 0;
    lua_pushlstring(L, p, (size_t)(q - p));
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {   /* not a plain field: a lazy name, or the __index table */
      lua_pop(L, 1);
      lua_pushlstring(L, p, (size_t)(q - p));
      if (is_lazy(L, -2, lua_tostring(L, -1))) {
        lua_gettable(L, -2);   /* loads it, as the user's next keystrokes would */
      } else if (lua_getmetatable(L, -2)) {
        lua_getfield(L, -1, "__index");
        if (!lua_istable(L, -1)) return 0;
        lua_pushvalue(L, -3);
        lua_rawget(L, -2);
        lua_replace(L, -4);
        lua_pop(L, 2);
      } else {
        return 0;
      }
    }
    lua_remove(L, -2);
    if (*q == ':' && q < last - 1) return 0;   /* a.b:c.d is not a name */
    p = q + 1;
  }
  size_t hlen = (size_t)(last - text), plen = strlen(last);
  if (last[-1] == ':') push_methods(L);
  if (lua_istable(L, -1)) add_keys(L, -1, list, last, plen, text, hlen);
  return 0;
}

static int cand_next;
static char *candidate_generator(const char *text, int state) {
  (void)text;
  lua_State *L = active_L;
  if (state == 0) cand_next = 1;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &cand_key);
  char *r = NULL;
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, cand_next++);
    if (lua_isstring(L, -1)) r = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return r;
}

static char **complete(const char *text, int start, int end) {
  (void)start; (void)end;
  lua_State *L = active_L;
  *rl.attempted_completion_over = 1;   /* never fall back to file names */
  int top = lua_gettop(L);
  lua_pushcfunction(L, p_complete);
  lua_pushstring(L, text);
  int ok = lua_pcall(L, 1, 0, 0) == LUA_OK;
  lua_settop(L, top);
  if (!ok) return NULL;
  char **m = rl.completion_matches(text, candidate_generator);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &cand_key);
  return m;
}

/* ---- the loop ---- */

static const char *history_path(lua_State *L) {
  const char *p = getenv("MLRUN_HISTORY");
  if (p) return *p ? p : NULL;   /* MLRUN_HISTORY="" turns history files off */
  const char *home = getenv("HOME");
  if (!home || !*home) return NULL;
  return lua_pushfstring(L, "%s/.mlrun_history", home);   /* kept on the stack */
}

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    const char *eof = "<eof>";
    size_t le = strlen(eof);
    if (lmsg >= le && strcmp(msg + lmsg - le, eof) == 0) return 1;
  }
  return 0;
}

/* Compiles the chunk at index `src`, first as `return <chunk>` so that
 * expressions print, then as statements. Leaves the function and returns
 * LUA_OK, or leaves an error message. */
static int compile(lua_State *L, int src) {
  const char *code = lua_tostring(L, src);
  if (code[0] == '=') code++;   /* "= expr" as in Lua 5.1 */
  const char *ret = lua_pushfstring(L, "return %s;", code);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_remove(L, -2);
  if (status == LUA_OK) return status;
  lua_pop(L, 1);
  return luaL_loadbuffer(L, code, strlen(code), "=stdin");
}

/* Prints the values at base+1 .. top with the global print (tostring). */
static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n <= 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, base + 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) {
    fprintf(stderr, "error calling 'print' (%s)\n", lua_tostring(L, -1));
    fflush(stderr);
  }
}

void mlb_repl(lua_State *L) {
  active_L = L;
  static char word_breaks[] = " \t\n\"\\'><=;+-*/%^~#&|{}()[],";
  /* MLRUN_PLAIN_REPL=1 skips libedit (dumb terminals, and the tests of this path) */
  const char *plain = getenv("MLRUN_PLAIN_REPL");
  int edit = !(plain && *plain && strcmp(plain, "0")) && isatty(STDIN_FILENO) && load_libedit();
  if (edit) {
    *rl.readline_name = "mlrun";
    *rl.catch_signals = 0;
    *rl.attempted_completion_function = complete;
    *rl.basic_word_break_characters = word_breaks;
    *rl.completer_word_break_characters = word_breaks;
    *rl.completion_append_character = '\0';
  } else {
    rl.readline = plain_readline;
  }
  int top0 = lua_gettop(L);
  const char *hist = edit ? history_path(L) : NULL;
  if (edit) {
    rl.using_history();
    rl.stifle_history(HISTORY_MAX);
    if (hist) rl.read_history(hist);
  }
  if (isatty(STDIN_FILENO))
    printf("ml is loaded; TAB completes, Ctrl-D exits\n");   /* after main's version lines */
  char *line;
  int cancelled;
  for (;;) {
    line = read_prompted(L, 1, &cancelled);
    if (cancelled) { printf("^C\n"); fflush(stdout); continue; }
    if (!line) break;
    int base = lua_gettop(L);
    lua_pushstring(L, line);
    free(line);
    int status;
    for (;;) {   /* read more lines while the chunk is incomplete */
      status = compile(L, base + 1);
      if (!incomplete(L, status)) break;
      lua_pop(L, 1);
      char *more = read_prompted(L, 0, &cancelled);
      if (!more) {   /* Ctrl-C drops the chunk; Ctrl-D reports it unfinished */
        if (!cancelled) status = compile(L, base + 1);
        break;
      }
      lua_pushfstring(L, "%s\n%s", lua_tostring(L, base + 1), more);
      free(more);
      lua_replace(L, base + 1);
    }
    if (cancelled) {
      printf("^C\n");
      lua_settop(L, base);
      continue;
    }
    const char *chunk = lua_tostring(L, base + 1);
    if (chunk[strspn(chunk, " \t\n")]) {
      if (edit) rl.add_history(chunk);
      if (hist) rl.write_history(hist);
    }
    lua_remove(L, base + 1);
    if (status == LUA_OK) {
      lua_pushcfunction(L, mlb_msghandler);
      lua_insert(L, base + 1);
      status = mlb_pcall_interruptible(L, 0, LUA_MULTRET, base + 1);
      lua_remove(L, base + 1);
    }
    if (status == LUA_OK) print_results(L, base);
    else {
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      fflush(stderr);
    }
    fflush(stdout);
    lua_settop(L, base);
  }
  printf("\n");
  fflush(stdout);
  lua_settop(L, top0);
}
