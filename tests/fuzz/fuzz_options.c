/* Table-driven option parsing: the input, read as JSON, becomes the option
 * table (and first argument) of layers, optimizers and estimators. Only Lua
 * errors may come out; a crash or a hang is a finding. Fitting is kept tiny. */
#define TARGET_EXT ""
#define TARGET_CODE \
  "local json = require 'ml.json'\n" \
  "local X = ml.tensor{{0, 1}, {1, 0}, {1, 1}, {0, 0}, {2, 1}, {1, 2}}\n" \
  "local y = ml.tensor{0, 1, 1, 0, 1, 0}\n" \
  "local makers = {\n" \
  "  function(a, o) return ml.nn.Dense(a, o):build{2} end,\n" \
  "  function(a, o) return ml.nn.Conv2D(a, 3, o):build{5, 5, 1} end,\n" \
  "  function(a, o) return ml.nn.MaxPooling2D(a, o):build{4, 4, 2} end,\n" \
  "  function(a, o) return ml.nn.Dropout(a, o) end,\n" \
  "  function(a, o) return ml.optim.SGD(o) end,\n" \
  "  function(a, o) return ml.optim.Adam(o) end,\n" \
  "  function(a, o) return ml.LogisticRegression(o):fit(X, y) end,\n" \
  "  function(a, o) return ml.DecisionTreeClassifier(o):fit(X, y) end,\n" \
  "  function(a, o) return ml.KMeans(o):fit(X) end,\n" \
  "  function(a, o) return ml.KNeighborsClassifier(o):fit(X, y):predict(X) end,\n" \
  "  function(a, o) return ml.StandardScaler(o):fit_transform(X) end,\n" \
  "  function(a, o) return ml.PCA(o):fit_transform(X) end,\n" \
  "}\n" \
  "return function(s)\n" \
  "  local ok, v = pcall(json.decode, s)\n" \
  "  if not ok or type(v) ~= 'table' then return end\n" \
  "  local which = math.tointeger(v.which) or 1\n" \
  "  local f = makers[(which % #makers) + 1]\n" \
  "  local arg = v.arg\n" \
  "  if type(arg) == 'number' and (arg ~= arg or math.abs(arg) > 64) then arg = 64 end\n" \
  "  pcall(f, arg, v.opts)\n" \
  "end"
#include "fuzz_common.h"
