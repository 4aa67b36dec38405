-- Kernel-level fuzzing of ml.core (tests/fuzz/core_fuzz.lua) for a bounded
-- time, in a child process so that a crash or a sanitizer report (under
-- `make asan`, MLRUN is the sanitized build) fails this spec and the log
-- names the call.
describe("ml.core under random arguments", function()
  it("gives clean Lua errors, never a crash or a hang", function()
    local mlrun = os.getenv("MLRUN") or "build/mlrun"
    local log = os.tmpname()
    -- a fixed seed, so that a failure here is reproducible (ML_FUZZ_SEED picks
    -- another; `sh tests/fuzz/smoke.sh` and the libFuzzer targets explore)
    local seed = tonumber(os.getenv("ML_FUZZ_SEED")) or 1
    local p = assert(io.popen(string.format("timeout 120 %s tests/fuzz/core_fuzz.lua %d 8 %s 2>&1",
      mlrun, seed, log)))
    local out = p:read("a")
    local ok, how, code = p:close()
    local f = io.open(log)
    local last = ""
    if f then
      for line in f:lines() do last = line end
      f:close()
    end
    os.remove(log)
    assert(ok, ("seed %d: %s %s after the call %s\n%s"):format(seed, tostring(how), tostring(code),
      last, out:sub(-2000)))
    assert.matches("calls %d+ errors %d+", out)
  end)
end)
