-- kmeans.lua - k-means on the iris measurements (scaled): inertia against k
-- (the elbow), clusters against species, and a scatter of the clusters on
-- the first two principal components.
--   mlrun scripts/kmeans.lua [output_dir]
local ml = require "ml"
local M = ml.metrics
local out = arg and arg[1] or "."

local df = ml.read_csv("data/classic/iris.csv")
local X = ml.StandardScaler():fit_transform(df:drop{"species"}:to_tensor())
local species = df["species"]:to_tensor()

print(" k   inertia")
local ks, inertias = {}, {}
for k = 1, 8 do
  local km = ml.KMeans{n_clusters = k, n_init = 10, random_state = 0}:fit(X)
  ks[#ks + 1], inertias[#inertias + 1] = k, km.inertia_
  print(string.format("%2d  %8.2f", k, km.inertia_))
end
ml.plot.line{x = ks, y = inertias, path = out .. "/kmeans_elbow.svg", title = "k-means elbow",
  xlabel = "k", ylabel = "inertia"}

local km = ml.KMeans{n_clusters = 3, n_init = 10, random_state = 0}:fit(X)
print("\nclusters (columns) against species (rows):")
print((M.confusion_matrix(species, km.labels_)))
local pca = ml.PCA{n_components = 2}:fit(X)
local Z = pca:transform(X)
ml.plot.scatter{x = Z, c = km.labels_, centers = pca:transform(km.cluster_centers_),
  path = out .. "/kmeans_iris.svg", title = "k-means (k = 3) on iris, PCA projection",
  xlabel = "PC1", ylabel = "PC2"}
print("wrote " .. out .. "/kmeans_elbow.svg and " .. out .. "/kmeans_iris.svg")
