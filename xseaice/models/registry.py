"""Model construction and the weights registry.

A weights entry ([`WeightsSpec`][xseaice.models.registry.WeightsSpec]) records everything needed to
run a trained model on a scene: the architecture and its arguments, the input variables in order and
their normalisation, the pixel size it was trained at, its outputs, licence and the sha256 of
the weights file.  Each weights file (``.safetensors``, or ``.pt`` read with
``torch.load(weights_only=True)``) sits next to a JSON sidecar ``<file>.json`` holding
the spec.  Sidecars in the package's ``weights/`` folder are registered on first use;
users add their own with [`register_weights`][xseaice.models.registry.register_weights] or
[`save_weights`][xseaice.models.registry.save_weights].
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xseaice.exceptions import InvalidArgumentError, ModelError, WeightsError
from xseaice.models.build import ARCHITECTURES, build_model
from xseaice.models.runtime import resolve_device

__all__ = [
    "WEIGHTS_DIR",
    "WeightsSpec",
    "file_sha256",
    "get_weights",
    "list_weights",
    "load_model",
    "register_weights",
    "resolve_weights",
    "save_weights",
]

logger = logging.getLogger(__name__)

#: Folder of the bundled weights and their JSON sidecars.
WEIGHTS_DIR: Path = Path(__file__).resolve().parent / "weights"

_SIDECAR_FORMAT = "xseaice-weights/1"


@dataclass(frozen=True)
class WeightsSpec:
    """Metadata of one weights file: how to build, feed and interpret the model.

    Attributes
    ----------
    name : str
        Registry name (``"default"``, ``"multitask"``, or the user's).
    architecture : str
        A key of `ARCHITECTURES`.
    arch_kwargs : dict
        Arguments of the model class (including ``in_channels``).
    variables : tuple of str
        Input variables in channel order (names from `xseaice.variables`).
    normalisation : dict
        ``variable -> (mean, std)``; the input is ``(x - mean) / std`` and NaN becomes 0
        after normalising.
    pixel_size : float
        Pixel size in metres the model was trained at.
    outputs : dict
        Output name -> class names, or ``None`` for a logit / regression output.
    licence, description : str
        Licence of the weights and a human description.
    sha256 : str
        Hex digest of the weights file.
    filename : str
        The weights file, relative to `WEIGHTS_DIR` or
        absolute.
    training : dict
        Free metadata (data, epochs, metrics).
    """

    name: str
    architecture: str
    arch_kwargs: dict[str, Any]
    variables: tuple[str, ...]
    normalisation: dict[str, tuple[float, float]]
    pixel_size: float
    outputs: dict[str, tuple[str, ...] | None]
    licence: str
    description: str
    sha256: str
    filename: str
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """Absolute path of the weights file."""
        p = Path(self.filename)
        return p if p.is_absolute() else WEIGHTS_DIR / p

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON-serialisable dict (the sidecar's content)."""
        d = dataclasses.asdict(self)
        d["variables"] = list(self.variables)
        d["normalisation"] = {k: [float(m), float(s)] for k, (m, s) in self.normalisation.items()}
        d["outputs"] = {k: (list(v) if v is not None else None) for k, v in self.outputs.items()}
        return {"format": _SIDECAR_FORMAT, **d}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeightsSpec:
        """Build a spec from a sidecar dict (see `to_json`)."""
        fmt = data.get("format", _SIDECAR_FORMAT)
        if fmt != _SIDECAR_FORMAT:
            raise WeightsError(f"unsupported sidecar format {fmt!r}; expected {_SIDECAR_FORMAT!r}")
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in data and n != "training"]
        if missing:
            raise WeightsError(f"weights sidecar lacks fields {missing}; expected all of {names}")
        try:
            spec = cls(
                name=str(data["name"]),
                architecture=str(data["architecture"]),
                arch_kwargs=dict(data["arch_kwargs"]),
                variables=tuple(str(v) for v in data["variables"]),
                normalisation={
                    str(k): (float(v[0]), float(v[1])) for k, v in data["normalisation"].items()
                },
                pixel_size=float(data["pixel_size"]),
                outputs={
                    str(k): (tuple(str(c) for c in v) if v is not None else None)
                    for k, v in data["outputs"].items()
                },
                licence=str(data["licence"]),
                description=str(data["description"]),
                sha256=str(data["sha256"]).lower(),
                filename=str(data["filename"]),
                training=dict(data.get("training") or {}),
            )
        except (TypeError, ValueError, IndexError, AttributeError) as err:
            raise WeightsError(f"malformed weights sidecar: {err}") from err
        return spec

    def validate(self, *, require_architecture: bool = True) -> None:
        """Check the spec's internal consistency; raise
        [`WeightsError`][xseaice.exceptions.WeightsError] if broken.

        ``require_architecture=False`` accepts a spec describing a foreign in-memory
        module (any ``architecture`` string, no ``in_channels`` in ``arch_kwargs``).
        """
        if not self.name or not isinstance(self.name, str):
            raise WeightsError(f"weights name must be a non-empty str; got {self.name!r}")
        if require_architecture and self.architecture not in ARCHITECTURES:
            raise WeightsError(
                f"weights {self.name!r}: unknown architecture {self.architecture!r}; expected one "
                f"of {sorted(ARCHITECTURES)}"
            )
        if not self.variables or len(set(self.variables)) != len(self.variables):
            raise WeightsError(
                f"weights {self.name!r}: variables must be unique and non-empty; "
                f"got {self.variables!r}"
            )
        n_in = self.arch_kwargs.get("in_channels")
        if (require_architecture or n_in is not None) and n_in != len(self.variables):
            raise WeightsError(
                f"weights {self.name!r}: arch_kwargs in_channels={n_in!r} but "
                f"{len(self.variables)} variables {list(self.variables)} are declared; they "
                "must match (one channel per variable)"
            )
        if set(self.normalisation) != set(self.variables):
            raise WeightsError(
                f"weights {self.name!r}: normalisation must have exactly the variables "
                f"{sorted(self.variables)}; got {sorted(self.normalisation)}"
            )
        for var, (mean, std) in self.normalisation.items():
            if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
                raise WeightsError(
                    f"weights {self.name!r}: normalisation of {var!r} must be a finite mean and a "
                    f"positive std; got ({mean}, {std})"
                )
        if not (math.isfinite(self.pixel_size) and self.pixel_size > 0):
            raise WeightsError(
                f"weights {self.name!r}: pixel_size must be positive metres; got {self.pixel_size}"
            )
        if not self.outputs:
            raise WeightsError(f"weights {self.name!r}: outputs must name at least one output")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise WeightsError(
                f"weights {self.name!r}: sha256 must be 64 hex digits; got {self.sha256!r}"
            )


_REGISTRY: dict[str, WeightsSpec] = {}
_LOCK = threading.RLock()
_BUNDLED_SCANNED = False


def _scan_bundled() -> None:
    global _BUNDLED_SCANNED
    with _LOCK:
        if _BUNDLED_SCANNED:
            return
        _BUNDLED_SCANNED = True
        for sidecar in sorted(WEIGHTS_DIR.glob("*.json")):
            try:
                spec = WeightsSpec.from_json(json.loads(sidecar.read_text()))
                spec.validate()
            except (OSError, ValueError, WeightsError) as err:
                logger.warning("skipping bundled weights sidecar %s: %s", sidecar, err)
                continue
            _REGISTRY.setdefault(spec.name, spec)


def register_weights(spec: WeightsSpec, *, overwrite: bool = False) -> None:
    """Register a weights spec under ``spec.name``.

    Parameters
    ----------
    spec : WeightsSpec
        The spec; its ``filename`` should be absolute unless the file is bundled.
    overwrite : bool, default False
        Replace an existing entry of the same name.

    Raises
    ------
    WeightsError
        If the spec is inconsistent, or the name is taken and ``overwrite`` is False.
    """
    if not isinstance(spec, WeightsSpec):
        raise InvalidArgumentError(f"spec must be a WeightsSpec; got {type(spec).__name__}")
    spec.validate()
    _scan_bundled()
    with _LOCK:
        if spec.name in _REGISTRY and not overwrite and _REGISTRY[spec.name] != spec:
            raise WeightsError(
                f"weights {spec.name!r} are already registered; pass overwrite=True to replace "
                "them or choose another name"
            )
        _REGISTRY[spec.name] = spec


def list_weights() -> list[str]:
    """Names of the registered weights (bundled and user-registered), sorted."""
    _scan_bundled()
    with _LOCK:
        return sorted(_REGISTRY)


def get_weights(name: str) -> WeightsSpec:
    """The spec registered under ``name``.

    Raises
    ------
    WeightsError
        If no weights of that name are registered (the message lists the known names).
    """
    _scan_bundled()
    with _LOCK:
        try:
            return _REGISTRY[name]
        except (KeyError, TypeError):
            pass
        known = sorted(_REGISTRY)
    hint = ""
    if name in ("default", "multitask"):
        hint = (
            " (the bundled weights have not been trained into xseaice/models/weights/ yet; "
            "train a model or pass a weights path)"
        )
    raise WeightsError(
        f"no weights named {name!r}; registered: {known}{hint}. Register your own with "
        "register_weights()/save_weights(), or pass the path of a .safetensors/.pt file "
        "with its .json sidecar"
    )


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file, computed from its bytes on every call (never cached)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_sidecar(sidecar: Path) -> WeightsSpec:
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"cannot read weights sidecar {sidecar}: {err}") from err
    spec = WeightsSpec.from_json(data)
    p = Path(spec.filename)
    if not p.is_absolute():
        spec = dataclasses.replace(spec, filename=str((sidecar.parent / p).resolve()))
    spec.validate()
    return spec


def resolve_weights(weights: str | os.PathLike[str] | WeightsSpec) -> WeightsSpec:
    """The validated spec of a registered name, a weights file (with its JSON sidecar),
    a sidecar path or a spec; the file itself is not read (see
    [`load_model`][xseaice.models.registry.load_model]).

    Raises
    ------
    WeightsError
        Unknown name, missing file or sidecar, or a sidecar describing another file.
    InvalidArgumentError
        ``weights`` of another type.
    """
    if isinstance(weights, WeightsSpec):
        weights.validate()
        return weights
    if isinstance(weights, str) and not weights.endswith((".json", ".safetensors", ".pt")):
        _scan_bundled()
        if weights in _REGISTRY or not Path(weights).exists():
            return get_weights(weights)
    if not isinstance(weights, str | os.PathLike):
        raise InvalidArgumentError(
            "weights must be a registered name, a path or a WeightsSpec; got "
            f"{type(weights).__name__}"
        )
    path = Path(weights)
    sidecar = path if path.suffix == ".json" else path.with_name(path.name + ".json")
    if not sidecar.exists():
        if not path.exists():
            raise WeightsError(f"weights file {path} does not exist")
        raise WeightsError(
            f"weights file {path} has no JSON sidecar {sidecar.name}: the sidecar declares the "
            "architecture, input variables and normalisation. Write weights with "
            "xseaice.models.save_weights(), or register a WeightsSpec for the file"
        )
    spec = _read_sidecar(sidecar)
    if path.suffix != ".json" and spec.path.resolve() != path.resolve():
        raise WeightsError(
            f"sidecar {sidecar} describes {spec.path}, not {path}; keep the sidecar next to "
            "its weights file under the name '<weights file>.json'"
        )
    return spec


def _read_state(data: bytes, path: Path) -> dict[str, torch.Tensor]:
    """Deserialise a state dict from the bytes that were hashed (``path`` names it)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load as load_bytes

            return load_bytes(data)
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt file: safetensors / pickle errors vary
        raise WeightsError(f"cannot read weights file {path}: {err}") from err
    if isinstance(obj, Mapping) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(
            f"weights file {path} does not hold a state dict of tensors; save one with "
            "save_weights() or torch.save(model.state_dict(), path)"
        )
    return dict(obj)


def load_model(
    weights: str | os.PathLike[str] | WeightsSpec, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, WeightsSpec]:
    """Load a model with its weights, checking the file against its spec.

    Parameters
    ----------
    weights : str, path or WeightsSpec
        A registered name (see `list_weights`), the path of
        a ``.safetensors`` / ``.pt`` file with its ``<file>.json`` sidecar (or the sidecar's path),
        or a spec.
    device : str or torch.device, default "cpu"
        Where to put the model (``"auto"``: CUDA if available).

    Returns
    -------
    (torch.nn.Module, WeightsSpec)
        The model in eval mode on ``device``, and its spec.

    Raises
    ------
    WeightsError
        If the weights are unknown, the file is missing or corrupt, its sha256 differs from
        the spec, or its tensors do not fit the declared architecture and variables.
    """
    spec = resolve_weights(weights)
    path = spec.path
    if not path.exists():
        raise WeightsError(f"weights {spec.name!r}: file {path} does not exist")
    # Read once, hash exactly these bytes and deserialise them: a file swapped between
    # the check and the load (or modified with its mtime restored) cannot slip through.
    try:
        data = path.read_bytes()
    except OSError as err:
        raise WeightsError(f"weights {spec.name!r}: cannot read {path}: {err}") from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise WeightsError(
            f"weights {spec.name!r}: sha256 of {path} is {digest}, but the spec declares "
            f"{spec.sha256}; the file is corrupt or was replaced. Re-download it, or re-save "
            "it with save_weights() to write a matching sidecar"
        )
    state = _read_state(data, path)
    try:
        model = build_model(spec.architecture, **spec.arch_kwargs)
    except (ModelError, InvalidArgumentError) as err:
        raise WeightsError(f"weights {spec.name!r}: {err}") from err
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise WeightsError(
            f"weights {spec.name!r}: tensors in {path} do not fit {spec.architecture} "
            f"{spec.arch_kwargs}: {err}"
        ) from err
    if result.missing_keys or result.unexpected_keys:
        raise WeightsError(
            f"weights {spec.name!r}: {path} does not match {spec.architecture} "
            f"{spec.arch_kwargs}: missing {result.missing_keys[:5]}, unexpected "
            f"{result.unexpected_keys[:5]}"
        )
    _check_outputs(model, spec.outputs, spec.name)
    model.to(resolve_device(device)).eval()
    return model, spec


def _check_outputs(
    model: nn.Module, outputs: Mapping[str, tuple[str, ...] | None], name: str
) -> None:
    declared = getattr(model, "output_classes", None)
    if declared is None:
        return
    if set(declared) != set(outputs):
        raise WeightsError(
            f"weights {name!r}: outputs {sorted(outputs)} do not match the model's "
            f"{sorted(declared)}"
        )
    for key, classes in outputs.items():
        want = declared[key]
        if (classes is None) != (want is None) or (
            classes is not None and want is not None and len(classes) != len(want)
        ):
            raise WeightsError(
                f"weights {name!r}: output {key!r} declares classes {classes!r} but the model "
                f"produces {'a single channel' if want is None else f'{len(want)} classes'}"
            )


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    name: str,
    variables: Sequence[str],
    normalisation: Mapping[str, Sequence[float]],
    pixel_size: float,
    licence: str,
    outputs: Mapping[str, Sequence[str] | None] | None = None,
    description: str = "",
    training: Mapping[str, Any] | None = None,
    overwrite: bool = True,
) -> WeightsSpec:
    """Write a model's weights with a JSON sidecar and register them.

    Both files are written atomically (temporary file in the same folder, then
    ``os.replace``).  Writing into `WEIGHTS_DIR` makes them
    bundled weights.

    Parameters
    ----------
    model : torch.nn.Module
        A model built by [`build_model`][xseaice.models.build.build_model] (it carries
        ``architecture`` and ``arch_kwargs``).
    path : str or path
        Weights file, ending in ``.safetensors`` (recommended) or ``.pt``; the sidecar is
        ``<path>.json``.
    name : str
        Registry name.
    variables : sequence of str
        Input variables in channel order.
    normalisation : mapping
        ``variable -> (mean, std)`` for (at least) every input variable.
    pixel_size : float
        Training pixel size in metres.
    licence : str
        Licence of the weights (e.g. ``"CC-BY-4.0"``).
    outputs : mapping, optional
        Output name -> class names (``None`` for a logit); default the model's
        ``output_classes``.
    description : str, optional
        Human description.
    training : mapping, optional
        Free JSON-serialisable metadata (data, epochs, metrics).
    overwrite : bool, default True
        Replace a registered entry of the same name.

    Returns
    -------
    WeightsSpec
        The registered spec (with an absolute ``filename``).
    """
    path = Path(path)
    if path.suffix not in (".safetensors", ".pt"):
        raise InvalidArgumentError(f"path must end in .safetensors or .pt; got {path.name!r}")
    architecture = getattr(model, "architecture", None)
    arch_kwargs = getattr(model, "arch_kwargs", None)
    if architecture not in ARCHITECTURES or not isinstance(arch_kwargs, dict):
        raise WeightsError(
            f"cannot save a {type(model).__name__}: only models built by build_model() "
            f"({sorted(ARCHITECTURES)}) carry the architecture metadata a sidecar needs"
        )
    if outputs is None:
        outputs = getattr(model, "output_classes", None)
        if outputs is None:
            raise InvalidArgumentError("outputs is required for a model without output_classes")
    training = dict(training or {})
    try:
        json.dumps(training)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"training metadata must be JSON-serialisable: {err}") from err
    missing = [v for v in variables if v not in normalisation]
    if missing:
        raise InvalidArgumentError(
            f"normalisation lacks (mean, std) for variables {missing}; it must cover every "
            f"input variable {list(variables)}"
        )
    try:  # entries for variables the model does not use are dropped
        norm = {str(v): (float(normalisation[v][0]), float(normalisation[v][1])) for v in variables}
    except (TypeError, ValueError, IndexError) as err:
        raise InvalidArgumentError(
            f"normalisation must map each variable to (mean, std); got {normalisation!r}"
        ) from err
    spec = WeightsSpec(
        name=name,
        architecture=str(architecture),
        arch_kwargs=json.loads(json.dumps(arch_kwargs)),
        variables=tuple(variables),
        normalisation=norm,
        pixel_size=float(pixel_size),
        outputs={k: (tuple(v) if v is not None else None) for k, v in outputs.items()},
        licence=licence,
        description=description,
        sha256="0" * 64,
        filename=str(path.resolve()),
        training=training,
    )
    spec.validate()
    _check_outputs(model, spec.outputs, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        _atomic_write(path, lambda tmp: save_file(state, tmp, metadata={"xseaice_name": name}))
    else:
        _atomic_write(path, lambda tmp: torch.save(state, tmp))
    spec = dataclasses.replace(spec, sha256=file_sha256(path))
    sidecar_data = spec.to_json()
    sidecar_data["filename"] = path.name
    text = json.dumps(sidecar_data, indent=2, sort_keys=False) + "\n"
    _atomic_write(path.with_name(path.name + ".json"), lambda tmp: Path(tmp).write_text(text))
    register_weights(spec, overwrite=overwrite)
    logger.info("saved weights %r to %s (sha256 %s)", name, path, spec.sha256)
    return spec
