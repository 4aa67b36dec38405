-- Saves onto special targets (issue 9, "Saves and sweeps"): every writer of
-- the product (ml.save, save_npy, image.save, write_atomic, plots,
-- DataFrame:write_csv, CSVLogger, sweep logs) writes into a device or a pipe
-- in place instead of replacing it by a regular file, follows a symlink to
-- its target (the link stays a link), and reports write errors (ENOSPC).
local ml = require "ml"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function kind(path)   -- "c" device, "p" pipe, "l" link, "-" file
  local p = io.popen("ls -ld '" .. path .. "' 2>/dev/null")
  local s = p:read("a")
  p:close()
  return s:sub(1, 1)
end
local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

-- Each writer as f(path); the value written is small and valid.
local img = ml.zeros(4, 4, 1)
local writers = {
  {"ml.save", function(p) ml.save(p, {w = ml.ones(3)}) end},
  {"ml.save_npy", function(p) ml.save_npy(p, ml.ones(3)) end},
  {"ml.image.save", function(p) ml.image.save(p, img) end},
  {"ml.io.write_atomic", function(p) ml.io.write_atomic(p, "hello\n") end},
  {"ml.plot.history", function(p) ml.plot.history({history = {loss = {3, 2, 1}}}, p) end},
  {"DataFrame:write_csv", function(p) ml.DataFrame({a = {1, 2}}):write_csv(p) end},
  {"model:save", function(p)
    local m = ml.nn.Sequential{ml.nn.Input{3}, ml.nn.Dense(2)}
    m:compile{loss = "mse", optimizer = "sgd"}
    m:save(p)
  end},
}

describe("atomic writers on special targets", function()
  for _, w in ipairs(writers) do
    local name, write = w[1], w[2]
    it(name .. " writes into /dev/null and leaves it a device", function()
      write("/dev/null")
      assert.equal("c", kind("/dev/null"))
    end)
    it(name .. " reports ENOSPC on /dev/full", function()
      local ok, err = pcall(write, "/dev/full")
      assert.is_false(ok)
      assert.matches("No space left on device", tostring(err))
      assert.equal("c", kind("/dev/full"))
    end)
    it(name .. " follows a symlink and keeps it", function()
      local target, link = dir .. "/target_" .. name:gsub("%W", "_"), dir .. "/link_" .. name:gsub("%W", "_")
      local f = assert(io.open(target, "wb")); f:write("old"); f:close()
      assert(os.execute(string.format("ln -sf '%s' '%s'", target, link)))
      write(link)
      assert.equal("l", kind(link))
      assert.equal("-", kind(target))
      assert.are_not.equal("old", slurp(target))
      -- a dangling link names the file to create
      local missing, dlink = target .. ".new", link .. ".dangling"
      assert(os.execute(string.format("ln -sf '%s' '%s'", missing, dlink)))
      write(dlink)
      assert.equal("l", kind(dlink))
      assert.equal("-", kind(missing))
    end)
    it(name .. " writes into a FIFO", function()
      local fifo = dir .. "/fifo_" .. name:gsub("%W", "_")
      assert(os.execute("mkfifo '" .. fifo .. "'"))
      local reader = io.popen(string.format("timeout 60 cat '%s' > '%s.out'", fifo, fifo), "r")
      write(fifo)
      reader:close()
      assert.equal("p", kind(fifo))
      assert.is_true(#slurp(fifo .. ".out") > 0)
    end)
  end
  it("ml.save into a FIFO gives a file ml.load reads back", function()
    local fifo = dir .. "/fifo_roundtrip"
    assert(os.execute("mkfifo '" .. fifo .. "'"))
    local reader = io.popen(string.format("timeout 60 cat '%s' > '%s.mlt'", fifo, fifo), "r")
    ml.save(fifo, {w = ml.arange(1, 4)})
    reader:close()
    assert.same({1, 2, 3}, ml.load(fifo .. ".mlt").w:totable())
  end)
  it("refuses a directory as the target", function()
    local ok, err = pcall(ml.save, dir, {a = 1})
    assert.is_false(ok)
    assert.matches("is a directory", tostring(err))
  end)
  it("CSVLogger reports a full disk instead of losing rows", function()
    local cb = ml.callbacks.CSVLogger("/dev/full")
    cb:on_train_begin()
    local ok, err = pcall(cb.on_epoch_end, cb, 1, {loss = 0.5})
    assert.is_false(ok)
    assert.matches("No space left on device", tostring(err))
    local cb2 = ml.callbacks.CSVLogger("/dev/null")
    cb2:on_train_begin()
    cb2:on_epoch_end(1, {loss = 0.5})
    cb2:on_train_end()
    assert.equal("c", kind("/dev/null"))
  end)
  it("sweep logs append into /dev/null and report /dev/full", function()
    local run = function(c) return {loss = c.x} end
    local r = ml.sweep{run = run, grid = {x = {1, 2}}, log = "/dev/null", verbose = 0, workers = 0}
    assert.equal(2, #r.trials)
    assert.equal("c", kind("/dev/null"))
    local ok, err = pcall(ml.sweep, {run = run, grid = {x = {1, 2}}, log = "/dev/full",
                                     verbose = 0, workers = 0})
    assert.is_false(ok)
    assert.matches("No space left on device", tostring(err))
  end)
end)
