"""The Qt-free heart of nnviz: network, costs, data, training. Importing it never loads Qt."""

from nnviz.core.errors import ConfigError, DataError, DownloadError, NnvizError

__all__ = ["ConfigError", "DataError", "DownloadError", "NnvizError"]
