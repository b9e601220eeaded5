"""Notebook 14 (your own images): its quick run, a run on a folder of "own" photos, its student copy,
the preprocessing it builds inline against ``fmnist_helpers.photos``, and the claims its prose makes
about the committed outputs.

The quick run classifies with the weights of 04's quick run (50 batches: a weak network), so the
tests check structure and consistency there; the prose's numbers are checked on the committed
notebook, which ran with 04's full training.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from notebook_checks import cell_outputs_text, executed, exercise_tests
from PIL import Image, ImageDraw

from fmnist_helpers import CLASSES, Network, load_metrics, load_tensors, preprocess_photo
from fmnist_helpers.checks import ParameterError
from fmnist_helpers.course.catalog import notebook_parameters
from fmnist_helpers.parameters import check_parameters
from fmnist_helpers.photos import (
    class_folder_name,
    label_of_folder,
    make_photo_like,
    write_image_folder,
)

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "14_your_own_images.ipynb"
STEPS = ["grayscale, resize", "+ invert, background 0", "+ crop to the object",
         "+ pad to a square (every step)"]

pytestmark = pytest.mark.notebook


# --- the quick run ---------------------------------------------------------------------------------

def test_14_quick_run_folder_and_datasets(quick_run):
    metrics = load_metrics(quick_run("14"))
    assert metrics["folder_images"] == 10 * 20 and metrics["folder_classes"] == 10
    assert metrics["imagefolder_identical"] is True
    assert Path(metrics["image_folder"]) == quick_run("14") / "sample_images"
    assert Path(metrics["trained_weights"]) == (quick_run("04") / "model.pt").resolve()
    for value in metrics["folder_accuracy"].values():
        assert 0.3 < value <= 1.0  # 04's quick weights on Fashion-MNIST's own images


def test_14_quick_run_photos_and_preprocessing(quick_run):
    metrics = load_metrics(quick_run("14"))
    assert metrics["photo_count"] == 500
    assert 96 <= metrics["photo_sizes"][0] <= metrics["photo_sizes"][1] <= 160
    assert metrics["inline_equals_package"] is True
    assert 0.5 < metrics["clean_accuracy"] < 0.95
    # resized photos: near chance, piled on few classes; preprocessing wins much of it back
    assert metrics["naive_accuracy"] < 0.3
    assert max(metrics["naive_predicted_counts"].values()) > 0.5 * 500
    assert metrics["preprocessed_accuracy"] > metrics["naive_accuracy"] + 0.2
    steps = metrics["step_accuracy"]
    assert list(steps) == STEPS
    assert steps[STEPS[0]] == metrics["naive_accuracy"]
    assert steps[STEPS[-1]] == metrics["preprocessed_accuracy"]
    assert list(metrics["threshold_accuracy"]) == ["0.05", "0.1", "0.2", "0.3"]
    assert set(metrics["accuracy_by_angle"]) == {"0-5 degrees", "5-10 degrees", "10-15 degrees"}


def test_14_quick_run_saved_models_agree_everywhere(quick_run):
    out_dir = quick_run("14")
    metrics = load_metrics(out_dir)
    assert metrics["fresh_process_same_classes"] == {"exported": True, "state_dict": True}
    assert all(d < 1e-4 for d in metrics["fresh_process_max_difference"].values())
    # the state_dict saved is 04's weights; the exported program computes what they compute
    network = Network().eval()
    network.load_state_dict(torch.load(out_dir / "model_state.pt"))
    trained = torch.load(quick_run("04") / "model.pt")
    assert all(torch.equal(v, trained[k]) for k, v in network.state_dict().items())
    program = torch.export.load(out_dir / "model.pt2").module()
    inputs = torch.load(out_dir / "photo_inputs.pt")
    with torch.no_grad():
        assert torch.allclose(program(inputs[:7]), network(inputs[:7]), atol=1e-5)
    assert (out_dir / "top3.png").stat().st_size > 10_000


def test_14_quick_run_calls_the_command(quick_run):
    metrics = load_metrics(quick_run("14"))
    assert metrics["predict_exit_status"] == 0 and metrics["predict_refused_exit_status"] == 2
    lines = metrics["predict_output"]
    assert [line.split(":")[0] for line in lines] == [
        "photo_0.jpg", "photo_1.jpg", "photo_2.jpg", "photo_3.png", "sample.png"]
    for line in lines:
        assert re.fullmatch(r"\S+: .+ [01]\.\d{3} \(then .+ [01]\.\d{3}, .+ [01]\.\d{3}\)", line), line
    text = cell_outputs_text(executed(quick_run("14") / "executed.ipynb"), '(demo / "notes.txt")')
    assert "exit status: 2" in text and "IMAGE notes.txt is not an image file" in text


def test_14_runs_on_a_folder_of_own_photos(tmp_path, run_quick, quick_run):
    """image_folder: class folders named in any case, JPEG and PNG photos of different sizes."""
    own = tmp_path / "my_photos"
    garments = {"sneaker": [(140, 90), (90, 60)], "TROUSER": [(80, 150)], "Bag": [(120, 120)]}
    for folder, sizes in garments.items():
        (own / folder).mkdir(parents=True)
        for i, (width, height) in enumerate(sizes):
            photo = Image.new("RGB", (width, height), (230, 225, 215))
            ImageDraw.Draw(photo).rectangle((width // 4, height // 5, width // 2, height - 10),
                                            fill=(40, 40, 70))
            photo.save(own / folder / (f"{i}.jpg" if i % 2 == 0 else f"{i}.png"))
    (tmp_path / "out").mkdir()
    out_dir = run_quick("14", tmp_path / "out", image_folder=str(own), train_dir=str(quick_run("04")))
    metrics = load_metrics(out_dir)
    assert metrics["image_folder"] == str(own)
    assert metrics["folder_images"] == 4 and metrics["folder_classes"] == 3
    assert metrics["imagefolder_identical"] is True
    assert not (out_dir / "sample_images").exists()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("images_per_class", 0, "images_per_class must be at least 1, got 0"),
    ("images_per_class", 1001, "images_per_class must be at most 1000, got 1001"),
    ("photo_count", 5, "photo_count must be at least 10, got 5"),
    ("image_folder", " ", "image_folder must be a folder path or None, got an empty string"),
])
def test_14_parameters_are_checked(name, value, message):
    specs = notebook_parameters(NOTEBOOK)
    values = {key: eval(spec["default"]) for key, spec in specs.items()}  # literals only
    with pytest.raises(ParameterError, match=re.escape(message)):
        check_parameters(NOTEBOOK.stem, {**values, name: value},
                         {key: spec["inferred_type_name"] for key, spec in specs.items()})


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests("14")


# --- the preprocessing built inline is the package's -----------------------------------------------

def _inline_preprocess():
    """The committed notebook's ``def preprocess_inline`` cell, executed."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    (source,) = [s for s in cells if s.startswith("def preprocess_inline(")]
    namespace = {"torch": torch, "F": F, "TF": TF}
    exec(compile(source, f"{NOTEBOOK.name}: preprocess_inline", "exec"), namespace)
    return namespace["preprocess_inline"]


def _images_to_compare() -> list[Image.Image]:
    images, _ = load_tensors(train=False)
    generator = torch.Generator().manual_seed(5)
    made = [make_photo_like(images[i], generator)[0] for i in range(40)]
    plain = [Image.fromarray((images[i, 0] * 255).round().to(torch.uint8).numpy(), "L") for i in range(20)]
    edge_cases = [Image.new("RGB", (50, 70), "white"), Image.new("L", (30, 30), 0),
                  Image.new("RGB", (3, 2), (10, 200, 30))]
    shape = Image.new("RGB", (160, 100), (240, 240, 250))
    ImageDraw.Draw(shape).polygon([(10, 10), (60, 90), (120, 40)], fill=(30, 20, 10))
    return made + plain + edge_cases + [shape, shape.convert("RGBA"), shape.rotate(30, expand=True)]


@pytest.mark.parametrize("threshold", [0.1, 0.05, 0.3])
def test_14_inline_preprocessing_is_the_packages(threshold, data_root):
    inline = _inline_preprocess()
    for i, image in enumerate(_images_to_compare()):
        ours, package = inline(image, threshold), preprocess_photo(image, threshold=threshold)
        assert torch.equal(ours, package), f"image {i} ({image.mode}, {image.size})"


def test_14_inline_default_threshold_is_the_packages():
    import inspect

    from fmnist_helpers.photos import OBJECT_THRESHOLD
    assert inspect.signature(_inline_preprocess()).parameters["threshold"].default == OBJECT_THRESHOLD


# --- the package's photo helpers ---------------------------------------------------------------------

def test_an_off_centre_shape_on_white_becomes_a_centred_28x28_garment():
    photo = Image.new("RGB", (200, 120), (250, 250, 245))
    ImageDraw.Draw(photo).rectangle((150, 20, 169, 99), fill=(20, 30, 40))  # 20 wide, 80 tall, at the right
    tensor = preprocess_photo(photo)
    assert tuple(tensor.shape) == (1, 28, 28)
    rows = torch.nonzero((tensor[0] > 0.5).any(dim=1)).flatten()
    cols = torch.nonzero((tensor[0] > 0.5).any(dim=0)).flatten()
    assert (rows[0], rows[-1]) == (0, 27)  # the longer side fills the square
    assert abs(int(cols[-1] - cols[0] + 1) - 7) <= 1  # 20 / 80 of 28 = 7, proportions kept
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 0.5  # in the middle
    assert float(tensor[0, :, :5].max()) == 0.0  # background black
    assert torch.equal(preprocess_photo(photo, invert=True), tensor)
    assert not torch.equal(preprocess_photo(photo, invert=False), tensor)


def test_folder_names_and_labels():
    assert [class_folder_name(c) for c in CLASSES][:1] == ["T-shirt-top"]
    assert [label_of_folder(class_folder_name(c)) for c in CLASSES] == list(range(10))
    assert label_of_folder(" ANKLE BOOT ") == 9
    with pytest.raises(ValueError, match="folder 'cat' is not named after a Fashion-MNIST class"):
        label_of_folder("cat")


def test_write_image_folder_writes_the_first_images_of_each_class(tmp_path, data_root):
    images, labels = load_tensors(train=False)
    assert write_image_folder(images, labels, tmp_path, 3) == 30
    first_bag = int(torch.nonzero(labels == 8)[0])
    path = tmp_path / "Bag" / f"{first_bag:05d}.png"
    pixels = TF.pil_to_tensor(Image.open(path))
    assert torch.equal(pixels.float() / 255, images[first_bag])  # lossless, exactly ToTensor's values


def test_photo_like_images_repeat_with_the_seed():
    image = torch.rand(1, 28, 28)
    first = make_photo_like(image, torch.Generator().manual_seed(3))
    second = make_photo_like(image, torch.Generator().manual_seed(3))
    assert first[1] == second[1]
    assert first[0].tobytes() == second[0].tobytes()
    assert first[0].mode == "RGB" and first[0].format == "JPEG" and 96 <= first[0].size[0] <= 160


# --- the committed notebook (04's full training) matches its prose ---------------------------------

def committed(first_line: str) -> str:
    return cell_outputs_text(executed(NOTEBOOK), first_line)


def _number(text: str, pattern: str) -> float:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return float(match[1])


def test_14_committed_outputs_match_the_prose():
    text = committed("fixed_accuracy = accuracy(fixed_inputs, photo_labels)")
    clean = _number(text, r"test images:\s+(0\.\d+)")
    naive = _number(text, r"photos, resized:\s+(0\.\d+)")
    fixed = _number(text, r"photos, preprocessed:\s+(0\.\d+)")
    assert naive < 0.2  # "little better than chance"
    assert fixed > naive + 0.4 and clean > fixed  # "wins back much of the accuracy"
    counts = committed("naive = transforms.Compose(")
    assert re.search(r"'Bag': (\d+)", counts) and int(re.search(r"'Bag': (\d+)", counts)[1]) > 400

    thresholds = committed("train_images, train_labels = load_tensors(train=True")
    rows = {float(t): (float(p), float(a)) for t, p, a in re.findall(
        r"threshold\s+([\d.]+): photo-like ([\d.]+), training images as they are ([\d.]+)", thresholds)}
    assert set(rows) == {0.05, 0.1, 0.2, 0.3}
    assert rows[0.05][0] < rows[0.1][0] - 0.1  # below 0.1 the crop goes wrong
    assert abs(rows[0.1][0] - rows[0.2][0]) < 0.02  # 0.1 and 0.2 about the same on photos
    assert rows[0.1][1] >= rows[0.2][1] >= rows[0.3][1]  # higher thresholds spoil plain images
    untouched = _number(thresholds, r"without any preprocessing: (0\.\d+)")
    assert untouched > rows[0.1][1]  # "even so, those lose a little"

    by_angle = [float(a) for a in re.findall(r"accuracy (0\.\d+)",
                                             committed("fixed_correct = network(fixed_inputs)"))]
    assert len(by_angle) == 3 and by_angle[0] > by_angle[1] > by_angle[2]  # more tilt, more mistakes

    folder = committed("folder_labels = torch.tensor(")
    as_is = _number(folder, r"as they are \(grayscale, 28 × 28\): accuracy (0\.\d+)")
    assert _number(folder, r"preprocessed: accuracy (0\.\d+)") < as_is  # "costs a little"

    fresh = committed("fresh = torch.load(")
    assert fresh.count("same predicted classes True") == 2
    assert "fmnist_helpers imported: False" in committed("network_code = inspect.getsource(Network)")
