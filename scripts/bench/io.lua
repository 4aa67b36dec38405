-- scripts/bench/io.lua [BUILD [MNIST_DIR]] - file speeds: MNIST IDX loading,
-- ml.save / ml.load at each compression level, .npy, beside NumPy when
-- /usr/bin/python3 has it. Prints wall seconds (ml.parallel.now) and CPU seconds
-- (os.clock): on a shared machine the CPU figure is the steadier one.
local mnist_dir = arg[2]
if not mnist_dir then
  for _, d in ipairs{"../shared/datasets/mnist", "/work/shared/datasets/mnist"} do
    if ml.io.isdir(d) then mnist_dir = d; break end
  end
end

local function timed(f)
  collectgarbage(); collectgarbage()
  local w, c = ml.parallel.now(), os.clock()
  local r = table.pack(f())
  return ml.parallel.now() - w, os.clock() - c, table.unpack(r, 1, r.n)
end

print(string.format("threads %d", ml.get_num_threads()))
local w, c = timed(function() return ml.datasets.mnist() end)
print(string.format("mnist 8k/2k subset (IDX .gz)     %6.3f s wall  %6.3f s cpu", w, c))
if mnist_dir then
  for run = 1, 2 do
    w, c = timed(function() return ml.datasets.mnist(mnist_dir) end)
    print(string.format("mnist full 60k/10k, run %d        %6.3f s wall  %6.3f s cpu  (%s)", run, w, c, mnist_dir))
  end
else
  print("SKIP full MNIST: pass its folder as the second argument")
end

local tmp = os.tmpname()
ml.seed(0)
local x = ml.randn(25e6)                  -- 100 MB of float32
local mb = 100
for _, level in ipairs{0, 1, 6} do
  local ws, cs = timed(function() ml.save(tmp, x, {level = level}) end)
  local f = io.open(tmp, "rb"); local size = f:seek("end"); f:close()
  local wl, cl = timed(function() return ml.load(tmp) end)
  print(string.format("ml.save/load 100 MB randn level %d: save %5.0f MB/s (cpu %5.0f)  load %5.0f MB/s " ..
    "(cpu %5.0f)  size %5.1f MB", level, mb / ws, mb / cs, mb / wl, mb / cl, size / 1e6))
end
local ws, cs = timed(function() ml.save_npy(tmp, x) end)
local wl, cl = timed(function() return ml.load_npy(tmp) end)
print(string.format("save_npy/load_npy 100 MB:          save %5.0f MB/s (cpu %5.0f)  load %5.0f MB/s (cpu %5.0f)",
  mb / ws, mb / cs, mb / wl, mb / cl))

if os.execute("/usr/bin/python3 -c 'import numpy' 2>/dev/null") then
  local py = string.format([[
import time, gzip, numpy as np
a = np.random.default_rng(0).standard_normal(25_000_000).astype(np.float32)
t = time.time(); np.save('%s.npy', a); s = time.time() - t
t = time.time(); np.load('%s.npy'); l = time.time() - t
print('numpy np.save/np.load 100 MB:      save %%5.0f MB/s              load %%5.0f MB/s' %% (100 / s, 100 / l))
d = '%s'
if d:
    t = time.time()
    for n in ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz']:
        x = np.frombuffer(gzip.open(d + '/' + n).read(), np.uint8, offset=16).reshape(-1, 28, 28, 1).astype(np.float32) / 255
    print('numpy+gzip full MNIST images:      %%6.3f s wall' %% (time.time() - t))
]], tmp, tmp, mnist_dir or "")
  os.execute("/usr/bin/python3 -c \"" .. py:gsub('"', '\\"') .. "\"")
  os.remove(tmp .. ".npy")
else
  print("SKIP numpy comparison: /usr/bin/python3 has no numpy")
end
os.remove(tmp)
