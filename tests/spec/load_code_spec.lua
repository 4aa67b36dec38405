-- Loading a model file never runs code: every class a file names is looked up
-- in ml.registry (the classes mlrun ships, plus those the program registered);
-- no name read from a file ever reaches require, load, dofile or loadstring.
-- Each crafted file below names a module that WOULD write a marker file if
-- it were ever run, reachable through a poisoned package.path / cpath and
-- through the current directory of a fresh process.
local ml = require "ml"
local mio = require "ml.io"
local core = require "ml.core"
local nn = ml.nn

local MLRUN = os.getenv("MLRUN") or "build/mlrun"
local tmp = os.tmpname()
os.remove(tmp)
local dir = tmp .. "_code"
local marker = dir .. "/MARKER"
os.execute("mkdir -p " .. dir .. "/ml/nn " .. dir .. "/x")

local function writef(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end
local function exists(p) local f = io.open(p, "rb"); if f then f:close() end; return f ~= nil end
local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

-- Lua modules that leave a marker (and a table that looks like a class).
local evil_src = string.format([[
local f = io.open(%q, "ab"); f:write((...) or "?", "\n"); f:close()
local C = {}; C.__index = C
C.from_state = function() return setmetatable({}, C) end
C.from_config = C.from_state
local mod = setmetatable({}, {__index = function() return C end})
return mod
]], marker)
local lua_names = {"evil", "ml/evil", "os2", "x/y", "ml/svm", "ml/linear_model", "ml/nn/layers",
  "ml/optim", "ml/nn/model", "ml/preprocessing", "ml/registry", "ml/io"}
for _, n in ipairs(lua_names) do writef(dir .. "/" .. n .. ".lua", evil_src) end

-- A C module that leaves a marker when loaded (built when a C compiler is here).
local have_cc = os.execute("command -v cc > /dev/null 2>&1")
if have_cc then
  writef(dir .. "/evil_c.c", string.format([[
#include <stdio.h>
__attribute__((constructor)) static void boom(void) {
  FILE *f = fopen("%s", "ab"); if (f) { fputs("C\n", f); fclose(f); } }
int luaopen_evil_c(void *L) { (void)L; return 0; }
int luaopen_ml_evil(void *L) { (void)L; return 0; }
]], marker))
  have_cc = os.execute(string.format("cc -shared -fPIC -o %s/evil_c.so %s/evil_c.c && "
    .. "cp %s/evil_c.so %s/ml/evil.so && cp %s/evil_c.so %s/ml/core.so", dir, dir, dir, dir,
    dir, dir))
end

local saved_path, saved_cpath = package.path, package.cpath
local function poison()
  package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. package.path
  package.cpath = dir .. "/?.so;" .. package.cpath
end
local function unpoison() package.path, package.cpath = saved_path, saved_cpath end

-- Module names a file may try: the standard library, a plain and an ml.*
-- name on the poisoned path, path tricks, C modules, mlrun's own C core.
local bad_modules = {"os", "io", "debug", "package", "string", "_G", "evil", "ml.evil",
  "../x", "../../evil", "x/y", "x.y", "/tmp/evil", "evil_c", "ml.core", "ml", "ml.io",
  "ml.registry", "ml.base", "ml.svm.", "ML.svm", " ml.svm", "ml.svm\0evil", ""}
-- class names: ordinary, and names only a module table of the attacker has
local bad_classes = {"X", "SVC", "execute", "Dense", "Adam"}

local function model()
  ml.seed(3)
  local m = nn.Sequential{nn.Input{2}, nn.Dense(3), nn.Dense(1)}
  m:compile{optimizer = "adam", loss = "mse"}
  m:fit(ml.randn(8, 2), ml.randn(8, 1), {epochs = 1, verbose = 0})
  return m
end

local function raw_of(obj) return core.io.deserialize(mio.serialize(obj)) end

describe("ml.load never runs code named by a file", function()
  before_each(function() os.remove(marker); poison() end)
  after_each(function()
    unpoison()
    assert.is_false(exists(marker), "a module named by the file was run")
  end)

  it("the poison is live: require of those names does run them", function()
    -- proves the fixtures would catch a require: run one and clean up
    local ok = pcall(require, "ml.evil")
    assert.is_true(ok)
    assert.is_true(exists(marker))
    package.loaded["ml.evil"] = nil
    os.remove(marker)
    if have_cc then
      pcall(require, "evil_c")
      assert.is_true(exists(marker))
      os.remove(marker)
    end
  end)

  it("refuses a top-level object of any module/class it does not ship", function()
    local n = 0
    for _, m in ipairs(bad_modules) do
      for _, c in ipairs(bad_classes) do
        local s = core.io.serialize({__class = c, __module = m, state = {}})
        local e = errmsg(mio.deserialize, s)
        assert.matches("refusing to load class", e, 1, true)
        assert.truthy(e:find(string.format("%q", c), 1, true), e)
        n = n + 1
      end
    end
    assert.equal(#bad_modules * #bad_classes, n)
  end)

  it("refuses a shipped class name under another module, and the reverse", function()
    for _, pair in ipairs{{"SVC", "ml.linear_model"}, {"Dense", "ml.svm"},
        {"LogisticRegression", "ml.evil"}, {"Sequential", "ml.nn.layers"}} do
      local e = errmsg(mio.deserialize,
        core.io.serialize({__class = pair[1], __module = pair[2], state = {}}))
      assert.matches("refusing to load class \"" .. pair[1] .. "\" from module \""
        .. pair[2]:gsub("%.", "%%."), e)
    end
  end)

  it("refuses objects nested anywhere in a table", function()
    local s = core.io.serialize({a = {b = {1, 2, {__class = "X", __module = "evil", state = {}}}}})
    local path = dir .. "/nested.mlt"
    writef(path, s)
    assert.matches("refusing to load class \"X\" from module \"evil\"", errmsg(ml.load, path))
  end)

  it("refuses a model layer naming another module or a non-layer class", function()
    for _, m in ipairs(bad_modules) do
      local t = raw_of(model())
      t.state.layers[2].module = m
      local e = errmsg(mio.deserialize, core.io.serialize(t))
      assert.matches("layer 2: refusing to load class \"Dense\"", e)
    end
    local t = raw_of(model())
    t.state.layers[1].module, t.state.layers[1].class = "ml.linear_model", "LogisticRegression"
    assert.matches("it is a object, expected a layer",
      errmsg(mio.deserialize, core.io.serialize(t)))
    t = raw_of(model())
    t.state.layers[1].module, t.state.layers[1].class = "ml.optim", "Adam"
    assert.matches("expected a layer", errmsg(mio.deserialize, core.io.serialize(t)))
  end)

  it("refuses an optimizer naming another module or a non-optimizer class", function()
    for _, m in ipairs(bad_modules) do
      local t = raw_of(model())
      t.state.compile.optimizer.module = m
      local e = errmsg(mio.deserialize, core.io.serialize(t))
      assert.matches("optimizer: refusing to load class \"Adam\"", e)
    end
    local t = raw_of(model())
    t.state.compile.optimizer.module, t.state.compile.optimizer.class = "ml.nn.layers", "Dense"
    assert.matches("expected a optimizer", errmsg(mio.deserialize, core.io.serialize(t)))
  end)

  it("refuses a Pipeline step naming another module", function()
    local X = ml.randn(20, 2)
    local y = ml.tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, "int64")
    local p = ml.preprocessing.Pipeline{{"scale", ml.StandardScaler()},
      {"clf", ml.LogisticRegression()}}
    p:fit(X, y)
    for _, m in ipairs{"evil", "ml.evil", "os", "../x"} do
      local t = raw_of(p)
      t.state.steps[2][2].__module = m
      assert.matches("refusing to load class \"LogisticRegression\"",
        errmsg(mio.deserialize, core.io.serialize(t)))
    end
  end)

  it("refuses a fit{resume =} checkpoint naming another module", function()
    local m = model()
    local ck = dir .. "/ck.mlm"
    ml.save(ck, m:training_state(1, {}))
    local t = core.io.deserialize(io.open(ck, "rb"):read("a"))
    t.model.state.compile.optimizer.module = "ml.evil"
    writef(ck, core.io.serialize(t))
    local X, y = ml.randn(8, 2), ml.randn(8, 1)
    assert.matches("refusing to load class \"Adam\" from module \"ml%.evil\"",
      errmsg(m.fit, m, X, y, {epochs = 2, verbose = 0, resume = ck}))
    t.model.state.compile.optimizer.module = "ml.optim"
    t.model.__module = "evil"
    writef(ck, core.io.serialize(t))
    assert.matches("refusing to load class \"Sequential\" from module \"evil\"",
      errmsg(m.fit, m, X, y, {epochs = 2, verbose = 0, resume = ck}))
  end)

  it("loads real classes with the poisoned path without running the poison", function()
    -- ml/svm.lua, ml/linear_model.lua, ml/nn/layers.lua ... sit first on the path
    local X = ml.randn(30, 2)
    local y = ml.tensor((X:select(2, 1):gt(0)):totable(), "int64")
    for _, est in ipairs{ml.SVC(), ml.LogisticRegression(), model()} do
      if est.fit and est._estimator_type then est:fit(X, y) end
      local back = mio.deserialize(mio.serialize(est))
      assert.equal(est.__name, back.__name)
      assert.equal(est._module, back._module)
    end
  end)

  it("in a fresh process started inside the poisoned directory", function()
    local path = dir .. "/fresh.mlm"
    local m = model()
    local t = raw_of(m)
    t.state.layers[1].module = "ml.evil"
    writef(path, core.io.serialize(t))
    local good = dir .. "/good.mlm"
    m:save(good)
    local abs = MLRUN:sub(1, 1) == "/" and MLRUN or (os.getenv("PWD") .. "/" .. MLRUN)
    local script = string.format([[
      package.cpath = "./?.so;" .. package.cpath
      local ok, e = pcall(ml.load, %q)
      assert(not ok and e:find("refusing to load class", 1, true), tostring(e))
      local m = ml.load(%q)
      assert(m.layers[1].__name == "Dense")
      print("clean")]], path, good)
    local h = io.popen(string.format("cd %s && %s -e '%s' 2>&1", dir, abs,
      script:gsub("'", "'\\''")))
    local out = h:read("a"); h:close()
    assert.matches("clean", out)
  end)
end)

describe("ml.io.register: the program's own classes", function()
  local base = require "ml.base"
  it("loads a registered class and refuses it once unregistered", function()
    local C = base.estimator("MyEst", "myapp.models", {{"k", 1, "number"}}, "regressor")
    local e0 = errmsg(ml.save, dir .. "/my.mlm", C{k = 2})
    assert.matches("not one mlrun ships nor registered", e0)
    mio.register(C)
    ml.save(dir .. "/my.mlm", C{k = 2})
    local back = ml.load(dir .. "/my.mlm")
    assert.equal(C, getmetatable(back))
    assert.equal(2, back.k)
    mio.unregister(C)
    assert.matches("refusing to load class \"MyEst\" from module \"myapp%.models\"",
      errmsg(ml.load, dir .. "/my.mlm"))
  end)
  it("refuses to register over a shipped class or a different class of the same name", function()
    local Fake = base.estimator("SVC", "ml.svm", {}, "classifier")
    assert.matches("is a class mlrun ships", errmsg(mio.register, Fake))
    local A = base.estimator("Twin", "myapp", {}, "regressor")
    local B = base.estimator("Twin", "myapp", {}, "regressor")
    mio.register(A)
    mio.register(A)   -- again: fine
    assert.matches("another class is already registered", errmsg(mio.register, B))
    mio.unregister(A)
    assert.matches("needs state%(%) and from_state", errmsg(mio.register, base.class("Bare")))
    assert.matches("expected a class table", errmsg(mio.register, "SVC"))
    assert.matches("kind must be", errmsg(mio.register, A, "module"))
  end)
  it("registers a custom layer as a layer, usable inside a saved model", function()
    local layers = require "ml.nn.layers"
    local Scale = base.class("Scale", layers.Layer)
    Scale._module = "myapp.layers"
    Scale.__call = layers.Layer.__call
    function Scale:init(cfg)
      cfg = cfg or {}
      self.name = cfg.name or "scale"; self.trainable = true; self.built = false
      self.factor = cfg.factor or 2
    end
    function Scale:build(s) self.built = true; self.built_input_shape = s end
    function Scale:output_shape(s) return s end
    function Scale:forward(x) return x * self.factor end
    function Scale:backward(g) return g * self.factor end
    function Scale:parameters() return {} end
    function Scale:gradients() return {} end
    function Scale:get_weights() return {} end
    function Scale:set_weights() end
    function Scale:get_config() return {name = self.name, factor = self.factor} end
    function Scale.from_config(cls, c) return cls(c) end
    mio.register(Scale)
    local m = nn.Sequential{nn.Input{2}, nn.Dense(2), Scale{factor = 3}}
    local x = ml.randn(4, 2)
    local saved = mio.serialize(m)
    local back = mio.deserialize(saved)
    assert.equal(Scale, getmetatable(back.layers[2]))
    assert.same(m:predict(x):totable(), back:predict(x):totable())
    mio.unregister(Scale)
    assert.matches("layer 2: refusing to load class \"Scale\" from module \"myapp%.layers\"",
      errmsg(mio.deserialize, saved))
  end)
end)

describe("the registry", function()
  it("lists every class with state()/from_state() that the stdlib exports, and only those", function()
    local reg = require "ml.registry"
    local listed = {}
    for _, e in ipairs(reg.list()) do
      if e.shipped then listed[e.module .. ":" .. e.name] = e end
    end
    local mods = {}
    local h = io.popen("cd stdlib && find ml -name '*.lua' | sort")
    for line in h:lines() do
      mods[#mods + 1] = (line:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", "."))
    end
    h:close()
    local found = {}
    local abstract = {Estimator = true, Layer = true, Optimizer = true, Model_base = true}
    for _, m in ipairs(mods) do
      local ok, t = pcall(require, m)
      if ok and type(t) == "table" then
        for k, v in pairs(t) do
          if type(v) == "table" and rawget(v, "__index") == v and type(v.from_state) == "function"
              and not abstract[k] then
            local key = v._module .. ":" .. rawget(v, "__name")
            found[key] = true
            assert.truthy(listed[key], key .. " can be saved but is not in ml.registry")
          end
        end
      end
    end
    for key in pairs(listed) do assert.truthy(found[key], key .. " is listed but not shipped") end
  end)
end)
