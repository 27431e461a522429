"""Test-wide settings: one thread per worker for torch and BLAS/OpenMP (the suite runs with -n 2)."""

import matplotlib
import torch
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")
torch.set_num_threads(1)
threadpool_limits(1)
