"""The checks of notebook 03's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from exercise_answers import passes_all, verdicts
from torch.utils.data import DataLoader, TensorDataset

from fmnist_helpers import CLASSES, Network
from fmnist_helpers.exercises import nb03, run_checks

# --- 03.1 · untrained accuracy for any seed ------------------------------------------------------


def accuracy_in_batches(seed, images, labels):
    torch.manual_seed(seed)
    network = Network().eval()
    correct = 0
    with torch.inference_mode():
        for batch, batch_labels in DataLoader(TensorDataset(images, labels), batch_size=64):
            correct += (network(batch).argmax(dim=1) == batch_labels).sum().item()
    return correct / len(labels)


def test_03_1_scoring_in_batches_passes():
    assert passes_all("03.1", {"accuracy_for_seed": accuracy_in_batches})


def test_03_1_the_notebooks_network_fails():
    torch.manual_seed(0)
    network = Network()

    def accuracy_for_seed(seed, images, labels):
        with torch.no_grad():
            return network(images).argmax(dim=1).eq(labels).float().mean().item()

    assert verdicts("03.1", {"accuracy_for_seed": accuracy_for_seed}) == [True, False]


def test_03_1_seeding_after_building_the_network_fails():
    def accuracy_for_seed(seed, images, labels):
        network = Network()
        torch.manual_seed(seed)
        with torch.no_grad():
            return network(images).argmax(dim=1).eq(labels).float().mean().item()

    assert verdicts("03.1", {"accuracy_for_seed": accuracy_for_seed}) == [True, False]


def test_03_1_a_count_of_correct_images_fails():
    def accuracy_for_seed(seed, images, labels):
        torch.manual_seed(seed)
        with torch.no_grad():
            return Network()(images).argmax(dim=1).eq(labels).sum().item()

    assert verdicts("03.1", {"accuracy_for_seed": accuracy_for_seed}) == [False, False]


def test_03_1_the_instructors_accuracies_typed_in_fail():
    typed = {0: 0.098, 1: 0.1185, 2: 0.0925, 3: 0.095, 4: 0.1015}
    assert verdicts("03.1", {"accuracy_for_seed": lambda seed, images, labels: typed.get(seed, 0.1)}) \
        == [False, False]


def test_03_1_the_check_leaves_the_notebooks_random_numbers_alone():
    nb03._expected_accuracy.cache_clear()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    run_checks("03.1", {"accuracy_for_seed": accuracy_in_batches})
    assert torch.equal(torch.rand(3), expected)


# --- 03.2 · a numerically stable log_softmax -----------------------------------------------------


def with_logsumexp(z):
    return z - torch.logsumexp(z, dim=1, keepdim=True)


def with_amax(z):
    top = torch.amax(z, dim=1, keepdim=True)
    return z - top - torch.log(torch.sum(torch.exp(z - top), dim=1, keepdim=True))


def test_03_2_logsumexp_or_amax_pass():
    assert passes_all("03.2", {"stable_log_softmax": with_logsumexp})
    assert passes_all("03.2", {"stable_log_softmax": with_amax})


def test_03_2_log_of_softmax_fails_on_extreme_logits():
    answers = {"stable_log_softmax": lambda z: torch.log(F.softmax(z, dim=1))}
    assert verdicts("03.2", answers) == [True, True, False, True]


def test_03_2_no_shift_overflows():
    answers = {"stable_log_softmax": lambda z: z - z.exp().sum(dim=1, keepdim=True).log()}
    assert verdicts("03.2", answers) == [True, False, False, True]


def test_03_2_one_maximum_for_the_whole_batch_fails():
    def global_max(z):
        shifted = z - z.max()
        return shifted - shifted.exp().sum(dim=1, keepdim=True).log()

    assert verdicts("03.2", {"stable_log_softmax": global_max}) == [True, False, False, True]


def test_03_2_summing_over_the_batch_fails():
    def over_columns(z):
        shifted = z - z.max(dim=0, keepdim=True).values
        return shifted - shifted.exp().sum(dim=0, keepdim=True).log()

    assert verdicts("03.2", {"stable_log_softmax": over_columns}) == [False, False, False, False]


def test_03_2_calling_pytorchs_log_softmax_fails_the_by_hand_check():
    answers = {"stable_log_softmax": lambda z: F.log_softmax(z, dim=1)}
    assert verdicts("03.2", answers) == [True, True, True, False]


# --- 03.3 · the three most likely classes --------------------------------------------------------


def top3_by_sorting(network, image):
    with torch.no_grad():
        probabilities = network(image[None]).softmax(dim=-1)[0]
    order = probabilities.argsort(descending=True)[:3]
    return [CLASSES[int(k)] for k in order], probabilities[order]


def test_03_3_sorting_all_probabilities_passes():
    assert passes_all("03.3", {"top3": top3_by_sorting})


def test_03_3_logits_instead_of_probabilities_fail():
    def top3(network, image):
        top = network(image.unsqueeze(0)).topk(3, dim=1)
        return [CLASSES[k] for k in top.indices[0].tolist()], top.values[0].tolist()

    assert verdicts("03.3", {"top3": top3}) == [False, False]


def test_03_3_softmax_over_the_batch_fails():
    def top3(network, image):
        top = F.softmax(network(image.unsqueeze(0)), dim=0).topk(3, dim=1)
        return [CLASSES[k] for k in top.indices[0].tolist()], top.values[0].tolist()

    assert verdicts("03.3", {"top3": top3}) == [True, False]


def test_03_3_the_notebooks_network_fails():
    torch.manual_seed(0)
    network = Network()
    assert verdicts("03.3", {"top3": lambda _, image: top3_by_sorting(network, image)}) == [True, False]


def test_03_3_the_instructors_answer_typed_in_fails():
    answers = {"top3": lambda network, image: (["Trouser", "Dress", "Pullover"], [0.109, 0.108, 0.104])}
    assert verdicts("03.3", answers) == [True, False]
