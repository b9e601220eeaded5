"""``get_num_correct`` and ``get_all_preds``."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from fmnist_helpers import Network, TensorBatches, get_all_preds, get_num_correct


def test_get_num_correct_on_known_tensors():
    preds = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = torch.tensor([1, 0, 0, 1])
    assert get_num_correct(preds, labels) == 2
    assert get_num_correct(preds, preds.argmax(dim=1)) == 4


def test_get_all_preds_equals_a_hand_loop():
    torch.manual_seed(0)
    images, labels = torch.rand(250, 1, 28, 28), torch.randint(0, 10, (250,))
    network = Network()
    loader = DataLoader(TensorDataset(images, labels), batch_size=64)
    expected = []
    with torch.no_grad():
        for batch, _ in loader:
            expected.append(network(batch))
    preds = get_all_preds(network, loader)
    assert preds.shape == torch.Size([250, 10])
    assert torch.allclose(preds, torch.cat(expected))
    assert not preds.requires_grad


def test_tensor_batches_cover_every_item_once():
    images, labels = torch.arange(10.0).reshape(10, 1, 1, 1), torch.arange(10)
    batches = TensorBatches(images, labels, batch_size=4, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert [len(y) for _, y in TensorBatches(images, labels, batch_size=4)] == [4, 4, 2]
