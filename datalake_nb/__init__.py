"""datalake_nb: archive log files with uniform metadata; find and fetch them from Python,
the ``datalake`` command line, or a notebook (``%load_ext datalake_nb``)."""
from __future__ import annotations

from .errors import DatalakeError, IntegrityError, InvalidInput, NotFound
from .lake import Lake
from .metadata import Record

__all__ = ["Lake", "Record", "DatalakeError", "InvalidInput", "NotFound", "IntegrityError"]
__version__ = "0.1.0"
