local ml = require "ml"
local json = ml.json

describe("ml.json", function()
  it("round-trips values", function()
    local v = {a = 0.1, b = 3, c = {1, 2, {x = "q\n\"é"}}, d = true, e = 2.0}
    local back = json.decode(json.encode(v))
    assert.same(v, back)
    assert.equal("integer", math.type(back.b))
    assert.equal("float", math.type(back.e))
  end)
  it("sorts object keys for a stable text", function()
    assert.equal('{"a":1,"b":2,"c":3}', json.encode({c = 3, a = 1, b = 2}))
  end)
  it("decodes escapes and null", function()
    local v = json.decode('[1, -2.5e3, null, "\\u00e9\\n", {"k": false}]')
    assert.equal(-2500, v[2])
    assert.equal(json.null, v[3])
    assert.equal("é\n", v[4])
    assert.is_false(v[5].k)
  end)
  it("reports malformed text with a position", function()
    for _, bad in ipairs{'{"a" 1}', '[1, 2', '"abc', '{"a": tru}', '[1] x', '', '{1: 2}'} do
      local ok, err = pcall(json.decode, bad)
      assert.is_false(ok, bad)
      assert.matches("json.decode: ", err)
    end
  end)
  it("keeps DEL and other bytes >= 32 inside strings (fuzzer regression: hung)", function()
    assert.same({k = "a\127b"}, json.decode('{"k":"a\127b"}'))
    assert.same({["\127pts"] = 1}, json.decode('{"\127pts":1}'))
  end)
  it("refuses what JSON cannot hold", function()
    local t = {}; t.self = t
    assert.has_error(function() json.encode(t) end)
    assert.has_error(function() json.encode({f = print}) end)
  end)
end)
