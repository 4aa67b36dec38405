-- ml.dist: single-rank behaviour here, and a 2-rank job under mpirun.
local ml = require "ml"

local mlrun = os.getenv("MLRUN") or "build/mlrun"

describe("ml.dist outside mpirun", function()
  it("is rank 0 of 1", function()
    assert.equal(0, ml.dist.rank())
    assert.equal(1, ml.dist.size())
    assert.is_false(ml.dist.is_distributed())
  end)
  it("reduces and broadcasts as the identity", function()
    local t = ml.tensor{1, 2, 3}
    assert.equal(t, ml.dist.allreduce(t, "mean"))
    assert.same({1, 2, 3}, t:totable())
    assert.same({1, 2, 3}, ml.dist.broadcast(t, 0):totable())
    assert.same({4}, ml.dist.allreduce_numbers({4}))
  end)
  it("rejects bad operations and buffers", function()
    assert.has_error(function() ml.dist.allreduce(ml.ones(2), "avg") end,
      "allreduce: unknown operation 'avg' (expected sum, mean, max or min)")
    assert.has_error(function() ml.dist.allreduce(ml.ones(2, 2):t()) end)
    assert.has_error(function() ml.dist.broadcast(ml.ones(2), 3) end)
  end)
end)

describe("ml.dist without the MPI plugin", function()
  it("says under a launcher how to build with MPI (WITH_MPI=yes)", function()
    local f = io.popen("OMPI_COMM_WORLD_SIZE=2 MLRUN_MPI_PLUGIN=/nonexistent/ml_mpi.so " .. mlrun ..
                       " -e 'print(ml.dist.rank())' 2>&1; echo \"status $?\"")
    local out = f:read("a")
    f:close()
    assert.matches("status 1", out, 1, true)
    assert.matches("ml_mpi.so could not be loaded", out, 1, true)
    assert.matches("make WITH_MPI=yes", out, 1, true)
  end)
end)

describe("ml.dist under mpirun -np 2", function()
  local has_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
  it("sums, averages, broadcasts and sends between ranks", function()
    if not has_mpirun then pending("mpirun is not installed") return end
    local out = os.tmpname()
    local cmd = ("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " ..
      "OMPI_MCA_btl=self,vader " ..
      "timeout 60 mpirun --oversubscribe -np 2 %s tests/mpi/collectives.lua > %s 2>&1")
      :format(mlrun, out)
    local ok = os.execute(cmd)
    local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
    assert.is_true(ok, text)
    assert.matches("rank 0 of 2: sum 3,3,3 mean 1.5 max 2 bcast 7,7 msg hello from 1", text, 1, true)
    assert.matches("rank 1 of 2: sum 3,3,3 mean 1.5 max 2 bcast 7,7", text, 1, true)
    -- (3*1 + 1*2)/4 = 1.25 and (3*10 + 1*20)/4 = 12.5 on both ranks
    assert.matches("rank 0 avg 1.25,1.25 12.5,12.5,12.5", text, 1, true)
    assert.matches("rank 1 avg 1.25,1.25 12.5,12.5,12.5", text, 1, true)
  end)
end)

describe("data-parallel helpers", function()
  it("shards rows into contiguous near-equal parts", function()
    assert.same({1, 4}, {ml.dist.shard(7, 0, 2)})
    assert.same({5, 7}, {ml.dist.shard(7, 1, 2)})
    assert.same({1, 10}, {ml.dist.shard(10, 0, 1)})
    local a, b = ml.dist.shard(2, 2, 3)
    assert.equal(0, b - a + 1)
  end)
  it("averages gradients as the identity on one rank", function()
    local g = ml.tensor{2, 4}
    ml.dist.average_gradients({g}, 5, 5)
    assert.same({2, 4}, g:totable())
  end)
end)

describe("ml.sweep under mpirun -np 2", function()
  local has_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
  it("shares trials across ranks; rank 0 logs all of them", function()
    if not has_mpirun then pending("mpirun is not installed") return end
    local out, log = os.tmpname(), os.tmpname()
    os.remove(log)
    local cmd = ("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader " ..
      "timeout 120 mpirun --oversubscribe -np 2 %s tests/mpi/sweep.lua %s > %s 2>&1")
      :format(mlrun, log, out)
    local ok = os.execute(cmd)
    local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
    assert.is_true(ok, text)
    assert.matches("rank 0 sees 6 trials, best 6, ran on 010101", text, 1, true)
    assert.matches("rank 1 sees 6 trials, best 6, ran on 010101", text, 1, true)
    local n = 0
    for _ in io.lines(log) do n = n + 1 end
    os.remove(log)
    assert.equal(6, n)
  end)
end)

describe("data-parallel fit under mpirun -np 2", function()
  local has_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
  it("keeps every rank's weights identical after every step and learns", function()
    if not has_mpirun then pending("mpirun is not installed") return end
    local out = os.tmpname()
    local cmd = ("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader " ..
      "timeout 180 mpirun --oversubscribe -np 2 %s tests/mpi/dp_train.lua > %s 2>&1"):format(mlrun, out)
    local ok = os.execute(cmd)
    local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
    assert.is_true(ok, text)
    local r0 = text:match("rank 0: steps (%d+) mismatches (%d+) val_accuracy ([%d.]+) loss ([%d.]+)")
    local s0, m0, a0, l0 = text:match("rank 0: steps (%d+) mismatches (%d+) val_accuracy ([%d.]+) loss ([%d.]+)")
    local s1, m1, a1, l1 = text:match("rank 1: steps (%d+) mismatches (%d+) val_accuracy ([%d.]+) loss ([%d.]+)")
    assert.is_truthy(r0 and s1, text)
    assert.equal("56", s0); assert.equal("56", s1)
    assert.equal("0", m0); assert.equal("0", m1)
    assert.equal(a0, a1); assert.equal(l0, l1)   -- the same metrics on both ranks
    assert.is_true(tonumber(a0) >= 0.85, text)
  end)
end)
