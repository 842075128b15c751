"""Pure analysis algorithms of Pingan Grid (see ``docs/architecture.md``)."""

# First, so that numba (imported lazily by the modules that compile code) caches in one place.
from analysis import _numba_cache as _numba_cache
