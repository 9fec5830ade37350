"""The .sdamodel file: one self-contained file that loads safely, and foreign or crafted files refused."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from generation_helpers import KIT_EPOCHS

from sda.generation import GenerationError, export_model_file, load_generator


@pytest.fixture(scope="module")
def model_file(kit_run, tmp_path_factory):
    return export_model_file(kit_run, tmp_path_factory.mktemp("files") / "kit", name="Tiny kit",
                             description="twelve hits")


def test_model_file_is_plain_data_without_optimizer_state(model_file):
    assert model_file.suffix == ".sdamodel"
    state = torch.load(model_file, weights_only=True)
    assert state["format"] == "sda-model" and state["name"] == "Tiny kit" and state["description"] == "twelve hits"
    assert "optimizer_state" not in state and "optimizer_state" not in state.get("info", {})
    assert state["info"]["epochs"] == KIT_EPOCHS and state["info"]["dataset"]["files"] == 12
    assert state["analysis"]["axes"]


def test_model_file_generates_exactly_what_its_run_generates(kit_run, model_file):
    from_run, from_file = load_generator(kit_run, "cpu"), load_generator(model_file, "cpu")
    assert from_file.model_id == from_run.model_id and from_file.name == "Tiny kit"
    assert [a.key for a in from_file.axes] == [a.key for a in from_run.axes]
    a = from_run.generate(seconds=1.2, seed=5, axes={1: 0.5})
    b = from_file.generate(seconds=1.2, seed=5, axes={1: 0.5})
    assert np.array_equal(a.audio, b.audio)


def test_an_existing_model_file_is_not_overwritten(kit_run, model_file):
    again = export_model_file(kit_run, model_file)
    assert again != model_file and again.exists() and again.name.startswith("kit-")


def _crafted(tmp_path, model_file, change) -> str:
    state = torch.load(model_file, weights_only=True)
    change(state)
    path = tmp_path / "crafted.sdamodel"
    torch.save(state, path)
    return path


@pytest.mark.parametrize("change, words", [
    (lambda s: s.update(format="something-else"), "not an sda model"),
    (lambda s: s.update(version=99), "newer version"),
    (lambda s: s.pop("analysis"), "lacks analysis"),
    (lambda s: s.pop("model_state"), "lacks model_state"),
    (lambda s: s["model_state"].update({"decoder.net.0.linear.weight": torch.zeros(3, 3)}), "do not fit"),
    (lambda s: s["model_architecture"].update(latent_dim=-4), "latent_dim"),
    (lambda s: s["analysis"]["prior"].update(mean=torch.zeros(5)), "does not fit the model"),
    (lambda s: s.update(model_id="0" * 16), "do not match"),
])
def test_crafted_model_files_are_refused_with_a_reason(tmp_path, model_file, change, words):
    path = _crafted(tmp_path, model_file, change)
    with pytest.raises(GenerationError) as info:
        load_generator(path, "cpu")
    assert words in str(info.value) and "crafted.sdamodel" in str(info.value)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_files_that_are_not_model_files_are_refused(tmp_path, model_file):
    cases = {}
    torch.save([1, 2, 3], tmp_path / "list.sdamodel")
    cases["list.sdamodel"] = "not an sda model file"
    with open(tmp_path / "code.sdamodel", "wb") as handle:
        pickle.dump({"format": "sda-model", "x": Payload()}, handle)
    cases["code.sdamodel"] = "not plain data"
    torch.save({"format": "sda-model", "x": Payload()}, tmp_path / "torchcode.sdamodel")
    cases["torchcode.sdamodel"] = "refers to"
    (tmp_path / "text.sdamodel").write_text("hello")
    cases["text.sdamodel"] = "could not be read"
    (tmp_path / "cut.sdamodel").write_bytes(model_file.read_bytes()[:5000])
    cases["cut.sdamodel"] = "could not be read"
    for name, words in cases.items():
        with pytest.raises(GenerationError) as info:
            load_generator(tmp_path / name, "cpu")
        assert words in str(info.value) and name in str(info.value), (name, str(info.value))
