"""Offline quality metrics of a generator, in the feature space of the data set's classifier.

- CAS (Ravuri & Vinyals 2019): the classifier's accuracy on generated pictures of each class,
  reported beside its accuracy on held-out real pictures.
- FID (Heusel et al. 2017) and KID (Binkowski et al. 2018), computed on classifier features
  rather than Inception's, so no download is needed; comparable between runs on one data set,
  not with published Inception numbers.
- Memorisation rate: the share of generated pictures closer to their nearest training picture
  than training pictures are to each other (below the 5th percentile of training
  nearest-neighbour distances).
- Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
  Generative Models"): how many training pictures' neighbourhoods a generated picture falls in
  (fidelity, about 1 for a generator that matches the data), and the share of training pictures
  with a generated one in their neighbourhood (diversity; low when a generator leaves parts of
  the data set out).
- Memorisation and within-class diversity in pixels too (16 x 16 colour thumbnails,
  ``thumbnails``): a copy of a training picture is a fact about pixels, and a good classifier
  puts every well-drawn picture of a class near its training pictures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image

from ganpage.classifiers.loaded import LoadedClassifier, check_same_classes
from ganpage.models.generator import Generator

MEMORISATION_PERCENTILE = 5.0
NEIGHBOURHOOD_SIZE = 5  # k of density and coverage, as in Naeem et al. 2020
THUMBNAIL = 16  # pictures are compared in pixels as 16 x 16 colour thumbnails


def thumbnails(pictures: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 16 * 16 * 3) in [0, 1], box-filtered (a copy
    shifted by a pixel or two stays close, at any picture size)."""
    if pictures.shape[1] % THUMBNAIL == 0 and pictures.shape[2] % THUMBNAIL == 0:
        n, h, w, _ = pictures.shape  # box filter as a reshape: 8x faster than PIL per picture
        blocks = pictures.reshape(n, THUMBNAIL, h // THUMBNAIL, THUMBNAIL, w // THUMBNAIL, 3)
        small = blocks.mean(axis=(2, 4), dtype=np.float32)
    else:
        small = np.stack([np.asarray(Image.fromarray(p).resize(
            (THUMBNAIL, THUMBNAIL), Image.Resampling.BOX), dtype=np.float32) for p in pictures])
    return (small / 255).reshape(len(pictures), -1)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets (N, D): |mu_a - mu_b|^2 + Tr(Sa + Sb - 2 (Sa Sb)^1/2)."""
    a64, b64 = torch.from_numpy(a).double(), torch.from_numpy(b).double()
    mean_a, mean_b = a64.mean(0), b64.mean(0)
    cov_a, cov_b = torch.cov(a64.T), torch.cov(b64.T)
    root_a = _psd_sqrt(cov_a)
    middle = _psd_sqrt(root_a @ cov_b @ root_a)  # same trace as (Sa Sb)^1/2
    value = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle.trace()
    return float(value.clamp_min(0))


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = 10, subset_size: int = 500,
                    seed: int = 0) -> float:
    """KID: unbiased MMD^2 with the cubic polynomial kernel, averaged over random subsets."""
    rng = np.random.default_rng(seed)
    size = min(subset_size, len(a), len(b))
    dim = a.shape[1]
    results = []
    for _ in range(subsets):
        x = torch.from_numpy(a[rng.choice(len(a), size, replace=False)]).double()
        y = torch.from_numpy(b[rng.choice(len(b), size, replace=False)]).double()
        kxx, kyy, kxy = ((p @ q.T / dim + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off = size * (size - 1)
        mmd = ((kxx.sum() - kxx.trace()) / off + (kyy.sum() - kyy.trace()) / off
               - 2 * kxy.mean())
        results.append(float(mmd))
    return float(np.mean(results))


def nearest_distances(queries: np.ndarray, references: np.ndarray,
                      exclude_self: bool = False) -> np.ndarray:
    """Euclidean distance of each query to its nearest reference, (N,)."""
    q, r = torch.from_numpy(queries).float(), torch.from_numpy(references).float()
    distances = torch.cdist(q, r)
    if exclude_self:
        distances.fill_diagonal_(float("inf"))
    return distances.min(dim=1).values.numpy()


def memorisation_rate(generated: np.ndarray, training: np.ndarray) -> tuple[float, float]:
    """(rate, threshold): share of generated points nearer to training than the threshold."""
    threshold = float(np.percentile(nearest_distances(training, training, exclude_self=True),
                                    MEMORISATION_PERCENTILE))
    return float((nearest_distances(generated, training) < threshold).mean()), threshold


def density_and_coverage(generated: np.ndarray, training: np.ndarray,
                         k: int = NEIGHBOURHOOD_SIZE) -> tuple[float, float]:
    """(density, coverage) of generated vs training features (N, D). A training picture's
    neighbourhood is the ball reaching its k-th nearest other training picture."""
    real, fake = torch.from_numpy(training).float(), torch.from_numpy(generated).float()
    radii = torch.cdist(real, real).kthvalue(k + 1, dim=1).values  # k + 1: skip itself
    inside = torch.cdist(real, fake) <= radii[:, None]  # (training, generated)
    density = inside.sum().item() / (k * len(fake))
    coverage = inside.any(dim=1).float().mean().item()
    return density, coverage


def within_class_spread(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean distance between two pictures of the same class, averaged over the classes with at
    least two pictures: features (N, D), labels (N,)."""
    x, y = torch.from_numpy(features).float(), torch.from_numpy(labels)
    spreads = []
    for label in torch.unique(y):
        members = x[y == label]
        if len(members) >= 2:
            distances = torch.cdist(members, members)
            spreads.append(distances.sum() / (len(members) * (len(members) - 1)))
    return float(torch.stack(spreads).mean()) if spreads else float("nan")


@dataclass
class DistributionScores:
    """How close generated pictures are to the training set, class labels aside."""
    fid: float  # classifier-feature FID, generated vs training
    kid: float
    memorisation_rate: float  # goal for emoji64: <= 0.05
    memorisation_threshold: float
    density: float  # fidelity: about 1 when generated pictures sit where training ones do
    coverage: float  # diversity: share of training pictures with a generated one nearby


def distribution_scores(generated_features: np.ndarray,
                        training_features: np.ndarray) -> DistributionScores:
    """FID, KID, memorisation rate, density and coverage of generated vs training features
    (N, D); works for unconditional generators too (the equal-time benchmark scores
    lightweight-gan with it)."""
    rate, threshold = memorisation_rate(generated_features, training_features)
    density, coverage = density_and_coverage(generated_features, training_features)
    return DistributionScores(fid=frechet_distance(generated_features, training_features),
                              kid=kernel_distance(generated_features, training_features),
                              memorisation_rate=rate, memorisation_threshold=threshold,
                              density=density, coverage=coverage)


@dataclass
class Evaluation:
    cas: float  # classifier accuracy on generated pictures
    held_out_accuracy: float  # the same classifier on held-out real pictures
    cas_ratio: float  # cas / held_out_accuracy (goal for emoji64: >= 0.7)
    fid: float  # classifier-feature FID, generated vs training
    kid: float
    memorisation_rate: float  # goal for emoji64: <= 0.05
    memorisation_threshold: float
    pictures: int
    truncation: float
    inception_fid: float | None = None  # standard FID, when the Inception weights are given
    inception_kid: float | None = None
    # within-class spread of generated / of real pictures (classifier features): 1 is as varied
    # as the data set, near 0 is every seed of a class drawing the same picture
    within_class_diversity: float | None = None
    density: float | None = None  # see density_and_coverage
    coverage: float | None = None
    # the same two in pixels (thumbnails): the share of pictures nearer a training picture than
    # training pictures are to each other, and the within-class spread against the data's
    pixel_memorisation_rate: float | None = None
    pixel_within_class_diversity: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(generator: Generator, classifier: LoadedClassifier, training: np.ndarray,
             per_class: int = 10, truncation: float = 1.0, batch_size: int = 256,
             inception_weights: str | None = None,
             training_labels: np.ndarray | None = None) -> Evaluation:
    """Generate ``per_class`` pictures of every class and score them against ``training``
    (uint8 (N, H, W, 3) real pictures of the same data set); with ``inception_weights`` also
    the standard Inception FID and KID; with ``training_labels`` (N,) the within-class
    diversity."""
    check_same_classes(classifier, generator.categories)
    batches = list(generator.sample_every_class(per_class, truncation, batch_size,
                                                first_seed=1_000_000))  # unseen seeds
    labels = np.concatenate([batch_labels for batch_labels, _ in batches])
    pictures = np.concatenate([batch_pictures for _, batch_pictures in batches])
    predicted, generated_features = classifier.predict(pictures)
    _, training_features = classifier.predict(training)
    cas = float((predicted == labels).mean())
    scores = distribution_scores(generated_features, training_features)
    inception_fid = inception_kid = None
    if inception_weights is not None:
        from ganpage.models.inception import inception_features, load_inception

        net = load_inception(inception_weights)
        fake, real = inception_features(net, pictures), inception_features(net, training)
        inception_fid, inception_kid = frechet_distance(fake, real), kernel_distance(fake, real)
    fake_pixels, real_pixels = thumbnails(pictures), thumbnails(training)
    pixel_memorisation, _ = memorisation_rate(fake_pixels, real_pixels)
    diversity = pixel_diversity = None
    if training_labels is not None:
        diversity = (within_class_spread(generated_features, labels)
                     / within_class_spread(training_features, training_labels))
        pixel_diversity = (within_class_spread(fake_pixels, labels)
                           / within_class_spread(real_pixels, training_labels))
    return Evaluation(
        cas=cas, held_out_accuracy=classifier.held_out_accuracy,
        cas_ratio=cas / classifier.held_out_accuracy if classifier.held_out_accuracy else 0.0,
        fid=scores.fid, kid=scores.kid, memorisation_rate=scores.memorisation_rate,
        memorisation_threshold=scores.memorisation_threshold,
        pictures=len(labels), truncation=truncation, inception_fid=inception_fid,
        inception_kid=inception_kid, within_class_diversity=diversity,
        density=scores.density, coverage=scores.coverage,
        pixel_memorisation_rate=pixel_memorisation, pixel_within_class_diversity=pixel_diversity)
