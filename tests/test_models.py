import pytest
import torch

from idc_synth.models import ARCHITECTURES, build_classifier, to_model_input


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_logits_and_features_have_one_row_per_image(arch):
    model = build_classifier(arch).eval()
    x = to_model_input(torch.randint(0, 256, (3, 50, 50, 3), dtype=torch.uint8))
    with torch.no_grad():
        logits, features = model(x), model.features(x)
    assert logits.shape == (3,)
    assert features.ndim == 2 and features.shape[0] == 3 and features.shape[1] > 1


def test_small_cnn_stays_small():
    assert sum(p.numel() for p in build_classifier("small_cnn").parameters()) < 1_000_000


def test_unknown_arch_names_the_valid_ones():
    with pytest.raises(ValueError, match="small_cnn, resnet18"):
        build_classifier("vgg16")


def test_model_input_is_scaled_nchw_float():
    batch = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 2, 1).expand(1, 1, 2, 3)
    x = to_model_input(batch)
    assert x.shape == (1, 3, 1, 2) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0


def test_model_input_rejects_float_or_nchw():
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(torch.zeros(1, 50, 50, 3))
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(torch.zeros(1, 3, 50, 50, dtype=torch.uint8))
