-- ml.trial: what a running sweep trial tells the sweep, and asks it.
--   ml.trial.report(step, value)  an intermediate value of the sweep's metric
--                                 after `step` (an epoch, say; steps increase)
--   ml.trial.should_prune()       true when the sweep's pruner (asha,
--                                 hyperband) says this trial should stop now:
--                                 the trial then returns (whatever it returns,
--                                 it is logged "pruned" with its last value)
--   ml.trial.id(), ml.trial.config()  the running trial, or nil
-- Outside a sweep (a script run on its own) report records nothing and
-- should_prune is always false, so one script serves both.
local log = require "ml.sweep.log"
local prune = require "ml.sweep.prune"
local raise = require("ml.errors").raise

local trial = {}

-- Set by ml.sweep around each trial it runs (in the worker process):
-- {id, attempt, config, log, pruner, mode, metric, reports = {}, pruned}.
-- Kept in the registry, not in this module, so that every copy of the
-- module (a test runner that resets package.loaded makes new ones) sees
-- the trial that is running.
local REG, KEY = debug.getregistry(), "ml.trial.context"

function trial._begin(c) c.reports = {}; c.pruned = false; REG[KEY] = c end
function trial._end() local c = REG[KEY]; REG[KEY] = nil; return c end

function trial.id() local ctx = REG[KEY]; return ctx and ctx.id end
function trial.config() local ctx = REG[KEY]; return ctx and ctx.config end
function trial._metric() local ctx = REG[KEY]; return ctx and ctx.metric end

--- Records an intermediate value; returns nothing.
function trial.report(step, value)
  if type(step) ~= "number" or step ~= step or step < 0 then
    raise("trial.report: step must be a number >= 0, got " .. tostring(step))
  end
  if type(value) ~= "number" then
    raise("trial.report: value must be a number, got " .. type(value))
  end
  local ctx = REG[KEY]
  if not ctx then return end
  local last = ctx.reports[#ctx.reports]
  if last and step <= last.step then
    raise(("trial.report: steps must increase, got %s after %s"):format(step, last.step))
  end
  ctx.reports[#ctx.reports + 1] = {step = step, value = value}
  if ctx.pruner and ctx.log then
    log.append(ctx.log, {id = ctx.id, status = "report",
                         metrics = {step = step, value = value, attempt = ctx.attempt}})
  end
end

--- True when this trial should stop (decided once per rung, from the log).
function trial.should_prune()
  local ctx = REG[KEY]
  if not ctx or not ctx.pruner then return false end
  if ctx.pruned then return true end
  local r = prune.crossing(ctx.pruner, ctx.id, ctx.reports)
  if not r then return false end
  local reports = log.reports(log.records(ctx.log))
  local mine = ctx.reports[#ctx.reports]
  if prune.decide(ctx.pruner, ctx.mode, ctx.id, r, mine.value, reports) then
    ctx.pruned = true
  end
  return ctx.pruned
end

return trial
