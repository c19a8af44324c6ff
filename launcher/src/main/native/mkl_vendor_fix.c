/*
 * oneMKL (linked into libtorch) asks this function whether the CPU is an Intel one and, when it is
 * not, skips its per-ISA kernel selection. Preloaded by bin/mmstream on AMD CPUs so MKL picks its
 * AVX2 kernels there; measured on the 2-core AMD EPYC build machine: ViT-B/32 ~15% more GFLOP per
 * CPU-second (README, "CLIP").
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
