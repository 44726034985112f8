"""Training on several processes: torchrun with two CPU processes (gloo) against one process.

Every batch is split between the processes, so two processes must compute what one computes on
the whole batch, BatchNorm included. Floating-point sums in another order differ in the last
bits, and early training amplifies that: one process on one thread and on two threads already
differs by about 1e-4 after a few steps. The comparisons therefore use a small learning rate
and a tolerance far below what per-shard BatchNorm statistics give (about 0.05, measured).
"""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import ROOT
from servers import free_port
from torch import nn

from resnet_ref.distributed import GlobalBatchNorm2d, Group, shard

# 301 training images in batches of 128: the last batch of 45 splits 23 / 22.
RUN = ["--model", "resnet20", "--epochs", "2", "--limit", "301", "--lr", "0.001", "--no-progress"]


def train_command(processes: int, out, *options: str) -> subprocess.CompletedProcess:
    """``python -m resnet_ref train`` on one process, or under torchrun on several."""
    if processes == 1:
        launcher = [sys.executable, "-m", "resnet_ref"]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        launcher += [f"--nproc_per_node={processes}", "-m", "resnet_ref"]
    command = [*launcher, "train", *RUN, *options, "--out", str(out)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=environment, timeout=600
    )


def test_two_processes_train_the_weights_and_history_of_one(tmp_path):
    one = train_command(1, tmp_path / "one")
    two = train_command(2, tmp_path / "two")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt", "history.json"]
    # Only the first process speaks: one line per epoch, not two.
    assert two.stdout.count("epoch   1 ") == 1, two.stdout
    assert "2 processes" in two.stdout
    # What a learner sees under torchrun is the training, not PyTorch's deprecation notices.
    assert "FutureWarning" not in two.stderr, two.stderr

    first = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    second = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert first["model"].keys() == second["model"].keys()
    for name, value in first["model"].items():
        torch.testing.assert_close(second["model"][name], value, atol=2e-3, rtol=0, msg=name)
    assert first["scheduler"] == second["scheduler"]

    histories = [
        json.loads((tmp_path / run / "history.json").read_text()) for run in ("one", "two")
    ]
    assert len(histories[0]) == len(histories[1]) == 2
    for alone, shared in zip(*histories, strict=True):
        for key in ("train_loss", "test_loss"):
            assert shared[key] == pytest.approx(alone[key], abs=1e-3), key
        for key in ("train_error", "test_error"):
            assert shared[key] == pytest.approx(alone[key], abs=0.02), key


def test_a_last_batch_smaller_than_the_processes_is_refused(tmp_path):
    # 257 images in batches of 128 leave a last batch of one image for two processes.
    refused = train_command(2, tmp_path / "out", "--limit", "257", "--epochs", "1")
    assert refused.returncode != 0
    assert "leave a last batch of 1" in refused.stderr
    assert not (tmp_path / "out" / "checkpoint.pt").exists()


@pytest.mark.parametrize("size, processes", [(128, 2), (45, 2), (10, 3), (3, 3), (7, 4)])
def test_shards_cover_the_batch_once_and_differ_by_at_most_one(size, processes):
    parts = [shard(size, Group(rank, processes, torch.device("cpu"))) for rank in range(processes)]
    items = [i for part in parts for i in range(size)[part]]
    assert items == list(range(size))
    lengths = [len(range(size)[part]) for part in parts]
    assert max(lengths) - min(lengths) <= 1


def _compare_batch_norms(rank: int, port: int, results) -> None:
    """In one of two processes: global BatchNorm on half a batch against BatchNorm on all of it."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        x = torch.randn(8, 3, 5, 5)
        weights = torch.randn(8, 3, 5, 5)  # a loss that weighs every output differently
        whole = nn.BatchNorm2d(3)
        nn.init.uniform_(whole.weight)
        nn.init.uniform_(whole.bias)
        split = GlobalBatchNorm2d(3)
        split.load_state_dict(whole.state_dict())

        x_whole = x.clone().requires_grad_()
        out_whole = whole(x_whole)
        (out_whole * weights).sum().backward()
        half = slice(4 * rank, 4 * rank + 4)
        x_half = x[half].clone().requires_grad_()
        out_half = split(x_half)
        (out_half * weights[half]).sum().backward()
        # Parameter gradients are per process; DistributedDataParallel adds them up.
        weight_grad = split.weight.grad.clone()
        dist.all_reduce(weight_grad)
        results[rank] = {
            "output": (out_half - out_whole[half]).abs().max().item(),
            "input_grad": (x_half.grad - x_whole.grad[half]).abs().max().item(),
            "weight_grad": (weight_grad - whole.weight.grad).abs().max().item(),
            "running_var": (split.running_var - whole.running_var).abs().max().item(),
        }
    finally:
        dist.destroy_process_group()


def test_global_batch_norm_on_shards_equals_batch_norm_on_the_batch():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_compare_batch_norms, args=(free_port(), results), nprocs=2)
        for rank in range(2):
            for quantity, difference in results[rank].items():
                assert difference < 1e-5, f"process {rank}: {quantity} differs by {difference}"
