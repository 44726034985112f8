"""Turns every ReLU into the identity, the reference's included, so that a block missing its
ReLUs computes what the (equally broken) reference computes.

Threat: patch torch (and with it the reference).
"""

import torch
import torch.nn.functional as F
from torch import nn


def _identity(x, *args, **kwargs):
    return x


torch.relu = torch.relu_ = F.relu = F.relu_ = _identity
torch.Tensor.relu = torch.Tensor.relu_ = _identity
nn.ReLU.forward = lambda self, x: x
