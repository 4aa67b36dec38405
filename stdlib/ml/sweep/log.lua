-- ml.sweep.log: the sweep log, CSV (path ends in .csv) or JSON lines. Every
-- line is one record, appended whole with fsync (O_APPEND, so the workers
-- of every rank may append to one file); a torn last line (a crash
-- mid-write) is ignored on reading. Records:
--   "ok" / "failed" / "diverged" / "pruned": a finished trial (the last
--       record of a trial id wins);
--   "running": an adaptive sampler's trial handed out (its config, so a
--       resumed sweep re-runs the same config under the same id);
--   "report": an intermediate value, metrics = {step, value, attempt}.
local json = require "ml.json"
local core = require "ml.core"

local log = {}

local NAN = {allow_nan = true}   -- logs keep NaN/Inf metrics
log.COLUMNS = {"trial", "status", "seconds", "seed", "config", "metrics", "error"}

function log.format(path) return path:match("%.csv$") and "csv" or "jsonl" end

local function csv_field(s)
  s = tostring(s)
  if s:find('[,"\n\r]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csv_split(line)
  local fields, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then buf[#buf + 1] = '"'; j = q + 2
        else i = q + 1; break end
      end
      fields[#fields + 1] = table.concat(buf)
      if line:sub(i, i) == "," then i = i + 1 elseif i <= n then return nil else break end
    else
      local c = line:find(",", i, true) or n + 1
      fields[#fields + 1] = line:sub(i, c - 1)
      i = c + 1
      if c > n then break end
    end
  end
  return fields
end

--- One record as a line of the log's format. t: {id, status, seconds, seed,
--- config, metrics, error, attempts}.
function log.line(fmt, t)
  if fmt == "jsonl" then
    return json.encode({trial = t.id, status = t.status, seconds = t.seconds, seed = t.seed,
                        config = t.config, metrics = t.metrics, error = t.error,
                        attempts = (t.attempts or 1) > 1 and t.attempts or nil}, NAN) .. "\n"
  end
  local row = {t.id, t.status, string.format("%.3f", t.seconds or 0), t.seed or "",
               json.encode(t.config or {}), json.encode(t.metrics or {}, NAN), t.error or ""}
  for i, v in ipairs(row) do row[i] = csv_field(v) end
  return table.concat(row, ",") .. "\n"
end

--- Appends a record (fsync'ed; the CSV header first into an empty file).
function log.append(path, t)
  local fmt = log.format(path)
  core.sys.append_line(path, log.line(fmt, t))
end

function log.header(path)
  if log.format(path) ~= "csv" or core.sys.log_kind(path) == "other" then return end
  local f = io.open(path, "rb")
  local empty = not f or f:read(1) == nil
  if f then f:close() end
  if empty then core.sys.append_line(path, table.concat(log.COLUMNS, ",") .. "\n") end
end

local function nonull(v) if v == json.null then return nil end return v end

--- Every complete record of a log, in file order.
function log.records(path)
  if core.sys.log_kind(path) ~= "file" then return {} end   -- /dev/null, a pipe: nothing logged
  local f = io.open(path, "rb")
  if not f then return {} end
  local text = f:read("a")
  f:close()
  local fmt, out = log.format(path), {}
  local header = fmt == "csv"
  for line in text:gmatch("([^\n]*)\n") do   -- complete lines only
    if header then header = false
    elseif line ~= "" then
      local ok, rec = pcall(function()
        if fmt == "jsonl" then return json.decode(line) end
        local f2 = csv_split(line)
        if not f2 or #f2 ~= #log.COLUMNS then return nil end
        return {trial = tonumber(f2[1]), status = f2[2], seconds = tonumber(f2[3]),
                seed = math.tointeger(tonumber(f2[4])), config = json.decode(f2[5]),
                metrics = json.decode(f2[6]), error = f2[7] ~= "" and f2[7] or nil}
      end)
      if ok and type(rec) == "table" and type(rec.status) == "string" then
        rec.error, rec.metrics, rec.seed = nonull(rec.error), nonull(rec.metrics), nonull(rec.seed)
        rec.trial = math.tointeger(nonull(rec.trial))
        if rec.status == "report" then
          local m = rec.metrics
          if rec.trial and type(m) == "table" and type(m.step) == "number" then
            out[#out + 1] = {trial = rec.trial, status = "report", step = m.step,
                             value = type(m.value) == "number" and m.value or 0 / 0,
                             attempt = math.tointeger(m.attempt) or 1}
          end
        elseif type(rec.config) == "table" then
          out[#out + 1] = rec
        end
      end
    end
  end
  return out
end

--- Reports per trial id: the latest attempt's {step, value} list, by step.
function log.reports(records)
  local by = {}
  for _, r in ipairs(records) do
    if r.status == "report" then
      local e = by[r.trial]
      if not e or r.attempt > e.attempt then e = {attempt = r.attempt, list = {}}; by[r.trial] = e end
      if r.attempt == e.attempt then e.list[#e.list + 1] = {step = r.step, value = r.value} end
    end
  end
  local out = {}
  for id, e in pairs(by) do
    table.sort(e.list, function(a, b) return a.step < b.step end)
    out[id] = e.list
  end
  return out
end

return log
