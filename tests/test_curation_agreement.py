"""Class agreement (curation/agreement.py): probability and rank of a picture's own category,
classes matched by slug; and the loaded classifier's folded batch norms change no output."""

import numpy as np
import pytest
import torch

from ganpage.categories import CategorySet
from ganpage.curation.agreement import class_agreement, classifier_labels
from ganpage.errors import GanpageError
from ganpage.models.classifier import Classifier, ClassifierConfig
from helpers.curation import ColourClassifier, shapes


def test_probability_and_rank_of_the_own_category():
    pictures = np.stack([shapes(1, 0), shapes(2, 2)])  # mostly red, mostly blue
    probability, rank = class_agreement(ColourClassifier(), pictures, np.array([0, 0]))
    assert rank.tolist()[0] == 1 and probability[0] > 0.5
    assert rank.tolist()[1] > 1 and probability[1] < 0.5
    everything = ColourClassifier().probabilities(pictures)
    assert np.allclose(probability, everything[:, 0])


def test_categories_are_matched_by_slug_and_a_missing_one_is_named():
    classifier = ColourClassifier()
    classifier.categories = CategorySet.from_names(["Blue", "Red", "Green"])  # another order
    assert classifier_labels(classifier, ["red", "blue"]) == {"blue": 0, "red": 1}
    with pytest.raises(GanpageError, match="no class for 1 categories of the gallery .hamster"):
        classifier_labels(classifier, ["red", "hamster"])


def test_folding_batch_norms_keeps_the_outputs():
    torch.manual_seed(0)
    net = Classifier(ClassifierConfig(num_classes=5, image_size=32, channels=4))
    for module in net.modules():  # batch norms with statistics that are not the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 2)
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    net.eval()
    with torch.inference_mode():
        before = net(x)
        after = net.fold_batch_norms()(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert torch.allclose(before, after, atol=1e-5)
    with pytest.raises(RuntimeError, match="eval mode"):
        Classifier(ClassifierConfig(num_classes=5, image_size=32, channels=4)).fold_batch_norms()
