local ml = require "ml"

describe("random generator state", function()
  it("restores the exact stream, including a pending normal", function()
    ml.seed(11)
    ml.randn(3)   -- odd count: a spare normal is pending
    local s = ml.get_rng_state()
    local a = ml.randn(7):totable()
    local u = ml.rand(2):totable()
    ml.set_rng_state(s)
    assert.same(a, ml.randn(7):totable())
    assert.same(u, ml.rand(2):totable())
  end)
  it("refuses strings that are not a saved state", function()
    assert.has_error(function() ml.set_rng_state("nope") end)
    assert.has_error(function() ml.set_rng_state(42) end)
  end)
end)
