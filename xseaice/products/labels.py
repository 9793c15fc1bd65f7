"""Connected-component labels of a dask array of any size, equal to
`scipy.ndimage.label` of the whole image up to a permutation of the labels.

Each dask block is labelled on its own; a small task joins the labels that touch across
block edges (a union of equivalences solved as a graph's connected components) and every
block is relabelled from that table.  Block labels are recomputed instead of kept, so
memory holds the 1-byte input blocks plus one block of labels at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import dask.array

__all__ = ["label_2d"]


def _structure(connectivity: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)


def _label_block(block: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    lab, n = ndimage.label(np.asarray(block) == 1, structure=_structure(connectivity))
    return lab.astype("int64"), int(n)


def _block_faces(block: np.ndarray, connectivity: int) -> dict[str, Any]:
    """Label count, pixel count per label and the four edge rows/columns of one block."""
    lab, n = _label_block(block, connectivity)
    return {
        "n": n,
        "pixels": np.bincount(lab.ravel(), minlength=n + 1)[1:],
        "top": lab[0].copy(),
        "bottom": lab[-1].copy(),
        "left": lab[:, 0].copy(),
        "right": lab[:, -1].copy(),
    }


def _pairs_across(a: np.ndarray, b: np.ndarray, connectivity: int) -> list[np.ndarray]:
    """Label pairs of two facing strips (index k touches k, and k +- 1 with 8-neighbours)."""
    out = [np.stack([a, b], axis=1)]
    if connectivity == 8 and a.size > 1:
        out.append(np.stack([a[:-1], b[1:]], axis=1))
        out.append(np.stack([a[1:], b[:-1]], axis=1))
    return out


def _union(faces: list[list[dict[str, Any]]], connectivity: int) -> dict[str, Any]:
    """Join block labels across block edges; the table that relabels every block."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nby, nbx = len(faces), len(faces[0])
    counts = np.array([[f["n"] for f in row] for row in faces], dtype="int64")
    offsets = (np.cumsum(counts.ravel()) - counts.ravel()).reshape(nby, nbx)
    total = int(counts.sum())

    def shifted(i: int, j: int, side: str) -> np.ndarray:
        lab = faces[i][j][side]
        return np.where(lab > 0, lab + offsets[i, j], 0)

    pairs: list[np.ndarray] = []
    for i in range(nby - 1):
        upper = np.concatenate([shifted(i, j, "bottom") for j in range(nbx)])
        lower = np.concatenate([shifted(i + 1, j, "top") for j in range(nbx)])
        pairs += _pairs_across(upper, lower, connectivity)
    for j in range(nbx - 1):
        left = np.concatenate([shifted(i, j, "right") for i in range(nby)])
        right = np.concatenate([shifted(i, j + 1, "left") for i in range(nby)])
        pairs += _pairs_across(left, right, connectivity)
    edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype="int64")
    edges = edges[(edges[:, 0] > 0) & (edges[:, 1] > 0)]
    graph = coo_matrix(
        (np.ones(len(edges), dtype="int8"), (edges[:, 0], edges[:, 1])),
        shape=(total + 1, total + 1),
    )
    _, comp = connected_components(graph, directed=False)
    mapping = np.zeros(total + 1, dtype="int32")
    nfloes = 0
    if total:
        _, inverse = np.unique(comp[1:], return_inverse=True)
        mapping[1:] = inverse.astype("int32") + 1
        nfloes = int(inverse.max()) + 1
    pixels = np.concatenate([f["pixels"] for row in faces for f in row]).astype("int64")
    floe_pixels = np.bincount(mapping[1:], weights=pixels, minlength=nfloes + 1)
    return {
        "offsets": offsets,
        "mapping": mapping,
        "nfloes": nfloes,
        "floe_pixels": floe_pixels[1:].astype("int64"),
    }


def _relabel_block(
    block: np.ndarray, table: dict[str, Any], connectivity: int, block_info: Any = None
) -> np.ndarray:
    i, j = block_info[0]["chunk-location"]
    lab, _ = _label_block(block, connectivity)
    glob = np.where(lab > 0, lab + table["offsets"][i, j], 0)
    return table["mapping"][glob]


def label_2d(mask: dask.array.Array, connectivity: int) -> tuple[dask.array.Array, Any]:
    """Lazy global labels of the pixels equal to 1 of a 2-D dask array.

    Parameters
    ----------
    mask : dask.array.Array
        2-D uint8 (1 = foreground).
    connectivity : {4, 8}
        Edge neighbours only, or also diagonal neighbours.

    Returns
    -------
    labels, table
        Lazy int labels (0 = background) and the delayed relabelling table.
    """
    """Global floe labels of a 2-D uint8 dask array and the delayed union table."""
    import dask
    import dask.array as da

    blocks = mask.to_delayed(optimize_graph=False)
    faces = [
        [
            dask.delayed(_block_faces, pure=True)(blocks[i, j], connectivity)
            for j in range(blocks.shape[1])
        ]
        for i in range(blocks.shape[0])
    ]
    table = dask.delayed(_union, pure=True)(faces, connectivity)
    labels = da.map_blocks(
        _relabel_block,
        mask,
        table,
        connectivity=connectivity,
        dtype="int32",
        meta=np.empty((0, 0), dtype="int32"),
    )
    return labels, table
