-- ml.serve: a trained model behind HTTP. `ml.serve(model, opts)` and
-- `mlrun serve MODEL [flags]` (serve.cli). The C side (runtime/serve/,
-- bindings/lserve.c) owns sockets, request parsing and micro-batching; this
-- file describes the model to it: what one instance looks like, whether the
-- answers are classes or values, and the page and metadata it shows.
local core = require "ml.core"
local base = require "ml.base"
local json = require "ml.json"
local raise = require("ml.errors").raise

local M = {}

local option_spec = {
  {"port", 8080, "integer"}, {"host", "127.0.0.1", "string"},
  {"workers", nil, "integer|nil"}, {"threads", nil, "integer|nil"},
  {"max_batch", 32, "integer"}, {"batch_timeout_ms", 2, "integer"},
  {"labels", nil, "string|table|nil"}, {"max_body", 8 * 1024 * 1024, "integer"},
  {"timeout", 30, "number"}, {"max_pixels", 4096 * 4096, "integer"},
  {"name", nil, "string|nil"}, {"topk", 5, "integer"},
  {"image_shape", nil, "table|nil"}, {"image_scale", 1, "number"},
  {"on_listen", nil, "function|nil"}, {"quiet", false, "boolean"},
}

local function fail(msg) raise("serve: " .. msg) end

local function cores()
  local n = core.nproc and core.nproc() or nil
  if not n then
    local f = io.open("/proc/cpuinfo")
    n = 0
    if f then
      for l in f:lines() do if l:match("^processor") then n = n + 1 end end
      f:close()
    end
  end
  return math.max(1, n or 1)
end

local function read_labels(src)
  if type(src) == "table" then return src end
  local f, err = io.open(src)
  if not f then fail("cannot read the labels file: " .. tostring(err)) end
  local out = {}
  for line in f:lines() do
    line = line:gsub("\r$", "")
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

--- Loads what a MODEL path names: a saved model (.mlm or any ml.save file),
--- an ONNX file, or a Lua script returning a model or predict(request).
function M.load_model(path)
  if type(path) ~= "string" then fail("expected a model path, got " .. type(path)) end
  if path:match("%.lua$") then
    local chunk, err = loadfile(path)
    if not chunk then fail(err) end
    local r = chunk()
    if r == nil then fail(path .. " returned nothing: return a model or a predict(request) function") end
    return r
  elseif path:match("%.onnx$") then
    local ok, onnx = pcall(require, "ml.onnx")
    if not ok then fail("this build cannot read ONNX files (" .. path .. ")") end
    return onnx.load(path)
  end
  return ml.load(path)
end

local function is_network(m)
  return type(m) == "table" and type(m.layers) == "table" and type(m.forward) == "function"
end

local function last_activation(m)
  local l = m.layers[#m.layers]
  return l and l.activation
end

local function class_json(v)
  if type(v) == "string" then return json.encode(v) end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
    return string.format("%d", math.tointeger(v))
  end
  return json.encode(v)
end

local function shape_of(t) local s = {} for i = 1, #t do s[i] = t[i] end return s end

local function numel(s) local n = 1 for _, d in ipairs(s) do n = n * d end return n end

--- What the C side needs to know about model `m` (given labels, or nil).
--- kind: "classes" (probabilities rows x k), "values" (rows x k) or "raw".
function M.describe(m, opts)
  opts = opts or {}
  local labels = opts.labels and read_labels(opts.labels) or nil
  if type(m) == "function" then
    return {kind = "raw", handle = M._raw_handler(m), in_shape = {}, labels = labels,
      summary = "a predict(request) function", type = "function"}
  end
  local d = {labels = labels}
  if is_network(m) then
    if not m.input_shape then fail("the network is not built: build it or fit it before serving") end
    d.in_shape = shape_of(m.input_shape)
    d.summary = m:summary({print = false})
    d.type = "network"
    local act = last_activation(m)
    local out = m.output_shapes and m.output_shapes[#m.output_shapes]
    local k = out and out[#out] or 1
    if act == "softmax" and k > 1 then
      d.kind, d.k = "classes", k
      d.predict = function(x) return m:predict(x, {batch_size = x.shape[1]}) end
    elseif act == "sigmoid" and k == 1 then
      d.kind, d.k = "classes", 2
      d.predict = function(x)
        local p = m:predict(x, {batch_size = x.shape[1]}):reshape(-1, 1)
        return ml.cat({1 - p, p}, 2)
      end
    else
      d.kind, d.k = "values", k
      d.predict = function(x)
        local y = m:predict(x, {batch_size = x.shape[1]})
        return y:reshape(x.shape[1], -1)
      end
    end
    d.classes = {}
    if d.kind == "classes" then for i = 1, d.k do d.classes[i] = i - 1 end end
  elseif type(m) == "table" and type(m.predict) == "function" then
    d.type = "estimator"
    local nf = m.n_features_in_
    if not nf and m.steps then
      local first = m.steps[1]
      nf = first and (first[2] or first).n_features_in_
    end
    if not nf then fail("the estimator is not fitted (no n_features_in_)") end
    d.in_shape = {nf}
    local names = m.feature_names_in_ or (m.steps and m.steps[1] and (m.steps[1][2] or m.steps[1]).feature_names_in_)
    if type(names) == "table" and #names == nf then d.feature_names = names end
    d.summary = tostring(m.__repr and m:__repr() or m.__name or "estimator")
    local classes = m.classes_
    if classes and type(m.predict_proba) == "function" then
      local list = {}
      if type(classes) == "table" and not ml.is_tensor(classes) then list = classes
      else for i = 1, classes:numel() do list[i] = classes[i] end end
      d.kind, d.k, d.classes = "classes", #list, list
      d.predict = function(x) return m:predict_proba(x):float():contiguous() end
    else
      d.kind, d.k = "values", 1
      d.predict = function(x)
        local y = m:predict(x)
        if not ml.is_tensor(y) then y = ml.tensor(y) end
        return y:float():reshape(x.shape[1], -1):contiguous()
      end
    end
  else
    fail("expected a network, a fitted estimator, a Lua script or a predict(request) function, got " .. type(m))
  end
  if d.kind == "classes" then
    d.class_json = {}
    for i, c in ipairs(d.classes) do d.class_json[i] = class_json(c) end
    if labels and #labels ~= d.k then
      fail(string.format("%d labels given for %d classes", #labels, d.k))
    end
  end
  -- images: an H x W x C input, or a flat one with image_shape given
  local s = d.in_shape
  local img = opts.image_shape
  if img then
    if #img ~= 3 or numel(img) ~= numel(s) then
      fail(string.format("image_shape {%s} does not hold the model's %d inputs",
        table.concat(img, ", "), numel(s)))
    end
    d.image = {img[1], img[2], img[3]}
  elseif #s == 3 and (s[3] == 1 or s[3] == 3) then
    d.image = {s[1], s[2], s[3]}
  elseif #s == 2 then
    d.image = {s[1], s[2], 1}
  end
  return d
end

local page_html

--- A predict(request) function as the C side calls it: request has body,
--- content_type and path, plus `json` (the decoded body when it is JSON)
--- and `image` (an H x W x C tensor in [0, 1] when it is a PNG or JPEG).
--- The function returns a table (sent as JSON) or a string, and optionally
--- an HTTP status after it.
function M._raw_handler(fn)
  return function(req)
    local ct = req.content_type or ""
    local first = req.body:match("^%s*(.)")
    if ct:find("json", 1, true) or first == "{" or first == "[" then
      local ok, v = pcall(json.decode, req.body)
      if not ok then
        return 400, json.encode({error = "malformed JSON body: " .. tostring(v), status = 400})
      end
      req.json = v
    elseif ct:match("^image/") then
      local ok, img = pcall(core.serve.decode_image, req.body)
      if not ok then
        return 400, json.encode({error = tostring(img), status = 400})
      end
      req.image = img
    end
    local r, status = fn(req)
    if type(r) == "table" and type(status) ~= "number" and getmetatable(r) == nil then
      return 200, json.encode(r)
    elseif type(r) == "table" then
      return status or 200, json.encode(r)
    elseif type(r) == "string" then
      return status or 200, r
    end
    raise("the predict function returned " .. type(r) .. ", expected a table or a string")
  end
end

local function metadata(d, name, o)
  return json.encode({
    name = name, version = 1, kind = d.kind, type = d.type,
    input_shape = d.in_shape, classes = d.classes, labels = d.labels,
    feature_names = d.feature_names,
    accepts_images = d.image ~= nil, image_shape = d.image, image_scale = o.image_scale,
    max_batch = o.max_batch, summary = d.summary,
  })
end

-- The spec a worker engine rebuilds the model from: how, what, which labels
-- and image shape (strings packed with their lengths; any bytes are fine).
local function pack_spec(how, payload, o)
  local labels = o.labels and json.encode(read_labels(o.labels)) or ""
  local img = o.image_shape and json.encode(o.image_shape) or ""
  return string.pack("s4s4s4s4", how, payload, labels, img)
end

--- Worker side (bindings/lserve.c): the model from a spec, described.
function M._worker(spec)
  local how, payload, labels, img = string.unpack("s4s4s4s4", spec)
  local m
  if how == "path" then m = M.load_model(payload)
  else m = ml.io.deserialize(payload) end
  local d = M.describe(m, {labels = labels ~= "" and json.decode(labels) or nil,
    image_shape = img ~= "" and json.decode(img) or nil})
  return d
end

--- ml.serve(model, opts): serves `model` (a path, a network, a fitted
--- estimator or pipeline, or a predict(request) function) until SIGTERM or
--- SIGINT, then drains in-flight requests and returns.
function M.serve(model, opts)
  local o = base.options("serve", opts, option_spec)
  if o.port < 0 or o.port > 65535 then fail("port must be 0..65535, got " .. o.port) end
  if o.max_batch < 1 then fail("max_batch must be >= 1, got " .. o.max_batch) end
  if o.batch_timeout_ms < 0 then fail("batch_timeout_ms must be >= 0, got " .. o.batch_timeout_ms) end
  if o.max_body < 1 then fail("max_body must be >= 1 byte, got " .. o.max_body) end
  if not (o.timeout > 0) then fail("timeout must be > 0 seconds, got " .. tostring(o.timeout)) end
  if o.max_pixels < 1 then fail("max_pixels must be >= 1, got " .. o.max_pixels) end
  if o.topk < 1 then fail("topk must be >= 1, got " .. o.topk) end
  if not (o.image_scale > 0) then fail("image_scale must be > 0, got " .. tostring(o.image_scale)) end
  local ncores = cores()
  local workers = o.workers or ncores
  if workers < 1 or workers > 256 then fail("workers must be 1..256, got " .. workers) end
  -- kernels' threads divided among workers: the cores are shared, not multiplied
  local threads = o.threads or math.max(1, ncores // workers)
  if threads < 1 then fail("threads must be >= 1, got " .. threads) end

  local m, spec, name = model, nil, o.name
  if type(model) == "string" then
    m = M.load_model(model)
    spec = pack_spec("path", model, o)
    name = name or model:match("([^/]+)$"):gsub("%.%w+$", "")
  elseif type(model) == "function" then
    fail("a predict(request) function is served from a Lua script file: mlrun serve script.lua")
  else
    spec = pack_spec("bytes", ml.io.serialize(model), o)
    name = name or (model.name ~= nil and tostring(model.name)) or "model"
  end
  if not name:match("^[%w_.%-]+$") then fail("name may hold letters, digits, _ . - only, got '" .. name .. "'") end
  local d = M.describe(m, o)
  local copts = {
    host = o.host, port = o.port, workers = workers, threads = threads,
    max_batch = o.max_batch, batch_timeout_ms = o.batch_timeout_ms, max_body = o.max_body,
    timeout = o.timeout, max_pixels = o.max_pixels, topk = o.topk, name = name,
    in_shape = d.in_shape, raw = d.kind == "raw" and 1 or 0,
    image_ok = d.image and 1 or 0, image_scale = o.image_scale,
    in_h = d.image and d.image[1] or 0, in_w = d.image and d.image[2] or 0,
    in_c = d.image and d.image[3] or 1,
    metadata = metadata(d, name, o),
    page = page_html(d, name),
    on_listen = function(port)
      if not o.quiet then
        print(string.format("serving %s on http://%s:%d (%d workers x %d threads)",
          name, o.host:find(":") and "[" .. o.host .. "]" or o.host, port, workers, threads))
        io.stdout:flush()
      end
      if o.on_listen then o.on_listen(port) end
    end,
  }
  return core.serve.run(spec, copts)
end

local usage = "usage: mlrun serve MODEL [--port 8080] [--host 127.0.0.1] [--workers N] " ..
  "[--threads N] [--max-batch B] [--batch-timeout-ms T] [--labels labels.txt] " ..
  "[--max-body BYTES] [--timeout S] [--max-pixels N] [--topk K] [--name NAME] " ..
  "[--image-shape HxWxC] [--image-scale S]"

--- `mlrun serve MODEL [flags]`
function M.cli(argv)
  local model = argv[1]
  if not model or model == "--help" or model == "-h" then
    if model then print(usage) return end
    raise(usage)
  end
  if model:sub(1, 1) == "-" then raise("mlrun serve: the model file comes first\n" .. usage) end
  local ints = {port = true, workers = true, threads = true, max_batch = true,
    batch_timeout_ms = true, max_body = true, max_pixels = true, topk = true}
  local nums = {timeout = true, image_scale = true}
  local strs = {host = true, labels = true, name = true}
  local opts = {}
  local i = 2
  while i <= #argv do
    local a = argv[i]
    local key = a:match("^%-%-([%w%-]+)$")
    key = key and key:gsub("%-", "_")
    local v = argv[i + 1]
    if not key or not (ints[key] or nums[key] or strs[key] or key == "image_shape") then
      raise(("mlrun serve: unknown option '%s'\n%s"):format(a, usage))
    end
    if v == nil then raise(("mlrun serve: %s needs a value\n%s"):format(a, usage)) end
    if ints[key] then
      opts[key] = math.tointeger(tonumber(v))
      if not opts[key] then raise(("mlrun serve: %s expects an integer, got '%s'"):format(a, v)) end
    elseif nums[key] then
      opts[key] = tonumber(v)
      if not opts[key] then raise(("mlrun serve: %s expects a number, got '%s'"):format(a, v)) end
    elseif key == "image_shape" then
      local h, w, c = v:match("^(%d+)x(%d+)x(%d+)$")
      if not h then raise(("mlrun serve: --image-shape expects HxWxC, got '%s'"):format(v)) end
      opts.image_shape = {tonumber(h), tonumber(w), tonumber(c)}
    else
      opts[key] = v
    end
    i = i + 2
  end
  M.serve(model, opts)
end

-- The page: one self-contained HTML file (no external assets) that sends a
-- picked or dropped picture to /predict and draws the top-5 as bars; for
-- tabular models, a form with one field per feature.
page_html = function(d, name)
  local esc = function(s)
    return (tostring(s):gsub("[&<>\"]", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;"}))
  end
  local tabular = not d.image and d.kind ~= "raw"
  local n = numel(d.in_shape or {})
  return (require("ml.serve_page").html
    :gsub("{{NAME}}", function() return esc(name) end)
    :gsub("{{SUMMARY}}", function() return esc(d.summary or "") end)
    :gsub("{{MODE}}", function() return tabular and "table" or "image" end)
    :gsub("{{NFEATURES}}", function() return tostring(tabular and math.min(n, 512) or 0) end)
    :gsub("{{FEATURES}}", function()
      return d.feature_names and json.encode(d.feature_names):gsub("</", "<\\/") or "null"
    end))
end

return setmetatable(M, {__call = function(_, ...) return M.serve(...) end})
