-- Errors raised by the stdlib point at the caller's line (ml.errors.raise,
-- docs/contributing.md "Errors"), never at a line inside stdlib/ml: each case
-- below fails on its own line of this file, however deep in the stdlib the
-- check that refused it sits (a helper of a helper, a layer inside a model,
-- a C function wrapped by ml.io, a custom layer's build run by the model).
local ml = require "ml"
local nn = ml.nn

local THIS = "error_position_spec%.lua"

-- pcall(fn) must fail with "<this file>:<line fn is written on>: <text>".
local function check(fn, text)
  local line = debug.getinfo(fn, "S").linedefined
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_string(err)
  assert.matches("^[^\n]*" .. THIS .. ":" .. line .. ": ", err)
  assert.is_nil(err:find("stdlib/ml/", 1, true), "a stdlib position leaked: " .. err)
  assert.is_truthy(err:find(text, 1, true), err)
end

local function model()
  local m = nn.Sequential{nn.Input{2}, nn.Dense(3), nn.Dense(1)}
  return m
end

describe("errors point at the caller's line", function()
  it("argument checks of public functions", function()
    check(function() ml.DataFrame(5) end, "DataFrame: argument 1")
    check(function() ml.utils.to_categorical(ml.zeros(2, 2)) end, "to_categorical")
    check(function() ml.metrics.accuracy_score(ml.tensor{1, 2}, ml.tensor{1}) end, "accuracy_score")
    check(function() ml.json.decode("{") end, "json")
    check(function() ml.callbacks.EarlyStopping{mode = "sideways"} end, "mode must be")
    check(function() nn.Dense(0) end, "Dense")
  end)

  it("checks done by a shared helper (options, fitted state, X)", function()
    check(function() ml.LogisticRegression{foo = 1} end, "unknown option 'foo'")
    check(function() ml.KMeans{n_clusters = 2}:predict(ml.zeros(2, 2)) end, "not fitted")
    check(function() ml.StandardScaler():fit(ml.zeros(3)) end, "2-dimensional")
    check(function() ml.model_selection.train_test_split(ml.zeros(4, 2), {test_size = 7}) end,
      "test_size")
  end)

  it("errors from a method called through pcall or deep in the trainer", function()
    local m = model()
    -- fit called by pcall (a C frame) from this line: the error is raised again as it came
    check(function() local _, e = pcall(m.fit, m, ml.zeros(4, 2), ml.zeros(4, 1)); error(e, 0) end,
      "compile the model first")
    m:compile{loss = "mse"}
    check(function() m:predict(ml.zeros(4, 3)) end, "expected input with 2 features, got 3")
    check(function() m:fit(ml.zeros(4, 2), ml.zeros(5, 1), {verbose = 0}) end, "4 samples")
    check(function() m:fit(ml.zeros(4, 2), ml.zeros(4, 1), {validation_split = 2}) end,
      "validation_split")
  end)

  it("a layer's error wrapped by the model names the line once", function()
    local m = model()
    local ok, err = pcall(function() m:predict(ml.zeros(1, 5)) end)
    assert.is_false(ok)
    local _, count = err:gsub(THIS .. ":%d+: ", "")
    assert.equal(1, count, err)
  end)

  it("C errors wrapped by ml.io, and errors inside a user's build function", function()
    check(function() ml.load("/nonexistent/dir/model.mlm") end, "cannot open")
    local Bad = nn.Layer:extend("BadShape")
    function Bad:build() self.w = self:add_weight{shape = {0}} end   -- this line
    function Bad:call(x) return x end
    local line = debug.getinfo(1, "l").currentline - 2
    local ok, err = pcall(function() nn.Sequential{nn.Input{2}, Bad()} end)
    assert.is_false(ok)
    assert.matches(THIS .. ":" .. line .. ": ", err)
  end)

  it("the stdlib raises only through ml.errors.raise (error(e, 0) re-raises a caught error)", function()
    local files = io.popen("find stdlib -name '*.lua' | sort"):read("a")
    local bad = {}
    for path in files:gmatch("[^\n]+") do
      if not path:find("errors%.lua$") then
        local n = 0
        for line in io.lines(path) do
          n = n + 1
          local code = line:gsub("%-%-.*$", "")
          for call in code:gmatch("[^%w_.:]error%s*(%b())") do
            if not call:match("^%(%s*[%a_][%w_%[%]]*%s*,%s*0%s*%)$") then
              bad[#bad + 1] = path .. ":" .. n .. ": error" .. call
            end
          end
        end
      end
    end
    assert.same({}, bad, "use raise(msg) (docs/contributing.md, Errors):\n" .. table.concat(bad, "\n"))
  end)
end)
