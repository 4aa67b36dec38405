/* ldata.c - family `csv`: ml.core.csv_read(path, opts) and
 * ml.core.csv_parse(text, opts) over runtime/data/csv.c. Both return
 *   {nrows = N, sep = ";", names = {...}, columns = {{name =, kind = "number",
 *    values = float32 tensor (NaN = missing)} | {name =, kind = "string",
 *    codes = int64 tensor (0-based, -1 = missing), categories = {...}}}}
 * The DataFrame (stdlib/ml/dataframe.lua) is built on that table; frame_onehot
 * and frame_columns are its column kernels (runtime/data/frame.c). */
#include "mlb.h"
#include "../runtime/data/csv.h"
#include "../runtime/data/frame.h"
#include "../runtime/data/curve.h"
#include <stdlib.h>
#include <string.h>

#define CSV_BOX "ml.csv_table"

static int box_gc(lua_State *L) {
  ml_csv_table *t = (ml_csv_table *)luaL_checkudata(L, 1, CSV_BOX);
  ml_csv_free(t);
  return 0;
}

/* A list of strings opts[key] (or one string, or nil) as a C array. The
 * array is a userdata left on the stack whose user value is a table holding
 * the strings (numbers are converted there), so the pointers stay valid. */
static const char *const *string_list(lua_State *L, int opts, const char *key, int *n) {
  *n = 0;
  if (lua_isnoneornil(L, opts)) { lua_pushnil(L); return NULL; }
  int t = lua_getfield(L, opts, key);
  if (t == LUA_TNIL) return NULL;
  if (t != LUA_TTABLE && t != LUA_TSTRING && t != LUA_TNUMBER)
    luaL_error(L, "read_csv: option '%s' expected a string or a list of strings, got %s", key,
               lua_typename(L, t));
  if (t != LUA_TTABLE) {           /* one value: make it a list */
    lua_createtable(L, 1, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
  }
  int src = lua_gettop(L);
  int m = (int)lua_rawlen(L, src);
  const char **a = lua_newuserdatauv(L, sizeof(char *) * (size_t)(m ? m : 1), 1);
  lua_createtable(L, m, 0);
  for (int i = 0; i < m; i++) {
    lua_rawgeti(L, src, i + 1);
    int ty = lua_type(L, -1);
    if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
      luaL_error(L, "read_csv: option '%s' entry %d expected a string, got %s", key, i + 1,
                 luaL_typename(L, -1));
    a[i] = lua_tostring(L, -1);
    lua_rawseti(L, -2, i + 1);     /* the holder table keeps the (converted) string */
  }
  lua_setiuservalue(L, -2, 1);
  *n = m;
  lua_remove(L, src);
  return a;
}

/* dtype = {col = "string"|"number", ...} split into two name lists (pushed
 * as two userdata on the stack). */
static void dtype_lists(lua_State *L, int opts, ml_csv_opts *o) {
  int t = lua_isnoneornil(L, opts) ? LUA_TNIL : lua_getfield(L, opts, "dtype");
  if (t == LUA_TNIL) {
    if (!lua_isnoneornil(L, opts)) lua_pop(L, 1);
    lua_pushnil(L); lua_pushnil(L);
    return;
  }
  if (t != LUA_TTABLE)
    luaL_error(L, "read_csv: option 'dtype' expected a table {column = \"string\"|\"number\"}, "
               "got %s", lua_typename(L, t));
  int dt = lua_gettop(L), n = 0;
  lua_pushnil(L);
  while (lua_next(L, dt)) { n++; lua_pop(L, 1); }
  const char **s = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  const char **f = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  int ns = 0, nf = 0;
  lua_pushnil(L);
  while (lua_next(L, dt)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "read_csv: option 'dtype' keys must be column names");
    const char *kind = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING || (strcmp(kind, "string") && strcmp(kind, "number")))
      luaL_error(L, "read_csv: dtype of column '%s' must be \"string\" or \"number\"",
                 lua_tostring(L, -2));
    if (!strcmp(kind, "string")) s[ns++] = lua_tostring(L, -2);
    else f[nf++] = lua_tostring(L, -2);
    lua_pop(L, 1);
  }
  o->force_string = s; o->n_force_string = ns;
  o->force_number = f; o->n_force_number = nf;
  lua_remove(L, dt);   /* the dtype table stays referenced by opts */
}

static int push_table(lua_State *L, ml_csv_table *t) {
  ml_ctx *ctx = mlb_ctx(L);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, t->nrows); lua_setfield(L, -2, "nrows");
  lua_pushlstring(L, &t->sep, 1); lua_setfield(L, -2, "sep");
  lua_createtable(L, t->ncols, 0);
  for (int c = 0; c < t->ncols; c++) {
    lua_pushstring(L, t->cols[c].name); lua_rawseti(L, -2, c + 1);
  }
  lua_setfield(L, -2, "names");
  lua_createtable(L, t->ncols, 0);
  for (int c = 0; c < t->ncols; c++) {
    ml_csv_column *col = &t->cols[c];
    lua_createtable(L, 0, 5);
    lua_pushstring(L, col->name); lua_setfield(L, -2, "name");
    lua_pushinteger(L, col->nmissing); lua_setfield(L, -2, "nmissing");
    ml_tensor v;
    int64_t n = t->nrows;
    if (col->is_string) {
      MLB_CHECK(L, ml_tensor_new(ctx, &v, ML_I64, 1, &n, false));
      int64_t *d = ml_i64(&v);
      for (int64_t r = 0; r < n; r++) d[r] = col->codes[r];
      mlb_pushtensor(L, &v); lua_setfield(L, -2, "codes");
      lua_createtable(L, (int)col->ncats, 0);
      for (int64_t k = 0; k < col->ncats; k++) {
        lua_pushstring(L, col->cats[k]); lua_rawseti(L, -2, (lua_Integer)k + 1);
      }
      lua_setfield(L, -2, "categories");
      lua_pushliteral(L, "string");
    } else {
      MLB_CHECK(L, ml_tensor_new(ctx, &v, ML_F32, 1, &n, false));
      float *d = ml_f32(&v);
      for (int64_t r = 0; r < n; r++) d[r] = (float)col->num[r];
      mlb_pushtensor(L, &v); lua_setfield(L, -2, "values");
      lua_pushliteral(L, "number");
    }
    lua_setfield(L, -2, "kind");
    lua_rawseti(L, -2, c + 1);
  }
  lua_setfield(L, -2, "columns");
  return 1;
}

static const char *const csv_opts[] = {"sep", "header", "na_values", "keep_default_na",
                                       "dtype", "max_field", NULL};

static int read_common(lua_State *L, int from_file) {
  const char *src = luaL_checkstring(L, 1);
  size_t len = 0;
  if (!from_file) src = lua_tolstring(L, 1, &len);
  mlb_opts_check(L, 2, "read_csv", csv_opts);
  ml_csv_opts o;
  ml_csv_opts_init(&o);
  const char *sep = mlb_opt_string(L, 2, "read_csv", "sep", NULL);
  if (sep) {
    if (!strcmp(sep, "\\t")) sep = "\t";
    if (strlen(sep) != 1)
      luaL_error(L, "read_csv: option 'sep' expected one character, got \"%s\"", sep);
    o.sep = sep[0];
  }
  o.header = mlb_opt_boolean(L, 2, "read_csv", "header", 1);
  o.keep_default_na = mlb_opt_boolean(L, 2, "read_csv", "keep_default_na", 1);
  int64_t mf = mlb_opt_integer(L, 2, "read_csv", "max_field", 0);
  if (mf < 0) luaL_error(L, "read_csv: option 'max_field' must be positive");
  o.max_field = (size_t)mf;
  o.na_values = string_list(L, 2, "na_values", &o.n_na);
  dtype_lists(L, 2, &o);
  ml_csv_table *t = (ml_csv_table *)lua_newuserdatauv(L, sizeof(ml_csv_table), 0);
  memset(t, 0, sizeof *t);
  if (luaL_newmetatable(L, CSV_BOX)) {
    lua_pushcfunction(L, box_gc); lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  ml_ctx *ctx = mlb_ctx(L);
  int rc = from_file ? ml_csv_read_file(ctx, t, src, &o)
                     : ml_csv_read_buffer(ctx, t, src, len, "<string>", &o);
  if (rc != ML_OK) mlb_fail(L);
  push_table(L, t);
  ml_csv_free(t);
  return 1;
}

static int l_csv_read(lua_State *L) { return read_common(L, 1); }
static int l_csv_parse(lua_State *L) { return read_common(L, 0); }

/* frame_onehot(codes, k) -> N x k float32 one-hot matrix. */
static int l_frame_onehot(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_frame_onehot(mlb_ctx(L), &out, mlb_checktensor(L, 1), luaL_checkinteger(L, 2)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* frame_columns({col1, col2, ...}) -> N x n float32 matrix. */
static int l_frame_columns(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1);
  ml_tensor *cols = lua_newuserdatauv(L, sizeof(ml_tensor) * (size_t)(n ? n : 1), 0);
  for (int j = 0; j < n; j++) {
    lua_rawgeti(L, 1, j + 1);
    ml_tensor *t = mlb_totensor(L, -1);
    if (!t) return luaL_error(L, "frame_columns: entry %d is a %s, expected ml.Tensor", j + 1,
                              luaL_typename(L, -1));
    cols[j] = *t;   /* borrowed: the list keeps it alive */
    lua_pop(L, 1);
  }
  ml_tensor out;
  MLB_CHECK(L, ml_frame_columns(mlb_ctx(L), &out, cols, n));
  mlb_pushtensor(L, &out);
  return 1;
}

/* frame_take(t, idx) -> rows idx (1-based int64 or float32 positions) of t. */
static int l_frame_take(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_frame_take(mlb_ctx(L), &out, mlb_checktensor(L, 1), mlb_checktensor(L, 2), 1));
  mlb_pushtensor(L, &out);
  return 1;
}

/* Reads a Lua list of numbers into a double array kept alive as a userdata
 * on the stack. */
static double *number_list(lua_State *L, int idx, int64_t *n, const char *who, const char *what) {
  ml_tensor *t = mlb_totensor(L, idx);
  if (t) {                         /* a tensor: its values, any dtype or stride */
    ml_tensor c;
    MLB_CHECK(L, ml_contiguous(mlb_ctx(L), &c, t));
    *n = ml_numel(&c);
    double *v = lua_newuserdatauv(L, sizeof(double) * (size_t)(*n ? *n : 1), 0);
    for (int64_t i = 0; i < *n; i++)
      v[i] = ml_get(&c, c.offset + i);
    ml_tensor_release(&c);
    return v;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  *n = (int64_t)lua_rawlen(L, idx);
  double *v = lua_newuserdatauv(L, sizeof(double) * (size_t)(*n ? *n : 1), 0);
  for (int64_t i = 0; i < *n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    int ok;
    v[i] = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s: %s entry %d is a %s, expected a number", who, what, (int)i + 1,
                        luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  return v;
}

static void push_list(lua_State *L, const double *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) { lua_pushnumber(L, v[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
}

/* clf_curve(truth, score) -> fps, tps, thresholds (Lua lists, decreasing
 * scores; truth and score are Lua lists or tensors): the counts behind roc_curve and roc_auc_score. */
static int l_clf_curve(lua_State *L) {
  int64_t n, n2;
  double *truth = number_list(L, 1, &n, "roc_curve", "y_true");
  double *score = number_list(L, 2, &n2, "roc_curve", "y_score");
  if (n != n2) return luaL_error(L, "roc_curve: %d labels but %d scores", (int)n, (int)n2);
  double *buf = lua_newuserdatauv(L, sizeof(double) * 3 * (size_t)(n ? n : 1), 0);
  int64_t m = 0;
  MLB_CHECK(L, ml_clf_curve(mlb_ctx(L), score, truth, n, buf, buf + n, buf + 2 * n, &m));
  push_list(L, buf, m);
  push_list(L, buf + n, m);
  push_list(L, buf + 2 * n, m);
  return 3;
}

/* frame_describe(t [, {q...}]) -> count, mean, std, min, quantiles..., max */
static int l_frame_describe(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  double q[16] = {0.25, 0.5, 0.75};
  int nq = 3;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    nq = (int)lua_rawlen(L, 2);
    if (nq > 16) return luaL_error(L, "describe: at most 16 quantiles");
    for (int j = 0; j < nq; j++) {
      lua_rawgeti(L, 2, j + 1);
      q[j] = luaL_checknumber(L, -1);
      lua_pop(L, 1);
    }
  }
  double out[21];
  MLB_CHECK(L, ml_describe(mlb_ctx(L), t, q, nq, out));
  for (int j = 0; j < 5 + nq; j++) lua_pushnumber(L, out[j]);
  return 5 + nq;
}

/* csv_format(columns, nrows, sep [, header]) -> CSV text. columns[j] is
 * {values = tensor, cats = {quoted strings} | nil}; header: quoted names. */
static int l_csv_format(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int64_t nrows = luaL_checkinteger(L, 2);
  size_t seplen;
  const char *sep = luaL_checklstring(L, 3, &seplen);
  if (seplen != 1) return luaL_error(L, "write_csv: sep must be one character");
  int n = (int)lua_rawlen(L, 1);
  ml_csv_wcol *cols = lua_newuserdatauv(L, sizeof(ml_csv_wcol) * (size_t)(n ? n : 1), 0);
  lua_newtable(L);                 /* holds the category arrays while we format */
  int holder = lua_gettop(L);
  for (int j = 0; j < n; j++) {
    lua_rawgeti(L, 1, j + 1);
    int c = lua_gettop(L);
    lua_getfield(L, c, "values");
    cols[j].values = mlb_checktensor(L, -1);   /* kept alive by the columns list */
    lua_pop(L, 1);
    cols[j].cats = NULL;
    cols[j].ncats = 0;
    if (lua_getfield(L, c, "cats") == LUA_TTABLE) {
      int k = (int)lua_rawlen(L, -1);
      const char **cats = lua_newuserdatauv(L, sizeof(char *) * (size_t)(k ? k : 1), 0);
      for (int i = 0; i < k; i++) {
        lua_rawgeti(L, -2, i + 1);
        cats[i] = luaL_checkstring(L, -1);   /* held by the cats table */
        lua_pop(L, 1);
      }
      cols[j].cats = cats;
      cols[j].ncats = k;
      lua_rawseti(L, holder, j + 1);
    }
    lua_pop(L, 2);
  }
  const char **header = NULL;
  if (lua_istable(L, 4)) {
    header = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n ? n : 1), 0);
    for (int j = 0; j < n; j++) {
      lua_rawgeti(L, 4, j + 1);
      header[j] = luaL_checkstring(L, -1);
      lua_pop(L, 1);
    }
  }
  char *text;
  size_t len;
  int rc = ml_csv_format(mlb_ctx(L), &text, &len, cols, n, nrows, sep[0], header);
  if (rc != ML_OK) return mlb_fail(L);
  if (ml_mem_room(mlb_ctx(L), len, "write_csv")) { ml_free(mlb_ctx(L), text); return mlb_fail(L); }
  lua_pushlstring(L, text, len);
  ml_free(mlb_ctx(L), text);
  return 1;
}

static const luaL_Reg functions[] = {
  {"csv_read", l_csv_read}, {"csv_parse", l_csv_parse}, {"frame_onehot", l_frame_onehot},
  {"frame_columns", l_frame_columns}, {"frame_take", l_frame_take},
  {"clf_curve", l_clf_curve}, {"csv_format", l_csv_format}, {"frame_describe", l_frame_describe}, {NULL, NULL}};

void mlb_open_data(lua_State *L) { mlb_register(L, functions); }
