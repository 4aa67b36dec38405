-- ml.sweep.plots: pictures of a sweep result (SVG, or PNG by rsvg-convert,
-- as every ml.plot picture) and the parameter importances they show.
--   history     each finished trial's metric by trial id, and the best so far
--   importance  the share of the metric's variance each parameter explains
--   parallel    parallel coordinates: one axis per parameter and the metric,
--               one line per finished trial, darker for better
local plot = require "ml.plot"
local raise = require("ml.errors").raise

local plots = {}
local kit = plot._kit
local PALETTE = plot.palette

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

-- The finished trials with a finite metric, in id order.
local function finished(res)
  local out = {}
  for _, t in ipairs(res.trials) do
    if t.status == "ok" and t.metrics and finite(t.metrics[res.metric]) then out[#out + 1] = t end
  end
  return out
end

local function params_of(trials)
  local seen, out = {}, {}
  for _, t in ipairs(trials) do
    for k in pairs(t.config) do if not seen[k] then seen[k] = true; out[#out + 1] = k end end
  end
  table.sort(out)
  return out
end

-- How a parameter is laid on an axis: numbers (log scale for a loguniform
-- entry of the space; for grid values and conditional entries, when all are
-- positive, span more than a factor 100 and at least half lie in the lowest
-- tenth of the range) or categories in sorted order.
local function axis_of(trials, name, log_scale)
  local nums, cats, all_num = {}, {}, true
  for _, t in ipairs(trials) do
    local v = t.config[name]
    if v ~= nil then
      if type(v) == "number" then nums[#nums + 1] = v else all_num = false end
      cats[tostring(v)] = v
    end
  end
  if all_num and #nums > 0 then
    local lo, hi = math.huge, -math.huge
    for _, v in ipairs(nums) do lo = math.min(lo, v); hi = math.max(hi, v) end
    local log = lo > 0 and log_scale[name]
    if log == nil and lo > 0 and hi / lo > 100 then
      -- a grid or a conditional entry: log when most values crowd the low end
      local low = 0
      for _, v in ipairs(nums) do if v < lo + (hi - lo) / 10 then low = low + 1 end end
      log = low * 2 >= #nums
    end
    local f = log and math.log or function(v) return v end
    local a, b = f(lo), f(hi)
    if a == b then a, b = a - 1, b + 1 end
    return {kind = "number", log = log, lo = lo, hi = hi,
            pos = function(v) return (f(v) - a) / (b - a) end}
  end
  local names = {}
  for k in pairs(cats) do names[#names + 1] = k end
  table.sort(names)
  local index = {}
  for i, k in ipairs(names) do index[k] = i end
  return {kind = "category", names = names,
          pos = function(v) return #names == 1 and 0.5 or (index[tostring(v)] - 1) / (#names - 1) end}
end

--- Importance of each parameter (fANOVA-lite): the first-order main effect
--- Var(E[y | x_j]) / Var(y) of the metric y over the finished trials, with
--- E[y | x_j] estimated per bin of x_j: one bin per value for choices and
--- for numbers with at most 5 distinct values, else 5 equal-count bins (in
--- rank order); a trial without the parameter (a conditional one) falls in
--- a bin of its own. Few trials per bin inflate the share, so it is
--- corrected as the epsilon squared of a one-way ANOVA, (SS_between - (k -
--- 1) MS_within) / (SS_total + MS_within), clipped at 0. Values are in
--- [0, 1]; an adaptive search samples parameters together, so the shares
--- need not add up to 1. Returns a list of {name, value}, largest first.
function plots.importance(res)
  local trials = finished(res)
  local ys, mean = {}, 0
  for i, t in ipairs(trials) do ys[i] = t.metrics[res.metric]; mean = mean + ys[i] / #trials end
  local var = 0
  for _, y in ipairs(ys) do var = var + (y - mean) ^ 2 end
  local out = {}
  for _, name in ipairs(params_of(trials)) do
    local bin = {}
    local distinct, nums = {}, {}
    for i, t in ipairs(trials) do
      local v = t.config[name]
      if type(v) == "number" then nums[#nums + 1] = {v = v, i = i} end
      if v ~= nil then distinct[tostring(v)] = true end
    end
    local nd = 0
    for _ in pairs(distinct) do nd = nd + 1 end
    if #nums > 0 and nd > 5 then
      table.sort(nums, function(a, b) return a.v < b.v end)
      for r, e in ipairs(nums) do bin[e.i] = "q" .. math.floor((r - 1) * 5 / #nums) end
    end
    local sums, counts = {}, {}
    for i, t in ipairs(trials) do
      local v = t.config[name]
      local b = bin[i] or (v == nil and "\0absent" or tostring(v))
      sums[b] = (sums[b] or 0) + ys[i]
      counts[b] = (counts[b] or 0) + 1
    end
    local between, k = 0, 0
    for b, s in pairs(sums) do
      between = between + counts[b] * (s / counts[b] - mean) ^ 2
      k = k + 1
    end
    -- epsilon squared: the between-bin share less what k bins of noise explain
    local n = #trials
    local within = n > k and (var - between) / (n - k) or 0
    local value = 0
    if var > 0 and n > k then value = math.max(0, (between - (k - 1) * within) / (var + within)) end
    out[#out + 1] = {name = name, value = value}
  end
  table.sort(out, function(a, b)
    if a.value ~= b.value then return a.value > b.value end
    return a.name < b.name
  end)
  return out
end

local function need(who, trials, n)
  if #trials < n then
    raise(("%s: needs at least %d finished trials with a finite metric, got %d"):format(who, n, #trials))
  end
end

local function history(res, path, title)
  local who = "sweep plot history"
  local trials = finished(res)
  need(who, trials, 1)
  local sign = res.mode == "min" and 1 or -1
  local lo, hi = math.huge, -math.huge
  for _, t in ipairs(trials) do
    local v = t.metrics[res.metric]
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
  local maxid = 1
  for _, t in ipairs(res.trials) do maxid = math.max(maxid, t.id) end
  local W, H = 600, 400
  local svg = kit.svg_new(W, H)
  local p = kit.panel(svg, {x = 76, y = 44, w = W - 76 - 24, h = H - 44 - 58, xmin = 1,
    xmax = math.max(2, maxid), ymin = lo, ymax = hi, title = title or ("Best " .. res.metric ..
    " over trials"), xlabel = "trial", ylabel = res.metric, integer_x = true})
  svg:add('<g class="trials">')
  local best, pts = nil, {}
  for _, t in ipairs(trials) do
    local v = t.metrics[res.metric]
    svg:circle(p.sx(t.id), p.sy(v), 3.5, PALETTE[1], ' fill-opacity="0.6"')
    if not best or v * sign < best * sign then
      if best then pts[#pts + 1] = {p.sx(t.id), p.sy(best)} end
      best = v
    end
    pts[#pts + 1] = {p.sx(t.id), p.sy(best)}
  end
  pts[#pts + 1] = {p.sx(math.max(2, maxid)), p.sy(best)}
  svg:add('</g>')
  svg:polyline(pts, PALETTE[2], 2.2, nil, "best")
  svg:text(p.x + p.w - 4, p.y + 14, ("best %.4g (%s)"):format(best, res.search or ""),
    {anchor = "end", size = 11, color = kit.MUTED})
  return kit.write(who, path, svg:finish())
end

local function importance(res, path, title)
  local who = "sweep plot importance"
  need(who, finished(res), 2)
  local imp = plots.importance(res)
  local W = 600
  local H = 70 + 28 * #imp + 30
  local svg = kit.svg_new(W, H)
  svg:text(W / 2, 26, title or ("Parameter importance for " .. res.metric), {size = 14, weight = "bold"})
  local x0, bw = 150, W - 150 - 90
  for i, e in ipairs(imp) do
    local y = 50 + 28 * (i - 1)
    svg:text(x0 - 8, y + 14, e.name, {anchor = "end", size = 12})
    svg:rect(x0, y + 2, math.max(1, bw * e.value), 18, PALETTE[1])
    svg:text(x0 + bw * e.value + 6, y + 15, ("%.2f"):format(e.value), {anchor = "start", size = 11,
      color = kit.MUTED})
  end
  svg:text(W / 2, H - 12, "share of variance explained by each parameter alone (fANOVA-lite)",
    {size = 11, color = kit.MUTED})
  return kit.write(who, path, svg:finish())
end

-- White-blue-dark ramp for t in [0, 1] (1 = best).
local function shade(t)
  local r = math.floor(198 + (8 - 198) * t + 0.5)
  local g = math.floor(219 + (48 - 219) * t + 0.5)
  local b = math.floor(239 + (107 - 239) * t + 0.5)
  return string.format("#%02x%02x%02x", r, g, b)
end

local function parallel(res, path, title)
  local who = "sweep plot parallel"
  local trials = finished(res)
  need(who, trials, 1)
  local names = params_of(trials)
  local axes = {}
  for i, n in ipairs(names) do axes[i] = axis_of(trials, n, res.log_scale or {}) end
  local lo, hi = math.huge, -math.huge
  for _, t in ipairs(trials) do
    local v = t.metrics[res.metric]
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
  local span = hi > lo and hi - lo or 1
  names[#names + 1] = res.metric
  axes[#axes + 1] = {kind = "number", lo = lo, hi = hi, pos = function(v) return (v - lo) / span end}
  local K = #names
  local W, H = math.max(420, 130 * K), 420
  local top, bottom = 56, H - 56
  local x = function(i) return 70 + (W - 140) * (K == 1 and 0.5 or (i - 1) / (K - 1)) end
  local y = function(f) return bottom - f * (bottom - top) end
  local svg = kit.svg_new(W, H)
  svg:text(W / 2, 26, title or ("Parallel coordinates (" .. res.metric .. ")"), {size = 14, weight = "bold"})
  -- worse first, so the best lines are drawn on top
  local order = {}
  for i, t in ipairs(trials) do order[i] = t end
  local sign = res.mode == "min" and 1 or -1
  table.sort(order, function(a, b) return a.metrics[res.metric] * sign > b.metrics[res.metric] * sign end)
  svg:add('<g class="trials">')
  for r, t in ipairs(order) do
    local pts = {}
    for i, n in ipairs(names) do
      local v = i == K and t.metrics[res.metric] or t.config[n]
      if v ~= nil then pts[#pts + 1] = {x(i), y(axes[i].pos(v))} end
    end
    svg:polyline(pts, shade(#order == 1 and 1 or (r - 1) / (#order - 1)), 1.6, nil, "trial")
  end
  svg:add('</g>')
  for i, a in ipairs(axes) do
    local xx = x(i)
    svg:line(xx, top, xx, bottom, kit.INK, 1)
    svg:text(xx, bottom + 22, names[i], {size = 12, weight = i == K and "bold" or nil})
    if a.kind == "category" then
      for _, c in ipairs(a.names) do
        svg:text(xx - 5, y(a.pos(c)) + 4, c, {anchor = "end", size = 10, color = kit.MUTED})
      end
    else
      local fmt = function(v) return ("%.3g"):format(v) end
      svg:text(xx - 5, y(0) + 4, fmt(a.lo), {anchor = "end", size = 10, color = kit.MUTED})
      svg:text(xx - 5, y(1) + 4, fmt(a.hi), {anchor = "end", size = 10, color = kit.MUTED})
      if a.log then svg:text(xx, top - 8, "log", {size = 9, color = kit.MUTED}) end
    end
  end
  return kit.write(who, path, svg:finish())
end

plots.kinds = {history = history, importance = importance, parallel = parallel}

return plots
