-- issue 10 item 2: every function that takes an options table rejects
-- unknown keys; ml.image.affine takes {rotate, scale, shear, ...}; zoom,
-- shear and Keras ImageDataGenerator's names in the augmentation.
local ml = require "ml"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

describe("unknown options", function()
  local X = ml.rand(20, 3)
  local y = ml.tensor{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}
  local img = ml.rand(8, 8, 3)
  local df = ml.DataFrame{a = {1, 2, 3}}
  local B = {bogus_opt = 1}
  local nn = ml.nn
  local calls = {
    {"image.save", function() ml.image.save(dir .. "/a.png", img, B) end},
    {"image.rotate", function() ml.image.rotate(img, 10, B) end},
    {"image.shift", function() ml.image.shift(img, 1, 1, B) end},
    {"image.zoom", function() ml.image.zoom(img, 1.1, B) end},
    {"image.shear", function() ml.image.shear(img, 5, B) end},
    {"image.affine", function() ml.image.affine(img, {rotate = 1, bogus_opt = 1}) end},
    {"image.affine positional", function() ml.image.affine(img, 1, 1, 1, B) end},
    {"image.convolve", function() ml.image.convolve(img, {{1}}, B) end},
    {"image.add_noise", function() ml.image.add_noise(img, 0.1, B) end},
    {"image.rgb2gray", function() ml.image.rgb2gray(img, B) end},
    {"image.load_folder", function() ml.image.load_folder(dir, B) end},
    {"save", function() ml.save(dir .. "/x.mlt", X, B) end},
    {"read_idx", function() ml.read_idx(dir .. "/x", B) end},
    {"json.encode", function() ml.json.encode({1}, B) end},
    {"json.decode", function() ml.json.decode("[1]", B) end},
    {"DataFrame", function() ml.DataFrame({a = {1}}, B) end},
    {"read_csv", function() ml.read_csv_string("a\n1\n", B) end},
    {"write_csv", function() df:write_csv(dir .. "/d.csv", B) end},
    {"dropna", function() df:dropna(B) end},
    {"sort_values", function() df:sort_values("a", B) end},
    {"savetxt", function() ml.savetxt(dir .. "/t.csv", X, B) end},
    {"sort", function() X:sort(1, B) end},
    {"unique", function() X:unique(B) end},
    {"topk", function() X:topk(1, 2, B) end},
    {"argmax", function() X:argmax(2, B) end},
    {"std", function() X:std(B) end},
    {"accuracy_score", function() ml.metrics.accuracy_score(y, y, B) end},
    {"roc_auc_score", function() ml.metrics.roc_auc_score(y, y, B) end},
    {"KFold", function() ml.KFold(B) end},
    {"train_test_split", function() ml.train_test_split(X, y, B) end},
    {"GridSearchCV", function() ml.GridSearchCV(ml.LogisticRegression(), {C = {1}}, B) end},
    {"KMeans:fit", function() ml.KMeans{n_clusters = 2}:fit(X, nil, B) end},
    {"Pipeline", function() ml.Pipeline({{"s", ml.StandardScaler()}}, B) end},
    {"Adam", function() ml.optim.Adam(B) end},
    {"plot.history", function() ml.plot.history({loss = {1, 2}}, dir .. "/h.svg", B) end},
    {"plot.line", function() ml.plot.line{x = {1, 2}, y = {1, 2}, path = dir .. "/l.svg", bogus_opt = 1} end},
    {"mnist", function() ml.datasets.mnist(nil, B) end},
    {"DataLoader", function() ml.data.DataLoader(ml.rand(4, 4, 4, 1), {augment = B}) end},
    {"Dense", function() nn.Dense(3, B) end},
    {"model:save", function() nn.Sequential{nn.Input{2}, nn.Dense(1)}:save(dir .. "/m.mlm", B) end},
    {"EarlyStopping", function() ml.callbacks.EarlyStopping(B) end},
    {"sweep", function() ml.sweep(B) end},
  }
  for _, c in ipairs(calls) do
    it(c[1] .. " names the unknown option", function()
      local ok, err = pcall(c[2])
      assert.is_false(ok)
      assert.truthy(tostring(err):find("unknown option 'bogus_opt'", 1, true), tostring(err))
    end)
  end
  it("functions without options say so", function()
    assert.has_error(function() ml.json.decode("[1]", {strict = true}) end,
      "json.decode: unknown option 'strict' (json.decode takes no options)")
  end)
end)

describe("ml.image.affine with options", function()
  local x = ml.zeros(9, 9)
  x[5][5] = 1
  it("scales about the centre (scale > 1 enlarges)", function()
    local z = ml.image.affine(x, {scale = 2})
    assert.same({{0.25, 0.5, 0.25}, {0.5, 1, 0.5}, {0.25, 0.5, 0.25}}, z[{{4, 6}, {4, 6}}]:totable())
    assert.equal(0, z[1][1])
  end)
  it("changes the image for rotate/scale/shear together", function()
    local img = ml.rand(12, 12)
    local out = ml.image.affine(img, {rotate = 10, scale = 1.2, shear = 0.2})
    assert.is_true((out - img):abs():sum() > 1)
    local same = ml.image.affine(img, {})
    assert.is_true((same - img):abs():max() < 1e-6)
  end)
  it("shears as Keras (degrees): rows shift in proportion to their height", function()
    local line = ml.zeros(9, 9)
    for i = 1, 9 do line[i][5] = 1 end       -- a vertical line
    local s = ml.image.affine(line, {shear = 45, fill_mode = "constant"})
    -- the top row moves one way and the bottom row the other
    local _, top = s[2]:max(1)
    local _, bottom = s[8]:max(1)
    assert.is_true(top ~= bottom)
  end)
  it("fills by fill_mode", function()
    local img = ml.tensor{{1, 2}, {3, 4}}
    assert.same({{0, 1}, {0, 3}}, ml.image.affine(img, {dx = 1}):totable())
    assert.same({{1, 1}, {3, 3}}, ml.image.affine(img, {dx = 1, fill_mode = "nearest"}):totable())
    assert.same({{2, 1}, {4, 3}}, ml.image.affine(img, {dx = 1, fill_mode = "wrap"}):totable())
    assert.same({{1, 1}, {3, 3}}, ml.image.affine(img, {dx = 1, fill_mode = "reflect"}):totable())
    assert.same({{7, 1}, {7, 3}}, ml.image.affine(img, {dx = 1, fill = 7}):totable())
  end)
  it("takes one value per image of a batch", function()
    local b = ml.zeros(2, 9, 9, 1)
    b[1][5][5][1] = 1; b[2][5][5][1] = 1
    local z = ml.image.affine(b, {scale = {1, 2}})
    assert.equal(0.5, z[2][5][4][1]); assert.equal(0, z[1][5][4][1])
  end)
  it("refuses bad values with clear errors", function()
    assert.has_error(function() ml.image.affine(x, {rotation = 10}) end,
      "image.affine: unknown option 'rotation' (expected one of: dx, dy, fill, fill_mode, rotate, " ..
      "scale, scale_x, scale_y, shear)")
    assert.has_error(function() ml.image.affine(x, {fill_mode = "mirror"}) end,
      "image.affine: fill_mode must be \"constant\", \"nearest\", \"reflect\" or \"wrap\", got \"mirror\"")
    assert.has_error(function() ml.image.affine(x, {scale = 0}) end)
    assert.has_error(function() ml.image.affine(x, {scale = 2, scale_x = 1}) end,
      "image.affine: give scale, or scale_x and scale_y, not both")
  end)
  it("zoom and shear have their own functions", function()
    assert.same(ml.image.affine(x, {scale = 2}):totable(), ml.image.zoom(x, 2):totable())
    assert.same(ml.image.affine(x, {shear = 20}):totable(), ml.image.shear(x, 20):totable())
  end)
end)

describe("augmentation with Keras ImageDataGenerator's names", function()
  local X = ml.rand(8, 10, 10, 1)
  it("applies rotation/shift/shear/zoom/flips and keeps the data in range", function()
    ml.seed(1)
    local dl = ml.data.DataLoader(X, {batch_size = 8, augment = {rotation_range = 20,
      width_shift_range = 0.1, height_shift_range = 2, shear_range = 10, zoom_range = 0.2,
      horizontal_flip = true, vertical_flip = true, fill_mode = "reflect"}})
    local xb = dl:get(1)
    assert.same({8, 10, 10, 1}, xb.shape)
    assert.is_true((xb - X):abs():sum() > 1)
    assert.is_true(xb:min() >= 0 and xb:max() <= 1)
  end)
  it("zoom alone changes the images; zoom = {lo, hi} works", function()
    ml.seed(2)
    local xb = ml.data.DataLoader(X, {batch_size = 8, augment = {zoom = {0.5, 0.6}}}):get(1)
    assert.is_true((xb - X):abs():sum() > 1)
  end)
  it("refuses synonyms given twice and bad ranges", function()
    assert.has_error(function() ml.data.DataLoader(X, {augment = {rotate = 5, rotation_range = 3}}) end,
      "DataLoader: augment options 'rotate' and 'rotation_range' mean the same; give one")
    assert.has_error(function() ml.data.DataLoader(X, {augment = {zoom_range = 1.5}}) end,
      "DataLoader: augment zoom must be in [0, 1), got 1.5")
    assert.has_error(function() ml.data.DataLoader(X, {augment = {fill_mode = "mirror"}}) end)
  end)
end)
