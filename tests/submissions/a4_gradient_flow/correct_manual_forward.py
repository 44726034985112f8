"""Correct: runs the stem and the blocks by hand, keeps each output, and saves the whole state.

Loses: nothing
"""

# ruff: noqa: D103, B905, E501
import torch
import torch.nn.functional as F

import resnet_ref
from resnet_ref.training import TrainConfig, train


# %% block_gradient_norms
def block_gradient_norms(model, x, y):
    import copy

    state = copy.deepcopy(model.state_dict())
    mode = model.training
    model.train()
    try:
        kept = []
        h = model.stem(x)
        kept.append(("stem", h))
        for name, block in model.blocks():
            h = block(h)
            kept.append((name, h))
        if model.final_bn is not None:
            h = torch.relu(model.final_bn(h))
        logits = model.fc(torch.flatten(model.pool(h), 1))
        loss = F.cross_entropy(logits, y)
        grads = torch.autograd.grad(loss, [t for _, t in kept])
    finally:
        model.load_state_dict(state)
        model.train(mode)
    return {name: float(torch.linalg.vector_norm(g)) for (name, _), g in zip(kept, grads)}


# %% compare_depths
def compare_depths(depths, epochs, limit=None, progress=False):
    data = resnet_ref.load_data("embedded", limit=limit, image_size=8)
    out = {"plain": {}, "residual": {}}
    for skip, key in ((False, "plain"), (True, "residual")):
        for d in depths:
            torch.manual_seed(0)
            net = resnet_ref.models.cifar_resnet(d, skip=skip, in_channels=1)
            recipe = dict(batch_size=64, lr=0.05, warmup_epochs=1)
            config = TrainConfig(epochs=epochs, progress=progress, label=f"{key}-{d}", **recipe)
            out[key][d] = float(train(net, data, config)[-1]["train_error"])
    return out
