-- Does the search pay? (issue 18; not part of make test: it measures)
--   mlrun scripts/bench/sweep_search.lua [functions] [mnist] [--seeds N] [--figures DIR]
-- functions: on a noisy 2-D (Branin) and a noisy 5-D (Styblinski-Tang)
--   function, random search and TPE with 100 trials each, 10 seeds. For each
--   seed: the number of trials TPE needs to reach random search's best
--   (noise-free) value over its 100 trials; reported as the median over the
--   seeds, as a share of 100 (the goal: at most 0.5).
-- mnist: the MNIST MLP (learning rate, width, dropout, batch size) on the
--   10,000-digit subset shipped in data/: 27 random configs trained for the
--   full 9 epochs, and ASHA (reduction factor 3) over the same 27 configs;
--   reported: ASHA's best full-budget val_accuracy against the full runs'
--   best, and the epochs ASHA trained as a share of 27 x 9 (the goals:
--   within 1 %, at most 40 %). Also TPE against random search on the MLP
--   with 1 epoch per trial.
local ml = require "ml"
local sweep = require "ml.sweep"
local slog = require "ml.sweep.log"

local want, seeds, figdir = {}, 10, nil
local i = 1
while i <= #arg do
  if arg[i] == "--seeds" then seeds = tonumber(arg[i + 1]); i = i + 1
  elseif arg[i] == "--figures" then figdir = arg[i + 1]; i = i + 1
  else want[arg[i]] = true end
  i = i + 1
end
if next(want) == nil then want = {functions = true, mnist = true} end

local function median(t)
  local s = {}
  for k, v in ipairs(t) do s[k] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- best-so-far of the noise-free value, trial by trial (in id order)
local function best_curve(res, key)
  local out, best = {}, math.huge
  for k, t in ipairs(res.trials) do
    local v = t.status == "ok" and t.metrics[key] or math.huge
    best = math.min(best, v)
    out[k] = best
  end
  return out
end

-- ---------------------------------------------------------------------------
-- test functions, minimised; noise: normal, sd 1 % of the function's spread

local FUNCS = {
  {name = "Branin (2-D)", noise = 0.5,
   space = {x1 = ml.uniform(-5, 10), x2 = ml.uniform(0, 15)},
   f = function(c)
     local a, b, cc, r, s, t = 1, 5.1 / (4 * math.pi ^ 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
     return a * (c.x2 - b * c.x1 ^ 2 + cc * c.x1 - r) ^ 2 + s * (1 - t) * math.cos(c.x1) + s
   end, min = 0.397887},
  {name = "Styblinski-Tang (5-D)", noise = 2,
   space = {x1 = ml.uniform(-5, 5), x2 = ml.uniform(-5, 5), x3 = ml.uniform(-5, 5),
            x4 = ml.uniform(-5, 5), x5 = ml.uniform(-5, 5)},
   f = function(c)
     local s = 0
     for _, x in ipairs{c.x1, c.x2, c.x3, c.x4, c.x5} do s = s + x ^ 4 - 16 * x ^ 2 + 5 * x end
     return s / 2
   end, min = -39.16617 * 5},
}

if want.functions then
  local N = 100
  for _, fn in ipairs(FUNCS) do
    local run = function(c)
      local v = fn.f(c)
      return {y = v + fn.noise * ml.randn(1)[1], true_y = v}
    end
    local reach, best_r, best_t, curves = {}, {}, {}, {random = {}, tpe = {}}
    for seed = 1, seeds do
      local r = ml.sweep{random = {n = N, space = fn.space}, run = run, metric = "y", mode = "min",
                         workers = 0, verbose = 0, seed = seed}
      local t = ml.sweep{tpe = {n = N, space = fn.space}, run = run, metric = "y", mode = "min",
                         workers = 0, verbose = 0, seed = seed}
      local cr, ct = best_curve(r, "true_y"), best_curve(t, "true_y")
      local target = cr[N]
      local k = N + 1   -- not reached within N trials
      for j = 1, N do if ct[j] <= target then k = j; break end end
      reach[seed], best_r[seed], best_t[seed] = k, target, ct[N]
      curves.random[seed], curves.tpe[seed] = cr, ct
    end
    print(("%s, %d seeds, %d trials: TPE reaches random's best after a median of %.1f trials " ..
      "(%.2f of random's); median best (noise-free) random %.4f, TPE %.4f, optimum %.4f")
      :format(fn.name, seeds, N, median(reach), median(reach) / N, median(best_r), median(best_t), fn.min))
    print("  trials to reach, by seed: " .. table.concat(reach, " ") .. (" (%d = not within %d)"):format(N + 1, N))
    if figdir then
      local mr, mt, xs = {}, {}, {}
      for j = 1, N do
        local a, b = {}, {}
        for s = 1, seeds do a[s] = curves.random[s][j] - fn.min; b[s] = curves.tpe[s][j] - fn.min end
        mr[j], mt[j], xs[j] = math.log(median(a), 10), math.log(median(b), 10), j
      end
      local file = figdir .. "/sweep_" .. fn.name:match("^(%a+)"):lower() .. ".svg"
      ml.plot.line{series = {{x = xs, y = mr, label = "random"}, {x = xs, y = mt, label = "TPE"}},
        path = file, xlabel = "trial", ylabel = "log10 (best so far - optimum), median",
        title = fn.name .. ": median of " .. seeds .. " seeds", markers = false}
      print("  figure: " .. file)
    end
  end
end

-- ---------------------------------------------------------------------------
-- the MNIST MLP

if want.mnist then
  local x, y = ml.datasets.mnist()
  local SPACE = {lr = ml.loguniform(1e-4, 3e-2), width = {32, 64, 128, 256},
                 dropout = ml.uniform(0, 0.5), batch_size = {32, 64, 128}}
  local function build(cfg)
    local model = ml.nn.Sequential{ml.nn.Input{28, 28, 1}, ml.nn.Flatten(),
      ml.nn.Dense(cfg.width, {activation = "relu"}), ml.nn.Dropout(cfg.dropout),
      ml.nn.Dense(10, {activation = "softmax"})}
    model:compile{optimizer = ml.optim.Adam{lr = cfg.lr},
                  loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
    return model
  end
  local function train(epochs)
    return function(cfg)
      local model = build(cfg)
      local h = model:fit(x, y, {epochs = epochs, batch_size = cfg.batch_size, verbose = 0,
        validation_split = 0.2, callbacks = {ml.callbacks.SweepReporter()}})
      return {val_accuracy = h.val_accuracy[#h.val_accuracy]}
    end
  end
  local E = 9
  for seed = 1, math.min(seeds, 3) do
    local cfgs = sweep.configs{random = {n = 27, space = SPACE}, seed = seed}
    local t0 = ml.parallel.now()
    local full = ml.sweep{trials = cfgs, run = train(E), metric = "val_accuracy", workers = 2,
                          verbose = 0, seed = seed}
    local t_full = ml.parallel.now() - t0
    local log = os.tmpname() .. ".jsonl"
    t0 = ml.parallel.now()
    local asha = ml.sweep{trials = cfgs, asha = {n = 0, space = SPACE, max_steps = E}, run = train(E),
                          metric = "val_accuracy", workers = 2, verbose = 0, seed = seed, log = log}
    local t_asha = ml.parallel.now() - t0
    local epochs = 0
    for _, rec in ipairs(slog.records(log)) do if rec.status == "report" then epochs = epochs + 1 end end
    os.remove(log)
    local b, a = full.best.metrics.val_accuracy, asha.best.metrics.val_accuracy
    local n_pruned = 0
    for _, t in ipairs(asha.trials) do if t.status == "pruned" then n_pruned = n_pruned + 1 end end
    print(("MNIST MLP seed %d, 27 configs x %d epochs: full budget best val_accuracy %.4f (%.0f s); " ..
      "ASHA best %.4f (%.2f %% below), %d pruned, %d of %d epochs = %.0f %% (%.0f s)")
      :format(seed, E, b, t_full, a, 100 * (b - a) / b, n_pruned, epochs, 27 * E,
        100 * epochs / (27 * E), t_asha))
    if figdir and seed == 1 then
      full:plot("parallel", figdir .. "/sweep_mnist_parallel.svg")
      full:plot("importance", figdir .. "/sweep_mnist_importance.svg")
      print("  figures: " .. figdir .. "/sweep_mnist_parallel.svg, sweep_mnist_importance.svg")
    end
  end
  -- TPE against random on the MLP, 1 epoch per trial
  local N, reach = 30, {}
  for seed = 1, math.min(seeds, 3) do
    local r = ml.sweep{random = {n = N, space = SPACE}, run = train(1), metric = "val_accuracy",
                       workers = 2, verbose = 0, seed = seed}
    local t = ml.sweep{tpe = {n = N, space = SPACE}, run = train(1), metric = "val_accuracy",
                       workers = 1, verbose = 0, seed = seed}
    local k = N + 1
    for j, tr in ipairs(t.trials) do
      if tr.status == "ok" and tr.metrics.val_accuracy >= r.best.metrics.val_accuracy then k = j; break end
    end
    reach[seed] = k
    print(("MNIST MLP seed %d, %d trials of 1 epoch: random best %.4f, TPE best %.4f, TPE reaches " ..
      "random's best at trial %s"):format(seed, N, r.best.metrics.val_accuracy,
      t.best.metrics.val_accuracy, k <= N and tostring(k) or "never"))
    if figdir and seed == 1 then
      t:plot("history", figdir .. "/sweep_mnist_tpe_history.svg")
    end
  end
  print(("MNIST MLP: TPE reaches random's best after a median of %s trials of %d"):format(
    tostring(median(reach)), N))
end
