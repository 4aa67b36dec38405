-- ml.json: JSON text <-> Lua values, for logs and fixtures. Decoding is a
-- parser (it never runs code). Arrays become sequences, objects tables;
-- null decodes to ml.json.null. Numbers that are integral in the text and
-- fit decode as Lua integers. NaN, Infinity and -Infinity (as Python's json
-- module writes them) are accepted on input.
local raise = require("ml.errors").raise
local json = {}

json.null = setmetatable({}, {__tostring = function() return "null" end})

local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                 ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local encode

local function encode_value(v, out, seen, allow_nan)
  local tv = type(v)
  if v == nil or v == json.null then out[#out + 1] = "null"
  elseif tv == "boolean" then out[#out + 1] = tostring(v)
  elseif tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      -- JSON has no NaN/Inf: null, or Python's NaN/Infinity when allowed
      out[#out + 1] = not allow_nan and "null" or v ~= v and "NaN" or
        (v > 0 and "Infinity" or "-Infinity")
    elseif math.type(v) == "integer" then out[#out + 1] = string.format("%d", v)
    else
      -- the shortest text that reads back as the same double
      local txt = string.format("%.15g", v)
      if tonumber(txt) ~= v then txt = string.format("%.16g", v) end
      if tonumber(txt) ~= v then txt = string.format("%.17g", v) end
      if not txt:find("[.eEn]") then txt = txt .. ".0" end   -- keep it a float
      out[#out + 1] = txt
    end
  elseif tv == "string" then out[#out + 1] = encode_string(v)
  elseif tv == "table" then
    if seen[v] then raise("json.encode: cannot encode a table that contains itself") end
    seen[v] = true
    if next(v) ~= nil and is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode_value(v[i], out, seen, allow_nan)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" and type(k) ~= "number" then
          raise("json.encode: object keys must be strings or numbers, got " .. type(k))
        end
        keys[#keys + 1] = k
      end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(tostring(k))
        out[#out + 1] = ":"
        encode_value(v[k], out, seen, allow_nan)
      end
      out[#out + 1] = "}"
    end
    seen[v] = nil
  elseif getmetatable(v) and getmetatable(v).__name == "ml.Tensor" then
    encode_value(v:totable(), out, seen, allow_nan)
  else
    raise("json.encode: cannot encode a " .. tv)
  end
end

--- Encodes v as compact JSON with object keys sorted (stable output).
--- NaN and infinities become null, or with {allow_nan = true} NaN, Infinity
--- and -Infinity (as Python's json.dumps writes them; decode reads them).
function encode(v, opts)
  local allow_nan = false
  if opts ~= nil then
    if type(opts) ~= "table" then raise("json.encode: expected an options table, got " .. type(opts)) end
    for k in pairs(opts) do
      if k ~= "allow_nan" then raise("json.encode: unknown option '" .. tostring(k) .. "' (expected allow_nan)") end
    end
    allow_nan = opts.allow_nan == true
  end
  local out = {}
  encode_value(v, out, {}, allow_nan)
  return table.concat(out)
end
json.encode = encode

local function decode_error(s, i, what)
  local line = select(2, s:sub(1, i):gsub("\n", "")) + 1
  raise(string.format("json.decode: %s at line %d (position %d)", what, line, i))
end

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local decode_value

local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then decode_error(s, j, "unterminated string") end
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      local map = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
                   r = "\r", t = "\t"}
      if map[e] then out[#out + 1] = map[e]; j = j + 2
      elseif e == "u" then
        local hex = s:sub(j + 2, j + 5)
        if not hex:match("^%x%x%x%x$") then decode_error(s, j, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(j, j + 1) == "\\u" then
          local lo = tonumber(s:sub(j + 2, j + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            j = j + 6
          end
        end
        out[#out + 1] = utf8.char(cp)
      else decode_error(s, j, "bad escape") end
    elseif c:byte() < 32 then decode_error(s, j, "control character in string")
    else
      -- bytes 0..31 are errors, '"' and '\\' special; everything else (DEL
      -- and UTF-8 included) is plain text. Not %c: it also matches DEL.
      local k = s:find('[%z\1-\31"\\]', j) or #s + 1
      out[#out + 1] = s:sub(j, k - 1)
      j = k
    end
  end
end

function decode_value(s, i, depth)
  if depth > 200 then decode_error(s, i, "nesting too deep") end
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return t, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then decode_error(s, i, "expected a string key") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then decode_error(s, i, "expected ':'") end
      t[k], i = decode_value(s, i + 1, depth + 1)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return t, i + 1 end
      if d ~= "," then decode_error(s, i, "expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local t, n = {}, 0
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return t, i + 1 end
    while true do
      n = n + 1
      t[n], i = decode_value(s, i, depth + 1)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return t, i + 1 end
      if d ~= "," then decode_error(s, i, "expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif s:sub(i, i + 3) == "true" then return true, i + 4
  elseif s:sub(i, i + 4) == "false" then return false, i + 5
  elseif s:sub(i, i + 3) == "null" then return json.null, i + 4
  -- not JSON, but what Python's json module writes for non-finite floats
  elseif s:sub(i, i + 2) == "NaN" then return 0 / 0, i + 3
  elseif s:sub(i, i + 7) == "Infinity" then return math.huge, i + 8
  elseif s:sub(i, i + 8) == "-Infinity" then return -math.huge, i + 9
  else
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if not num or num == "" or num == "-" then decode_error(s, i, "unexpected character") end
    local v = tonumber(num)
    if not v then decode_error(s, i, "bad number '" .. num .. "'") end
    if not num:find("[.eE]") then v = math.tointeger(v) or v end
    return v, i + #num
  end
end

--- Reads and decodes a JSON file.
function json.load(path)
  local f, err = io.open(path, "rb")
  if not f then raise("json.load: " .. tostring(err)) end
  local text = f:read("a")
  f:close()
  return json.decode(text)
end

--- Decodes one JSON value; trailing text other than white space is an error.
function json.decode(s, opts)
  if type(s) ~= "string" then raise("json.decode: expected a string, got " .. type(s)) end
  if opts ~= nil then require("ml.base").no_options("json.decode", opts) end
  local v, i = decode_value(s, 1, 0)
  i = skip(s, i)
  if i <= #s then decode_error(s, i, "trailing characters") end
  return v
end

return json
