"""``__version__`` of the installed distribution (``0+unknown`` in a source tree that is not installed);
a module of its own so that the lower layers can name the version without importing the package facade."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fpsolve")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
