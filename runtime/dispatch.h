/* dispatch.h - run-time choice of instruction set for the few hot kernels.
 *
 * The default build targets x86-64-v2 (SSE4.2), so the binaries run on any
 * x86-64 CPU since 2009. A function marked ML_HOT is compiled three times -
 * for x86-64-v2, x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512) - and the
 * dynamic loader picks the variant the CPU supports once, at start-up (GCC
 * target_clones through an ifunc). A call through it costs one indirect
 * jump, so ML_HOT goes on functions that loop over a row or a block, never
 * on per-element helpers. Which kernels have it, and why (they lost more
 * than 5% in the portable build, measured): activations and their
 * gradients, max pooling, im2col/col2im, the elementwise loops, the
 * k-means and NMF sparse products (16-float GCC vectors, one AVX-512
 * register), the optimizer updates.
 *
 * Elsewhere (aarch64, clang, ML_NO_DISPATCH, or a build with OPT=-march=...
 * that already targets the CPU at hand) ML_HOT is empty: one plain variant.
 * No code outside this header may assume an x86 instruction set unless it
 * is inside `#if defined(__x86_64__)` with a portable twin. */
#ifndef ML_DISPATCH_H
#define ML_DISPATCH_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(ML_NO_DISPATCH) && !defined(__AVX512F__) && !defined(__SANITIZE_ADDRESS__)
#define ML_HOT __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define ML_HOT
#endif

#endif
