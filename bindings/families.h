/* families.h - every family of Lua bindings, one line each:
 * MLB_FAMILY(area, family). A family is a C function
 * `void mlb_open_<family>(lua_State *L)` that adds its functions to the
 * table on top of the stack; luaopen_ml puts that table at ml.core.<area>,
 * the area named after the binding file (bindings/l<area>.c). ml.core is
 * private: stdlib/ml/init.lua exposes only the documented names.
 * Order matters only for tensor (its methods table comes first). */
MLB_FAMILY(tensor, tensor)
MLB_FAMILY(tensor, tensor_ops)
MLB_FAMILY(tensor, tensor_sort)
MLB_FAMILY(autograd, autograd)
MLB_FAMILY(rng, rng)
MLB_FAMILY(data, data)
MLB_FAMILY(io, io)
MLB_FAMILY(image, image)
MLB_FAMILY(nn, nn)
MLB_FAMILY(optim, optim)
MLB_FAMILY(train, train)
MLB_FAMILY(dist, dist)
MLB_FAMILY(term, term)
MLB_FAMILY(sys, sys)
MLB_FAMILY(estim_tree, estim_tree)
MLB_FAMILY(estim_cluster, estim_cluster)
MLB_FAMILY(estim_bayes, estim_bayes)
MLB_FAMILY(estim_linear, estim_linear)
MLB_FAMILY(estim_svm, estim_svm)
MLB_FAMILY(serve, serve)
