-- pca_nmf.lua - two decompositions of the 8x8 digits: PCA (how much variance
-- the first components explain, a 2-D map of the digits) and NMF (parts-based
-- non-negative components, drawn as images), with reconstruction errors.
--   mlrun scripts/pca_nmf.lua [output_dir]
local ml = require "ml"
local out = arg and arg[1] or "."

local df = ml.read_csv("data/classic/digits.csv.gz")
local X = df:drop{"digit"}:to_tensor()
local y = df["digit"]:to_tensor()
print(string.format("digits: %d images of 8x8 pixels", X.shape[1]))

local pca = ml.PCA{n_components = 30}:fit(X)
local ratio = pca.explained_variance_ratio_:totable()
local cum, xs, ys = 0, {}, {}
print(" n   explained  cumulative")
for i, r in ipairs(ratio) do
  cum = cum + r
  xs[i], ys[i] = i, cum
  if i <= 5 or i % 5 == 0 then print(string.format("%2d   %8.4f   %8.4f", i, r, cum)) end
end
ml.plot.line{x = xs, y = ys, path = out .. "/pca_variance.svg",
  title = "PCA on digits: cumulative explained variance", xlabel = "components",
  ylabel = "explained variance"}
local Z = ml.PCA{n_components = 2}:fit_transform(X)
ml.plot.scatter{x = Z, c = y, path = out .. "/pca_digits.svg", title = "digits on 2 principal components",
  xlabel = "PC1", ylabel = "PC2"}

local nmf = ml.NMF{n_components = 16, init = "nndsvda", max_iter = 400, random_state = 0}
local W = nmf:fit_transform(X)
print(string.format("\nNMF: 16 components, reconstruction error %.2f (Frobenius), W %s",
  nmf.reconstruction_err_, table.concat(W.shape, "x")))
local pca16 = ml.PCA{n_components = 16}:fit(X)
local R = pca16:inverse_transform(pca16:transform(X))
print(string.format("PCA: 16 components, reconstruction error %.2f", ((X - R) ^ 2):sum() ^ 0.5))
ml.plot.images(nmf.components_:reshape(16, 8, 8, 1), out .. "/nmf_components.png", {cols = 8, scale = 8})
print("wrote pca_variance.svg, pca_digits.svg and nmf_components.png in " .. out)
