-- ml.plot: SVG structure (well-formed, expected elements and series),
-- rendering through rsvg-convert when it is installed, PNG image grids.
local ml = require "ml"
local P = ml.plot

local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir)
local function readf(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local have_rsvg = os.execute("command -v rsvg-convert >/dev/null 2>&1")

-- A loose XML check: tags balance and nest, attributes are quoted.
local function well_formed(s)
  local stack = {}
  assert.is_truthy(s:find("^<svg "), "starts with <svg")
  for close, name, attrs, selfclose in s:gmatch("<(/?)([%w:]+)([^>]*)(/?)>") do
    if close == "/" then
      assert.equal(table.remove(stack), name)
    else
      local stripped = attrs:gsub('%s[%w:%-]+="[^"]*"', "")
      assert.is_truthy(stripped:match("^%s*/?$"), "attributes of <" .. name .. "> are quoted: " .. attrs)
      if selfclose ~= "/" and attrs:sub(-1) ~= "/" then stack[#stack + 1] = name end
    end
  end
  assert.equal(0, #stack)
  assert.is_nil(s:gsub("<[^>]*>", ""):find("[<>]"), "no stray brackets in text")
end
local function count(s, pat) local n = 0; for _ in s:gmatch(pat) do n = n + 1 end; return n end
local function renders(p)
  if not have_rsvg then return true end
  return os.execute(string.format("rsvg-convert -o %s.png %s 2>/dev/null", p, p)) and
    readf(p .. ".png"):sub(2, 4) == "PNG"
end

local hist = {loss = {1.0, 0.7, 0.5, 0.45}, val_loss = {0.9, 0.72, 0.6, 0.61},
              accuracy = {0.6, 0.75, 0.82, 0.86}, val_accuracy = {0.62, 0.74, 0.8, 0.79}}

describe("ml.plot", function()
  it("history draws a panel per metric with train and validation series", function()
    local p = dir .. "/h.svg"
    P.history(hist, p, {title = "run <1> & co"})
    local s = readf(p)
    well_formed(s)
    assert.equal(4, count(s, '<polyline class="series"'))
    assert.equal(2, count(s, '<polyline[^>]*stroke%-dasharray="7 4"'))   -- validation dashed
    assert.equal(2, count(s, '<g class="legend">'))
    assert.is_truthy(s:find("run &lt;1&gt; &amp; co", 1, true))
    assert.is_truthy(s:find(">epoch<", 1, true))
    assert.is_true(renders(p))
    -- a Keras-like object and extra metrics
    P.history({history = {loss = {1, 0.5}, mae = {2, 1}}}, p)
    assert.equal(2, count(readf(p), '<polyline class="series"'))
    assert.has_error(function() P.history({}, p) end)
    assert.has_error(function() P.history(hist, p, {colour = 1}) end)
  end)
  it("history marks the best validation epoch", function()
    local p = dir .. "/hb.svg"
    P.history(hist, p)
    local s = readf(p)
    assert.equal(2, count(s, 'class="best"'))
    assert.is_truthy(s:find("best 0.600", 1, true))    -- lowest val_loss
    assert.is_truthy(s:find("best 0.800", 1, true))    -- highest val_accuracy
  end)
  it("history survives NaN and a single epoch", function()
    local p = dir .. "/h1.svg"
    P.history({loss = {0 / 0, 1, 0.5}, val_loss = {1}}, p)
    well_formed(readf(p))
    assert.is_nil(readf(p):find("nan", 1, true))
    assert.is_true(renders(p))
  end)
  it("confusion_matrix draws K x K cells with their numbers", function()
    local p = dir .. "/cm.svg"
    P.confusion_matrix(ml.tensor{{5, 1, 0}, {2, 7, 1}, {0, 0, 9}}, p, {labels = {"a", "b", "c"}})
    local s = readf(p)
    well_formed(s)
    assert.equal(9, count(s, 'class="cell"'))
    assert.is_truthy(s:find(">7<", 1, true)); assert.is_truthy(s:find(">b<", 1, true))
    assert.is_true(renders(p))
    P.confusion_matrix({{1, 0}, {0, 1}}, p, {normalize = true})
    assert.is_truthy(readf(p):find(">1.00<", 1, true))
    assert.has_error(function() P.confusion_matrix({{1, 2}, {3}}, p) end)
    assert.has_error(function() P.confusion_matrix({{1}}, p, {labels = {"a", "b"}}) end)
  end)
  it("boxplot draws one box per model with NumPy's quartiles", function()
    local p = dir .. "/b.svg"
    P.boxplot({LR = {0.9, 0.92, 0.95, 0.91}, KNN = ml.tensor{0.8, 0.85, 0.83, 0.5}, RF = {0.97, 0.96}}, p)
    local s = readf(p)
    well_formed(s)
    assert.equal(3, count(s, '<g class="box"'))
    assert.is_truthy(s:find('data%-name="KNN".-data%-name="LR".-data%-name="RF"'))   -- sorted
    local st = P.box_stats({1, 2, 3, 4, 100})
    assert.equal(2, st.q1); assert.equal(3, st.median); assert.equal(4, st.q3)
    assert.same({100}, st.fliers); assert.equal(4, st.whishi)
    assert.is_true(renders(p))
    P.boxplot({{"b", {1, 2}}, {"a", {2, 3}}}, p)
    assert.is_truthy(readf(p):find('data%-name="b".-data%-name="a"'))            -- order kept
    assert.has_error(function() P.boxplot({}, p) end)
    assert.has_error(function() P.boxplot({A = {"x"}}, p) end)
  end)
  it("line draws every series, from lists, tensors or series tables", function()
    local p = dir .. "/l.svg"
    local x = ml.linspace(0, 1, 20)
    P.line{x = x, y = {x * x, x:sqrt(), x}, labels = {"sq", "sqrt", "id"}, path = p, title = "t"}
    local s = readf(p)
    well_formed(s)
    assert.equal(3, count(s, '<polyline class="series"'))
    assert.is_true(renders(p))
    P.line{y = ml.rand(10, 2), path = p}
    assert.equal(2, count(readf(p), '<polyline class="series"'))
    P.line{series = {{x = {1, 2}, y = {3, 4}, label = "a"}}, path = p}
    assert.equal(1, count(readf(p), '<polyline class="series"'))
    assert.has_error(function() P.line{x = {1, 2}, y = {1}, path = p} end)
    assert.has_error(function() P.line{y = {1, 2}, path = p, colour = "red"} end)
    assert.has_error(function() P.line{y = {1, 2}} end)
  end)
  it("roc_curve draws the curve, the diagonal and the AUC", function()
    local p = dir .. "/roc.svg"
    P.roc_curve({0, 0.1, 0.5, 1}, {0, 0.6, 0.9, 1}, p, {auc = 0.875})
    local s = readf(p)
    well_formed(s)
    assert.is_truthy(s:find("AUC = 0.875", 1, true))
    assert.equal(1, count(s, '<polyline class="series"'))
    assert.is_true(renders(p))
  end)
  it("scatter colours points by class and marks centres", function()
    local p = dir .. "/s.svg"
    ml.seed(2)
    local X = ml.randn(30, 2)
    local c = {}
    for i = 1, 30 do c[i] = i % 3 end
    P.scatter{x = X, c = c, centers = {{0, 0}, {1, 1}, {2, 2}}, path = p}
    local s = readf(p)
    well_formed(s)
    assert.equal(30 + 3, count(s, "<circle"))          -- points + legend markers
    local centers = s:match('<g class="centers">(.-)</g>')
    assert.equal(12, count(centers, "<line "))         -- 3 crosses of 2 strokes, haloed
    assert.is_true(renders(p))
    assert.has_error(function() P.scatter{x = {1, 2}, y = {1}, path = p} end)
    assert.has_error(function() P.scatter{x = X, c = {1}, path = p} end)
  end)
  it("writes PNG through rsvg-convert when the path ends in .png", function()
    if not have_rsvg then return end
    local p = dir .. "/h.png"
    P.history(hist, p)
    assert.equal("PNG", readf(p):sub(2, 4))
    local img = ml.image.load(p)
    assert.is_true(img.shape[2] > 500)
  end)
  it("images writes a PNG grid, normalising each tile", function()
    local p = dir .. "/g.png"
    local t = ml.zeros(10, 5, 6)
    for i = 1, 10 do t[i]:fill(i) ; t[i][1][1] = 0 end
    P.images(t, p, {cols = 4, scale = 1, pad = 1})
    local g = ml.image.load(p)
    assert.same({3 * 5 + 4, 4 * 6 + 5, 1}, g.shape)
    assert.equal(0, g[2][2][1]); assert.equal(1, g[2][3][1])    -- each tile spans 0..1
    assert.equal(1, g[1][1][1])                                   -- white separator
    -- filters: kh x kw x cin x cout, separators coloured
    P.images(ml.randn(3, 3, 1, 16), p, {filters = true})
    assert.equal(3, ml.image.load(p).shape[3])
    P.images(ml.randn(3, 3, 4, 2), p, {filters = true, cols = 4})
    assert.has_error(function() P.images(ml.zeros(2, 3, 3), p, {labels = {"a", "b"}}) end)
    assert.has_error(function() P.images(ml.zeros(2, 3, 3, 2), p) end)
    assert.has_error(function() P.images(ml.zeros(2, 3, 3), p, {normalize = "some"}) end)
  end)
end)

describe("ml.plot.images as SVG", function()
  it("embeds the grid and captions each tile", function()
    local p = dir .. "/g.svg"
    P.images(ml.rand(5, 4, 4), p, {cols = 3, labels = {"a", "b", "c", "d", "<e>"}, title = "T"})
    local s = readf(p)
    well_formed(s)
    assert.equal(5, count(s, 'class="tile"'))
    assert.is_truthy(s:find("data:image/png;base64,iVBORw0KGgo", 1, true))
    assert.is_truthy(s:find(">&lt;e&gt;<", 1, true))
    assert.is_true(renders(p))
    assert.equal("TWFu", P._base64("Man")); assert.equal("TWE=", P._base64("Ma"))
    assert.equal("TQ==", P._base64("M"))
  end)
end)

teardown(function() os.execute("rm -rf " .. dir) end)
