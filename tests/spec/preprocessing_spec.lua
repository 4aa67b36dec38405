-- ml.preprocessing: scalers against scikit-learn, encoders, Pipeline.
local ml = require "ml"
local core = require "ml.core"
local json = dofile("tests/spec/support/json.lua")
local tiny = dofile("tests/spec/support/tiny.lua")
local fx = json.load("tests/fixtures/tabular.json").scaler

local function assert_close(t, ref, tol)
  if getmetatable(t) == core.tensor.mt then t = t:totable() end
  for i = 1, #ref do
    if type(ref[i]) == "table" then assert_close(t[i], ref[i], tol)
    else
      assert.is_true(math.abs(t[i] - ref[i]) <= tol * math.max(1, math.abs(ref[i])),
        string.format("entry %d: %g vs %g", i, t[i], ref[i]))
    end
  end
end

describe("StandardScaler", function()
  local X = ml.tensor(fx.X)
  it("learns scikit-learn's mean_, var_ and scale_", function()
    local s = ml.StandardScaler():fit(X)
    assert_close(s.mean_, fx.mean, 1e-5)
    assert_close(s.var_, fx.var, 1e-4)
    assert_close(s.scale_, fx.scale, 1e-5)
    local Z = s:transform(X)
    assert_close(Z:mean(1), {0, 0, 0, 0, 0}, 1e-5)
    assert_close(Z:std(1) * math.sqrt((40 - 1) / 40), {1, 1, 1, 1, 1}, 1e-4)
    assert_close(s:inverse_transform(Z), fx.X, 1e-4)
  end)
  it("honours with_mean / with_std and scales a constant column by 1", function()
    local s = ml.StandardScaler{with_mean = false}:fit(X)
    assert.is_nil(s.mean_)
    assert_close(s:transform(X)[1], {fx.X[1][1] / fx.scale[1]}, 1e-5)
    local c = ml.StandardScaler():fit(ml.tensor{{1, 2}, {1, 4}})
    assert_close(c.scale_, {1, 1}, 0)
  end)
  it("checks its input", function()
    local s = ml.StandardScaler():fit(X)
    assert.has_error(function() s:transform(ml.zeros(2, 3)) end)
    assert.has_error(function() ml.StandardScaler():transform(X) end)
    assert.has_error(function() ml.StandardScaler{with_men = true} end)
  end)
end)

describe("MinMaxScaler", function()
  it("matches scikit-learn with feature_range = {-1, 2}", function()
    local X = ml.tensor(fx.X)
    local m = ml.MinMaxScaler{feature_range = {-1, 2}}:fit(X)
    assert_close(m.scale_, fx.minmax_scale, 1e-5)
    assert_close(m.min_, fx.minmax_min, 1e-4)
    assert_close(m:transform(X), fx.minmax_X, 1e-5)
    assert_close(m:inverse_transform(m:transform(X)), fx.X, 1e-4)
  end)
end)

describe("LabelEncoder", function()
  it("maps strings to 0..K-1 and back", function()
    local le = ml.LabelEncoder()
    local ids = le:fit_transform({"no", "yes", "maybe", "yes"})
    assert.same({"maybe", "no", "yes"}, le.classes_)
    assert.same({1, 2, 0, 2}, ids:totable())
    assert.same({"yes", "maybe"}, le:inverse_transform(ml.tensor{2, 0}))
    assert.has_error(function() le:transform({"never"}) end,
      'LabelEncoder:transform: y contains the unseen label "never"')
  end)
  it("maps numbers and DataFrame columns", function()
    local le = ml.LabelEncoder():fit(ml.tensor{10, -1, 10, 3})
    assert.same({-1, 3, 10}, le.classes_:totable())
    assert.same({2, 0}, le:transform(ml.tensor{10, -1}):totable())
    local df = ml.read_csv_string("y\nb\na\nb\n")
    assert.same({1, 0, 1}, ml.LabelEncoder():fit_transform(df["y"]):totable())
  end)
end)

describe("OneHotEncoder", function()
  it("encodes tensors with sorted categories and names", function()
    local X = ml.tensor{{1, 5}, {2, 5}, {1, 7}}
    local oh = ml.OneHotEncoder():fit(X)
    assert.same({{1, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 0, 1}}, oh:transform(X):totable())
    assert.same({"x0_1", "x0_2", "x1_5", "x1_7"}, oh:get_feature_names_out())
    assert.has_error(function() oh:transform(ml.tensor{{3, 5}}) end)
    local ig = ml.OneHotEncoder{handle_unknown = "ignore"}:fit(X)
    assert.same({{0, 0, 1, 0}}, ig:transform(ml.tensor{{3, 5}}):totable())
    local d = ml.OneHotEncoder{drop = "first"}:fit(X)
    assert.same({{0, 0}, {1, 0}, {0, 1}}, d:transform(X):totable())
  end)
  it("encodes string columns of a DataFrame", function()
    local df = ml.read_csv_string("c,n\nred,1\nblue,2\nred,1\n")
    local oh = ml.OneHotEncoder():fit(df)
    assert.same({"c_blue", "c_red", "n_1", "n_2"}, oh:get_feature_names_out())
    assert.same({0, 1, 1, 0}, oh:transform(df)[1]:totable())
  end)
end)

describe("Pipeline", function()
  local X = ml.tensor{{0, 0}, {0, 1}, {10, 10}, {10, 11}, {0, 2}, {10, 12}}
  local y = ml.tensor{0, 0, 1, 1, 0, 1}
  it("fits transformers then the final estimator", function()
    local p = ml.Pipeline{{"scale", ml.StandardScaler()}, {"clf", tiny.NearestCentroid()}}
    assert.equal(p, p:fit(X, y))
    assert.same(y:totable(), p:predict(X):totable())
    assert.equal(1, p:score(X, y))
    assert.same({6, 2}, p:predict_proba(X).shape)
    assert.is_not_nil(p.named_steps.scale.mean_)
    assert.same({0, 1}, p.classes_:totable())
  end)
  it("exposes step__param names through get_params / set_params and clones deeply", function()
    local p = ml.Pipeline{{"scale", ml.StandardScaler()}, {"clf", tiny.NearestCentroid()}}
    assert.equal(true, p:get_params().scale__with_mean)
    p:set_params{clf__shrink = 0.5}
    assert.equal(0.5, p.named_steps.clf.shrink)
    local c = ml.clone(p)
    assert.are_not.equal(p.named_steps.clf, c.named_steps.clf)
    assert.equal(0.5, c.named_steps.clf.shrink)
    assert.has_error(function() p:set_params{nope__x = 1} end)
  end)
  it("saves and rebuilds through state()", function()
    local p = ml.Pipeline{{"scale", ml.StandardScaler()}, {"mm", ml.MinMaxScaler()}}:fit(X)
    local q = ml.Pipeline.from_state(ml.Pipeline, p:state())
    assert.same(p:transform(X):totable(), q:transform(X):totable())
  end)
end)
