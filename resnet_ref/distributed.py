"""Training on several processes at once: ``torchrun --nproc_per_node=N -m resnet_ref train``.

``torchrun`` starts N copies of the command and tells each its ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE``. :func:`start` joins them into one process group (NCCL between GPUs, gloo between
CPUs), and :func:`resnet_ref.training.train` then splits every batch into N shards, one per
process, and wraps the network in ``DistributedDataParallel``, which averages the gradients.

For the N processes to compute what one process computes on the whole batch, BatchNorm must
normalise with the statistics of the whole batch, not of one shard:
:class:`GlobalBatchNorm2d` sums each channel's statistics over the processes. (PyTorch's
``SyncBatchNorm`` does the same, but only on GPUs.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Group:
    """Where this process stands: its rank among ``size`` processes, and its device."""

    rank: int
    size: int
    device: torch.device

    @property
    def leader(self) -> bool:
        """Whether this process writes files and prints: rank 0 does, for all of them."""
        return self.rank == 0


def launched() -> bool:
    """Whether this process is one of several started by ``torchrun``."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device) -> Group:
    """Join the process group that ``torchrun`` describes in the environment; return our place.

    On CUDA every process takes the GPU of its ``LOCAL_RANK`` and the processes talk over NCCL;
    on the CPU they talk over gloo.
    """
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Group(rank, size, device)


def stop() -> None:
    """Leave the process group, so that the process can end cleanly."""
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(batch_size: int, group: Group) -> slice:
    """The part of a batch of ``batch_size`` items that this process trains on.

    Consecutive slices, as equal as can be: 10 items over 3 processes give 4, 3 and 3.
    """
    base, extra = divmod(batch_size, group.size)
    start = group.rank * base + min(group.rank, extra)
    return slice(start, start + base + (group.rank < extra))


def total(value: torch.Tensor) -> torch.Tensor:
    """The sum of ``value`` over all processes (every process gets it)."""
    value = value.clone()
    dist.all_reduce(value)
    return value


class SumOverProcesses(torch.autograd.Function):
    """:func:`total`, differentiable: what BatchNorm needs to learn from the whole batch.

    Every process's sum depends on this process's value, so the gradient with respect to the
    value is the sum of all processes' gradients with respect to their sums. (PyTorch's own
    ``torch.distributed.nn.functional.all_reduce`` does this too, but is deprecated.)
    """

    @staticmethod
    def forward(ctx, value: torch.Tensor) -> torch.Tensor:
        """The sum of ``value`` over all processes."""
        return total(value)

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> torch.Tensor:
        """The sum of the gradients of every process's sum."""
        return total(gradient)


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics are those of the whole batch across all processes.

    Each process sums its shard's values and squared values per channel, the sums are added up
    over the processes, and every process normalises with the resulting mean and variance. The
    sum is differentiable (:class:`SumOverProcesses`), so the gradients
    account for every shard, as they would on one process. Outside training, or with one
    process, it is a plain BatchNorm.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (N, C, H, W) with the statistics of the batch across all processes."""
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        channels = x.shape[1]
        count = torch.tensor([x.numel() / channels], dtype=x.dtype, device=x.device)
        local = torch.cat([x.sum((0, 2, 3)), (x * x).sum((0, 2, 3)), count])
        sums = SumOverProcesses.apply(local)
        n = sums[-1]
        mean = sums[:channels] / n
        variance = sums[channels : 2 * channels] / n - mean * mean
        if self.track_running_stats:
            self._update_running_statistics(mean.detach(), variance.detach(), n.detach())
        shape = (1, channels, 1, 1)
        normalised = (x - mean.view(shape)) * torch.rsqrt(variance.view(shape) + self.eps)
        if not self.affine:
            return normalised
        return normalised * self.weight.view(shape) + self.bias.view(shape)

    @torch.no_grad()
    def _update_running_statistics(self, mean, variance, n) -> None:
        """Move the running averages as BatchNorm does (the variance made unbiased)."""
        self.num_batches_tracked += 1
        momentum = self.momentum
        if momentum is None:  # a cumulative average, as BatchNorm does without momentum
            momentum = 1.0 / float(self.num_batches_tracked)
        self.running_mean.lerp_(mean, momentum)
        self.running_var.lerp_(variance * n / (n - 1), momentum)


def globalise_batch_norms(model: nn.Module) -> nn.Module:
    """Make every ``BatchNorm2d`` of ``model`` a :class:`GlobalBatchNorm2d`, in place.

    The modules keep their parameters and running statistics (and so their ``state_dict``);
    only their class changes.
    """
    for module in model.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = GlobalBatchNorm2d
    return model
