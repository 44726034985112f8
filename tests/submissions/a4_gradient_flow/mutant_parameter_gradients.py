"""Mutant: the norm of each block's parameter gradients instead of the gradient at its output.

Loses: gradient_values
Says: norms of the parameter gradients
"""

# ruff: noqa: D103, B905, E501
import torch
import torch.nn.functional as F


# %% block_gradient_norms
def block_gradient_norms(model, x, y):
    units = [("stem", model.stem), *model.blocks()]
    saved = {n: b.clone() for n, b in model.named_buffers()}
    was_training = model.training
    model.train()
    try:
        loss = F.cross_entropy(model(x), y)
        result = {}
        for name, module in units:
            grads = torch.autograd.grad(loss, list(module.parameters()), retain_graph=True)
            result[name] = torch.sqrt(sum((g**2).sum() for g in grads)).item()
    finally:
        model.train(was_training)
        with torch.no_grad():
            for n, b in model.named_buffers():
                b.copy_(saved[n])
    return result
