"""Write the AMSR-2 cells of synthetic scenes as an AU_SI12-like HDF-EOS5 file.

Layout of the NSIDC *AMSR-E/AMSR2 Unified L3 Daily 12.5 km* product (``AU_SI12``)::

    /HDFEOS/GRIDS/NpPolarGrid12km/Data Fields/SI_12km_NH_{18,23,36,89}{H,V}_{DAY,ASC,DSC}
    /HDFEOS/GRIDS/SpPolarGrid12km/Data Fields/SI_12km_SH_...      (southern scenes)
    /HDFEOS INFORMATION/StructMetadata.0                          (ODL grid description)

Fields are 32-bit integers (``H5T_NATIVE_INT``) holding brightness temperature in tenths
of a kelvin, 0 = fill (no value), shape ``(YDim, XDim)`` = ``(896, 608)`` north /
``(664, 632)`` south, gzip-compressed.  ``StructMetadata.0`` gives the polar stereographic
projection (``HE5_GCTP_PS``, Hughes 1980 ellipsoid ``a = 6378273 m, e^2 = 0.006694``,
true latitude +-70, central meridian -45 north / 0 south: EPSG:3411 / 3412) and the outer
corners ``UpperLeftPointMtrs`` / ``LowerRightMtrs``.  Only the cells near the scenes carry
values; the rest is fill.  ``ASC`` and ``DSC`` repeat ``DAY`` (one synthetic overpass).
Only the hemispheres that hold scenes get a grid.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path
from xseaice.synthetic.scene import SyntheticScene
from xseaice.synthetic.sensors import AMSR_CHANNELS, NSIDC_12KM

__all__ = ["amsr2_file_name", "struct_metadata", "write_amsr2_he5"]

logger = logging.getLogger(__name__)

_PASSES = ("DAY", "ASC", "DSC")
_PROJ = {
    "north": "(6378273.000000,-0.006694,0,0,-45000000.000000,70000000.000000,0,0,0,0,0,0,0)",
    "south": "(6378273.000000,-0.006694,0,0,0.000000,-70000000.000000,0,0,0,0,0,0,0)",
}


def _field_names(hemi: str) -> list[str]:
    return [f"SI_12km_{hemi}_{ch[:2]}{ch[2].upper()}_{p}" for ch in AMSR_CHANNELS for p in _PASSES]


def struct_metadata(hemispheres: Sequence[str]) -> str:
    """The ODL ``StructMetadata.0`` text for the NSIDC 12.5 km grids of ``hemispheres``."""
    out = ["GROUP=SwathStructure", "END_GROUP=SwathStructure", "GROUP=GridStructure"]
    for k, h in enumerate(hemispheres, start=1):
        g = NSIDC_12KM[h]
        rows, cols = g["shape"]
        ulx, uly = g["upper_left"]
        lrx, lry = ulx + cols * g["res"], uly - rows * g["res"]
        out += [
            f"\tGROUP=GRID_{k}",
            f'\t\tGridName="{g["name"]}"',
            f"\t\tXDim={cols}",
            f"\t\tYDim={rows}",
            f"\t\tUpperLeftPointMtrs=({ulx:.6f},{uly:.6f})",
            f"\t\tLowerRightMtrs=({lrx:.6f},{lry:.6f})",
            "\t\tProjection=HE5_GCTP_PS",
            f"\t\tProjParams={_PROJ[h]}",
            "\t\tSphereCode=-1",
            "\t\tGridOrigin=HE5_HDFE_GD_UL",
            "\t\tGROUP=Dimension",
            "\t\tEND_GROUP=Dimension",
            "\t\tGROUP=DataField",
        ]
        for j, name in enumerate(_field_names(g["hemisphere"]), start=1):
            out += [
                f"\t\t\tOBJECT=DataField_{j}",
                f'\t\t\t\tDataFieldName="{name}"',
                "\t\t\t\tDataType=H5T_NATIVE_INT",
                '\t\t\t\tDimList=("YDim","XDim")',
                '\t\t\t\tMaxdimList=("YDim","XDim")',
                f"\t\t\tEND_OBJECT=DataField_{j}",
            ]
        out += [
            "\t\tEND_GROUP=DataField",
            "\t\tGROUP=MergedFields",
            "\t\tEND_GROUP=MergedFields",
            f"\tEND_GROUP=GRID_{k}",
        ]
    out += [
        "END_GROUP=GridStructure",
        "GROUP=PointStructure",
        "END_GROUP=PointStructure",
        "GROUP=ZaStructure",
        "END_GROUP=ZaStructure",
        "END",
        "",
    ]
    return "\n".join(out)


def amsr2_file_name(scene: SyntheticScene) -> str:
    """``AMSR_U2_L3_SeaIce12km_B04_<YYYYMMDD>.he5`` for the scene's date."""
    day = np.datetime_as_string(scene.time, unit="D").replace("-", "")
    return f"AMSR_U2_L3_SeaIce12km_B04_{day}.he5"


def write_amsr2_he5(
    scene_or_scenes: SyntheticScene | Sequence[SyntheticScene], path: str | os.PathLike[str]
) -> Path:
    """Write the AMSR-2 L3 cells of one or more scenes as an AU_SI12-like HDF-EOS5 file.

    Parameters
    ----------
    scene_or_scenes : SyntheticScene or sequence of SyntheticScene
        Scenes from [`make_scene`][xseaice.synthetic.scene.make_scene]; where scenes overlap, later
        ones overwrite earlier cells.
    path : path
        The ``.he5`` file, or an existing folder (the file is then named by
        [`amsr2_file_name`][xseaice.synthetic.amsr2_he5.amsr2_file_name] of the first scene).

    Returns
    -------
    pathlib.Path
        The file (written to a temporary file and renamed into place).

    Notes
    -----
    Read a field back as ``TB[K] = raw * 0.1`` with ``raw == 0`` as fill.
    """
    import h5py

    scenes = (
        [scene_or_scenes] if isinstance(scene_or_scenes, SyntheticScene) else list(scene_or_scenes)
    )
    if not scenes:
        raise InvalidArgumentError("scene_or_scenes is empty; pass at least one SyntheticScene.")
    for s in scenes:
        if s.amsr is None:
            raise InvalidArgumentError(
                "a scene has no AMSR-2 cells (SyntheticScene.amsr is None); create it with "
                "xseaice.synthetic.make_scene."
            )
    out = Path(path)
    if out.is_dir():
        out = out / amsr2_file_name(scenes[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    names = {s.amsr.grid["name"] for s in scenes if s.amsr is not None}
    hemis = [h for h in ("north", "south") if NSIDC_12KM[h]["name"] in names]
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            info = f.create_group("HDFEOS INFORMATION")
            info.attrs["HDFEOSVersion"] = np.bytes_("HDFEOS_5.1.15")
            info.create_dataset("StructMetadata.0", data=np.bytes_(struct_metadata(hemis)))
            add = f.create_group("HDFEOS/ADDITIONAL/FILE_ATTRIBUTES")
            add.attrs["title"] = np.bytes_(
                "xseaice synthetic AMSR-2 L3 12.5 km brightness temperatures"
            )
            for h in hemis:
                g = NSIDC_12KM[h]
                rows, cols = g["shape"]
                fields = f.create_group(f"HDFEOS/GRIDS/{g['name']}/Data Fields")
                raw = {ch: np.zeros((rows, cols), dtype=np.int32) for ch in AMSR_CHANNELS}
                for s in scenes:
                    a = s.amsr
                    assert a is not None
                    if a.grid["name"] != g["name"]:
                        continue
                    n, m = a.shape
                    for ch in AMSR_CHANNELS:
                        raw[ch][a.row0 : a.row0 + n, a.col0 : a.col0 + m] = np.rint(
                            a.values[ch] * 10.0
                        ).astype(np.int32)
                for ch in AMSR_CHANNELS:
                    for p in _PASSES:
                        name = f"SI_12km_{g['hemisphere']}_{ch[:2]}{ch[2].upper()}_{p}"
                        d = fields.create_dataset(
                            name, data=raw[ch], compression="gzip", compression_opts=4,
                            chunks=(min(rows, 224), min(cols, 152)), fillvalue=0,
                        )  # fmt: skip
                        d.attrs["_FillValue"] = np.int32(0)
    logger.info("wrote %s", out)
    return out
