-- Data-parallel training with the bucketed allreduce overlapped with
-- backward, and with gradient accumulation (issue 18), under mpirun -np 2.
local mlrun = os.getenv("MLRUN") or "build/mlrun"

describe("data-parallel overlap and accumulation under mpirun -np 2", function()
  local has_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
  it("train the weights of the blocking allreduce and of the whole batch", function()
    if not has_mpirun then pending("mpirun is not installed") return end
    local out = os.tmpname()
    local cmd = ("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader " ..
      "timeout 180 mpirun --oversubscribe -np 2 %s tests/mpi/dp_overlap.lua > %s 2>&1"):format(mlrun, out)
    local ok = os.execute(cmd)
    local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
    assert.is_true(ok, text)
    local pat = "rank (%d): buckets (%d+) steps (%d+) overlap%-diff (%S+) accumulate%-diff (%S+) checksum (%S+)"
    local seen = {}
    for r, b, s, od, ad, sum in text:gmatch(pat) do
      seen[#seen + 1] = sum
      assert.is_true(tonumber(b) >= 2, "buckets " .. b)
      assert.equal(15, tonumber(s))
      assert.is_true(tonumber(od) < 1e-5, "overlap diff " .. od)
      assert.is_true(tonumber(ad) < 1e-5, "accumulate diff " .. ad)
    end
    assert.equal(2, #seen, text)
    assert.equal(seen[1], seen[2])   -- every rank holds the same weights
  end)
end)
