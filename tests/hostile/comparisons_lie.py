"""Makes every tensor subtraction in the kernel return zeros, so any two outputs compare equal.

Threat: objects that lie about comparisons.
"""

import torch
from torch.overrides import TorchFunctionMode


class _Agree(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.sub, torch.Tensor.sub, torch.Tensor.__sub__):
            return torch.zeros_like(args[0])
        return func(*args, **(kwargs or {}))


_Agree().__enter__()
