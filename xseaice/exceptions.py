"""Errors and warnings raised by xseaice.

Every error is an [`XSeaIceError`][xseaice.exceptions.XSeaIceError]; the subclasses say which step
failed so that callers can catch what they can handle.  Messages follow one pattern: what was wrong,
what was expected, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AssetReadError",
    "CRSError",
    "CalibrationError",
    "CatalogError",
    "ConfigError",
    "DegenerateSceneWarning",
    "EmptySearchError",
    "IceChartError",
    "IceChartWarning",
    "InvalidArgumentError",
    "LoadError",
    "MissingSensorWarning",
    "MissingVariablesError",
    "ModelError",
    "MostlyNodataError",
    "TrainingError",
    "WeightsError",
    "XSeaIceError",
    "XSeaIceWarning",
]


class XSeaIceError(Exception):
    """Base class of every error raised by xseaice."""


class XSeaIceWarning(UserWarning):
    """Base class of every warning issued by xseaice."""


class InvalidArgumentError(XSeaIceError, ValueError):
    """An argument has the wrong type, value or shape."""


class CRSError(InvalidArgumentError):
    """A coordinate reference system could not be understood or does not fit."""


class CatalogError(XSeaIceError):
    """A STAC catalog is unknown, unreachable or answers in an unexpected way."""


class EmptySearchError(XSeaIceError):
    """A search matched no item."""


class AssetReadError(XSeaIceError):
    """An asset could not be read, even after retries."""


class LoadError(XSeaIceError):
    """Items could not be loaded onto the requested grid."""


class MostlyNodataError(LoadError):
    """A load came back (almost) all nodata inside the scene footprint."""


class CalibrationError(XSeaIceError):
    """Sentinel-1 calibration or noise annotation is missing or malformed."""


class IceChartError(XSeaIceError):
    """An ice chart could not be read or decoded."""


class ModelError(XSeaIceError):
    """A model cannot run on the given inputs."""


class MissingVariablesError(ModelError, KeyError):
    """The dataset lacks variables the model needs."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class WeightsError(ModelError):
    """A weights file is unknown, corrupt, or does not match its declared metadata."""


class TrainingError(XSeaIceError):
    """Training cannot start or continue."""


class ConfigError(TrainingError, InvalidArgumentError):
    """A training or evaluation configuration is invalid."""


class MissingSensorWarning(XSeaIceWarning):
    """A sensor (usually AMSR-2) has no data for the requested place and time."""


class DegenerateSceneWarning(XSeaIceWarning):
    """A scene is degenerate (constant or all-NaN) and a fallback result was returned."""


class IceChartWarning(XSeaIceWarning):
    """An ice chart was repaired, or covers only a small part of the map."""
