-- ml.distributions: parameter distributions for RandomizedSearchCV and
-- sweeps, plus the small reproducible random generator they draw from.
--
--   ml.uniform(low, high)      continuous on [low, high)   (API.md form, not
--                              scipy's uniform(loc, scale))
--   ml.loguniform(low, high)   log-uniform on [low, high)  (scipy's loguniform)
--   ml.randint(low, high)      integers low..high-1        (upper bound exclusive,
--                              as scipy.stats.randint)
--   ml.choice{a, b, c}         one of the values, equally likely
-- Each has :rvs(rng) (alias :sample) -> one draw; rng is distributions.rng(seed)
-- or a function returning uniform numbers in [0, 1).
local ml = require "ml"
local raise = require("ml.errors").raise

local Dist = {}

--- splitmix64 stream: rng:random() in [0, 1), rng:below(n) in 0..n-1.
local Rng = {}
Rng.__index = Rng

function Dist.rng(seed)
  if seed == nil then seed = math.floor(ml.rand(1):item() * 2 ^ 31) end
  return setmetatable({s = math.tointeger(seed) or math.floor(seed)}, Rng)
end

function Rng:next()
  self.s = self.s + 0x9E3779B97F4A7C15
  local z = self.s
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return z ~ (z >> 31)
end

function Rng:random() return (self:next() >> 11) * 2.0 ^ -53 end
function Rng:below(n) return math.floor(self:random() * n) end

--- Fisher-Yates shuffle of a Lua list in place.
function Rng:shuffle(t)
  for i = #t, 2, -1 do
    local j = self:below(i) + 1
    t[i], t[j] = t[j], t[i]
  end
  return t
end

--- A random permutation of 1..n (a Lua list).
function Rng:permutation(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return self:shuffle(t)
end

-- A draw in [0, 1) from an Rng or from a plain function (ml.sweep passes one).
local function U(rng)
  if type(rng) == "function" then return rng() end
  return rng:random()
end

local function class(name, rvs, repr)
  local c = {__name = name, _distribution = true}
  c.__index = c
  c.rvs = rvs
  c.sample = rvs
  c.__tostring = repr
  return c
end

local function check_bounds(who, a, b)
  if type(a) ~= "number" or type(b) ~= "number" then
    raise(string.format("%s: expected two numbers (low, high), got %s, %s", who, type(a), type(b)))
  end
  if not (a < b) then raise(string.format("%s: low (%g) must be below high (%g)", who, a, b)) end
end

local Uniform = class("uniform", function(d, rng) return d.low + (d.high - d.low) * U(rng) end,
  function(d) return string.format("uniform(%g, %g)", d.low, d.high) end)
function Dist.uniform(low, high)
  check_bounds("uniform", low, high)
  return setmetatable({low = low, high = high}, Uniform)
end

local LogUniform = class("loguniform", function(d, rng)
  return math.exp(math.log(d.low) + (math.log(d.high) - math.log(d.low)) * U(rng))
end, function(d) return string.format("loguniform(%g, %g)", d.low, d.high) end)
function Dist.loguniform(low, high)
  check_bounds("loguniform", low, high)
  if low <= 0 then raise("loguniform: low must be positive") end
  return setmetatable({low = low, high = high}, LogUniform)
end

local RandInt = class("randint", function(d, rng) return d.low + math.floor(U(rng) * (d.high - d.low)) end,
  function(d) return string.format("randint(%d, %d)", d.low, d.high) end)
function Dist.randint(low, high)
  check_bounds("randint", low, high)
  if math.tointeger(low) == nil or math.tointeger(high) == nil then
    raise("randint: bounds must be integers")
  end
  return setmetatable({low = math.tointeger(low), high = math.tointeger(high)}, RandInt)
end

local Choice = class("choice", function(d, rng) return d.values[math.floor(U(rng) * #d.values) + 1] end,
  function(d)
    local s = {}
    for i, v in ipairs(d.values) do s[i] = tostring(v) end
    return "choice{" .. table.concat(s, ", ") .. "}"
  end)
function Dist.choice(values)
  if type(values) ~= "table" or #values == 0 then
    raise("choice: expected a non-empty list of values")
  end
  return setmetatable({values = values}, Choice)
end

function Dist.is_distribution(v)
  return type(v) == "table" and getmetatable(v) and getmetatable(v)._distribution == true
end

return Dist
