"""``fmnist-course predict MODEL IMAGE...``: image files of many formats, sizes and modes, both kinds
of model file, and every refusal (one line naming the file and what to give, exit status 2, no
traceback, nothing predicted), all through ``cli.main`` as the command line calls it.

The models are seeded, untrained networks: what is checked is that the command prints exactly what
the model computes on ``preprocess_photo``'s input, not that the answers are right (notebook 14's
tests measure that with trained weights).
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from fmnist_helpers import CLASSES, CapstoneNet, Network, make_batchnorm_network, normalize
from fmnist_helpers.course.cli import main
from fmnist_helpers.photos import open_image, preprocess_photo

LINE = re.compile(r"^(?P<file>.+): (?P<name>.+?) (?P<p>[01]\.\d{3})(?: \(then (?P<rest>.+)\))?$")


def _garment(size: tuple[int, int], background, ink, box) -> Image.Image:
    """A dark (or light) "garment": an ellipse and a rectangle, off-centre."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.rectangle((left, top, right, (top + bottom) // 2), fill=ink)
    draw.ellipse((left, (top + bottom) // 3, right, bottom), fill=ink)
    return image


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """PNG and JPEG files of different sizes and modes."""
    folder = tmp_path_factory.mktemp("images")
    photo = _garment((160, 120), (225, 220, 210), (40, 30, 60), (90, 20, 140, 110))
    files = {
        "rgb.jpg": (photo, {"quality": 90}),
        "gray.jpg": (photo.convert("L").resize((300, 225)), {}),
        "cmyk.jpg": (photo.convert("CMYK"), {}),
        "rgb.png": (photo.resize((97, 73)), {}),
        "rgba.png": (photo.convert("RGBA"), {}),
        "palette.png": (photo.convert("P"), {}),
        "gray_alpha.png": (photo.convert("LA"), {}),
        "dark_small.png": (_garment((28, 28), "black", "white", (6, 2, 21, 26)).convert("L"), {}),
    }
    paths = {}
    for name, (image, options) in files.items():
        paths[name] = folder / name
        image.save(paths[name], **options)
    sixteen = folder / "sixteen_bit.png"
    Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257).save(sixteen)
    paths["sixteen_bit.png"] = sixteen
    transparent = Image.new("RGBA", (80, 120), (0, 0, 0, 0))  # a dark shape on a see-through background
    ImageDraw.Draw(transparent).rectangle((20, 10, 50, 100), fill=(20, 20, 20, 255))
    paths["transparent.png"] = folder / "transparent.png"
    transparent.save(paths["transparent.png"])
    return paths


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, object]:
    """A seeded Network saved as a state_dict and exported (same weights), and a CapstoneNet."""
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    network = Network().eval()
    torch.save(network.state_dict(), folder / "network.pt")
    program = torch.export.export(network, (torch.rand(2, 1, 28, 28),),
                                  dynamic_shapes={"t": {0: torch.export.Dim("batch")}})
    torch.export.save(program, folder / "network.pt2")
    capstone = CapstoneNet().eval()
    with torch.no_grad():  # batch norm's running statistics: not the defaults, so normalizing shows
        for module in capstone.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
    torch.save(capstone.state_dict(), folder / "capstone.pt")
    return {"network": network, "capstone": capstone, "folder": folder}


def predict_lines(argv: list[str], capsys) -> list[str]:
    assert main(["predict", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out.splitlines()


def expected_top(model, path: Path, k: int, prepare=None) -> list[tuple[str, float]]:
    inputs = preprocess_photo(open_image(path)).unsqueeze(0)
    with torch.no_grad():
        probabilities = model(prepare(inputs) if prepare else inputs).softmax(dim=1)[0]
    top = probabilities.topk(k)
    return [(CLASSES[int(i)], float(p)) for p, i in zip(top.values, top.indices, strict=True)]


def parsed(line: str) -> tuple[str, list[tuple[str, float]]]:
    match = LINE.match(line)
    assert match, line
    found = [(match["name"], float(match["p"]))]
    for part in (match["rest"] or "").split(", ") if match["rest"] else []:
        name, p = part.rsplit(" ", 1)
        found.append((name, float(p)))
    return match["file"], found


# --- predicting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["network.pt", "network.pt2"], ids=["state_dict", "exported program"])
def test_prints_what_the_model_computes_for_every_format(kind, images, models, capsys):
    files = sorted(images)
    lines = predict_lines([str(models["folder"] / kind), *(str(images[f]) for f in files),
                           "--top-k", "3"], capsys)
    assert len(lines) == len(files)
    for line, name in zip(lines, files, strict=True):
        file, top = parsed(line)
        assert file == str(images[name])
        expected = expected_top(models["network"], images[name], 3)
        assert [n for n, _ in top] == [n for n, _ in expected], name
        assert [p for _, p in top] == pytest.approx([p for _, p in expected], abs=0.0005)
        assert top[0][1] >= top[1][1] >= top[2][1]


def test_state_dict_and_exported_program_agree(images, models, capsys):
    files = [str(path) for path in images.values()]
    from_state_dict = predict_lines([str(models["folder"] / "network.pt"), *files, "--top-k", "2"], capsys)
    exported = predict_lines([str(models["folder"] / "network.pt2"), *files, "--top-k", "2"], capsys)
    assert from_state_dict == exported


def test_one_class_by_default_and_capstone_normalizes(images, models, capsys):
    path = images["rgb.jpg"]
    (line,) = predict_lines([str(models["folder"] / "capstone.pt"), str(path)], capsys)
    _, top = parsed(line)
    assert len(top) == 1
    (expected,) = expected_top(models["capstone"], path, 1, prepare=normalize)
    assert top[0][0] == expected[0] and top[0][1] == pytest.approx(expected[1], abs=0.0005)


def test_background_option_decides_the_inversion(images, models, capsys):
    dark = str(images["dark_small.png"])
    auto, dark_forced = (predict_lines([str(models["folder"] / "network.pt"), dark, "--top-k", "10",
                                        "--background", choice], capsys) for choice in ("auto", "dark"))
    assert auto == dark_forced  # the border is black: auto does not invert
    light = predict_lines([str(models["folder"] / "network.pt"), dark, "--top-k", "10",
                           "--background", "light"], capsys)
    assert light != auto


def test_images_of_every_format_become_one_28x28_input(images):
    for name, path in images.items():
        opened = open_image(path)
        assert opened.mode in ("L", "RGB"), name
        tensor = preprocess_photo(opened)
        assert tuple(tensor.shape) == (1, 28, 28) and tensor.dtype == torch.float32, name
        assert float(tensor.max()) > 0.8, name  # the object is found (JPEG noise: not exactly 1)
        border = torch.cat([tensor[0, 0], tensor[0, -1], tensor[0, :, 0], tensor[0, :, -1]])
        assert float(border.min()) == 0.0, name  # and the background is black


def test_a_camera_rotation_tag_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.new("RGB", (120, 60), "white").save(path, exif=exif)
    assert open_image(path).size == (60, 120)


def test_cli_loads_the_predict_module_only_for_predict():
    code = ("import sys; import fmnist_helpers.course.cli; "
            "print('fmnist_helpers.course.predict' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_help_names_the_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "MODEL" in out and "IMAGE" in out and "--top-k" in out


# --- refusals --------------------------------------------------------------------------------------

def _refusal_files(folder: Path) -> dict[str, Path]:
    """Bad inputs, written once: files that are not images or not models, wrong networks."""
    files = {}
    files["notes.txt"] = folder / "notes.txt"
    files["notes.txt"].write_text("not an image, not a model")
    truncated = folder / "truncated.jpg"
    buffer = _garment((200, 200), "white", "black", (20, 20, 150, 180))
    buffer.save(truncated, quality=95)
    truncated.write_bytes(truncated.read_bytes()[:300])
    files["truncated.jpg"] = truncated
    torch.save(make_batchnorm_network().state_dict(), folder / "batchnorm.pt")
    wider = Network()
    wider.conv1 = torch.nn.Conv2d(1, 8, kernel_size=5)
    torch.save(wider.state_dict(), folder / "wider.pt")
    torch.save(Network(), folder / "whole_module.pt")
    torch.save([1, 2, 3], folder / "a_list.pt")
    color = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(10))
    color(torch.rand(2, 3, 28, 28))
    torch.export.save(torch.export.export(color, (torch.rand(2, 3, 28, 28),)), folder / "color.pt2")
    five = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 5))
    torch.export.save(torch.export.export(five, (torch.rand(2, 1, 28, 28),),
                                          dynamic_shapes=({0: torch.export.Dim("batch")},)),
                      folder / "five_classes.pt2")
    with zipfile.ZipFile(folder / "broken.pt2", "w") as archive:
        archive.writestr("model/archive_format", "pt2")
    torch.jit.save(torch.jit.script(Network()), folder / "scripted.pt")
    for name in ("batchnorm.pt", "wider.pt", "whole_module.pt", "a_list.pt", "color.pt2",
                 "five_classes.pt2", "broken.pt2", "scripted.pt"):
        files[name] = folder / name
    return files


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, Path]:
    return _refusal_files(tmp_path_factory.mktemp("bad"))


REFUSALS = [
    # (model, images, what stderr must say)
    ("network.pt", ["missing.png"], "IMAGE {missing.png} does not exist; give the path of a PNG or JPEG"),
    ("network.pt", ["notes.txt"], "IMAGE {notes.txt} is not an image file PIL can read; give a PNG or JPEG"),
    ("network.pt", ["truncated.jpg"], "IMAGE {truncated.jpg} cannot be read as an image"),
    ("network.pt", ["<folder>"], "is a folder; give image files"),
    ("missing.pt", ["rgb.jpg"], "MODEL {missing.pt} does not exist; give a program exported by notebook 14"),
    ("notes.txt", ["rgb.jpg"], "MODEL {notes.txt} is not a model file PyTorch can read"),
    ("rgb.jpg", ["rgb.jpg"], "MODEL {rgb.jpg} is not a model file PyTorch can read"),
    ("batchnorm.pt", ["rgb.jpg"], "MODEL {batchnorm.pt} holds weights for another network: against "
                                  "Network (notebook 04), the closest match, its tensors differ: 10 "
                                  "missing (conv1.weight"),
    ("wider.pt", ["rgb.jpg"], "conv1.weight is [8, 1, 5, 5] here, [6, 1, 5, 5] in the network"),
    ("whole_module.pt", ["rgb.jpg"], "holds a whole pickled object, not only tensors; predict does not "
                                     "unpickle"),
    ("a_list.pt", ["rgb.jpg"], "MODEL {a_list.pt} holds a list, not a state_dict"),
    ("color.pt2", ["rgb.jpg"], "is an exported program that does not take a batch of 28 × 28 gray images"),
    ("five_classes.pt2", ["rgb.jpg"], "gives outputs of shape [2, 5] for 2 images, not [2, 10]"),
    ("broken.pt2", ["rgb.jpg"], "looks like an exported program but cannot be read"),
    ("scripted.pt", ["rgb.jpg"], "is a TorchScript file (torch.jit.save)"),
]


@pytest.mark.parametrize(("model", "files", "message"), REFUSALS,
                         ids=[f"{m} {' '.join(f)}" for m, f, _ in REFUSALS])
def test_refuses_with_one_line_and_exit_status_2(model, files, message, images, models, bad, tmp_path,
                                                 capsys):
    def where(name: str) -> str:
        if name == "<folder>":
            return str(models["folder"])
        for known in (images, bad):
            if name in known:
                return str(known[name])
        if name.endswith(".pt") and (models["folder"] / name).exists():
            return str(models["folder"] / name)
        return str(tmp_path / name)

    # a good image first: nothing is predicted when any input is bad
    argv = [where(model), str(images["rgb.jpg"]), *(where(f) for f in files)]
    assert main(["predict", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    expected = re.sub(r"\{(.+?)\}", lambda m: where(m[1]), message)
    assert expected in captured.err
    assert captured.err.startswith("fmnist-course: error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("k", ["0", "11"])
def test_refuses_a_top_k_out_of_range(k, images, models, capsys):
    assert main(["predict", str(models["folder"] / "network.pt"), str(images["rgb.jpg"]), "--top-k", k]) == 2
    assert f"--top-k must be between 1 and 10, got {k}" in capsys.readouterr().err


def test_the_installed_command_refuses_without_a_traceback(images, tmp_path):
    """The real thing once: a new process, as a terminal runs it."""
    result = subprocess.run([sys.executable, "-m", "fmnist_helpers.course", "predict",
                             str(tmp_path / "nothing.pt"), str(images["rgb.png"])],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (f"fmnist-course: error: MODEL {tmp_path / 'nothing.pt'} does not "
                                     "exist; give a program exported by notebook 14 "
                                     "(outputs/14_your_own_images/model.pt2) or a state_dict saved by "
                                     "notebook 04 (outputs/04_training/model.pt)")
