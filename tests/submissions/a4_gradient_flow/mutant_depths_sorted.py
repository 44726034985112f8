"""Mutant: right errors, but the depths come back sorted rather than in the order given.

Loses: compare_depths_structure
Says: in that order
"""

# ruff: noqa: D103
import torch

import resnet_ref
from resnet_ref.training import TrainConfig, train


# %% compare_depths
def compare_depths(depths, epochs, limit=None, progress=False):
    data = resnet_ref.load_data("embedded", limit=limit, image_size=8)
    results = {}
    for kind, skip in (("plain", False), ("residual", True)):
        results[kind] = {}
        for depth in sorted(depths):
            torch.manual_seed(0)
            model = resnet_ref.models.cifar_resnet(depth, skip=skip, in_channels=1)
            config = TrainConfig(
                epochs=epochs,
                batch_size=64,
                lr=0.05,
                warmup_epochs=1,
                progress=progress,
                label=f"{kind}-{depth}",
            )
            history = train(model, data, config)
            results[kind][depth] = history[-1]["train_error"]
    return results
