-- ml.sweep.space: what a search space entry is, and drawing one config.
-- An entry is a fixed value, a list of values (a choice), a distribution
-- (ml.uniform, ml.loguniform, ml.randint, ml.choice, or any table with
-- :rvs(u)), or a function of the config drawn so far returning one of
-- those or nil (the parameter is then absent): the conditional parameters
-- of a tree-structured space. Plain entries are drawn first, in name order,
-- then the functions in name order, so a function sees every plain value and
-- the conditional ones before it in name order.
local raise = require("ml.errors").raise
local space = {}

--- The kind of an entry: "fixed", "choice" (with its values), "uniform",
--- "loguniform", "randint", "other" (a distribution TPE cannot model: drawn
--- from itself), "cond" (a function), or nil when it is none of these.
function space.kind(spec)
  local t = type(spec)
  if t == "function" then return "cond" end
  if t == "number" or t == "string" or t == "boolean" then return "fixed" end
  if t ~= "table" then return nil end
  local mt = getmetatable(spec)
  if mt == nil then return "choice", spec end
  local name = mt.__name
  if name == "choice" then return "choice", spec.values end
  if name == "uniform" or name == "loguniform" or name == "randint" then return name end
  if spec.rvs or spec.sample then return "other" end
  return nil
end

local function bad_entry(name, spec)
  raise(("sweep: space entry '%s' must be a list of values, a distribution (ml.uniform, " ..
    "ml.loguniform, ml.randint, ml.choice) or a function of the config, got %s")
    :format(name, type(spec)))
end

--- Draws from an entry with u (a function returning uniforms in [0, 1)).
function space.sample(name, spec, u)
  local kind, values = space.kind(spec)
  if kind == "fixed" then return spec end
  if kind == "choice" then
    if #values == 0 then raise(("sweep: space entry '%s' is an empty list"):format(name)) end
    return values[math.floor(u() * #values) + 1]
  end
  if kind and kind ~= "cond" then return (spec.rvs or spec.sample)(spec, u) end
  bad_entry(name, spec)
end

--- The names of a space in drawing order: plain entries, then functions.
function space.order(sp)
  local plain, cond = {}, {}
  for k, v in pairs(sp) do
    if type(k) ~= "string" then raise("sweep: parameter names must be strings") end
    if type(v) == "function" then cond[#cond + 1] = k else plain[#plain + 1] = k end
  end
  table.sort(plain)
  table.sort(cond)
  for _, k in ipairs(cond) do plain[#plain + 1] = k end
  return plain
end

--- One config: pick(name, spec, cfg) draws each present parameter (spec is
--- the entry, or what its function returned for the config so far).
function space.draw(sp, pick)
  local cfg = {}
  for _, k in ipairs(space.order(sp)) do
    local spec = sp[k]
    if type(spec) == "function" then
      local ok, got = pcall(spec, cfg)
      if not ok then raise(("sweep: space entry '%s' raised: %s"):format(k, tostring(got))) end
      spec = got
    end
    if spec ~= nil then
      if not space.kind(spec) or space.kind(spec) == "cond" then bad_entry(k, spec) end
      cfg[k] = pick(k, spec, cfg)
    end
  end
  return cfg
end

--- Checks a space table before any trial runs.
function space.check(who, sp)
  if type(sp) ~= "table" or getmetatable(sp) ~= nil then
    raise(("sweep: %s.space must be a table of parameters, got %s"):format(who, type(sp)))
  end
  for _, k in ipairs(space.order(sp)) do
    local kind, values = space.kind(sp[k])
    if not kind then bad_entry(k, sp[k]) end
    if kind == "choice" and #values == 0 then
      raise(("sweep: space entry '%s' is an empty list"):format(k))
    end
  end
end

return space
