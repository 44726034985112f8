"""Mutant: right errors, but the depths come back sorted rather than in the order given.

Loses: compare_depths_structure
Says: in that order
"""

# ruff: noqa: D103
import torch

import resnet_ref
from resnet_ref.training import TrainConfig, train


# %% compare_depths
def compare_depths(depths, epochs, limit=None):
    data = resnet_ref.load_data("embedded", limit=limit)
    results = {}
    for kind, skip in (("plain", False), ("residual", True)):
        results[kind] = {}
        for depth in sorted(depths):
            torch.manual_seed(0)
            model = resnet_ref.models.cifar_resnet(depth, skip=skip, in_channels=1)
            history = train(model, data, TrainConfig(epochs=epochs, progress=False))
            results[kind][depth] = history[-1]["train_error"]
    return results
