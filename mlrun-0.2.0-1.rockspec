-- LuaRocks build recipe: `luarocks make` in a clone of mlrun builds and
-- installs the Lua module `ml` (ml.so, with the Lua half embedded) for a
-- stock Lua 5.4. The version is ML_VERSION in runtime/ml.h; the suite checks
-- that this file's name and version follow it.
rockspec_format = "3.0"
package = "mlrun"
version = "0.2.0-1"
source = {
  -- Built from the clone it sits in (`luarocks make`); not published.
  url = "git+file://.",
  tag = "v0.2.0",
}
description = {
  summary = "Tensors, neural networks and classic estimators for Lua 5.4",
  detailed = [[
    The ml library of mlrun as a Lua C module: float32/int64 tensors with
    NumPy broadcasting and OpenBLAS products, Keras-style networks,
    scikit-learn-style estimators, data frames and file readers.
  ]],
  license = "MIT",
  labels = {"machine-learning", "tensor", "neural-network"},
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- Found by name here; the Makefile takes their flags from pkg-config.
external_dependencies = {
  OPENBLAS = {library = "openblas"},
  PNG = {header = "png.h", library = "png"},
  JPEG = {header = "jpeglib.h", library = "jpeg"},
  ZLIB = {header = "zlib.h", library = "z"},
  MICROHTTPD = {header = "microhttpd.h", library = "microhttpd"},   -- ml.serve
  CJSON = {header = "cjson/cJSON.h", library = "cjson"},
}
build = {
  type = "make",
  build_target = "rock",
  build_variables = {
    CC = "$(CC)",
    CFLAGS = "$(CFLAGS)",          -- appended to the Makefile's own (override +=)
    LUA_INCDIR = "$(LUA_INCDIR)",
    BUILD = "build-rock",
  },
  install_target = "install-rock",
  install_variables = {
    BUILD = "build-rock",
    ROCK_LIBDIR = "$(LIBDIR)",
  },
}
