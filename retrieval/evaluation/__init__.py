"""Measuring and fitting: scores on question sets (scoring), the models' fit (training), benchmarks (bench)."""
