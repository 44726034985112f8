"""Measurements the chapters make on networks: sizes, compute, gradients, lesions, landscapes."""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (weights, biases, BatchNorm scales and shifts) in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    """Multiply-accumulate operations of one forward pass on an input of ``input_size``.

    Counted by ``torch.utils.flop_counter`` over convolutions and matrix products, which
    it reports as 2 FLOPs per multiply-add. The ResNet paper's "FLOPs" are these
    multiply-adds. BatchNorm, ReLU, additions and pooling are not counted.
    """
    parameter = next(model.parameters())
    x = torch.zeros(input_size, dtype=parameter.dtype, device=parameter.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
