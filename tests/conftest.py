"""Test-wide settings: one torch thread per worker (the suite runs with -n 2)."""

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
