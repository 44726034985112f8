"""Mutant: measures the gradient at each block's input (a forward pre-hook) instead of its output.

Loses: gradient_values
Says: at each block's input
"""

# ruff: noqa: D103, B905, E501
import torch
import torch.nn.functional as F


# %% block_gradient_norms
def block_gradient_norms(model, x, y):
    units = [("stem", model.stem), *model.blocks()]
    seen = {}
    handles = []
    for name, module in units:
        handles.append(
            module.register_forward_pre_hook(
                lambda m, inputs, name=name: seen.update({name: inputs[0]})
            )
        )
    saved = {n: b.clone() for n, b in model.named_buffers()}
    was_training = model.training
    model.train()
    try:
        x = x.clone().requires_grad_(True)  # the stem's input is the image itself
        loss = F.cross_entropy(model(x), y)
        grads = torch.autograd.grad(loss, [seen[n] for n, _ in units])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        with torch.no_grad():
            for n, b in model.named_buffers():
                b.copy_(saved[n])
    return {n: g.norm().item() for (n, _), g in zip(units, grads)}
