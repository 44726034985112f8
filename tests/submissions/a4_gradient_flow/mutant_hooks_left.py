"""Mutant: right values, but the forward hooks stay registered on the model afterwards.

Loses: gradient_model_unchanged
Says: hook(s) registered
"""

# ruff: noqa: D103, B905, E501
import torch
import torch.nn.functional as F


# %% block_gradient_norms
def block_gradient_norms(model, x, y):
    units = [("stem", model.stem), *model.blocks()]
    outputs = {}
    for name, module in units:
        module.register_forward_hook(lambda m, i, o, name=name: outputs.update({name: o}))
    saved = {n: b.clone() for n, b in model.named_buffers()}
    was_training = model.training
    model.train()
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, [outputs[n] for n, _ in units])
    model.train(was_training)
    with torch.no_grad():
        for n, b in model.named_buffers():
            b.copy_(saved[n])
    return {n: g.norm().item() for (n, _), g in zip(units, grads)}
