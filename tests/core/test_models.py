import pytest
import torch

from mnist_desk.core.models import MODELS, build_model, count_parameters

TUTORIAL_MODELS = {"mlp", "mlp-sigmoid", "mlp-relu", "lenet5", "cnn", "cnn5", "desknet"}


def test_registry_has_the_tutorial_models_and_ours():
    assert set(MODELS) >= TUTORIAL_MODELS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_maps_a_batch_of_digits_to_ten_logits(name):
    model = build_model(name).eval()
    out = model(torch.zeros(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert torch.isfinite(out).all()


def test_mlp_shapes_follow_the_tutorials():
    mlp = build_model("mlp")
    linear = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(784, 120), (120, 84), (84, 10)]
    sig = build_model("mlp-sigmoid")
    relu = build_model("mlp-relu")
    assert count_parameters(sig) == count_parameters(relu)
    assert any(isinstance(m, torch.nn.Sigmoid) for m in sig.modules())


def test_lenet5_uses_tanh_and_average_pooling():
    kinds = {type(m) for m in build_model("lenet5").modules()}
    assert torch.nn.Tanh in kinds and torch.nn.AvgPool2d in kinds


def test_unknown_model_names_the_known_ones():
    with pytest.raises(KeyError, match="desknet"):
        build_model("resnet1000")
