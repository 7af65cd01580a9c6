"""ganpage: make "This X Does Not Exist" websites from class-conditional GANs.

The public API is small: ``load_generator`` gives a ``Generator`` whose ``sample(labels, seeds,
truncation)`` returns uint8 pictures. Imported lazily, so commands that need no model (data
import, serving) start without loading PyTorch.
"""

from typing import TYPE_CHECKING

__all__ = ["Generator", "load_generator"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from ganpage.models import Generator, load_generator


def __getattr__(name: str):
    if name in __all__:
        import ganpage.models

        return getattr(ganpage.models, name)
    raise AttributeError(f"module 'ganpage' has no attribute {name!r}")
