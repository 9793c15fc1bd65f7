"""Format readers and the I/O floor: HTTP with retries, URL redaction, atomic writes.

Modules: [`http`][xseaice.io.http], [`urls`][xseaice.io.urls], [`atomic`][xseaice.io.atomic],
[`sentinel1`][xseaice.io.sentinel1] (+ [`sentinel1_sampling`][xseaice.io.sentinel1_sampling]),
[`amsr2`][xseaice.io.amsr2], [`sigrid3`][xseaice.io.sigrid3], [`icechart`][xseaice.io.icechart],
[`altimetry`][xseaice.io.altimetry], [`caffe`][xseaice.io.caffe].
Nothing heavy is imported here.
"""
