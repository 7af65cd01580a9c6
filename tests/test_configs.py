import pytest

from ganpage.errors import GanpageError
from ganpage.models.biggan import BigGANConfig
from ganpage.models.cgan import CGANConfig
from ganpage.models.classifier import ClassifierConfig
from ganpage.train_config import TrainConfig


@pytest.mark.parametrize("cls, raw", [
    (CGANConfig, {"num_classes": 4, "g_chanels": 8}),
    (ClassifierConfig, {"num_classes": 4, "g_chanels": 8}),
    (BigGANConfig, {"g_chanels": 8}),
    (TrainConfig, {"data": "d", "g_chanels": 8}),
])
def test_every_config_names_a_key_it_does_not_know(cls, raw):
    with pytest.raises(GanpageError, match="unknown setting 'g_chanels'"):
        cls.from_dict(raw)


def test_known_keys_still_load():
    assert CGANConfig.from_dict({"num_classes": 4, "g_channels": 8}).g_channels == 8
    assert TrainConfig.from_dict({"data": "d", "betas": [0.0, 0.9]}).betas == (0.0, 0.9)
