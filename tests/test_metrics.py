import numpy as np
import pytest

from ganpage.classifiers.trained import load_classifier, split_held_out, train_classifier
from ganpage.data.dataset import load_training_set
from ganpage.errors import GanpageError
from ganpage.metrics import (
    density_and_coverage,
    distribution_scores,
    evaluate,
    frechet_distance,
    kernel_distance,
    memorisation_rate,
    within_class_spread,
)
from ganpage.models import load_generator
from helpers.models import make_tiny_model
from helpers.training import colour_dataset, make_dataset


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 8))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    shifted = a + 2.0  # same covariance, mean moved by 2 in each of 8 dims: FID = 8 * 4
    assert frechet_distance(a, shifted) == pytest.approx(32.0, rel=1e-6)
    scaled = a * 3.0  # N(0, I) vs N(0, 9I): Tr(I + 9I - 2 * 3I) = 8 * 4
    assert frechet_distance(a, scaled) == pytest.approx(32.0, rel=0.05)


def test_kernel_distance_separates_distributions():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    assert abs(kernel_distance(a, b)) < 0.05
    assert kernel_distance(a, b + 1.0) > 0.5


def test_within_class_spread_tells_collapsed_classes_from_varied_ones():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 4)
    centres = rng.normal(0, 10, (5, 16))
    varied = centres[labels] + rng.normal(0, 1, (20, 16))
    collapsed = centres[labels] + rng.normal(0, 0.01, (20, 16))
    assert within_class_spread(varied, labels) == pytest.approx(np.sqrt(2 * 16), rel=0.25)
    assert within_class_spread(collapsed, labels) < 0.02 * within_class_spread(varied, labels)
    one_each = np.arange(20)  # no class with two pictures: undefined, not zero
    assert np.isnan(within_class_spread(varied, one_each))


def test_memorisation_rate_catches_copies():
    rng = np.random.default_rng(2)
    training = rng.normal(size=(300, 8))
    copies = training[:100] + rng.normal(scale=1e-4, size=(100, 8))
    fresh = rng.normal(size=(100, 8))
    assert memorisation_rate(copies, training)[0] == 1.0
    assert memorisation_rate(fresh, training)[0] < 0.2


def test_density_and_coverage_tell_a_matching_generator_from_a_collapsed_one():
    rng = np.random.default_rng(5)
    training = rng.normal(size=(1000, 8))
    matching = density_and_coverage(rng.normal(size=(1000, 8)), training)
    assert matching[0] == pytest.approx(1.0, abs=0.15) and matching[1] > 0.9
    # one version of each of 10 modes: dense where it is, but most of the data uncovered
    modes = np.repeat(training[:10], 100, axis=0) + rng.normal(scale=1e-3, size=(1000, 8))
    _, coverage = density_and_coverage(modes, training)
    assert coverage < 0.1 < 0.9 < matching[1]
    far = density_and_coverage(rng.normal(size=(1000, 8)) + 10.0, training)
    assert far == (0.0, 0.0)


def test_distribution_scores_tell_copies_from_a_shifted_distribution():
    rng = np.random.default_rng(4)
    training = rng.normal(size=(300, 8))
    copies = distribution_scores(training[:200] + 1e-4, training)
    shifted = distribution_scores(rng.normal(size=(200, 8)) + 1.0, training)
    assert copies.memorisation_rate == 1.0 and shifted.memorisation_rate < 0.2
    assert copies.fid < 1.0 < 4.0 < shifted.fid  # a mean moved by 1 in 8 dims: FID about 8
    assert copies.kid < 0.1 < shifted.kid
    assert copies.coverage > shifted.coverage


def test_held_out_split_takes_one_per_class_with_three_or_more():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    held = split_held_out(labels, seed=0)
    assert len(held) == 2 and {labels[i] for i in held} == {0, 2}


def test_classifier_learns_and_evaluates_a_generator(tmp_path, colour_classifier_run):
    data, metrics = colour_classifier_run.data, colour_classifier_run.metrics  # trained once
    assert metrics["held_out_accuracy"] == 1.0 and metrics["held_out_count"] == 3
    classifier = load_classifier(colour_classifier_run.folder)
    training = load_training_set(data).images.transpose(0, 2, 3, 1)
    labels, features = classifier.predict(training)
    assert (labels == load_training_set(data).labels).mean() > 0.9
    assert features.shape == (18, 64)
    true_labels = load_training_set(data).labels
    right = classifier.probability_of(training, true_labels)
    wrong = classifier.probability_of(training, (true_labels + 1) % 3)
    assert right.shape == (18,) and ((right >= 0) & (right <= 1)).all()
    assert right.mean() > 0.8 > wrong.mean()
    names = [c.name for c in classifier.categories]  # the data set's order, not ours
    generator = load_generator(make_tiny_model(tmp_path / "gen", names))
    result = evaluate(generator, classifier, training, per_class=4,
                      training_labels=load_training_set(data).labels)
    assert result.pictures == 12 and 0.0 <= result.cas <= 1.0
    assert result.within_class_diversity > 0
    assert result.cas_ratio == pytest.approx(result.cas / 1.0)
    assert result.fid > 0 and 0.0 <= result.memorisation_rate <= 1.0
    assert result.density >= 0 and 0.0 <= result.coverage <= 1.0
    assert 0.0 <= result.pixel_memorisation_rate < 1.0 and result.pixel_within_class_diversity > 0


class CopyingGenerator:
    """A generator that draws its class's training pictures back, in turn: every picture a
    copy, each class as varied as the data set's."""

    def __init__(self, categories, pictures: np.ndarray, labels: np.ndarray):
        self.categories, self.pictures, self.labels = categories, pictures, labels

    def sample_every_class(self, seeds, truncation=1.0, batch_size=256, first_seed=0):
        for label in range(len(self.categories)):
            own = self.pictures[self.labels == label]
            yield np.full(seeds, label), own[np.arange(seeds) % len(own)]


def test_evaluation_catches_copies_in_pixels(tmp_path):
    """A style-conditioned model can learn to copy a set's own art: the pixel memorisation
    rate is 1 for a generator that draws its training pictures back, and its pixel diversity
    is the data set's (1) when it draws every picture of a class once."""
    data = load_training_set(colour_dataset(tmp_path / "colours"))
    train_classifier(colour_dataset(tmp_path / "colours"), tmp_path / "cls", epochs=2,
                     batch_size=8, channels=8, show_progress=False)
    classifier = load_classifier(tmp_path / "cls")
    training = data.images.transpose(0, 2, 3, 1)
    per_class = int(np.bincount(data.labels).min())
    copier = CopyingGenerator(classifier.categories, training, data.labels)
    result = evaluate(copier, classifier, training, per_class=per_class,
                      training_labels=data.labels)
    assert result.pixel_memorisation_rate == 1.0
    assert result.pixel_within_class_diversity == pytest.approx(1.0, abs=0.02)


def test_evaluation_refuses_a_classifier_with_other_class_ids(tmp_path):
    data = colour_dataset(tmp_path / "colours")
    train_classifier(data, tmp_path / "cls", epochs=1, batch_size=8, channels=4,
                     show_progress=False)
    classifier = load_classifier(tmp_path / "cls")
    names = [c.name for c in classifier.categories]
    generator = load_generator(make_tiny_model(tmp_path / "gen", names[::-1]))
    training = load_training_set(data).images.transpose(0, 2, 3, 1)
    with pytest.raises(GanpageError, match="name their classes differently .class 0 is"):
        evaluate(generator, classifier, training, per_class=1)


def test_classifier_refuses_non_datasets(tmp_path):
    from ganpage.data.dataset import DatasetError

    with pytest.raises(DatasetError):
        train_classifier(tmp_path / "missing", tmp_path / "cls", show_progress=False)
    make_dataset(tmp_path / "one", classes=1)
    with pytest.raises(DatasetError, match="at least 2"):
        train_classifier(tmp_path / "one", tmp_path / "cls", show_progress=False)
