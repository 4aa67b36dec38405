-- issue 10 item 5: DataFrames and Series go straight into every estimator,
-- transformer, metric, split and search, as scikit-learn takes pandas
-- (one conversion: ml.tensor, used by ml.base's X/y checks).
local ml = require "ml"

local X, y = ml.datasets.load_iris()
local names = {"setosa", "versicolor", "virginica"}
local species = {}
for i = 1, 150 do species[i] = names[y[i] + 1] end
local df = ml.DataFrame({a = X[{{}, 1}], b = X[{{}, 2}], c = X[{{}, 3}], d = X[{{}, 4}], y = y,
  species = species}, {columns = {"a", "b", "c", "d", "y", "species"}})
local Xd = df:drop{"y", "species"}

describe("DataFrame and Series inputs", function()
  it("fit classifiers: df:drop{'y'}, df['y'] as sklearn's habit", function()
    local m = ml.LogisticRegression{max_iter = 500}:fit(Xd, df["y"])
    assert.is_true(m:score(Xd, df.y) > 0.95)
    for _, est in ipairs{ml.DecisionTreeClassifier(), ml.RandomForestClassifier{n_estimators = 5},
        ml.KNeighborsClassifier(), ml.SVC(), ml.GaussianNB(),
        ml.GradientBoostingClassifier{n_estimators = 5}} do
      est:fit(Xd, df.y)
      assert.is_true(ml.metrics.accuracy_score(df.y, est:predict(Xd)) > 0.9, est.__name)
    end
  end)
  it("keep string labels of a Series in classes_ and predictions", function()
    local m = ml.LogisticRegression{max_iter = 500}:fit(Xd, df.species)
    assert.same(names, m.classes_)
    assert.equal("setosa", m:predict(Xd)[1])
    assert.is_true(m:score(Xd, df.species) > 0.95)
    local t = ml.DecisionTreeClassifier():fit(Xd, df["species"])
    assert.equal("virginica", t:predict(Xd)[150])
  end)
  it("fit regressors, clusterers and transformers", function()
    local feats = df:select{"a", "b"}
    assert.is_true(ml.LinearRegression():fit(feats, df.c):score(feats, df.c) > 0.7)
    assert.equal(150, ml.KNeighborsRegressor():fit(feats, df.c):predict(feats).shape[1])
    assert.same({150, 2}, ml.PCA{n_components = 2}:fit_transform(Xd).shape)
    assert.same({150, 4}, ml.StandardScaler():fit_transform(Xd).shape)
    assert.equal(3, ml.KMeans{n_clusters = 3, random_state = 0}:fit(Xd).cluster_centers_.shape[1])
    local sel = ml.SelectKBest{k = 2}:fit_transform(Xd, df.y)   -- a DataFrame of the kept columns
    assert.same({150, 2}, {sel:shape()})
    assert.same({"c", "d"}, sel.columns)
    local p = ml.Pipeline{{"s", ml.StandardScaler()}, {"c", ml.LogisticRegression()}}
    assert.is_true(p:fit(Xd, df.y):score(Xd, df.y) > 0.9)
  end)
  it("split and search", function()
    local a, b, c, d = ml.train_test_split(Xd, df.y, {test_size = 0.2, random_state = 1,
      stratify = df.y})
    assert.equal("DataFrame", getmetatable(a).__name)
    assert.equal(120, #a); assert.equal(30, #b)
    assert.equal(120, #c); assert.equal(30, #d)
    local scores = ml.cross_val_score(ml.LogisticRegression{max_iter = 500}, Xd, df.y, {cv = 3})
    assert.equal(3, #scores)
    local g = ml.GridSearchCV(ml.KNeighborsClassifier(), {n_neighbors = {1, 5}}, {cv = 3}):fit(Xd, df.y)
    assert.is_true(g.best_score_ > 0.9)
  end)
  it("go into metrics", function()
    assert.equal(1, ml.metrics.accuracy_score(df.species, df.species))
    assert.is_true(ml.metrics.mean_squared_error(df.a, df.b) > 0)
  end)
  it("a string column as features is an error that says what to do", function()
    local ok, err = pcall(function() ml.LinearRegression():fit(df:select{"a", "species"}, df.c) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("species", 1, true), tostring(err))
    ok, err = pcall(function() ml.LinearRegression():fit(df:select{"a"}, df.species) end)
    assert.truthy(tostring(err):find("column 'species' holds strings; encode it first", 1, true))
  end)
end)
