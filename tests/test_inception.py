import numpy as np
import pytest
import torch

from ganpage.errors import GanpageError
from ganpage.models.inception import FIDInception, inception_features, load_inception
from ganpage.models.loading import ModelLoadError


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("fid") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(FIDInception().state_dict(), path)
    return path


def test_architecture_has_the_published_shape():
    net = FIDInception()
    state = net.state_dict()
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    assert state["fc.weight"].shape == (1008, 2048)
    from ganpage.models.inception import ConvBN

    assert sum(isinstance(m, ConvBN) for m in net.modules()) == 94  # Inception-v3's conv layers
    # torchvision's Inception3 without the aux head: 23,834,568 weights at 1000 classes
    assert sum(p.numel() for p in net.parameters()) == 23_834_568 + 8 * 2049


def test_random_weights_load_strictly_and_give_2048_features(random_weights):
    net = load_inception(random_weights)
    pictures = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    features = inception_features(net, pictures)
    assert features.shape == (3, 2048) and np.isfinite(features).all()
    assert np.allclose(features, inception_features(net, pictures))


def test_bad_weights_are_refused(tmp_path, random_weights):
    state = torch.load(random_weights, weights_only=True)
    state.pop("Mixed_6b.branch7x7_2.conv.weight")
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ModelLoadError, match="missing: Mixed_6b.branch7x7_2.conv.weight"):
        load_inception(tmp_path / "bad.pth")
    with pytest.raises(GanpageError, match="no FID Inception weights"):
        load_inception(tmp_path / "absent.pth")
