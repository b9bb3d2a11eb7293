"""aws_batch_utils: the API of boto3-batch-utils (the same classes, methods and arguments) on
the Rust dispatchers of aws-batch-utils, plus the services and options they add.

Everything is defined by the compiled module and named here; `aws_batch_utils.ray` holds the
Ray Data sink, imported on its own so that the package never needs Ray.
"""

from . import aws_batch_utils as _native
from .aws_batch_utils import *  # noqa: F401,F403

__version__ = _native.__version__
__all__ = [name for name in dir(_native) if not name.startswith("_")]
