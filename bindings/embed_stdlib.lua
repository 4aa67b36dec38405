-- embed_stdlib.lua OUT.c FILE... : writes the stdlib Lua sources as a C table
-- (module name, path, bytes) for module.c. Run at build time by lua5.4.
local out = assert(arg[1], "usage: embed_stdlib.lua OUT.c stdlib/ml/...lua")
local parts = {'#include "stdlib_embed.h"\n'}
local entries = {}
for i = 2, #arg do
  local file = arg[i]
  local path = assert(file:match("stdlib/(.*)$"), "not under stdlib/: " .. file)
  local name = path:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
  local f = assert(io.open(file, "rb"))
  local code = f:read("a")
  f:close()
  local bytes = {}
  for j = 1, #code do bytes[j] = code:byte(j) end
  local var = "src_" .. i
  parts[#parts + 1] = ("static const unsigned char %s[] = {%s, 0};\n")
    :format(var, #bytes > 0 and table.concat(bytes, ",") or "0")
  entries[#entries + 1] = ('  {"%s", "%s", %s, %d},\n'):format(name, path, var, #code)
end
parts[#parts + 1] = "const mlb_source mlb_stdlib[] = {\n" .. table.concat(entries) ..
  "  {0, 0, 0, 0}};\n"
local tmp = out .. ".tmp"
local f = assert(io.open(tmp, "wb"))
f:write(table.concat(parts))
f:close()
assert(os.rename(tmp, out))
