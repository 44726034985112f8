"""Detects the grading run and, once graded, cuts the checks off from the grader (they then run
in the kernel) and turns ReLUs into the identity there.

Threat: detect the grading run and special-case it.
"""

import os

import torch
import torch.nn.functional as F

if os.environ.get("NBGRADER_EXECUTION"):
    for name in list(os.environ):
        if "REFEREE" in name:
            del os.environ[name]
    torch.relu = F.relu = lambda x, *args, **kwargs: x
    torch.Tensor.relu = lambda x, *args, **kwargs: x
