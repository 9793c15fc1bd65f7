"""The ``xseaice`` command line: ``demo``, ``search``, ``segment``, ``train``, ``evaluate``,
``densify``, ``drift``, ``despeckle`` and ``train-prior``.

Exit codes: 0 success, 1 an xseaice error (bad input, unreachable data: one clear line
on stderr), 2 wrong usage, 3 an unexpected internal error, 130 interrupted.  ``--debug``
shows full tracebacks and debug logging.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xseaice.exceptions import XSeaIceError

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

logger = logging.getLogger("xseaice.cli")


def _cmd_demo(args: argparse.Namespace) -> int:
    from xseaice.demo import run_demo

    run_demo(
        output=Path(args.output),
        figure=not args.no_figure,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    return EXIT_OK


def _cmd_search(args: argparse.Namespace) -> int:
    from xseaice.stac.searching import search

    result = search(
        tuple(args.bbox),
        args.datetime,
        catalog=args.catalog,
        mode=args.mode,
        polarizations=tuple(p.upper() for p in args.polarizations),
        sensors=tuple(args.sensors),
        sign=args.sign,
    )
    print(json.dumps(_item_collection(result), indent=2) if args.json else result)
    return EXIT_OK


def _item_collection(result: object) -> dict[str, object]:
    """The items found, Sentinel-1 first, as a STAC ItemCollection (GeoJSON
    FeatureCollection; ISO 8601 times, as pystac writes them)."""
    import pystac

    return pystac.ItemCollection(list(result)).to_dict()  # type: ignore[call-overload]


def _cmd_segment(args: argparse.Namespace) -> int:
    from xseaice.workflow import segment_to_files

    segment_to_files(
        output=Path(args.output),
        source=args.input,
        bbox=tuple(args.bbox) if args.bbox else None,
        datetime=args.datetime,
        items=args.items,
        catalog=args.catalog,
        model=args.model,
        chart=args.chart,
        preserve=args.preserve,
        resolution=args.resolution,
        precision=args.precision,
        tta=args.tta,
        figure=not args.no_figure,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    return EXIT_OK


def _cmd_train(args: argparse.Namespace) -> int:
    from xseaice.training import train

    train(args.config, resume=args.resume, progress=not args.quiet)
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.caffe:
        from xseaice.glaciers.evaluate import evaluate_caffe_cli

        model = "glacier-zones" if args.model == "default" else args.model
        print(evaluate_caffe_cli(args.caffe, model, split=args.split, output=args.output))
        return EXIT_OK
    from xseaice.training.heldout import evaluate_cli

    table = evaluate_cli(
        model=args.model,
        data=args.data,
        seeds=args.seeds,
        output=args.output,
        progress=not args.quiet,
    )
    print(table)
    return EXIT_OK


def _cmd_densify(args: argparse.Namespace) -> int:
    from xseaice.commands import densify_to_file

    out = densify_to_file(
        args.scene,
        args.points,
        args.output,
        ice=args.ice,
        value=args.value,
        max_dt=args.max_dt,
        prior=args.prior,
        prior_sha256=args.prior_sha256,
        lead_map=not args.no_lead_map,
        overwrite=args.overwrite,
    )
    print(out)
    return EXIT_OK


def _cmd_drift(args: argparse.Namespace) -> int:
    from xseaice.commands import drift_to_file

    print(drift_to_file(args.a, args.b, args.output, step=args.step, overwrite=args.overwrite))
    return EXIT_OK


def _cmd_despeckle(args: argparse.Namespace) -> int:
    from xseaice.commands import despeckle_to_file

    out = despeckle_to_file(
        args.scene, args.output, method=args.method, size=args.size, overwrite=args.overwrite
    )
    print(out)
    return EXIT_OK


def _cmd_train_prior(args: argparse.Namespace) -> int:
    from xseaice.commands import train_prior_to_file

    out, digest = train_prior_to_file(
        [tuple(p) for p in args.pair],
        args.output,
        value=args.value,
        steps=args.steps,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    print(f"{out} sha256 {digest}")
    return EXIT_OK


def _file_output(parser: argparse.ArgumentParser, what: str) -> None:
    """``-o/--output`` (one file) and ``--overwrite``."""
    parser.add_argument("-o", "--output", required=True, help=what)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _add_tool_parsers(sub: Any) -> None:
    """``densify``, ``drift``, ``despeckle`` and ``train-prior``: local files in, one file out."""
    den = sub.add_parser(
        "densify",
        help="map altimeter freeboard over a local SAR scene (SAR-guided, with uncertainty)",
        description="Regression kriging of altimeter points (ATL10, CryoSat-2 L2I, CPOM "
        "merges) on the scene's SAR evidence; the scene's 'ice' variable is the lead map.",
    )
    den.add_argument("scene", help="local scene (.zarr or .nc) with hh, hv (dB) and ice")
    den.add_argument("points", nargs="+", help="altimetry files")
    _file_output(den, "output .nc file")
    den.add_argument(
        "--ice", help="lead map on the scene grid: segment's xseaice_ice.tif, or a dataset"
    )
    den.add_argument("--value", default="freeboard", help="column to map")
    den.add_argument("--max-dt", help="only points within this time of the scene, e.g. 1D")
    den.add_argument("--prior", help="a densify prior (.safetensors, from train-prior)")
    den.add_argument("--prior-sha256", help="expected sha256 of --prior")
    den.add_argument("--no-lead-map", action="store_true", help="ignore the scene's ice map")
    den.set_defaults(func=_cmd_densify)

    dr = sub.add_parser(
        "drift",
        help="ice drift between two local SAR scenes of the same ice",
        description="Pyramidal pattern matching on HH/HV: u, v (m, along a's x/y) and quality.",
    )
    dr.add_argument("a", help="first scene (.zarr or .nc)")
    dr.add_argument("b", help="second scene")
    _file_output(dr, "output .nc file")
    dr.add_argument("--step", type=int, default=16, help="pixels between vectors")
    dr.set_defaults(func=_cmd_drift)

    de = sub.add_parser(
        "despeckle",
        help="speckle-filter a local SAR scene's HH/HV",
        description="Classical filters (lee, refined_lee, boxcar) or SAR2SAR (the "
        "'despeckle' extra, deepdespeckling); other variables are kept.",
    )
    de.add_argument("scene", help="local scene (.zarr or .nc)")
    _file_output(de, "output .nc or .zarr")
    de.add_argument("--method", choices=["lee", "refined_lee", "boxcar", "sar2sar"], default="lee")
    de.add_argument("--size", type=int, default=7, help="window of the classical filters (px)")
    de.set_defaults(func=_cmd_despeckle)

    tp = sub.add_parser(
        "train-prior",
        help="learn a densify prior (SAR to freeboard) from past scenes and passes",
        description="Train the small network densify --prior uses, from altimeter points "
        "over local scenes (each with an 'ice' lead map); one mission per prior.",
    )
    tp.add_argument(
        "--pair",
        nargs=2,
        action="append",
        required=True,
        metavar=("SCENE", "POINTS"),
        help="a scene and an altimetry file over it (repeat)",
    )
    _file_output(tp, "output .safetensors file")
    tp.add_argument("--value", default="freeboard", help="column to learn")
    tp.add_argument("--steps", type=int, default=4000, help="optimizer steps")
    tp.set_defaults(func=_cmd_train_prior)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``xseaice`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser with one sub-command per task.
    """
    from xseaice.workflow import PRESERVE_CHOICES

    parser = argparse.ArgumentParser(
        prog="xseaice",
        description="Sea-ice maps from Sentinel-1 SAR and AMSR-2: search, segment, train.",
        epilog="Exit codes: 0 ok, 1 xseaice error, 2 usage, 3 internal error, 130 interrupted.",
    )
    from xseaice import __version__

    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_flags(parser, default=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="run the whole chain offline on the bundled sample scene and model",
        description="Open the embedded catalog (the bundled synthetic sample scene stored as "
        "real-format files), load and co-register Sentinel-1 + AMSR-2, segment with the bundled "
        "weights, apply Analytical Logit Scaling, binarize, compute floes/leads and concentration "
        "per chart polygon, and write COG, Zarr, GeoPackage, GeoParquet and a PNG figure.",
    )
    demo.add_argument("-o", "--output", default="xseaice-demo", help="output folder")
    demo.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    demo.add_argument("--overwrite", action="store_true", help="replace an existing product set")
    demo.set_defaults(func=_cmd_demo)

    search = sub.add_parser(
        "search",
        help="list Sentinel-1 / AMSR-2 items (and ICESat-2 granules) matching a place and time",
        description="Search a STAC catalog and print a table of matching items.",
    )
    search.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        required=True,
        metavar=("W", "S", "E", "N"),
        help="west south east north in degrees (west > east crosses the antimeridian)",
    )
    search.add_argument("--datetime", required=True, help="date or RFC 3339 interval a/b")
    search.add_argument(
        "--catalog",
        default="planetary-computer",
        help="registered name (planetary-computer, earth-search, cmr, embedded), a STAC API URL "
        "or a static catalog path",
    )
    search.add_argument("--mode", default="EW", help="Sentinel-1 instrument mode (EW, IW)")
    search.add_argument("--polarizations", nargs="+", default=["HH", "HV"], help="polarisations")
    search.add_argument(
        "--sensors",
        nargs="+",
        default=["sentinel-1", "amsr2"],
        help="sensors to search: sentinel-1, amsr2, icesat2 (ICESat-2 ATL10 granules crossing "
        "the scenes found)",
    )
    search.add_argument(
        "--json", action="store_true", help="print a STAC ItemCollection instead of a table"
    )
    search.add_argument(
        "--sign",
        action="store_true",
        help="sign the asset hrefs (Planetary Computer SAS tokens, valid about an hour) so "
        "the --json items can be read by odc-stac or stackstac directly",
    )
    search.set_defaults(func=_cmd_search)

    seg = sub.add_parser(
        "segment",
        help="map sea ice for a place and date, a list of items or a local file",
        description="Load a scene (bbox + datetime, item ids, or a local Zarr/netCDF scene), "
        "segment it, apply ALS and write the products.",
    )
    src = seg.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        metavar=("W", "S", "E", "N"),
        help="west south east north in degrees; needs --datetime",
    )
    src.add_argument("--items", nargs="+", help="Sentinel-1 item ids in --catalog")
    src.add_argument("--input", help="a local scene (.zarr or .nc) following the Dataset contract")
    seg.add_argument("--datetime", help="date or interval, with --bbox or --items")
    seg.add_argument("--catalog", default="planetary-computer", help="catalog, as for search")
    seg.add_argument("--model", default="default", help="registered weights name or file")
    seg.add_argument("--chart", help="ice chart file (SIGRID-3) for concentration and preserve")
    seg.add_argument(
        "--preserve",
        choices=PRESERVE_CHOICES,
        default="auto",
        help="ALS bias: per chart polygon kept (chart), the model's scene mean kept (scene) "
        "or plain ALS (none); auto = chart with --chart, else scene",
    )
    seg.add_argument("--resolution", type=float, default=40.0, help="pixel size in metres")
    seg.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="model precision: bf16 on CPUs with AMX/AVX512-BF16 and on CUDA (auto), or forced",
    )
    seg.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: average the model over 4 flips of the scene (4x the cost)",
    )
    seg.add_argument("-o", "--output", required=True, help="output folder")
    seg.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    seg.add_argument("--overwrite", action="store_true", help="replace an existing product set")
    seg.set_defaults(func=_cmd_segment)

    tr = sub.add_parser(
        "train",
        help="train a model from a YAML/TOML config",
        description="Train a model with the region-based (weakly supervised) loss. The config "
        "file describes data, model, optimiser, checkpoints; see docs/training.md.",
    )
    tr.add_argument("config", help="YAML or TOML run configuration")
    tr.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser(
        "evaluate",
        help="score a model on held-out scenes (AutoICE and pixel metrics)",
        description="Evaluate weights on held-out synthetic scenes or an AI4Arctic folder and "
        "print the AutoICE (R2, weighted F1, combined) and pixel metrics.",
    )
    ev.add_argument("--model", default="default", help="registered weights name or file")
    ev.add_argument("--data", default="synthetic", help="'synthetic' or an AI4Arctic folder")
    ev.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001], help="synthetic seeds")
    ev.add_argument("-o", "--output", help="write the table as JSON here")
    ev.add_argument(
        "--caffe",
        metavar="ROOT",
        help="score a glacier zone model (default 'glacier-zones') on a CaFFe folder: "
        "mean distance error of the calving fronts and zone IoU",
    )
    ev.add_argument("--split", default="test", help="CaFFe split (with --caffe)")
    ev.set_defaults(func=_cmd_evaluate)
    _add_tool_parsers(sub)
    for command in sub.choices.values():  # -q / --debug after the command too; defaults shown
        command.formatter_class = argparse.ArgumentDefaultsHelpFormatter
        _global_flags(command, default=argparse.SUPPRESS)
    return parser


def _global_flags(parser: argparse.ArgumentParser, *, default: object) -> None:
    """``--debug`` and ``-q``; the sub-commands' copies default to SUPPRESS so that a flag
    given before the command is not reset by the command's parser."""
    parser.add_argument(
        "--debug", action="store_true", default=default, help="full tracebacks and debug logs"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit code.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 0 for --help and 2 for usage errors
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if args.debug else "%(message)s",
    )
    for noisy in ("rasterio", "distributed", "urllib3", "fiona", "pyogrio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except XSeaIceError as err:
        if args.debug:
            raise
        print(f"xseaice {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"xseaice {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # an internal bug: one line, plus how to see more
        if args.debug:
            raise
        print(
            f"xseaice {args.command}: internal error: {type(err).__name__}: {err} "
            "(rerun with --debug for the traceback and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
