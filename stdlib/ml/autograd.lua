-- ml.autograd: reverse-mode automatic differentiation on ml tensors.
--
-- A tensor takes part when it requires grad (a leaf: ml.tensor(t,
-- {requires_grad = true}) or x:requires_grad_()) or was computed from one.
-- Its record (the tensor's user value) is {requires_grad = true, grad = g}
-- for a leaf, {fn = node} for a result. The C bindings of differentiable
-- ops see the record and call the handler registered here under the op's
-- name (core.autograd.grad_ops, see bindings/mlb.h); the handler computes with the
-- untracked core.tensor.raw function and records a node:
--   node = {name = op, f = backward, n = #inputs, [1..n] = input edges, ...}
-- An edge is the producing node of an input, the record of a leaf input, or
-- false. backward(node, g) returns one gradient per input (nil for none),
-- already reduced to the input's shape. Tensors a node needs are saved with
-- their storage version; an in-place write since then is an error at
-- backward, as in PyTorch. Untracked tensors never reach this file.
local core = require "ml.core"
local raise = require("ml.errors").raise
local raw = core.tensor.raw
local T = core.tensor.Tensor
local mt = core.tensor.mt
local record, set_record, owned = core.autograd.grad_record, core.autograd.grad_set_record, core.autograd.grad_owned
local version, alias, same_as = core.autograd.grad_version, core.autograd.grad_alias, core.autograd.grad_same_shape
local ops = core.autograd.grad_ops

local A = {}

local r_add, r_sub, r_mul, r_div, r_pow = raw.add, raw.sub, raw.mul, raw.div, raw.pow
local r_neg, r_sum, r_reshape, r_expand = raw.neg, raw.sum, raw.reshape, raw.expand
local r_matmul, r_transpose, r_clone, r_add_ = raw.matmul, raw.transpose, raw.clone, raw.add_
local r_exp, r_gt, r_ge, r_le, r_lt = raw.exp, raw.gt, raw.ge, raw.le, raw.lt
local r_index, r_newindex, r_copy_ = raw.index, raw.newindex, raw.copy_
local zeros, ones = core.tensor.zeros, core.tensor.ones

-- ------------------------------------------------------------ grad mode --

local enabled = true

--- Is recording on? (off inside ml.no_grad)
function A.is_grad_enabled() return enabled end

--- Turns recording on or off; returns the previous setting.
function A.set_grad_enabled(on)
  if type(on) ~= "boolean" then
    raise("set_grad_enabled: expected a boolean, got " .. type(on))
  end
  local old = enabled
  enabled = on
  return old
end

local Guard = {}
Guard.__index = Guard
Guard.__close = function(g) enabled = g.old end
Guard.__name = "ml.no_grad"

local function with_mode(on, who, fn, ...)
  if fn == nil then   -- local _ <close> = ml.no_grad()
    local g = setmetatable({old = enabled}, Guard)
    enabled = on
    return g
  end
  if type(fn) ~= "function" then
    raise(who .. ": expected a function (or no argument, for a <close> variable), got "
      .. type(fn))
  end
  local old = enabled
  enabled = on
  local res = table.pack(pcall(fn, ...))
  enabled = old
  if not res[1] then error(res[2], 0) end   -- the error of the function run, unchanged
  return table.unpack(res, 2, res.n)
end

--- ml.no_grad(fn, ...) runs fn without recording and returns its results;
--- ml.no_grad() returns a guard for `local _ <close> = ml.no_grad()`.
function A.no_grad(fn, ...) return with_mode(false, "no_grad", fn, ...) end
--- ml.enable_grad(fn, ...): the opposite (recording inside a no_grad block).
function A.enable_grad(fn, ...) return with_mode(true, "enable_grad", fn, ...) end

-- --------------------------------------------------------------- helpers --

local function is_tensor(v) return getmetatable(v) == mt end

-- The edge of value v: its node, its leaf record, or nil. A view of a
-- computed tensor whose storage changed in place since the view was taken
-- no longer matches its recorded history: refused.
local function edge_of(v)
  if getmetatable(v) ~= mt then return nil end
  local r = record(v)
  if not r then return nil end
  local fn = r.fn
  if fn then
    if r.vv and version(v) ~= r.vv then
      raise(string.format("autograd: a view made by '%s' is used after the tensor it views was "
        .. "changed in place; take the view again after the change (or clone() it before)",
        fn.name))
    end
    return fn
  end
  return r.requires_grad and r or nil
end

local function shape_str(s)
  if #s == 0 then return "scalar" end
  return table.concat(s, "x")
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

--- g summed down to `shape` (undoing NumPy broadcasting); shape false:
--- g already has the input's shape.
local function sum_to(g, shape)
  if not shape then return g end
  local gs = g.shape
  if same_shape(gs, shape) then return g end
  local lead = #gs - #shape
  for _ = 1, lead do g = r_sum(g, 1) end
  for i = 1, #shape do
    if shape[i] == 1 and gs[i + lead] ~= 1 then g = r_sum(g, i, true) end
  end
  if #shape == 0 then return r_reshape(g, {}) end
  return g
end
A.sum_to = sum_to

-- Saves tensor t in node under key k (with its version, checked on use).
local VKEY = setmetatable({}, {__index = function(c, k) c[k] = k .. "_v" return c[k] end})
local function save(node, k, t)
  node[k] = t
  node[VKEY[k]] = version(t)
  node.saves = true
end

local function saved(node, k)
  local t = node[k]
  if t == nil then
    raise(string.format("backward: '%s' lost its saved tensors (the graph was freed by an "
      .. "earlier backward; pass {retain_graph = true} to keep it)", node.name))
  end
  if version(t) ~= node[VKEY[k]] then
    raise(string.format("backward: a tensor that '%s' saved for its gradient was changed by an "
      .. "in-place operation after it was used (version %d, now %d); compute on a clone() "
      .. "instead", node.name, node[VKEY[k]], version(t)))
  end
  return t
end

-- Records node as the producer of out (when any input edge exists).
local function result(out, node)
  set_record(out, {fn = node})
  return out
end

local function scalar_tensor(v) return core.tensor.tensor(v) end

-- ------------------------------------------------- elementwise binaries --

local function shape_of(v) return is_tensor(v) and v.shape or {} end

-- The shape an input's gradient must be summed to, or false when it is out's.
local function reduce_shape(v, out)
  if not is_tensor(v) then return {} end
  return not same_as(v, out) and v.shape
end

local function binary(name, rawf, bw, keep)
  ops[name] = function(a, b)
    local out = rawf(a, b)
    if not enabled then return out end
    local ea, eb = edge_of(a), edge_of(b)
    if not (ea or eb) then return out end
    -- the nil fields size the table once: the later stores never rehash
    local node = {name = name, f = bw, n = 2, ea or false, eb or false, sa = nil, sb = nil,
                  a = nil, a_v = nil, b = nil, b_v = nil, saves = nil}
    if ea then node.sa = reduce_shape(a, out) end
    if eb then node.sb = reduce_shape(b, out) end
    if keep then keep(node, a, b, out, ea, eb) end
    return result(out, node)
  end
end

local function num_or_saved(node, k)
  local v = node[k]
  if type(v) == "number" then return v end
  return saved(node, k)
end

local function keep_ab(node, a, b, _, ea, eb)
  if eb then if is_tensor(a) then save(node, "a", a) else node.a = a end end
  if ea then if is_tensor(b) then save(node, "b", b) else node.b = b end end
end

binary("add", r_add, function(n, g)
  return n[1] and sum_to(g, n.sa), n[2] and sum_to(g, n.sb)
end)
binary("sub", r_sub, function(n, g)
  return n[1] and sum_to(g, n.sa), n[2] and sum_to(r_neg(g), n.sb)
end)
binary("mul", r_mul, function(n, g)
  return n[1] and sum_to(r_mul(g, num_or_saved(n, "b")), n.sa),
         n[2] and sum_to(r_mul(g, num_or_saved(n, "a")), n.sb)
end, keep_ab)
binary("div", r_div, function(n, g)
  local b = num_or_saved(n, "b")
  local ga = n[1] and sum_to(r_div(g, b), n.sa)
  local gb
  if n[2] then   -- -g * a / b^2
    local a = num_or_saved(n, "a")
    gb = sum_to(r_neg(r_div(r_mul(g, a), r_mul(b, b))), n.sb)
  end
  return ga, gb
end, function(node, a, b, _, ea, eb)
  if is_tensor(b) then save(node, "b", b) else node.b = b end
  if eb then if is_tensor(a) then save(node, "a", a) else node.a = a end end
end)
binary("pow", r_pow, function(n, g)
  local a, b = num_or_saved(n, "a"), num_or_saved(n, "b")
  local ga, gb
  if n[1] then   -- b * a^(b-1)
    local bm1 = type(b) == "number" and b - 1 or r_sub(b, 1)
    ga = sum_to(r_mul(g, r_mul(r_pow(a, bm1), b)), n.sa)
  end
  if n[2] then   -- a^b * log(a)
    local out = saved(n, "out")
    local la = type(a) == "number" and math.log(a) or raw.log(a)
    gb = sum_to(r_mul(r_mul(g, out), la), n.sb)
  end
  return ga, gb
end, function(node, a, b, out, _, eb)
  if is_tensor(a) then save(node, "a", a) else node.a = a end
  if is_tensor(b) then save(node, "b", b) else node.b = b end
  if eb then save(node, "out", out) end
end)

-- maximum/minimum: the gradient goes to the chosen side (to a on ties).
local function pick(cmp)
  return function(n, g)
    local a, b = num_or_saved(n, "a"), num_or_saved(n, "b")
    local m
    if type(a) == "number" then m = cmp == r_ge and r_le(b, a) or r_ge(b, a)
    else m = cmp(a, b) end
    return n[1] and sum_to(r_mul(g, m), n.sa), n[2] and sum_to(r_sub(g, r_mul(g, m)), n.sb)
  end
end
local function keep_both(node, a, b)
  if is_tensor(a) then save(node, "a", a) else node.a = a end
  if is_tensor(b) then save(node, "b", b) else node.b = b end
end
binary("maximum", raw.maximum, pick(r_ge), keep_both)
binary("minimum", raw.minimum, pick(r_le), keep_both)

-- ----------------------------------------------------- elementwise unary --

-- save: "x" keeps the input, "y" the output, nil nothing.
local function unary(name, bw, save_what, rawf)
  rawf = rawf or raw[name]
  ops[name] = function(x, ...)
    local y = rawf(x, ...)
    if not enabled then return y end
    local e = edge_of(x)
    if not e then return y end
    local node = {name = name, f = bw, n = 1, e, x = nil, x_v = nil, saves = nil}
    if save_what == "x" then save(node, "x", x) elseif save_what == "y" then save(node, "x", y) end
    return result(y, node)
  end
end

unary("neg", function(_, g) return r_neg(g) end)
unary("exp", function(n, g) return r_mul(g, saved(n, "x")) end, "y")
unary("log", function(n, g) return r_div(g, saved(n, "x")) end, "x")
unary("sqrt", function(n, g) return r_div(r_mul(g, 0.5), saved(n, "x")) end, "y")
unary("abs", function(n, g) return r_mul(g, raw.sign(saved(n, "x"))) end, "x")
-- sigmoid, tanh, relu: the activation kernels' backward from the output
-- (one pass, runtime/nn/activation.c); float64 goes through tensor ops.
local act_backward = core.nn.act_backward
local function act_bw(name, generic)
  return function(n, g)
    local y = saved(n, "x")
    if y.dtype == "float32" then return act_backward(y, g, name) end
    return generic(y, g)
  end
end
unary("sigmoid", act_bw("sigmoid", function(y, g) return r_mul(g, r_mul(y, r_sub(1, y))) end),
  "y")
unary("tanh", act_bw("tanh", function(y, g) return r_mul(g, r_sub(1, r_mul(y, y))) end), "y")
unary("relu", act_bw("relu", function(y, g) return r_mul(g, r_gt(y, 0)) end), "y")
unary("square", function(n, g) return r_mul(g, r_mul(saved(n, "x"), 2)) end, "x")
unary("reciprocal", function(n, g)
  local y = saved(n, "x")
  return r_neg(r_mul(g, r_mul(y, y)))
end, "y")
unary("log1p", function(n, g) return r_div(g, r_add(saved(n, "x"), 1)) end, "x")
unary("expm1", function(n, g) return r_mul(g, r_add(saved(n, "x"), 1)) end, "y")
unary("sin", function(n, g) return r_mul(g, raw.cos(saved(n, "x"))) end, "x")
unary("cos", function(n, g) return r_neg(r_mul(g, raw.sin(saved(n, "x")))) end, "x")
unary("clamp", function(n, g)
  local x = saved(n, "x")
  return r_mul(g, r_mul(r_ge(x, n.lo or -math.huge), r_le(x, n.hi or math.huge)))
end, "x")
do   -- clamp needs its bounds
  local f = ops.clamp
  ops.clamp = function(x, lo, hi)
    local y = f(x, lo, hi)
    local r = enabled and record(y)
    if r and r.fn and r.fn.name == "clamp" then r.fn.lo, r.fn.hi = lo, hi end
    return y
  end
end
unary("float", function(_, g) return g end)
unary("clone", function(_, g) return g end)
unary("contiguous", function(_, g) return g end)

-- ------------------------------------------------------------ reductions --

-- Expands a reduced gradient g back over dim (nil: all) of shape `shape`.
local function unreduce(g, shape, dim, keepdim)
  if dim == nil then
    if #shape == 0 then return r_reshape(g, {}) end
    local ones_shape = {}
    for i = 1, #shape do ones_shape[i] = 1 end
    return r_expand(r_reshape(g, ones_shape), shape)
  end
  if not keepdim then g = raw.unsqueeze(g, dim) end
  return r_expand(g, shape)
end

local function norm_dim(x, dim)
  if dim == nil then return nil end
  if dim < 0 then dim = dim + x:dim() + 1 end
  return dim
end

-- A reduction over everything returns a number on plain tensors and a 0-d
-- tensor on tracked ones (so that loss:backward() works).
local function reduction(name, bw, keep)
  local rawf = raw[name]
  ops[name] = function(x, dim, keepdim, extra)
    if not enabled or not edge_of(x) then return rawf(x, dim, keepdim, extra) end
    local out, pos
    if dim == nil then
      local flat = r_reshape(x, -1)
      out, pos = rawf(flat, 1, false, extra)
      out = r_reshape(out, {})
      if pos then pos = r_reshape(pos, {}) end
    else
      out, pos = rawf(x, dim, keepdim, extra)
    end
    local node = {name = name, f = bw, n = 1, edge_of(x), shape = x.shape,
                  dim = norm_dim(x, dim), keepdim = keepdim and true or false, ddof = extra}
    if keep then keep(node, x, out, pos) end
    result(out, node)
    if pos and dim ~= nil then return out, pos end
    return out
  end
end

reduction("sum", function(n, g) return unreduce(g, n.shape, n.dim, n.keepdim) end)
reduction("mean", function(n, g)
  local cnt = 1
  if n.dim then cnt = n.shape[n.dim] else for _, s in ipairs(n.shape) do cnt = cnt * s end end
  return unreduce(r_div(g, cnt), n.shape, n.dim, n.keepdim)
end)
reduction("prod", function(n, g)
  local x, y = saved(n, "x"), saved(n, "y")
  return r_div(r_mul(unreduce(g, n.shape, n.dim, n.keepdim),
                     unreduce(y, n.shape, n.dim, n.keepdim)), x)
end, function(node, x, out) save(node, "x", x); save(node, "y", out) end)

-- max/min: the gradient goes to the (first) position found.
local function extreme_bw(n, g)
  local pos = n.pos
  local gx = zeros(n.shape)
  if n.dim == nil then
    local flat = r_reshape(gx, -1)
    raw.scatter_add_(flat, 1, r_reshape(pos, {1}), r_reshape(g, {1}))
    return gx
  end
  if not n.keepdim then
    g = raw.unsqueeze(g, n.dim)
    pos = raw.unsqueeze(pos, n.dim)
  end
  raw.scatter_add_(gx, n.dim, pos, raw.contiguous(g))
  return gx
end
local function keep_pos(node, _, _, pos) node.pos = pos end
reduction("max", extreme_bw, keep_pos)
reduction("min", extreme_bw, keep_pos)

-- var: 2 (x - mean) / (n - ddof); std: the same over 2 std.
local function centered(n)
  local x = saved(n, "x")
  local m
  if n.dim then m = raw.mean(x, n.dim, true) else m = raw.mean(x) end
  local cnt = 1
  if n.dim then cnt = n.shape[n.dim] else for _, s in ipairs(n.shape) do cnt = cnt * s end end
  return r_sub(x, m), cnt - (n.ddof or 1)
end
local function keep_x(node, x) save(node, "x", x) end
local function keep_xy(node, x, out) save(node, "x", x); save(node, "y", out) end
reduction("var", function(n, g)
  local d, den = centered(n)
  return r_mul(unreduce(g, n.shape, n.dim, n.keepdim), r_mul(d, 2 / den))
end, keep_x)
reduction("std", function(n, g)
  local d, den = centered(n)
  local y = unreduce(saved(n, "y"), n.shape, n.dim, n.keepdim)
  return r_div(r_mul(unreduce(g, n.shape, n.dim, n.keepdim), d), r_mul(y, den))
end, keep_xy)
reduction("norm", function(n, g)
  local x = saved(n, "x")
  local y = unreduce(saved(n, "y"), n.shape, n.dim, n.keepdim)
  return r_div(r_mul(unreduce(g, n.shape, n.dim, n.keepdim), x), y)
end, keep_xy)

-- softmax / log_softmax over dim (default: the last)
local function softmax_op(name, bw)
  local rawf = raw[name]
  ops[name] = function(x, dim)
    local y = rawf(x, dim)
    if not enabled then return y end
    local e = edge_of(x)
    if not e then return y end
    local node = {name = name, f = bw, n = 1, e, dim = norm_dim(x, dim) or x:dim()}
    save(node, "y", y)
    return result(y, node)
  end
end
softmax_op("softmax", function(n, g)
  local y = saved(n, "y")
  return r_mul(y, r_sub(g, r_sum(r_mul(g, y), n.dim, true)))
end)
softmax_op("log_softmax", function(n, g)
  local y = saved(n, "y")
  return r_sub(g, r_mul(r_exp(y), r_sum(g, n.dim, true)))
end)

-- ---------------------------------------------------------------- matmul --

ops.matmul = function(a, b)
  local out = r_matmul(a, b)
  if not enabled then return out end
  local ea, eb = edge_of(a), edge_of(b)
  if not (ea or eb) then return out end
  local node = {name = "matmul", n = 2, ea or false, eb or false, f = nil, a = nil, a_v = nil,
                b = nil, b_v = nil, saves = nil}
  node.f = function(n, g)
    local A_, B_ = saved(n, "a"), saved(n, "b")
    local sa, sb = A_.shape, B_.shape
    -- 1-D operands act as a row (left) or a column (right) matrix
    if #sa == 1 then A_ = r_reshape(A_, {1, sa[1]}) end
    if #sb == 1 then B_ = r_reshape(B_, {sb[1], 1}) end
    local nd = A_:dim()
    local gs = {}
    for i = 1, nd - 2 do gs[i] = A_.shape[i] end
    gs[nd - 1], gs[nd] = A_.shape[nd - 1], B_.shape[nd]
    local G = r_reshape(g, gs)
    local ga = n[1] and r_reshape(r_matmul(G, r_transpose(B_, nd - 1, nd)), sa)
    local gb = n[2] and r_reshape(r_matmul(r_transpose(A_, nd - 1, nd), G), sb)
    return ga, gb
  end
  save(node, "a", a)
  save(node, "b", b)
  return result(out, node)
end

-- ------------------------------------------------------- views and copies --

-- A view op: backward maps the output gradient back to the input's shape.
-- The result is marked as a view (in-place ops on it are refused).
local function view_op(name, bw, prep)
  local rawf = raw[name]
  ops[name] = function(x, ...)
    local y = rawf(x, ...)
    if not enabled then return y end
    local e = edge_of(x)
    if not e then return y end
    local node = {name = name, f = bw, n = 1, e, shape = x.shape}
    if prep then prep(node, x, ...) end
    -- views of computed tensors remember the version they saw (see edge_of)
    set_record(y, {fn = node, view = true, vv = e.f and version(y) or nil})
    return y
  end
end

local function back_to_shape(n, g) return r_reshape(g, n.shape) end
view_op("reshape", back_to_shape)
view_op("view", back_to_shape)
view_op("flatten", back_to_shape)
view_op("squeeze", back_to_shape)
view_op("unsqueeze", back_to_shape)
view_op("expand", function(n, g) return sum_to(g, n.shape) end)
view_op("transpose", function(n, g)
  if n.d1 == nil then return raw.t(g) end
  return r_transpose(g, n.d1, n.d2)
end, function(node, _, d1, d2) node.d1, node.d2 = d1, d2 end)
ops.t = function(x) return ops.transpose(x) end
view_op("permute", function(n, g)
  local inv = {}
  for i, p in ipairs(n.perm) do inv[p] = i end
  return raw.permute(g, inv)
end, function(node, x, ...)
  local p = ...
  if type(p) ~= "table" then p = {...} end
  local perm = {}
  for i, d in ipairs(p) do perm[i] = d < 0 and d + x:dim() + 1 or d end
  node.perm = perm
end)

-- Views that pick a region: the gradient is zero outside it.
local function region_bw(pick_region)
  return function(n, g)
    local gx = zeros(n.shape)
    r_copy_(pick_region(n, gx), g)
    return gx
  end
end
view_op("narrow", region_bw(function(n, gx) return raw.narrow(gx, n.d, n.s, n.len) end),
  function(node, _, d, s, len) node.d, node.s, node.len = d, s, len end)
view_op("select", region_bw(function(n, gx) return raw.select(gx, n.d, n.i) end),
  function(node, _, d, i) node.d, node.i = d, i end)

-- Flat 1-based positions of the non-zero entries of mask expanded to shape.
local function mask_positions(mask, shape)
  local m = raw.contiguous(r_expand(mask, shape))
  local flat = r_reshape(m, -1):totable()
  local pos = {}
  for i, v in ipairs(flat) do if v ~= 0 then pos[#pos + 1] = i end end
  return core.tensor.tensor(pos, "int64")
end

local function masked_bw(n, g)
  local gx = zeros(n.shape)
  local pos = mask_positions(n.mask, n.shape)
  if pos:numel() > 0 then raw.scatter_add_(r_reshape(gx, -1), 1, pos, raw.contiguous(g)) end
  return gx
end

-- x[k]: an integer (select along dim 1; 0-d tensors for 1-D x, since a Lua
-- number would drop the gradient), a range table, or a mask.
ops.index = function(x, k)
  if not enabled or not edge_of(x) then return r_index(x, k) end
  local ty = type(k)
  if ty == "number" then
    return ops.select(x, 1, k)
  elseif ty == "table" then
    local y = r_index(x, k)
    if not is_tensor(y) then   -- every dimension selected: a 0-d view
      local parts = {}
      for i, v in ipairs(k) do parts[i] = type(v) == "table" and v or {v} end
      y = r_reshape(r_index(x, parts), {})
    end
    local node = {name = "index", n = 1, edge_of(x), shape = x.shape, key = k}
    node.f = region_bw(function(nd, gx)
      local v = r_index(gx, nd.key)
      if not is_tensor(v) then
        local parts = {}
        for i, e in ipairs(nd.key) do parts[i] = type(e) == "table" and e or {e} end
        v = r_reshape(r_index(gx, parts), {})
      end
      return v
    end)
    set_record(y, {fn = node, view = true, vv = node[1].f and version(y) or nil})
    return y
  else
    local y = r_index(x, k)
    return result(y, {name = "masked_select", f = masked_bw, n = 1, edge_of(x), shape = x.shape,
                      mask = k})
  end
end

ops.masked_select = function(x, mask)
  local y = raw.masked_select(x, mask)
  if not enabled or not edge_of(x) then return y end
  return result(y, {name = "masked_select", f = masked_bw, n = 1, edge_of(x), shape = x.shape,
                    mask = mask})
end

ops.gather = function(x, dim, idx)
  local y = raw.gather(x, dim, idx)
  if not enabled or not edge_of(x) then return y end
  return result(y, {name = "gather", n = 1, edge_of(x), shape = x.shape, dim = dim, idx = idx,
    f = function(n, g)
      local gx = zeros(n.shape)
      raw.scatter_add_(gx, n.dim, n.idx, raw.contiguous(g))
      return gx
    end})
end

ops.index_select = function(x, dim, idx)
  local y = raw.index_select(x, dim, idx)
  if not enabled or not edge_of(x) then return y end
  if not is_tensor(idx) then idx = core.tensor.tensor(idx, "int64") end
  return result(y, {name = "index_select", n = 1, edge_of(x), shape = x.shape,
    dim = norm_dim(x, dim), idx = idx,
    f = function(n, g)
      local gx = zeros(n.shape)
      local ishape = {}
      for i = 1, #n.shape do ishape[i] = 1 end
      ishape[n.dim] = n.idx:numel()
      local full = r_expand(r_reshape(raw.long(n.idx), ishape), g.shape)
      raw.scatter_add_(gx, n.dim, raw.contiguous(full), raw.contiguous(g))
      return gx
    end})
end

-- ------------------------------------------------------------------ joins --

local function join_op(name)
  local rawf = raw[name]
  ops[name] = function(list, dim)
    local out = rawf(list, dim)
    if not enabled then return out end
    local node = {name = name, n = #list}
    local any = false
    for i, t in ipairs(list) do
      node[i] = edge_of(t) or false
      any = any or node[i] ~= false
    end
    if not any then return out end
    -- how the pieces sit in out: stacked (a new dim) or concatenated
    local first = list[1]
    local stacked = name == "stack" or (name == "vstack" and first:dim() == 1)
    local d = dim
    if d == nil then
      d = name == "hstack" and (first:dim() > 1 and 2 or 1) or 1
    elseif d < 0 then
      d = d + first:dim() + (stacked and 2 or 1)
    end
    local sizes = {}
    for i, t in ipairs(list) do sizes[i] = stacked and 1 or t.shape[d] end
    node.f = function(_, g)
      local gs, at = {}, 1
      for i = 1, node.n do
        if node[i] then
          gs[i] = stacked and raw.select(g, d, at) or raw.narrow(g, d, at, sizes[i])
        end
        at = at + sizes[i]
      end
      return table.unpack(gs, 1, node.n)
    end
    return result(out, node)
  end
end
join_op("cat")
join_op("stack")
join_op("vstack")
join_op("hstack")

ops.where = function(c, a, b)
  local out = raw.where(c, a, b)
  if not enabled then return out end
  local ea, eb = edge_of(a), edge_of(b)
  if not (ea or eb) then return out end
  local node = {name = "where", n = 3, false, ea or false, eb or false, c = c,
                sa = ea and a.shape, sb = eb and b.shape}
  node.f = function(n, g)
    local z = zeros(g.shape)
    return nil, n[2] and sum_to(raw.where(n.c, g, z), n.sa),
                n[3] and sum_to(raw.where(n.c, z, g), n.sb)
  end
  return result(out, node)
end

-- ------------------------------------------------------ in-place updates --

local function refuse_leaf(name, x)
  local r = record(x)
  if r and not r.fn and r.requires_grad then
    raise(string.format("%s: a leaf tensor that requires grad cannot be changed in place while "
      .. "recording (wrap the update in ml.no_grad, or use x:detach())", name))
  end
  if r and r.view and r.fn then
    raise(string.format("%s: in-place change of a view of a tensor that takes part in autograd "
      .. "is not supported; clone() the view first", name))
  end
end

-- An in-place op on a tracked tensor is computed out of place from a copy of
-- the old value (which carries the old record), then written back: x now
-- stands for the result and carries the new node.
local function inplace(name, outplace)
  local rawf = raw[name]
  ops[name] = function(x, ...)
    if not enabled then return rawf(x, ...) end
    refuse_leaf(name, x)
    local old = r_clone(x)
    local r = record(x)
    if r then set_record(old, r) end
    local y = outplace(old, ...)
    r_copy_(x, y)
    local ry = record(y)
    set_record(x, ry and {fn = ry.fn} or nil)
    return x
  end
end
inplace("add_", ops.add)
inplace("sub_", ops.sub)
inplace("mul_", ops.mul)
inplace("div_", ops.div)
inplace("pow_", ops.pow)
for _, name in ipairs{"neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "square",
                      "reciprocal", "log1p", "expm1", "sin", "cos"} do
  inplace(name .. "_", ops[name])
end
inplace("copy_", function(old, src)
  -- the new value is src (broadcast to old's shape); old gets no gradient
  local out = r_add(r_mul(old, 0), src)
  local es = edge_of(src)
  if not es then return out end
  return result(out, {name = "copy_", n = 1, es, sb = shape_of(src),
                      f = function(n, g) return sum_to(g, n.sb) end})
end)
inplace("scatter_add_", function(old, dim, idx, src)
  local out = raw.scatter_add_(r_clone(old), dim, idx, src)
  local eo, es = edge_of(old), edge_of(src)
  if not (eo or es) then return out end
  return result(out, {name = "scatter_add_", n = 2, eo or false, es or false, dim = dim, idx = idx,
                      f = function(n, g) return g, n[2] and raw.gather(g, n.dim, n.idx) end})
end)

-- fill_/zero_: the result depends on nothing.
local function constant_fill(name)
  local rawf = raw[name]
  ops[name] = function(x, ...)
    if enabled then refuse_leaf(name, x) end
    rawf(x, ...)
    if enabled then set_record(x, nil) end
    return x
  end
end
constant_fill("fill_")
constant_fill("zero_")

-- x[k] = v on a tracked x (or with a tracked v): x's old gradient is zero
-- in the region; v gets the region's gradient (summed to its shape).
ops.newindex = function(x, k, v)
  if not enabled then return r_newindex(x, k, v) end
  refuse_leaf("assignment", x)
  local ex, ev = edge_of(x), edge_of(v)
  r_newindex(x, k, v)
  if not (ex or ev) then return end
  local region = function(t)
    if is_tensor(k) then return nil end
    if type(k) == "number" then return raw.select(t, 1, k) end
    local reg = r_index(t, k)
    if not is_tensor(reg) then
      local parts = {}
      for i, e in ipairs(k) do parts[i] = type(e) == "table" and e or {e} end
      reg = r_index(t, parts)
    end
    return reg
  end
  local node = {name = "assignment", n = 2, ex or false, ev or false, sv = shape_of(v)}
  node.f = function(n, g)
    local gx, gv
    if is_tensor(k) then   -- masked fill with a number
      gx = n[1] and raw.where(k, 0, g) or nil
      return gx, nil
    end
    if n[1] then
      gx = r_clone(g)
      raw.fill_(region(gx), 0)
    end
    if n[2] then gv = sum_to(raw.contiguous(region(g)), n.sv) end
    return gx, gv
  end
  set_record(x, {fn = node})
end

-- ---------------------------------------------------------------- backward --

local function check_grad_arg(t, grad)
  if grad == nil then
    if t:numel() ~= 1 then
      raise(string.format("backward: a gradient argument is needed for a non-scalar output "
        .. "(shape %s); pass a tensor of that shape", shape_str(t.shape)))
    end
    return ones(t.shape)
  end
  if type(grad) == "number" then grad = core.tensor.full(t.shape, grad) end
  if not is_tensor(grad) then
    raise("backward: expected a gradient tensor, got " .. type(grad))
  end
  if not same_shape(grad.shape, t.shape) then
    raise(string.format("backward: gradient of shape %s, expected the output's shape %s",
      shape_str(grad.shape), shape_str(t.shape)))
  end
  return alias(grad)
end

-- Adds gradient g into a leaf. A first gradient is taken without a copy
-- when nothing else can see it (own: not handed to another input, and the
-- only view of its storage), as PyTorch steals it.
local function accumulate(rec, g, capture, own)
  if capture then
    local c = capture[rec]
    if c == false then capture[rec] = (own and owned(g)) and g or r_clone(g)
    elseif c then r_add_(c, g) end
    return
  end
  local old = rec.grad
  if old then r_add_(old, g) else rec.grad = (own and owned(g)) and g or r_clone(g) end
end

-- Runs the backward pass from tensor t with output gradient grad. capture:
-- nil (accumulate into the leaves' .grad) or a table rec -> false|tensor
-- that collects gradients of those leaves only (ml.grad).
local function run_backward(t, grad, retain, capture)
  local r = is_tensor(t) and record(t)
  if not r or not (r.fn or r.requires_grad) then
    raise("backward: the tensor does not require grad (no input of the computation has "
      .. "requires_grad = true, or it ran under ml.no_grad)")
  end
  grad = check_grad_arg(t, grad)
  if not r.fn then accumulate(r, grad, capture, false) return end
  local root = r.fn
  -- dependency counts over the nodes reachable from root
  local deps, stack = {[root] = 0}, {root}
  while #stack > 0 do
    local node = table.remove(stack)
    if node.freed then
      raise(string.format("backward: the graph through '%s' was already used by a backward pass "
        .. "and freed; pass {retain_graph = true} to the first backward to go through it again",
        node.name))
    end
    for i = 1, node.n do
      local e = node[i]
      if e and e.f then
        local d = deps[e]
        if d == nil then deps[e] = 1; stack[#stack + 1] = e else deps[e] = d + 1 end
      end
    end
  end
  local grads, ready = {[root] = grad}, {root}
  while #ready > 0 do
    local node = table.remove(ready)
    local g = grads[node]
    grads[node] = nil
    local res, r1, r2, r3
    local nin = node.n
    if g then
      if nin <= 3 then r1, r2, r3 = node.f(node, g)
      else res = table.pack(node.f(node, g)) end
    end
    for i = 1, nin do
      local e = node[i]
      if e then
        local gi
        if res then gi = res[i] elseif i == 1 then gi = r1 elseif i == 2 then gi = r2 else gi = r3 end
        if e.f then
          if gi then
            local prev = grads[e]
            grads[e] = prev and r_add(prev, gi) or gi
          end
          deps[e] = deps[e] - 1
          if deps[e] == 0 then ready[#ready + 1] = e end
        elseif gi then
          -- a gradient passed through unchanged, or given to two inputs, is shared
          local own = gi ~= g
          if res then
            for j = 1, nin do if j ~= i and res[j] == gi then own = false end end
          else
            if (i ~= 1 and r1 == gi) or (i ~= 2 and r2 == gi) or (i ~= 3 and r3 == gi) then
              own = false
            end
          end
          accumulate(e, gi, capture, own)
        end
      end
    end
    -- as PyTorch: the tensors a node saved are freed (a second backward through
    -- it is an error); nodes that saved none can be gone through again
    if not retain and node.saves then
      for k in pairs(node) do
        if k ~= "name" and k ~= "n" and k ~= "f" and type(k) == "string" then node[k] = nil end
      end
      node.freed = true
    end
  end
end

--- loss:backward([grad] [, {retain_graph = false}]): accumulates d loss /
--- d leaf into every leaf's .grad. grad defaults to 1 for a one-element loss.
function T.backward(t, grad, opts)
  if type(grad) == "table" and not is_tensor(grad) and opts == nil then grad, opts = nil, grad end
  local retain = false
  if opts ~= nil then
    if type(opts) ~= "table" then raise("backward: expected an options table, got " .. type(opts)) end
    for k in pairs(opts) do
      if k ~= "retain_graph" then
        raise(string.format("backward: unknown option '%s' (expected retain_graph)", tostring(k)))
      end
    end
    retain = opts.retain_graph and true or false
  end
  run_backward(t, grad, retain, nil)
end

--- ml.grad(f, {x, w, ...} [, {retain_graph}]) -> {dx, dw, ...}, value: the
--- gradients of the one-element result of f(x, w, ...) with respect to its
--- arguments, leaving every .grad untouched (torch.func.grad / jax.grad).
function A.grad(f, inputs, opts)
  if type(f) ~= "function" then raise("grad: expected a function, got " .. type(f)) end
  if type(inputs) ~= "table" or is_tensor(inputs) or #inputs == 0 then
    raise("grad: expected a list of input tensors, e.g. {x, w}")
  end
  local args, capture, recs = {}, {}, {}
  for i, x in ipairs(inputs) do
    if not is_tensor(x) then
      raise(string.format("grad: input %d is a %s, expected a tensor", i, type(x)))
    end
    local a = alias(x)
    local rec = {requires_grad = true}
    set_record(a, rec)
    args[i], recs[i], capture[rec] = a, rec, false
  end
  local out = A.enable_grad(f, table.unpack(args, 1, #inputs))
  if not is_tensor(out) or out:numel() ~= 1 then
    raise("grad: f must return a one-element tensor computed from its arguments, got "
      .. (is_tensor(out) and ("shape " .. shape_str(out.shape)) or type(out)))
  end
  local r = record(out)
  if r and (r.fn or r.requires_grad) then
    run_backward(out, nil, opts and opts.retain_graph, capture)
  end
  local grads = {}
  for i, rec in ipairs(recs) do grads[i] = capture[rec] or zeros(inputs[i].shape) end
  return grads, out:item()
end

-- --------------------------------------------------------- tensor methods --

--- x:requires_grad_([flag = true]): makes x a leaf that collects gradients.
function T.requires_grad_(x, flag)
  if flag == nil then flag = true end
  local r = record(x)
  if r and r.fn then
    if flag then return x end
    raise("requires_grad_: only a leaf tensor can be changed (use detach() on a computed one)")
  end
  if flag and x.dtype ~= "float32" and x.dtype ~= "float64" then
    raise(string.format("requires_grad_: only floating-point tensors can require gradients, "
      .. "got %s", x.dtype))
  end
  if r then r.requires_grad = flag
  elseif flag then set_record(x, {requires_grad = true}) end
  return x
end

--- x:detach(): the same elements, outside autograd (shares storage).
function T.detach(x) return alias(x) end

--- x:detach_(): takes x itself out of the graph.
function T.detach_(x)
  set_record(x, nil)
  return x
end

-- x.grad = g | nil, x.requires_grad = b (from the __newindex binding)
ops.set_field = function(x, k, v)
  if k == "requires_grad" then
    T.requires_grad_(x, v and true or false)
    return
  end
  if v ~= nil and not is_tensor(v) then
    raise("grad: expected a tensor or nil, got " .. type(v))
  end
  if v ~= nil and not same_shape(v.shape, x.shape) then
    raise(string.format("grad: expected shape %s, got %s", shape_str(x.shape),
      shape_str(v.shape)))
  end
  local r = record(x)
  if not r then
    if v == nil then return end
    r = {requires_grad = false}
    set_record(x, r)
  end
  r.grad = v
end

-- Printing shows the values of a tracked tensor and how it was made.
do
  local tostr = mt.__tostring
  mt.__tostring = function(x)
    local r = record(x)
    if not r then return tostr(x) end
    local s = tostr(alias(x))
    local tag = r.fn and (", grad_fn=<" .. r.fn.name .. ">")
      or (r.requires_grad and ", requires_grad=true" or "")
    return s:sub(1, -2) .. tag .. ")"
  end
end

--- ml.tensor(data [, dtype | {dtype =, requires_grad =}])
do
  local make = require("ml.tensor")._functions.tensor   -- also reads Series and DataFrames
  A.tensor = function(data, opts)
    if type(opts) ~= "table" then return make(data, opts) end
    for k in pairs(opts) do
      if k ~= "dtype" and k ~= "requires_grad" then
        raise(string.format("tensor: unknown option '%s' (expected dtype, requires_grad)",
          tostring(k)))
      end
    end
    local t = make(data, opts.dtype)
    if opts.requires_grad then T.requires_grad_(t, true) end
    return t
  end
end

A._ops = ops
A._edge_of = edge_of
A._run_backward = run_backward
A.scalar_tensor = scalar_tensor

return A
