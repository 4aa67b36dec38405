-- Run by `mlrun sweep`: the config arrives in ml.config, metrics go back as
-- the script's return value.
local cfg = ml.config
return {loss = (cfg.lr - 0.05) ^ 2 + cfg.batch_size / 1e4}
