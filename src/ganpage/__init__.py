"""ganpage: make "This X Does Not Exist" websites from class-conditional GANs.

The public API is small: ``load_generator`` gives a ``Generator`` whose ``sample(labels, seeds,
truncation)`` returns uint8 pictures; ``Gallery`` stores them; ``create_app`` serves them.
"""

from ganpage.models import Generator, load_generator

__all__ = ["Generator", "load_generator"]
__version__ = "0.1.0"
