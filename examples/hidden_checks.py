"""Hidden checks: extra checks an instructor keeps outside the student copies.

    fmnist-course grade SUBMISSIONS --out grades --hidden-checks examples/hidden_checks.py

Keep your own file outside the course folder the students clone. The grader registers these checks
after the public ones, on the grader's machine and in each submission's probe process, never in
the student's kernel. A student's feedback shows each hidden check's description and ✓ or ✗, never
its code or its hint, so describe *what* is checked, not *how*.

A check is written like every public one (``fmnist_helpers/exercises/nb03.py`` has examples):

- the **probe** gets the student's answers by name and calls them on inputs you choose; it returns
  plain data only (tensors, numbers, strings, lists, tuples, dicts);
- the **judge** decides from that data alone, computing what is expected itself.
"""

import torch
import torch.nn.functional as F

from fmnist_helpers.exercises import Check, add_hidden_checks


def _float64_logits() -> torch.Tensor:
    return torch.randn(4, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(11))


def _log_softmax_of_float64(answers):
    """03.2: what the student's function makes of double-precision logits, and its dtype."""
    result = answers["stable_log_softmax"](_float64_logits())
    return {"dtype": str(result.dtype), "values": result.detach().to(torch.float64)}


def _same_as_pytorch_in_float64(data) -> bool:
    expected = F.log_softmax(_float64_logits(), dim=1)
    return data["dtype"] == "torch.float64" and torch.allclose(data["values"], expected, atol=1e-12)


def _one_row(answers):
    """03.2: a single row of logits, given as a batch of one."""
    return answers["stable_log_softmax"](torch.tensor([[2.0, -1.0, 0.5]])).detach()


add_hidden_checks("03.2", [
    Check("stable_log_softmax keeps double precision and is exact in it", _log_softmax_of_float64,
          "hidden", judge=_same_as_pytorch_in_float64),
    Check("stable_log_softmax works on a batch of one image", _one_row, "hidden",
          judge=lambda out: torch.allclose(out, F.log_softmax(torch.tensor([[2.0, -1.0, 0.5]]), dim=1))),
])
