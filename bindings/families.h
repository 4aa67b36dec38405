/* families.h - every family of Lua bindings, one line each. A family is a C
 * function `void mlb_open_<name>(lua_State *L)` that adds its functions to
 * the ml.core table on top of the stack. Order matters only for tensor. */
MLB_FAMILY(tensor)
MLB_FAMILY(tensor_ops)
MLB_FAMILY(linear)
MLB_FAMILY(svm)
