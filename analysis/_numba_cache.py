"""Where numba keeps its compiled code: set before numba is first imported.

numba reads ``NUMBA_CACHE_DIR`` once, when it is imported. Without it, ``cache=True``
functions write next to their source (inside the virtual environment, which a deployment may
mount read-only) or, failing that, into a numba-chosen folder. Pingan Grid keeps the cache in
one known place so that the compile happens once per machine, not once per process:

1. ``NUMBA_CACHE_DIR`` if already set (an operator's explicit choice wins);
2. else ``$PINGAN_HOME/cache/numba`` if ``PINGAN_HOME`` is set (the app's home, see
   ``docs/settings.md``; read from the environment because ``analysis`` must not import
   ``gis.settings``);
3. else ``$XDG_CACHE_HOME/pingan/numba``, or ``~/.cache/pingan/numba``.

Every ``analysis`` module that compiles code imports this module before numba (the package
``__init__`` imports it first). If numba was imported earlier by someone else, its configuration
is reloaded so the choice still applies to code compiled from now on.

The compile itself never runs on a request: :func:`analysis.clusters.warm_up` compiles (or loads
from this cache) every jitted function; the server and the CLI call it in the background at
start-up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["numba_cache_dir"]


def _choose() -> Path:
    explicit = os.environ.get("NUMBA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    home = os.environ.get("PINGAN_HOME")
    if home:
        return Path(home) / "cache" / "numba"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "pingan" / "numba"


def numba_cache_dir() -> Path:
    """The folder numba caches compiled functions in (see the module docstring)."""
    return Path(os.environ["NUMBA_CACHE_DIR"])


def _install() -> None:
    already = bool(os.environ.get("NUMBA_CACHE_DIR"))
    os.environ.setdefault("NUMBA_CACHE_DIR", str(_choose()))
    config = sys.modules.get("numba.core.config")
    if config is not None and not already:
        config.reload_config()


_install()
