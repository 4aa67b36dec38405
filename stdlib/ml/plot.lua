-- ml.plot: pictures of experiments, written as SVG by plain Lua (no
-- dependencies): training curves, confusion matrices, box plots, line and
-- scatter plots, ROC curves; and PNG grids of images or conv filters.
-- A plot whose path ends in ".png" is rendered from its SVG by rsvg-convert
-- (librsvg2-bin). Every file is written atomically.
local ml = require "ml"
local base = require "ml.base"
local mio = require "ml.io"
local raise = require("ml.errors").raise

local M = {}

local is_tensor = ml.is_tensor

-- Tableau 10: distinct, readable on white, kind to colour-blind readers.
local PALETTE = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}
M.palette = PALETTE
local FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
local INK, GRID, MUTED = "#333333", "#e6e6e6", "#666666"

-- ---------------------------------------------------------------------------
-- checking

local check_opts = base.check_options   -- {name = kind}, checked

-- A list of finite-or-not numbers from a tensor or a Lua list.
local function numbers(who, name, v)
  if is_tensor(v) then
    v = v:reshape(-1):totable()
  elseif type(v) ~= "table" then
    raise(string.format("%s: %s must be a list of numbers or a tensor, got %s", who, name, type(v)))
  end
  local out = {}
  for i = 1, #v do
    if type(v[i]) ~= "number" then
      raise(string.format("%s: %s[%d] is not a number", who, name, i))
    end
    out[i] = v[i]
  end
  return out
end

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

-- ---------------------------------------------------------------------------
-- SVG writing

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;"}))
end

local function f2(x) return string.format("%.2f", x):gsub("%.?0+$", "") end

local Svg = {}
Svg.__index = Svg

local function svg_new(w, h)
  local s = setmetatable({w = w, h = h, out = {}}, Svg)
  s:add(string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" ' ..
    'viewBox="0 0 %d %d" font-family="%s">', w, h, w, h, FONT))
  s:add(string.format('<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>', w, h))
  return s
end
function Svg:add(str) self.out[#self.out + 1] = str end
function Svg:text(x, y, str, o)
  o = o or {}
  self:add(string.format('<text x="%s" y="%s" font-size="%s" fill="%s" text-anchor="%s"%s%s>%s</text>',
    f2(x), f2(y), o.size or 12, o.color or INK, o.anchor or "middle",
    o.weight and (' font-weight="' .. o.weight .. '"') or "",
    o.rotate and string.format(' transform="rotate(%s %s %s)"', o.rotate, f2(x), f2(y)) or "",
    esc(str)))
end
function Svg:line(x1, y1, x2, y2, color, width, dash)
  self:add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>',
    f2(x1), f2(y1), f2(x2), f2(y2), color, width or 1,
    dash and (' stroke-dasharray="' .. dash .. '"') or ""))
end
function Svg:rect(x, y, w, h, fill, stroke, extra)
  self:add(string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s%s/>',
    f2(x), f2(y), f2(w), f2(h), fill, stroke and (' stroke="' .. stroke .. '"') or "", extra or ""))
end
function Svg:circle(x, y, r, fill, extra)
  self:add(string.format('<circle cx="%s" cy="%s" r="%s" fill="%s"%s/>', f2(x), f2(y), r, fill, extra or ""))
end
-- A polyline through points, broken where a value is not finite.
function Svg:polyline(pts, color, width, dash, class)
  local run = {}
  local function flush()
    if #run >= 2 then
      self:add(string.format('<polyline class="%s" points="%s" fill="none" stroke="%s" ' ..
        'stroke-width="%s" stroke-linejoin="round" stroke-linecap="round"%s/>', class or "series",
        table.concat(run, " "), color, width or 2, dash and (' stroke-dasharray="' .. dash .. '"') or ""))
    end
    run = {}
  end
  for _, p in ipairs(pts) do
    if finite(p[1]) and finite(p[2]) then run[#run + 1] = f2(p[1]) .. "," .. f2(p[2])
    else flush() end
  end
  flush()
end
function Svg:finish() return table.concat(self.out, "\n") .. "\n</svg>\n" end

-- Writes svg text to path; ".png" paths are rendered by rsvg-convert.
local function write_plot(who, path, svg)
  if type(path) ~= "string" or path == "" then
    raise(who .. ": expected an output path (.svg or .png)")
  end
  if path:lower():match("%.png$") then
    -- render in a private temporary place, then write the bytes through the
    -- atomic writer (which handles symlinks, devices and pipes as targets)
    local tmp = os.tmpname()
    local out = tmp .. ".png"
    local f = assert(io.open(tmp, "wb"))
    f:write(svg)
    f:close()
    local ok = os.execute(string.format("rsvg-convert -o '%s' '%s' 2>/dev/null",
      out:gsub("'", "'\\''"), tmp:gsub("'", "'\\''")))
    os.remove(tmp)
    if not ok then
      os.remove(out)
      raise(who .. ": rendering PNG needs rsvg-convert (Debian package librsvg2-bin); " ..
        "write .svg instead")
    end
    local okr, bytes = pcall(mio.read_file, out)
    os.remove(out)
    if not okr then raise(who .. ": " .. tostring(bytes)) end
    mio.write_atomic(path, bytes)
  else
    mio.write_atomic(path, svg)
  end
  return path
end

-- ---------------------------------------------------------------------------
-- scales and axes

-- About n "nice" ticks covering [lo, hi] (steps 1, 2, 2.5, 5 x 10^k).
local function nice_ticks(lo, hi, n)
  if not (finite(lo) and finite(hi)) then lo, hi = 0, 1 end
  if hi < lo then lo, hi = hi, lo end
  if hi == lo then
    local d = lo == 0 and 1 or math.abs(lo) * 0.1
    lo, hi = lo - d, hi + d
  end
  local raw = (hi - lo) / (n or 5)
  local mag = 10 ^ math.floor(math.log(raw, 10))
  local step
  for _, m in ipairs{1, 2, 2.5, 5, 10} do
    step = m * mag
    if step >= raw then break end
  end
  local first = math.floor(lo / step + 1e-9) * step
  local last = math.ceil(hi / step - 1e-9) * step
  local ticks = {}
  for k = 0, math.floor((last - first) / step + 0.5) do ticks[#ticks + 1] = first + k * step end
  return ticks, first, last, step
end

local function tick_label(v, step)
  if math.abs(v) < step * 1e-6 then v = 0 end
  local digits = math.max(0, -math.floor(math.log(step, 10) + 1e-9))
  if step * 10 ^ digits % 1 > 1e-6 then digits = digits + 1 end
  if math.abs(v) >= 1e5 or (v ~= 0 and math.abs(v) < 1e-4) then return string.format("%.2g", v) end
  return string.format("%." .. digits .. "f", v)
end

-- A panel: plotting area inside (x, y, w, h) with data ranges, drawn axes.
local function panel(svg, o)
  local p = {x = o.x, y = o.y, w = o.w, h = o.h}
  local xt, x0, x1, xs = nice_ticks(o.xmin, o.xmax, o.xticks or 6)
  local yt, y0, y1, ys = nice_ticks(o.ymin, o.ymax, o.yticks or 5)
  if o.xexact then x0, x1 = o.xmin, o.xmax end
  if o.yexact then y0, y1 = o.ymin, o.ymax end
  if o.integer_x then
    local xt2 = {}
    for _, t in ipairs(xt) do if t == math.floor(t) and t >= x0 and t <= x1 then xt2[#xt2 + 1] = t end end
    xt = xt2
  end
  p.sx = function(v) return p.x + (v - x0) / (x1 - x0) * p.w end
  p.sy = function(v) return p.y + p.h - (v - y0) / (y1 - y0) * p.h end
  svg:add('<g class="axes">')
  for _, t in ipairs(yt) do
    if t >= y0 - 1e-12 and t <= y1 + 1e-12 then
      local yy = p.sy(t)
      svg:line(p.x, yy, p.x + p.w, yy, GRID, 1)
      svg:text(p.x - 8, yy + 4, tick_label(t, ys), {anchor = "end", size = 11, color = MUTED})
    end
  end
  for _, t in ipairs(xt) do
    if t >= x0 - 1e-12 and t <= x1 + 1e-12 then
      local xx = p.sx(t)
      svg:line(xx, p.y, xx, p.y + p.h, GRID, 1)
      svg:line(xx, p.y + p.h, xx, p.y + p.h + 5, INK, 1)
      svg:text(xx, p.y + p.h + 18, o.integer_x and string.format("%d", t) or tick_label(t, xs),
        {size = 11, color = MUTED})
    end
  end
  svg:line(p.x, p.y + p.h, p.x + p.w, p.y + p.h, INK, 1)
  svg:line(p.x, p.y, p.x, p.y + p.h, INK, 1)
  if o.title then svg:text(p.x + p.w / 2, p.y - 12, o.title, {size = 14, weight = "bold"}) end
  if o.xlabel then svg:text(p.x + p.w / 2, p.y + p.h + 38, o.xlabel, {size = 12}) end
  if o.ylabel then svg:text(p.x - 46, p.y + p.h / 2, o.ylabel, {size = 12, rotate = -90}) end
  svg:add('</g>')
  return p
end

-- Legend box in the top-right (or bottom-right) corner of panel p.
local function legend(svg, p, entries, where)
  if #entries == 0 then return end
  local wmax = 0
  for _, e in ipairs(entries) do wmax = math.max(wmax, #tostring(e.label)) end
  local bw, bh = 40 + wmax * 7, 8 + 18 * #entries
  local bx = p.x + p.w - bw - 8
  local by = where == "bottom" and (p.y + p.h - bh - 8) or (p.y + 8)
  svg:add('<g class="legend">')
  svg:rect(bx, by, bw, bh, "#ffffff", "#cccccc", ' fill-opacity="0.9" rx="3"')
  for i, e in ipairs(entries) do
    local yy = by + 4 + 18 * (i - 1) + 9
    if e.marker then svg:circle(bx + 18, yy, 4, e.color)
    else svg:line(bx + 8, yy, bx + 28, yy, e.color, 2.5, e.dash) end
    svg:text(bx + 34, yy + 4, e.label, {anchor = "start", size = 11})
  end
  svg:add('</g>')
end

local function range(lists, lo, hi)
  lo, hi = lo or math.huge, hi or -math.huge
  for _, l in ipairs(lists) do
    for _, v in ipairs(l) do
      if finite(v) then lo = math.min(lo, v); hi = math.max(hi, v) end
    end
  end
  if lo == math.huge then lo, hi = 0, 1 end
  return lo, hi
end

-- ---------------------------------------------------------------------------
-- training history

local PRETTY = {loss = "Loss", accuracy = "Accuracy", acc = "Accuracy", mae = "Mean absolute error",
                mse = "Mean squared error", lr = "Learning rate"}

--- ml.plot.history(history, path [, {title=, metrics=, width=, height=}]):
--- one panel per metric (loss, accuracy, ...), train solid and validation
--- dashed, epochs on x. history: the table model:fit returns (fields loss,
--- val_loss, accuracy, ...; a Keras-like .history field works too).
function M.history(history, path, opts)
  local who = "plot.history"
  if type(history) ~= "table" then raise(who .. ": expected a history table, got " .. type(history)) end
  opts = check_opts(who, opts, {title = "string", metrics = "table", width = "number", height = "number"})
  local h = type(history.history) == "table" and history.history or history
  local metrics = opts.metrics
  if not metrics then
    metrics = {}
    local seen = {}
    for _, k in ipairs{"loss", "accuracy", "acc"} do
      if type(h[k]) == "table" or type(h["val_" .. k]) == "table" then metrics[#metrics + 1] = k; seen[k] = true end
    end
    local extra = {}
    for k, v in pairs(h) do
      if type(k) == "string" and (type(v) == "table" or is_tensor(v)) and k ~= "epoch" and k ~= "lr" then
        local base = k:gsub("^val_", "")
        if not seen[base] then seen[base] = true; extra[#extra + 1] = base end
      end
    end
    table.sort(extra)
    for _, k in ipairs(extra) do metrics[#metrics + 1] = k end
  end
  if #metrics == 0 then raise(who .. ": the history has no per-epoch lists (loss, accuracy, ...)") end
  local pw, ph = opts.width or 420, opts.height or 300
  local ml_, mt, gap = 70, opts.title and 64 or 40, 40
  local W = ml_ + #metrics * pw + (#metrics - 1) * (gap + ml_ - 20) + 20
  local H = mt + ph + 56
  local svg = svg_new(W, H)
  if opts.title then svg:text(W / 2, 24, opts.title, {size = 16, weight = "bold"}) end
  for i, m in ipairs(metrics) do
    local tr = h[m] and numbers(who, m, h[m]) or {}
    local va = h["val_" .. m] and numbers(who, "val_" .. m, h["val_" .. m]) or {}
    local n = math.max(#tr, #va)
    local lo, hi = range({tr, va})
    if m:match("acc") and lo >= 0 and hi <= 1 then
      lo, hi = math.max(0, lo - 0.02), math.min(1, hi + 0.02)
    end
    local x = ml_ + (i - 1) * (pw + gap + ml_ - 20)
    local p = panel(svg, {x = x, y = mt, w = pw, h = ph, xmin = 1, xmax = math.max(n, 2),
      ymin = lo, ymax = hi, integer_x = true, xexact = true,
      title = PRETTY[m] or m, xlabel = "epoch", ylabel = PRETTY[m] or m})
    local entries = {}
    for j, s in ipairs{{tr, "train", nil}, {va, "validation", "7 4"}} do
      if #s[1] > 0 then
        local pts = {}
        for e, v in ipairs(s[1]) do pts[e] = {p.sx(e), p.sy(v)} end
        local color = PALETTE[j]
        svg:polyline(pts, color, 2.5, s[3])
        if n <= 40 then
          for _, q in ipairs(pts) do
            if finite(q[2]) then svg:circle(q[1], q[2], 3.2, color, ' stroke="#ffffff" stroke-width="1"') end
          end
        end
        entries[#entries + 1] = {label = s[2], color = color, dash = s[3]}
      end
    end
    -- mark the best validation epoch (lowest loss, highest accuracy)
    local best, be
    local maximise = m:match("acc") ~= nil
    for e, v in ipairs(va) do
      if finite(v) and (best == nil or (maximise and v > best) or (not maximise and v < best)) then
        best, be = v, e
      end
    end
    if best and #va > 1 then
      local bx, by = p.sx(be), p.sy(best)
      svg:add(string.format('<circle class="best" cx="%s" cy="%s" r="7" fill="none" stroke="%s" ' ..
        'stroke-width="2"/>', f2(bx), f2(by), PALETTE[2]))
      local txt = string.format("best %s", tick_label(best, math.abs(best) >= 1 and 0.01 or 0.001))
      local anchor = bx > p.x + p.w * 0.75 and "end" or "start"
      svg:text(bx + (anchor == "end" and -10 or 10), by + (maximise and 18 or -10), txt,
        {anchor = anchor, size = 11, color = PALETTE[2], weight = "bold"})
    end
    legend(svg, p, entries, maximise and "bottom" or "top")
  end
  return write_plot(who, path, svg:finish())
end

-- ---------------------------------------------------------------------------
-- line plots and ROC curves

-- Series from {x=, y=} where y is a list of numbers or a list of lists.
local function collect_series(who, o)
  local series = {}
  if o.series then
    for i, s in ipairs(o.series) do
      if type(s) ~= "table" then raise(string.format("%s: series[%d] must be a table", who, i)) end
      local y = numbers(who, "series[" .. i .. "].y", s.y)
      local x = s.x and numbers(who, "series[" .. i .. "].x", s.x) or nil
      series[#series + 1] = {x = x, y = y, label = s.label, color = s.color, dash = s.dash}
    end
  else
    if o.y == nil then raise(who .. ": expected y = values (or series = {...})") end
    local ys = o.y
    local multi = type(ys) == "table" and not is_tensor(ys) and (type(ys[1]) == "table" or is_tensor(ys[1]))
    if is_tensor(ys) and ys:dim() == 2 then
      local t = ys:t():totable()
      ys, multi = t, true
    end
    if not multi then ys = {ys} end
    local labels = o.labels or {}
    for i, y in ipairs(ys) do
      local xv = o.x
      if type(xv) == "table" and not is_tensor(xv) and (type(xv[1]) == "table" or is_tensor(xv[1])) then xv = xv[i] end
      series[#series + 1] = {x = xv and numbers(who, "x", xv) or nil, y = numbers(who, "y", y),
                             label = labels[i]}
    end
  end
  for i, s in ipairs(series) do
    if not s.x then
      s.x = {}
      for k = 1, #s.y do s.x[k] = k end
    end
    if #s.x ~= #s.y then
      raise(string.format("%s: series %d has %d x values and %d y values", who, i, #s.x, #s.y))
    end
    s.color = s.color or PALETTE[(i - 1) % #PALETTE + 1]
  end
  return series
end

local LINE_OPTS = {x = "list", y = "list", path = "string", series = "table", labels = "table",
                   title = "string", xlabel = "string", ylabel = "string", width = "number",
                   height = "number", markers = "boolean", xlim = "table", ylim = "table",
                   legend = "string", diagonal = "boolean"}

local function line_plot(who, o)
  local series = collect_series(who, o)
  local xs, ys = {}, {}
  for _, s in ipairs(series) do xs[#xs + 1] = s.x; ys[#ys + 1] = s.y end
  local xlo, xhi = range(xs)
  local ylo, yhi = range(ys)
  if o.xlim then xlo, xhi = o.xlim[1], o.xlim[2] end
  if o.ylim then ylo, yhi = o.ylim[1], o.ylim[2] end
  local W, H = o.width or 560, o.height or 400
  local svg = svg_new(W, H)
  local top = o.title and 44 or 20
  local p = panel(svg, {x = 72, y = top, w = W - 72 - 24, h = H - top - 58, xmin = xlo, xmax = xhi,
    ymin = ylo, ymax = yhi, xexact = true, yexact = o.ylim ~= nil, title = o.title,
    xlabel = o.xlabel, ylabel = o.ylabel})
  if o.diagonal then
    svg:line(p.sx(0), p.sy(0), p.sx(1), p.sy(1), "#999999", 1.2, "5 4")
  end
  local entries = {}
  for _, s in ipairs(series) do
    local pts = {}
    for k = 1, #s.x do pts[k] = {p.sx(s.x[k]), p.sy(s.y[k])} end
    svg:polyline(pts, s.color, 2.2, s.dash)
    if o.markers or (o.markers == nil and #pts <= 30) then
      for _, q in ipairs(pts) do
        if finite(q[1]) and finite(q[2]) then svg:circle(q[1], q[2], 3, s.color) end
      end
    end
    if s.label then entries[#entries + 1] = {label = s.label, color = s.color, dash = s.dash} end
  end
  legend(svg, p, entries, o.legend)
  return write_plot(who, o.path, svg:finish())
end

--- ml.plot.line{x = xs, y = ys, path = "line.svg", ...}: y may hold several
--- series (a list of lists, or an N x K tensor: one series per column), or
--- give series = {{x =, y =, label =, color =, dash =}, ...}. Options:
--- labels, title, xlabel, ylabel, width, height, markers, xlim, ylim,
--- legend ("top" or "bottom").
function M.line(o)
  if type(o) ~= "table" then raise("plot.line: expected a table of options") end
  check_opts("plot.line", o, LINE_OPTS)
  return line_plot("plot.line", o)
end

--- ml.plot.roc_curve(fpr, tpr, path [, {auc =, title =, label =}]): the ROC
--- curve with the chance diagonal, on a square 0..1 plot.
function M.roc_curve(fpr, tpr, path, opts)
  local who = "plot.roc_curve"
  opts = check_opts(who, opts, {auc = "number", title = "string", label = "string",
                                width = "number", height = "number"})
  local label = opts.label or "ROC"
  if opts.auc then label = string.format("%s (AUC = %.3f)", label, opts.auc) end
  return line_plot(who, {x = numbers(who, "fpr", fpr), y = numbers(who, "tpr", tpr), path = path,
    labels = {label}, title = opts.title or "ROC curve", xlabel = "False positive rate",
    ylabel = "True positive rate", xlim = {0, 1}, ylim = {0, 1}, width = opts.width or 460,
    height = opts.height or 440, markers = false, legend = "bottom", diagonal = true})
end

-- ---------------------------------------------------------------------------
-- scatter plots

--- ml.plot.scatter{x = xs, y = ys, c = labels, path = "s.svg", ...}: x may
--- be an N x 2 tensor (then y is not given). c (or labels): one class per
--- point, coloured by class with a legend. centers: K x 2 points drawn as
--- crosses (KMeans cluster_centers_). Options: title, xlabel, ylabel, width,
--- height, names (class value -> legend text), size.
function M.scatter(o)
  local who = "plot.scatter"
  if type(o) ~= "table" then raise(who .. ": expected a table of options") end
  check_opts(who, o, {x = "list", y = "list", c = "list", labels = "list", path = "string",
    centers = "list", title = "string", xlabel = "string", ylabel = "string", width = "number",
    height = "number", names = "table", size = "number"})
  local xs, ys
  if is_tensor(o.x) and o.x:dim() == 2 then
    if o.x.shape[2] < 2 then raise(who .. ": x must have 2 columns") end
    xs = numbers(who, "x", o.x:select(2, 1))
    ys = numbers(who, "x", o.x:select(2, 2))
  else
    xs, ys = numbers(who, "x", o.x), numbers(who, "y", o.y)
  end
  if #xs ~= #ys then raise(string.format("%s: %d x values and %d y values", who, #xs, #ys)) end
  local cls = o.c or o.labels
  if cls ~= nil then
    cls = is_tensor(cls) and cls:reshape(-1):totable() or cls
    if #cls ~= #xs then raise(string.format("%s: %d labels for %d points", who, #cls, #xs)) end
  end
  local centers
  if o.centers then
    local c = is_tensor(o.centers) and o.centers:totable() or o.centers
    centers = {}
    for i, r in ipairs(c) do centers[i] = {r[1], r[2]} end
  end
  local allx, ally = {xs}, {ys}
  if centers then
    local cx, cy = {}, {}
    for i, r in ipairs(centers) do cx[i], cy[i] = r[1], r[2] end
    allx[2], ally[2] = cx, cy
  end
  local xlo, xhi = range(allx)
  local ylo, yhi = range(ally)
  local W, H = o.width or 560, o.height or 440
  local svg = svg_new(W, H)
  local top = o.title and 44 or 20
  local p = panel(svg, {x = 72, y = top, w = W - 72 - 24, h = H - top - 58, xmin = xlo, xmax = xhi,
    ymin = ylo, ymax = yhi, title = o.title, xlabel = o.xlabel, ylabel = o.ylabel})
  local order, index = {}, {}
  if cls then
    for _, v in ipairs(cls) do
      if index[v] == nil then order[#order + 1] = v; index[v] = true end
    end
    table.sort(order, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    for i, v in ipairs(order) do index[v] = i end
  end
  local r = o.size or (#xs > 2000 and 2 or #xs > 300 and 3 or 4)
  svg:add('<g class="points">')
  for i = 1, #xs do
    if finite(xs[i]) and finite(ys[i]) then
      local color = cls and PALETTE[(index[cls[i]] - 1) % #PALETTE + 1] or PALETTE[1]
      svg:circle(p.sx(xs[i]), p.sy(ys[i]), r, color, ' fill-opacity="0.75"')
    end
  end
  svg:add('</g>')
  if centers then
    svg:add('<g class="centers">')
    for _, c in ipairs(centers) do
      local cx, cy = p.sx(c[1]), p.sy(c[2])
      svg:line(cx - 7, cy - 7, cx + 7, cy + 7, "#ffffff", 5)
      svg:line(cx - 7, cy + 7, cx + 7, cy - 7, "#ffffff", 5)
      svg:line(cx - 7, cy - 7, cx + 7, cy + 7, INK, 2.5)
      svg:line(cx - 7, cy + 7, cx + 7, cy - 7, INK, 2.5)
    end
    svg:add('</g>')
  end
  if cls and #order <= 20 then
    local entries = {}
    for i, v in ipairs(order) do
      local name = o.names and o.names[v] or tostring(v)
      if type(v) == "number" and math.tointeger(v) then name = o.names and o.names[v] or string.format("%d", v) end
      entries[i] = {label = name, color = PALETTE[(i - 1) % #PALETTE + 1], marker = true}
    end
    legend(svg, p, entries)
  end
  return write_plot(who, o.path, svg:finish())
end

-- ---------------------------------------------------------------------------
-- confusion matrix

-- White to dark blue.
local function blue(t)
  t = math.max(0, math.min(1, t))
  local r = math.floor(247 + (8 - 247) * t + 0.5)
  local g = math.floor(251 + (48 - 251) * t + 0.5)
  local b = math.floor(255 + (107 - 255) * t + 0.5)
  return string.format("#%02x%02x%02x", r, g, b), t > 0.5
end

--- ml.plot.confusion_matrix(cm, path [, {labels =, title =, normalize =}]):
--- a heat map with the count (and row share) in each cell; rows are true
--- classes, columns predictions. normalize = true colours and labels by
--- row fractions.
function M.confusion_matrix(cm, path, opts)
  local who = "plot.confusion_matrix"
  opts = check_opts(who, opts, {labels = "table", title = "string", normalize = "boolean",
                                size = "number"})
  local rows = is_tensor(cm) and cm:totable() or cm
  if type(rows) ~= "table" or type(rows[1]) ~= "table" then
    raise(who .. ": expected a K x K matrix (tensor or nested table)")
  end
  local k = #rows
  for i = 1, k do
    if type(rows[i]) ~= "table" or #rows[i] ~= k then
      raise(string.format("%s: expected a square matrix, row %d has %s entries", who, i,
        type(rows[i]) == "table" and #rows[i] or "no"))
    end
  end
  local labels = opts.labels or {}
  if opts.labels and #labels ~= k then
    raise(string.format("%s: %d labels for a %dx%d matrix", who, #labels, k, k))
  end
  local rowsum, maxv = {}, 0
  for i = 1, k do
    rowsum[i] = 0
    for j = 1, k do rowsum[i] = rowsum[i] + rows[i][j]; maxv = math.max(maxv, rows[i][j]) end
  end
  local cell = opts.size or math.max(34, math.min(72, math.floor(560 / k)))
  local left, top = 96, opts.title ~= nil and 70 or 44
  local W, H = left + k * cell + 110, top + k * cell + 70
  local svg = svg_new(W, H)
  local title = opts.title or "Confusion matrix"
  svg:text(left + k * cell / 2, 26, title, {size = 16, weight = "bold"})
  local fs = cell >= 56 and 13 or cell >= 42 and 11 or 9
  svg:add('<g class="cells">')
  for i = 1, k do
    for j = 1, k do
      local v = rows[i][j]
      local frac = rowsum[i] > 0 and v / rowsum[i] or 0
      local t = opts.normalize and frac or (maxv > 0 and v / maxv or 0)
      local color, dark = blue(t)
      local x, y = left + (j - 1) * cell, top + (i - 1) * cell
      svg:rect(x, y, cell, cell, color, "#ffffff", ' class="cell"')
      local txt = opts.normalize and string.format("%.2f", frac) or
        (math.tointeger(v) and string.format("%d", v) or string.format("%.3g", v))
      svg:text(x + cell / 2, y + cell / 2 + (cell >= 56 and -1 or 4), txt,
        {size = fs, color = dark and "#ffffff" or INK, weight = i == j and "bold" or nil})
      if cell >= 56 and not opts.normalize and rowsum[i] > 0 then
        svg:text(x + cell / 2, y + cell / 2 + 15, string.format("%.0f%%", 100 * frac),
          {size = 10, color = dark and "#dddddd" or MUTED})
      end
    end
  end
  svg:add('</g>')
  for i = 1, k do
    local name = labels[i] ~= nil and tostring(labels[i]) or tostring(i - 1)
    svg:text(left - 8, top + (i - 0.5) * cell + 4, name, {anchor = "end", size = 11})
    svg:text(left + (i - 0.5) * cell, top + k * cell + 18, name, {size = 11})
  end
  svg:text(left + k * cell / 2, top + k * cell + 44, "Predicted label", {size = 12})
  svg:text(22, top + k * cell / 2, "True label", {size = 12, rotate = -90})
  -- colour bar
  local bx, bh = left + k * cell + 24, k * cell
  svg:add('<defs><linearGradient id="cmbar" x1="0" y1="1" x2="0" y2="0">' ..
    '<stop offset="0" stop-color="#f7fbff"/><stop offset="1" stop-color="#08306b"/></linearGradient></defs>')
  svg:rect(bx, top, 14, bh, "url(#cmbar)", "#cccccc")
  local top_label = opts.normalize and "1" or string.format("%g", maxv)
  svg:text(bx + 20, top + 10, top_label, {anchor = "start", size = 10, color = MUTED})
  svg:text(bx + 20, top + bh, "0", {anchor = "start", size = 10, color = MUTED})
  return write_plot(who, path, svg:finish())
end

-- ---------------------------------------------------------------------------
-- box plots

-- Quantile with linear interpolation (NumPy's default) of a sorted list.
local function quantile(s, q)
  local pos = 1 + (#s - 1) * q
  local lo = math.floor(pos)
  local hi = math.min(lo + 1, #s)
  return s[lo] + (s[hi] - s[lo]) * (pos - lo)
end

--- Summary of one box: quartiles, whiskers (1.5 IQR), outliers, mean.
function M.box_stats(values)
  local s = {}
  for _, v in ipairs(values) do if finite(v) then s[#s + 1] = v end end
  table.sort(s)
  if #s == 0 then return nil end
  local q1, med, q3 = quantile(s, 0.25), quantile(s, 0.5), quantile(s, 0.75)
  local iqr = q3 - q1
  local lo_lim, hi_lim = q1 - 1.5 * iqr, q3 + 1.5 * iqr
  local wlo, whi, out, sum = math.huge, -math.huge, {}, 0
  for _, v in ipairs(s) do
    sum = sum + v
    if v < lo_lim or v > hi_lim then out[#out + 1] = v
    else wlo = math.min(wlo, v); whi = math.max(whi, v) end
  end
  return {q1 = q1, median = med, q3 = q3, whislo = wlo, whishi = whi, fliers = out,
          mean = sum / #s, n = #s, min = s[1], max = s[#s]}
end

--- ml.plot.boxplot({LR = scores, KNN = scores, ...}, path [, {title =,
--- ylabel =, order =}]): one box per model (quartiles, median line, mean
--- diamond, 1.5 IQR whiskers, outliers as dots, and the points themselves).
--- Names are sorted unless order lists them; a list of {name, scores} pairs
--- keeps its order too.
function M.boxplot(groups, path, opts)
  local who = "plot.boxplot"
  opts = check_opts(who, opts, {title = "string", ylabel = "string", order = "table",
                                width = "number", height = "number", points = "boolean"})
  if type(groups) ~= "table" then raise(who .. ": expected a table of name -> scores") end
  local names, data = {}, {}
  if #groups > 0 and type(groups[1]) == "table" and not is_tensor(groups[1]) and groups[1][2] ~= nil then
    for i, g in ipairs(groups) do names[i] = tostring(g[1]); data[names[i]] = numbers(who, names[i], g[2]) end
  else
    for k, v in pairs(groups) do names[#names + 1] = tostring(k); data[tostring(k)] = numbers(who, tostring(k), v) end
    table.sort(names)
  end
  if opts.order then names = opts.order end
  if #names == 0 then raise(who .. ": no groups to plot") end
  local stats, all = {}, {}
  for i, n in ipairs(names) do
    if not data[n] then raise(who .. ": no scores for '" .. tostring(n) .. "'") end
    stats[i] = M.box_stats(data[n])
    if not stats[i] then raise(who .. ": '" .. n .. "' has no finite scores") end
    all[i] = data[n]
  end
  local lo, hi = range(all)
  local pad = (hi - lo) * 0.05
  local W = opts.width or math.max(360, 120 + 90 * #names)
  local H = opts.height or 400
  local svg = svg_new(W, H)
  local top = 48
  local p = panel(svg, {x = 76, y = top, w = W - 76 - 24, h = H - top - 62, xmin = 0.5,
    xmax = #names + 0.5, xexact = true, ymin = lo - pad, ymax = hi + pad, xticks = 1,
    title = opts.title or "Model comparison", ylabel = opts.ylabel or "score"})
  local slot = p.w / #names
  local bw = math.min(56, slot * 0.5)
  for i, st in ipairs(stats) do
    local cx = p.x + (i - 0.5) * slot
    local color = PALETTE[(i - 1) % #PALETTE + 1]
    svg:add(string.format('<g class="box" data-name="%s">', esc(names[i])))
    svg:line(cx, p.sy(st.whislo), cx, p.sy(st.q1), INK, 1.2)
    svg:line(cx, p.sy(st.q3), cx, p.sy(st.whishi), INK, 1.2)
    svg:line(cx - bw / 4, p.sy(st.whislo), cx + bw / 4, p.sy(st.whislo), INK, 1.2)
    svg:line(cx - bw / 4, p.sy(st.whishi), cx + bw / 4, p.sy(st.whishi), INK, 1.2)
    local ytop, ybot = p.sy(st.q3), p.sy(st.q1)
    svg:rect(cx - bw / 2, ytop, bw, math.max(ybot - ytop, 1), color, INK,
      ' fill-opacity="0.55" stroke-width="1.2" rx="2"')
    svg:line(cx - bw / 2, p.sy(st.median), cx + bw / 2, p.sy(st.median), INK, 2.4)
    if opts.points ~= false then
      for j, v in ipairs(data[names[i]]) do
        if finite(v) then
          local jitter = ((j * 0.6180339887) % 1 - 0.5) * bw * 0.6
          svg:circle(cx + jitter, p.sy(v), 2.2, INK, ' fill-opacity="0.35"')
        end
      end
    end
    for _, v in ipairs(st.fliers) do
      svg:circle(cx, p.sy(v), 3.5, "none", ' stroke="' .. INK .. '" stroke-width="1.2"')
    end
    local my = p.sy(st.mean)
    svg:add(string.format('<path d="M %s %s l 5 5 l -5 5 l -5 -5 z" fill="#ffffff" stroke="%s" stroke-width="1.3"/>',
      f2(cx), f2(my - 5), INK))
    svg:add('</g>')
    svg:text(cx, p.y + p.h + 18, names[i], {size = 12})
    svg:text(cx, p.y + p.h + 34, string.format("%.3f ± %.3f", st.mean, M._sd(data[names[i]])),
      {size = 10, color = MUTED})
  end
  return write_plot(who, path, svg:finish())
end

-- The drawing kit, for modules that draw their own kinds of plot
-- (stdlib/ml/sweep/plots.lua): not part of the public ml.plot API.
M._kit = {svg_new = function(w, h) return svg_new(w, h) end,
          panel = function(svg, o) return panel(svg, o) end,
          write = function(who, path, svg) return write_plot(who, path, svg) end,
          nice_ticks = nice_ticks, tick_label = tick_label, esc = esc,
          INK = INK, GRID = GRID, MUTED = MUTED}

function M._sd(v)
  local n, s, ss = 0, 0, 0
  for _, x in ipairs(v) do if finite(x) then n = n + 1; s = s + x end end
  if n < 2 then return 0 end
  local m = s / n
  for _, x in ipairs(v) do if finite(x) then ss = ss + (x - m) ^ 2 end end
  return math.sqrt(ss / (n - 1))
end

-- ---------------------------------------------------------------------------
-- image grids (PNG)

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for k = 3, 0, -1 do
      local idx = (v >> (6 * k)) & 63
      q[#q + 1] = B64:sub(idx + 1, idx + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end
M._base64 = base64

--- ml.plot.images(t, path [, {cols = 8, normalize = "each", pad = 1,
--- scale =, filters = false}]): a PNG grid of N x H x W (x C) images.
--- normalize: "each" (every tile to [0, 1] on its own: right for conv
--- filters), "all" (one range for all tiles) or "none" (values as given,
--- clamped). filters = true takes a Keras conv kernel kh x kw x cin x cout
--- and shows each output filter (each input channel when cin is not 1 or 3).
--- scale: integer upscaling (nearest); by default small tiles are enlarged.
--- background: separator colour, a gray level or {r, g, b}.
--- An .svg path embeds the grid and can caption each tile: labels = {...}
--- (e.g. "7 (pred 1)"), label_colors = {...}, title.
function M.images(t, path, opts)
  local who = "plot.images"
  opts = check_opts(who, opts, {cols = "number", normalize = "string", pad = "number",
                                scale = "number", filters = "boolean", background = "number|table",
                                labels = "table", label_colors = "table", title = "string"})
  if not is_tensor(t) then raise(who .. ": expected a tensor of images, got " .. type(t)) end
  if type(path) ~= "string" or not (path:lower():match("%.png$") or path:lower():match("%.svg$")) then
    raise(who .. ": expected a .png or .svg output path")
  end
  local is_svg = path:lower():match("%.svg$") ~= nil
  if opts.labels and not is_svg then
    raise(who .. ": labels need an .svg output path (PNG grids carry no text)")
  end
  t = t.dtype == "float32" and t or ml.tensor(t, "float32")
  if opts.filters then
    if t:dim() ~= 4 then raise(who .. ": filters = true expects a kh x kw x cin x cout kernel") end
    local kh, kw, cin, cout = t.shape[1], t.shape[2], t.shape[3], t.shape[4]
    t = t:permute(4, 1, 2, 3):contiguous()                  -- cout x kh x kw x cin
    if cin ~= 1 and cin ~= 3 then
      t = t:permute(1, 4, 2, 3):contiguous():reshape(cout * cin, kh, kw, 1)
    end
  end
  if t:dim() == 2 then t = t:reshape(1, t.shape[1], t.shape[2], 1)
  elseif t:dim() == 3 then t = t:reshape(t.shape[1], t.shape[2], t.shape[3], 1)
  elseif t:dim() ~= 4 then
    raise(who .. ": expected N x H x W or N x H x W x C images, got shape " .. table.concat(t.shape, "x"))
  end
  local n, h, w, c = t.shape[1], t.shape[2], t.shape[3], t.shape[4]
  if n == 0 then raise(who .. ": no images to draw") end
  if c ~= 1 and c ~= 3 and c ~= 4 then
    raise(who .. ": images must have 1, 3 or 4 channels, got " .. c)
  end
  local mode = opts.normalize or "each"
  if mode ~= "each" and mode ~= "all" and mode ~= "none" then
    raise(who .. ": normalize must be \"each\", \"all\" or \"none\", got \"" .. mode .. "\"")
  end
  if mode == "all" then
    local lo, hi = t:min(), t:max()
    t = (t - lo) / (hi > lo and hi - lo or 1)
  elseif mode == "each" then
    local flat = t:reshape(n, -1)
    local lo = flat:min(2):reshape(n, 1, 1, 1)
    local hi = flat:max(2):reshape(n, 1, 1, 1)
    local span = hi - lo
    span = ml.where(span:gt(0), span, ml.ones(n, 1, 1, 1))
    t = (t - lo) / span
  end
  t = t:clamp(0, 1)
  local scale = opts.scale or math.max(1, math.floor(64 / math.max(h, w)))
  scale = math.tointeger(math.floor(scale)) or 1
  if scale > 1 then                                        -- nearest-neighbour upscaling
    t = t:reshape(n, h, 1, w, 1, c):expand(n, h, scale, w, scale, c):contiguous()
         :reshape(n, h * scale, w * scale, c)
    h, w = h * scale, w * scale
  end
  local cols = math.tointeger(math.floor(math.min(opts.cols or 8, n)))
  if not cols or cols < 1 then raise(who .. ": cols must be >= 1") end
  local rows = (n + cols - 1) // cols
  local pad = math.tointeger(math.floor(opts.pad or math.max(1, scale))) or 1
  -- separators: white between images; blue between filters, whose tiles
  -- span black to white
  local bg = opts.background or (opts.filters and {0.31, 0.47, 0.65} or 1)
  if type(bg) == "number" then bg = {bg, bg, bg} end
  local oc = (c == 1 and bg[1] == bg[2] and bg[2] == bg[3]) and 1 or 3
  local gh, gw = rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad
  local grid = ml.ones(gh, gw, oc) * ml.tensor(oc == 1 and {bg[1]} or {bg[1], bg[2], bg[3]})
  for i = 1, n do
    local r, q = (i - 1) // cols, (i - 1) % cols
    local y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
    local tile = t[i]
    if c == 4 then tile = tile:narrow(3, 1, 3) end
    grid:narrow(1, y0 + 1, h):narrow(2, x0 + 1, w):copy_(tile)
  end
  if not is_svg then
    require("ml.image").save(path, grid)
    return path
  end
  -- SVG: the grid as an embedded PNG, a caption under each tile
  local tmp = path .. ".grid.tmp.png"
  require("ml.image").save(tmp, grid)
  local png = mio.read_file(tmp)
  os.remove(tmp)
  local cap_h = opts.labels and 16 or 0
  local gh2 = rows * (h + pad + cap_h) + pad
  local out_svg = svg_new(gw, gh2 + (opts.title and 26 or 0))
  local oy = opts.title and 26 or 0
  if opts.title then out_svg:text(gw / 2, 18, opts.title, {size = 14, weight = "bold"}) end
  for i = 1, n do
    local r, q = (i - 1) // cols, (i - 1) % cols
    -- each tile is cut from the one embedded image with a nested svg viewport
    local sy0, sx0 = pad + r * (h + pad), pad + q * (w + pad)
    local dy = oy + pad + r * (h + pad + cap_h)
    out_svg:add(string.format('<svg class="tile" x="%d" y="%d" width="%d" height="%d" viewBox="%d %d %d %d">' ..
      '<use href="#grid"/></svg>', sx0, dy, w, h, sx0, sy0, w, h))
    if opts.labels and opts.labels[i] ~= nil then
      out_svg:text(sx0 + w / 2, dy + h + 12, tostring(opts.labels[i]),
        {size = w < 72 and 9 or 11, color = opts.label_colors and opts.label_colors[i] or INK})
    end
  end
  table.insert(out_svg.out, 3, '<defs><image id="grid" x="0" y="0" width="' .. gw .. '" height="' ..
    gh .. '" image-rendering="pixelated" href="data:image/png;base64,' .. base64(png) .. '"/></defs>')
  return write_plot(who, path, out_svg:finish())
end

return M
