-- The REPL as a person uses it: mlrun runs in a tmux pane, keys are typed
-- with send-keys and the screen is read back with capture-pane. Each test has
-- its own tmux server (a private socket), so nothing leaks between tests.
local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  local pwd = os.getenv("PWD") or io.popen("pwd"):read("l")
  return pwd .. "/" .. p
end

local MLRUN = abspath(os.getenv("MLRUN") or "build/mlrun")
local have_tmux = os.execute("command -v tmux >/dev/null 2>&1")
local seq = 0

local function sleep(s) os.execute("sleep " .. s) end

-- Starts mlrun in a fresh tmux server; returns a session object.
local function start(env)
  seq = seq + 1
  local name = ("mlrun_spec_%d_%d_%d"):format(os.time(), seq, math.random(1e6))
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. sh_quote(dir))
  local s = {name = name, dir = dir, hist = dir .. "/history"}
  local tmux = "tmux -L " .. name .. " "
  function s.cmd(args) return os.execute(tmux .. args .. " >/dev/null 2>&1") end
  function s.screen()
    local f = io.popen(tmux .. "capture-pane -p -t " .. name .. " 2>/dev/null")
    local out = f:read("a")
    f:close()
    return out
  end
  function s.type(text) s.cmd("send-keys -t " .. name .. " -l " .. sh_quote(text)) end
  function s.key(k) s.cmd("send-keys -t " .. name .. " " .. k) end
  function s.line(text) s.type(text); s.key("Enter") end
  -- Polls the screen until it matches the Lua pattern (plain when plain).
  function s.wait_for(pat, plain, timeout)
    local polls = math.floor((timeout or 5) / 0.05)
    for _ = 1, polls do
      local scr = s.screen()
      if scr:find(pat, 1, plain) then return scr end
      sleep(0.05)
    end
    error(("screen never showed %q; it shows:\n%s"):format(pat, s.screen()), 2)
  end
  function s.stop()
    s.cmd("kill-server")
    os.execute("rm -rf " .. sh_quote(dir))
  end
  local vars = "MLRUN_HISTORY=" .. sh_quote(s.hist)
  for k, v in pairs(env or {}) do vars = vars .. " " .. k .. "=" .. sh_quote(v) end
  -- the shell shows the exit status once mlrun ends, so tests can check it
  local inner = ("env %s %s; echo \"[exit $?]\"; sleep 60"):format(vars, sh_quote(MLRUN))
  assert(s.cmd(("new-session -d -s %s -x 160 -y 50 %s"):format(name, sh_quote(inner))),
         "tmux could not start")
  s.wait_for("Ctrl-D exits", true)   -- capture-pane drops trailing blanks: no "> "
  return s
end

local describe_tmux = have_tmux and describe or pending

describe_tmux("the REPL in a terminal", function()
  local s
  after_each(function() if s then s.stop() end s = nil end)

  it("shows a banner with the version and a prompt", function()
    s = start()
    local scr = s.wait_for("mlrun %d+%.%d+%.%d+")
    assert.matches("Ctrl%-D exits", scr)
  end)

  it("prints expressions as results", function()
    s = start()
    s.line("ml.ones(2,2)")
    local scr = s.wait_for("shape=2x2", true)
    assert.matches("tensor%(%[%[1%., 1%.%],", scr)
    s.line("= 40 + 2, 'forty-two'")
    s.wait_for("42%s+forty%-two")
    s.line("x = 7")            -- statements print nothing
    s.line("x * 6")
    scr = s.wait_for("\n42\n", true)
    assert.not_matches("\n7\n", scr)
  end)

  it("continues an incomplete chunk with a >> prompt", function()
    s = start()
    s.line("function twice(a)")
    s.wait_for("\n>>", true)
    s.line("return a * 2")
    s.line("end")
    s.line("twice(21) + 1000")
    s.wait_for("1042", true)
  end)

  it("keeps going after an error and reports it", function()
    s = start()
    s.line("error('oops-123')")
    s.wait_for("oops%-123")
    s.line("ml.zeros(2, 3) + ml.zeros(4)")
    s.wait_for("cannot be broadcast", true)
    s.line("5000 + 1")
    s.wait_for("5001", true)
  end)

  it("completes globals, fields and tensor methods with TAB", function()
    s = start()
    s.type("prin"); s.key("Tab"); s.type("('g-ok')"); s.key("Enter")
    s.wait_for("\ng%-ok\n")
    s.type("ml.aran"); s.key("Tab"); s.type("(3):sum() + 9000"); s.key("Enter")
    s.wait_for("9003", true)
    s.line("tbl = {alpha = {betamax = 77}}")
    s.type("tbl.alpha.bet"); s.key("Tab"); s.type(" + 100"); s.key("Enter")
    s.wait_for("\n177\n", true)
    s.line("xt = ml.zeros(6)")
    s.type("xt:resh"); s.key("Tab"); s.type("(2, 3)"); s.key("Enter")
    s.wait_for("shape=2x3", true)
    s.type("xt:uns"); s.key("Tab")
    s.wait_for("xt:unsqueeze", true)
    s.key("C-u")
    -- names the ml facade loads lazily complete too, and so do their fields
    s.type("ml.StandardSc"); s.key("Tab"); s.type(" ~= nil"); s.key("Enter")
    s.wait_for("ml.StandardScaler ~= nil\ntrue", true)
    s.type("ml.metrics.accuracy_sc"); s.key("Tab")
    s.wait_for("ml.metrics.accuracy_score", true)
  end)

  it("lists the candidates on a second TAB", function()
    s = start()
    s.line("yt = ml.ones(2)")
    s.type("yt:arg"); s.key("Tab"); s.key("Tab")
    local scr = s.wait_for("yt:argmin", true)
    assert.matches("yt:argmax", scr)
  end)

  it("interrupts a running chunk with Ctrl-C and stays alive", function()
    s = start()
    s.line("while true do end")
    sleep(0.3)
    s.key("C-c")
    s.wait_for("interrupted!", true)
    s.line("6000 + 6")
    s.wait_for("6006", true)
    s.type("half typed line"); s.key("C-c")   -- at the prompt: drops the line
    s.wait_for("^C", true)
    s.line("7000 + 7")
    s.wait_for("7007", true)
  end)

  it("exits cleanly on Ctrl-D and keeps history across sessions", function()
    s = start()
    s.line("hist_marker = 4242")
    s.wait_for("> hist_marker = 4242\n>", true)
    s.key("C-d")
    s.wait_for("[exit 0]", true)
    local f = assert(io.open(s.hist))
    assert.matches("hist_marker", f:read("a"))
    f:close()
    -- a second session over the same history file recalls the line
    local s2_hist = s.hist
    s.cmd("kill-session")
    local s2 = start({MLRUN_HISTORY = s2_hist})
    local ok, err = pcall(function()
      s2.key("Up")
      s2.wait_for("> hist_marker = 4242", true)
    end)
    s2.stop()
    assert(ok, err)
  end)
end)
