-- ml.io: saving and loading in mlrun's own format (.mlt for tensors and
-- tables, .mlm for models: the same format), NumPy .npy interchange, IDX
-- files, and small file helpers (atomic writes, gunzipping reads).
--
-- Save/load protocol: a saved value is a tree of tables (string or integer
-- keys) whose leaves are numbers (integers stay integers), strings, booleans
-- and tensors. An object of a class (a table whose class has `_module`,
-- `__name` and a `state` method) is saved as
--   {__class = "LogisticRegression", __module = "ml.linear_model", state = obj:state()}
-- and rebuilt by Class.from_state(Class, state), where Class is looked up in
-- ml.registry: the fixed list of classes mlrun ships plus those the program
-- registered with ml.io.register(Class). Names read from a file are only
-- ever table keys there: loading never calls require/load/dofile with them,
-- and no code is read from a file, so loading a file never runs code from it.
-- A value shared by several places is saved (and loaded) once per place.
local ml = require "ml"
local core = require "ml.core"
local registry = require "ml.registry"
local raise = require("ml.errors").raise

local M = {}

--- Calls f(...) (a C function, or a helper below); an error is raised again
--- at the user's line (base.raise) without any stdlib position it carried.
local function call(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local e = r[2]
  if type(e) ~= "string" then error(e, 0) end
  raise((e:gsub("^[^\n]-stdlib/ml/[%w_/]+%.lua:%d+: ", "")))
end
M._call = call

local function where(path)
  return path == "" and "the value" or path
end

local function check_opts(who, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    raise(string.format("%s: expected an options table, got %s", who, type(opts)))
  end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for n in pairs(allowed) do names[#names + 1] = n end
      table.sort(names)
      raise(string.format("%s: unknown option '%s' (expected one of: %s)", who, tostring(k),
        table.concat(names, ", ")))
    end
  end
  return opts
end

-- Converts objects to their {__class, __module, state} form (a plain tree).
local function to_tree(who, v, seen, path)
  if type(v) ~= "table" then return v end
  if seen[v] then raise(string.format("%s: cycle at %s", who, where(path))) end
  local mt = getmetatable(v)
  local out
  seen[v] = true
  if mt ~= nil then
    local name = rawget(mt, "__name") or v.__name
    local module, state = v._module, v.state
    if type(state) ~= "function" or type(module) ~= "string" or type(name) ~= "string" then
      local missing = {}
      if type(name) ~= "string" then missing[#missing + 1] = "__name" end
      if type(module) ~= "string" then missing[#missing + 1] = "_module" end
      if type(state) ~= "function" then missing[#missing + 1] = "state()" end
      raise(string.format("%s: cannot save %s: %s is not a saveable class (it lacks %s)", who,
        where(path), type(name) == "string" and name or "a table with a metatable",
        table.concat(missing, ", ")))
    end
    if not registry.entry_of(mt) then
      raise(string.format("%s: cannot save %s: class %s (module %s) is not one mlrun ships "
        .. "nor registered with ml.io.register, so ml.load could not rebuild it", who,
        where(path), name, module))
    end
    out = {__class = name, __module = module,
           state = to_tree(who, v:state(), seen, path .. ".state")}
  else
    out = {}
    for k, x in pairs(v) do
      local kp = type(k) == "string" and (path .. "." .. k) or (path .. "[" .. tostring(k) .. "]")
      out[k] = to_tree(who, x, seen, kp)
    end
  end
  seen[v] = nil
  return out
end

local function is_wrapper(v)
  return type(v) == "table" and (rawget(v, "__class") ~= nil or rawget(v, "__module") ~= nil)
end

-- Does the tree v hold a saved object anywhere?
local function holds_wrapper(v)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return false end
  if is_wrapper(v) then return true end
  for _, x in pairs(v) do if holds_wrapper(x) then return true end end
  return false
end

local function copy_tree(v)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy_tree(x) end
  return out
end

-- Rebuilds objects bottom-up from their saved form: from_state receives a
-- state whose nested objects are already objects. A class that saves its
-- parts as {__class, __module, state} itself and rebuilds them in its own
-- from_state (as Pipeline does) gets that raw state when the rebuilt one
-- fails.
local function from_tree(who, v)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return v end
  local raw = is_wrapper(v) and holds_wrapper(v.state) and copy_tree(v.state) or nil
  for k, x in pairs(v) do
    if type(x) == "table" then v[k] = from_tree(who, x) end
  end
  if not is_wrapper(v) then return v end
  local cls = registry.resolve(who, "object", v.__module, v.__class)
  local cname = v.__class
  local okb, obj = pcall(cls.from_state, cls, v.state)
  if okb then return obj end
  if raw then
    local okr, obj2 = pcall(cls.from_state, cls, raw)
    if okr then return obj2 end
  end
  raise(string.format("%s: %s.from_state failed: %s", who, cname, tostring(obj)))
end

local function meta_of(x)
  local kind = ml.is_tensor(x) and "tensor" or type(x)
  local meta = {format = "mlrun", mlrun_version = ml.version, kind = kind}
  if type(x) == "table" and getmetatable(x) ~= nil then
    meta.kind = "object"
    meta.class = getmetatable(x).__name
    meta.module = x._module
  end
  return meta
end

local level_opts = {level = true}

--- ml.save(path, x [, {level = 1}]): writes x (tensor, table or object)
--- atomically; level is zlib's 0 (store) .. 9 (smallest), default 1 (fast).
function M.save(path, x, opts)
  if type(path) ~= "string" then
    raise("save: expected a file path as argument 1, got " .. type(path))
  end
  if x == nil then raise("save: expected a value to save as argument 2, got nil") end
  opts = check_opts("save", opts, level_opts)
  local tree = call(to_tree, "save", x, {}, "")
  call(core.io.save, path, tree, meta_of(x), opts.level)
end

--- ml.load(path) -> the saved value (objects rebuilt through from_state).
function M.load(path)
  if type(path) ~= "string" then
    raise("load: expected a file path, got " .. type(path))
  end
  local v = call(core.io.load, path)
  return call(from_tree, "load", v)
end

--- ml.io.register(Class [, kind]) -> Class: lets ml.load rebuild instances of
--- a class the program defines (see ml.registry and docs/io.md).
M.register = registry.register
M.unregister = registry.unregister

--- ml.io.info(path) -> metadata of a saved file (format version, sizes, kind, class).
function M.info(path)
  local h = call(core.io.header, path)
  local _, meta = call(core.io.load, path)
  for k, v in pairs(h) do meta[k] = v end
  return meta
end

--- ml.io.serialize(x [, {level = 1}]) -> string: the same encoding in memory.
function M.serialize(x, opts)
  opts = check_opts("serialize", opts, level_opts)
  if x == nil then raise("serialize: expected a value, got nil") end
  return call(core.io.serialize, call(to_tree, "serialize", x, {}, ""), meta_of(x), opts.level)
end

--- ml.io.deserialize(s) -> value
function M.deserialize(s)
  if type(s) ~= "string" then
    raise("deserialize: expected a string, got " .. type(s))
  end
  return call(from_tree, "deserialize", (call(core.io.deserialize, s)))
end

--- ml.save_npy(path, x): NumPy .npy (version 1.0, '<f4' or '<i8', C order), atomic.
function M.save_npy(path, x)
  if type(path) ~= "string" then raise("save_npy: expected a file path, got " .. type(path)) end
  if not ml.is_tensor(x) then
    raise("save_npy: expected a tensor as argument 2, got " .. type(x))
  end
  call(core.io.save_npy, path, x)
end

--- ml.load_npy(path) -> tensor. Float dtypes (f2, f4, f8) load as float32;
--- integer and bool dtypes (i1..i8, u1..u8, b1) as int64. Both byte orders
--- and Fortran order are read.
function M.load_npy(path)
  if type(path) ~= "string" then raise("load_npy: expected a file path, got " .. type(path)) end
  return call(core.io.load_npy, path)
end

--- ml.read_idx(path [, {dtype = "float32", scale = 1}]) -> tensor with the
--- file's shape. IDX files may be gzipped (detected by magic). Elements of
--- any IDX type convert to dtype ("float32", the default, or "int64");
--- float results are multiplied by scale (1/255 maps ubyte pixels to [0, 1]).
function M.read_idx(path, opts)
  if type(path) ~= "string" then raise("read_idx: expected a file path, got " .. type(path)) end
  opts = check_opts("read_idx", opts, {dtype = true, scale = true})
  if opts.scale ~= nil and type(opts.scale) ~= "number" then
    raise("read_idx: option 'scale' must be a number, got " .. type(opts.scale))
  end
  return call(core.io.read_idx, path, opts.dtype, opts.scale)
end

--- ml.io.write_atomic(path, text): temp file, flush, fsync, rename.
function M.write_atomic(path, s)
  if type(path) ~= "string" then raise("write_atomic: expected a path, got " .. type(path)) end
  if type(s) ~= "string" then raise("write_atomic: expected a string, got " .. type(s)) end
  call(core.io.write_atomic, path, s)
end

--- ml.io.read_file(path) -> contents (gunzipped when the file is gzip)
function M.read_file(path)
  return call(core.io.read_file, path)
end

--- ml.io.listdir(dir) -> sorted names (hidden files left out)
function M.listdir(dir) return call(core.io.listdir, dir) end
function M.isdir(p) return call(core.io.isdir, p) end
function M.exists(p) return call(core.io.exists, p) end

return M
