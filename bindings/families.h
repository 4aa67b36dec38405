/* families.h - every family of Lua bindings, one line each. A family is a C
 * function `void mlb_open_<name>(lua_State *L)` that adds its functions to
 * the ml.core table on top of the stack. Order matters only for tensor. */
MLB_FAMILY(tensor)
MLB_FAMILY(tensor_ops)
MLB_FAMILY(csv)
MLB_FAMILY(workers)
MLB_FAMILY(io)
MLB_FAMILY(image)
MLB_FAMILY(trees)
MLB_FAMILY(cluster)
MLB_FAMILY(dist)
MLB_FAMILY(proc)
MLB_FAMILY(optim)
MLB_FAMILY(train)
MLB_FAMILY(term)
MLB_FAMILY(rng)
MLB_FAMILY(image)
MLB_FAMILY(nn)
