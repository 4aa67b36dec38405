-- The mlrun command line: flags, `arg`, exit codes, as lua's own.
local MLRUN = os.getenv("MLRUN") or "build/mlrun"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p " .. q(tmpdir))

-- Runs a shell command line; returns stdout, stderr, exit code.
local function run(args, stdin)
  local out, err = tmpdir .. "/out", tmpdir .. "/err"
  local cmd = MLRUN .. " " .. args .. " >" .. q(out) .. " 2>" .. q(err)
  if stdin then
    local f = assert(io.open(tmpdir .. "/in", "w")); f:write(stdin); f:close()
    cmd = cmd .. " <" .. q(tmpdir .. "/in")
  else
    cmd = cmd .. " </dev/null"
  end
  local _, _, code = os.execute(cmd)
  local function slurp(p) local f = io.open(p); local s = f:read("a"); f:close(); return s end
  return slurp(out), slurp(err), code
end

local function script(name, code)
  local p = tmpdir .. "/" .. name
  local f = assert(io.open(p, "w")); f:write(code); f:close()
  return p
end

teardown(function() os.execute("rm -rf " .. q(tmpdir)) end)

describe("mlrun script.lua args", function()
  it("sets arg and ... as lua does", function()
    local p = script("args.lua", [[
      print(arg[0], arg[1], arg[2], #arg, arg[-1] ~= nil, select('#', ...), ...)]])
    local out, _, code = run(q(p) .. " a 'b c'")
    assert.equal(0, code)
    assert.equal(p .. "\ta\tb c\t2\ttrue\t2\ta\tb c\n", out)
  end)
  it("puts options before the script at negative indices", function()
    local p = script("neg.lua", "print(arg[-1], arg[-2], arg[0])")
    local out = run("--threads 1 " .. q(p))
    assert.equal("1\t--threads\t" .. p .. "\n", out)
  end)
  it("has ml as a global and require 'ml' gives the same table", function()
    local out = run("-e " .. q("print(ml == require 'ml', ml.ones(2):sum())"))
    assert.equal("true\t2.0\n", out)
  end)
  it("exits with the status given to os.exit", function()
    local _, _, code = run("-e 'os.exit(3)'")
    assert.equal(3, code)
  end)
end)

describe("script errors", function()
  it("print the message and a traceback on stderr and exit 1", function()
    local p = script("boom.lua", "local function f() error('boom-42') end\nf()\n")
    local out, err, code = run(q(p))
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("boom%.lua:1: boom%-42", err)
    assert.matches("stack traceback:", err)
    assert.matches("in local 'f'", err)
  end)
  it("report errors raised by the engine with the function name", function()
    local _, err, code = run("-e " .. q("ml.matmul(ml.zeros(3, 4), ml.zeros(5, 2))"))
    assert.equal(1, code)
    assert.matches("matmul: shapes 3x4 and 5x2 do not match", err)
  end)
  it("report syntax errors and missing files", function()
    local p = script("syntax.lua", "x = = 1")
    local _, err, code = run(q(p))
    assert.equal(1, code)
    assert.matches("syntax%.lua:1:", err)
    _, err, code = run(q(tmpdir .. "/missing.lua"))
    assert.equal(1, code)
    assert.matches("cannot open", err)
  end)
  it("Ctrl-C (SIGINT) interrupts a running script with a message and status 1", function()
    local err = tmpdir .. "/int.err"
    local f = io.popen(("%s -e 'while true do end' 2>%s & pid=$!; sleep 0.5; kill -INT $pid; " ..
                        "wait $pid; echo $?"):format(MLRUN, q(err)))
    local code = f:read("a")
    f:close()
    assert.equal("1\n", code)
    local e = io.open(err):read("a")
    assert.matches("interrupted!", e)
    assert.matches("stack traceback", e)
  end)
  it("handle non-string error objects", function()
    local _, err, code = run("-e " .. q("error({})"))
    assert.equal(1, code)
    assert.matches("error object is a table value", err)
  end)
end)

describe("flags", function()
  it("-e runs strings in order", function()
    local out, _, code = run("-e 'x = 20' -e 'print(x + 1)'")
    assert.equal(0, code)
    assert.equal("21\n", out)
  end)
  it("-l requires a module into a global (and g=mod)", function()
    local dir = tmpdir .. "/lib"
    os.execute("mkdir -p " .. q(dir))
    script("lib/mymod.lua", "return {answer = 42}")
    local env = "LUA_PATH=" .. q(dir .. "/?.lua;;") .. " "
    local _, _, c1 = os.execute(env .. MLRUN .. " -l mymod -e 'assert(mymod.answer == 42)'")
    assert.equal(0, c1)
    local _, _, c2 = os.execute(env .. MLRUN .. " -l m=mymod -e 'assert(m.answer == 42)'")
    assert.equal(0, c2)
    local _, err, c3 = run("-l no_such_module_xyz")
    assert.equal(1, c3)
    assert.matches("no_such_module_xyz", err)
  end)
  it("- runs standard input as the script, with arguments", function()
    local out, _, code = run("- x y", "print(arg[1], arg[2], ml.zeros(2):sum())")
    assert.equal(0, code)
    assert.equal("x\ty\t0.0\n", out)
  end)
  it("runs piped standard input when given no script", function()
    local out, _, code = run("", "print(6 * 7)")
    assert.equal(0, code)
    assert.equal("42\n", out)
  end)
  it("-i runs the script, then reads the REPL from stdin", function()
    local p = script("pre.lua", "pre = 41")
    local out, _, code = run("-i " .. q(p), "pre + 1\n")
    assert.equal(0, code)
    assert.matches("42", out)
  end)
  it("the REPL works without libedit (MLRUN_PLAIN_REPL=1)", function()
    local out, _, code = run("-i -e 'z = 5'", "z * 2\nfunction g(a)\nreturn a + 1\nend\ng(41)\n")
    assert.equal(0, code)
    local out2, _, code2 = (function()
      local old = MLRUN
      MLRUN = "MLRUN_PLAIN_REPL=1 " .. old
      local a, b, c = run("-i -e 'z = 5'", "z * 2\nfunction g(a)\nreturn a + 1\nend\ng(41)\n")
      MLRUN = old
      return a, b, c
    end)()
    assert.equal(0, code2)
    for _, o in ipairs{out, out2} do
      assert.matches("\n?10\n", o)
      assert.matches("42", o)
    end
    assert.matches(">> ", out2)
  end)
  it("--version and -v print the version", function()
    local out, _, code = run("--version")
    assert.equal(0, code)
    assert.matches("^mlrun %d+%.%d+%.%d+ %(Lua 5%.4", out)
    assert.matches(ml.version, out, 1, true)
    assert.equal(out, (run("-v")))
  end)
  it("--help lists every option", function()
    local out, _, code = run("--help")
    assert.equal(0, code)
    for _, flag in ipairs{"-e", "-i", "-l", "--threads", "--seed", "--version", "--help"} do
      assert.truthy(out:find(flag, 1, true), flag)
    end
  end)
  it("--threads N sets the thread count", function()
    local out = run("--threads 1 -e 'print(ml.get_num_threads())'")
    assert.equal("1\n", out)
    out = run("--threads 2 -e 'print(ml.get_num_threads())'")
    assert.equal("2\n", out)
  end)
  it("--seed N seeds the generator as ml.seed(N)", function()
    local a = run("--seed 7 -e 'print(ml.rand(3):sum())'")
    local b = run("-e 'ml.seed(7) print(ml.rand(3):sum())'")
    local c = run("--seed 8 -e 'print(ml.rand(3):sum())'")
    assert.equal(a, b)
    assert.are_not.equal(a, c)
    assert.equal(a, (run("--seed 7 -e 'print(ml.rand(3):sum())'")))
  end)
  it("refuses bad option values and unknown options", function()
    for _, args in ipairs{"--threads 0", "--threads x", "--seed 1.5", "--threads", "-e",
                          "--bogus", "-l"} do
      local _, err, code = run(args)
      assert.equal(1, code, args)
      assert.truthy(#err > 0, args)
    end
    local _, err = run("--bogus")
    assert.matches("unrecognized option '%-%-bogus'", err)
  end)
end)
