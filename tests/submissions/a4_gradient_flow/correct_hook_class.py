"""Correct: a small recorder object with its hooks, an ordered list, and a squared-sum norm.

Loses: nothing
"""

# ruff: noqa: D103, D101, D102, B905, E501
import torch
import torch.nn.functional as F


# %% block_gradient_norms
class Recorder:
    def __init__(self, units):
        self.names, self.tensors = [], []
        self.handles = [m.register_forward_hook(self.make(n)) for n, m in units]

    def make(self, name):
        def record(module, inputs, output):
            self.names.append(name)
            self.tensors.append(output)

        return record

    def close(self):
        while self.handles:
            self.handles.pop().remove()


def block_gradient_norms(model, x, y):
    buffers = [b.detach().clone() for b in model.buffers()]
    training = model.training
    recorder = Recorder([("stem", model.stem)] + list(model.blocks()))
    try:
        model.train(True)
        loss = F.cross_entropy(model(x), y)
        grads = torch.autograd.grad(loss, recorder.tensors)
    finally:
        recorder.close()
        model.train(training)
        with torch.no_grad():
            for b, saved in zip(model.buffers(), buffers):
                b.copy_(saved)
    result = {}
    for name, g in zip(recorder.names, grads):
        result[name] = (g.double() ** 2).sum().sqrt().item()
    return result
